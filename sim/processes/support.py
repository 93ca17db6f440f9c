"""Support: what active school-to-school deployments do this term, to both schools.

On the client, after a lag of ``support_lag_terms`` (an assumption) the conditions its leadership
can sustain rise, and its head's capacity grows (seed 004 L419, L458-466, L484), scaled by the
deployment's intensity, the client's engagement (reach out or withdraw: seed 003 L1348-1353), the
supporter's role (an LLE's support does ``lle_effect_factor`` of an NLE's: an assumption, no seed
compares them) and whether the partnership is a shallow, funding-led one (seed 002 L6654-6662);
several supporters on one school overload it (seed 003 L1235-1241). On the home school, time away
lowers the head's change effort unless the senior team can cover (seed 002 L2724-2728,
L6338-6344, L6796-6804), while its staff gain readiness through the work (seed 004 L495,
L507-510; seed 002 L5945-5958); NLE work lowers the NLE's own exit hazard (seed 004 L506).
Deployments end at their planned end, or early when the client's grade reaches good or better at
an inspection.

Mechanisms of issue 8 (``config.mechanisms``): ``home_capacity_at_risk`` also lowers the level of
conditions the home school can sustain, by ``home_capacity_loss`` times the time away, less what
the senior team covers (its mean readiness): seed 002 L2724-2728, L6338-6344, L6360-6376
("two schools at risk"); :func:`home_capacity_shift` is shared with executive headships.
``secondment_vacancy_chain``: a secondment takes the supporting school's most ready senior leader
out of its senior team, a middle leader stepping up into the post, and the seconded leader gains
``secondee_readiness_gain`` a term until they return (seed 004 L495;
``system_leadership.second_leader``). ``travel_cost`` scales the dose by
``exp(-distance / travel_decay_km)`` (seed 003 L1354-1356:
support far away is "time consuming and costly to attend"; seed 004 L440).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..state import EXECUTIVE
from ..system_leadership import LLE, NLE, end_deployment
from ..world import good_or_better

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

# A secondment develops the supporting school's staff more than consultancy does: it opens
# step-up roles behind the seconded leader (seed 004 L495); twice is an assumption.
SECONDMENT_STAFF_GAIN_MULTIPLIER = 2.0


def home_capacity_shift(model: "SchoolSystemModel", home: np.ndarray, time_away: np.ndarray) -> None:
    """Lower the conditions the ``home`` schools can sustain for their heads' ``time_away``
    (share of a full-time head), less the part a ready senior team covers."""
    s, p = model.state, model.params
    uncovered = 1.0 - s.bench_strength()[home]
    np.add.at(model.effects.condition_target_shift, home, -p.home_capacity_loss * time_away * uncovered)


def travel_factor(model: "SchoolSystemModel", distance_km: np.ndarray) -> np.ndarray:
    """Share of the support dose left after travel (1 without the ``travel_cost`` mechanism)."""
    if not model.config.mechanisms.travel_cost:
        return np.ones(len(distance_km))
    return np.exp(-np.asarray(distance_km, dtype=float) / model.params.travel_decay_km)


def step(model: "SchoolSystemModel") -> None:
    """End finished deployments, then add the active ones' effects to this term's effects."""
    sl, s, p, fx = model.sl, model.state, model.params, model.effects
    for d in [d for d in sl.deployments if model.step_count >= d.end_step]:
        end_deployment(model, d, reason="completed")
    active = [d for d in sl.deployments if d.start_step <= model.step_count]
    if not active:
        return
    client = np.array([d.client for d in active])
    supporter = np.array([d.supporter for d in active])
    intensity = np.array([d.intensity for d in active])
    role = np.array([d.role for d in active])
    weight = (intensity * np.array([d.engagement for d in active])
              * np.where(role == LLE, p.lle_effect_factor, 1.0)
              * np.where(np.array([d.shallow for d in active]), p.shallow_partnership_effect, 1.0))
    past_lag = np.array([model.step_count - d.start_step + 1 for d in active]) > p.support_lag_terms
    weight = weight * past_lag * travel_factor(model, np.array([d.distance_km for d in active]))

    n_supporters = np.bincount(client, minlength=s.n)
    overload = np.maximum(n_supporters[client], 1) ** p.overload_exponent
    np.add.at(fx.condition_target_shift, client, p.support_condition_effect * weight / overload)
    gain = np.zeros(s.n)
    np.add.at(gain, client, p.support_capacity_gain_per_term * weight / overload)
    led_here = s.leader_kind != EXECUTIVE  # an executive-led school's capacity is its executive's
    s.head_capacity += np.where(led_here, gain, 0.0)[:, None] * (1.0 - s.head_capacity)

    cover = np.minimum(1.0, s.bench_strength()[supporter] / p.home_cover_readiness)
    strain = np.ones(s.n)
    np.multiply.at(strain, supporter, 1.0 - p.home_strain * intensity * (1.0 - cover))
    fx.leadership_effort_multiplier *= strain
    if model.config.mechanisms.home_capacity_at_risk:
        home_capacity_shift(model, supporter, intensity)
    staff_gain = np.zeros(s.n)
    np.add.at(staff_gain, supporter, p.secondment_readiness_gain
              * np.where(np.array([d.mode for d in active]) == "secondment",
                                                         SECONDMENT_STAFF_GAIN_MULTIPLIER, 1.0))
    fx.readiness_bonus += staff_gain[:, None]
    for d in active:  # seconded leaders develop away from home (seed 004 L495)
        if d.secondee_person >= 0:
            d.secondee_readiness = min(1.0, d.secondee_readiness + p.secondee_readiness_gain)
    supporting_nle = np.zeros(s.n, dtype=bool)
    supporting_nle[supporter[role == NLE]] = True
    fx.exit_hazard_multiplier *= np.where(supporting_nle, p.nle_exit_multiplier, 1.0)


def end_on_improvement(model: "SchoolSystemModel", inspected: np.ndarray) -> None:
    """After inspections: support for a client now graded good or better ends (exit strategy)."""
    graded_good = set(inspected[good_or_better(model.state.grade[inspected])].tolist())
    for client in sorted(graded_good):
        for d in model.sl.deployments.of_client(client):
            if d.start_step <= model.step_count:
                end_deployment(model, d, reason="client_improved")
