"""Succession: filling vacant headships.

Each vacant school (its head left this term, or an acting head holds it) tries in order:

1. **internal**: a senior leader in the school who is ready for headship, appointed with
   probability ``internal_preference`` (seed 002 L6201-6206: a head trains the next tier
   because someone from outside cannot step in instantly);
2. **external**: the regional market, with a per-term success chance scaled by the post's
   attractiveness (rural and small: seed 002 L2415-2417; FSM band 4: seed 003 L1438-1440;
   coastal and inadequate: assumptions) and by market thickness, the ready senior leaders in the
   region per vacancy (seed 001 L61). The appointee is a ready leader from another school in
   the region (whose post then falls vacant) or, when the region has none, someone from outside;
3. **acting**: otherwise the most ready senior leader acts up, or an interim head comes in.
   The search continues next term; ``vacancy_terms`` counts the wait.

Every change of leader costs the school a transition dip in its conditions (seed 004 L140).
Vacancies are visited in school order so that runs are reproducible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..state import ACTING, SUBSTANTIVE
from ..world import REGION_NAMES, RURAL, TOWN

if TYPE_CHECKING:
    from ..model import SchoolSystemModel


def attractiveness(model: "SchoolSystemModel") -> np.ndarray:
    """Relative appeal of each school's headship to external candidates (1 = easiest)."""
    p, s, w = model.params, model.state, model.world
    appeal = np.ones(s.n)
    town = p.town_rural_weight * p.attractiveness_rural + (1.0 - p.town_rural_weight)
    appeal *= np.where(w.setting == RURAL, p.attractiveness_rural, np.where(w.setting == TOWN, town, 1.0))
    appeal *= np.where(w.coastal, p.attractiveness_coastal, 1.0)
    appeal *= np.where(model.small, p.attractiveness_small, 1.0)
    appeal *= np.where(model.fsm_band == 4, p.attractiveness_fsm_band4, 1.0)
    appeal *= np.where(s.grade == 4, p.attractiveness_inadequate, 1.0)
    return appeal


def step(model: "SchoolSystemModel") -> None:
    """Fill or hold every vacant headship for this term."""
    p, s, rng = model.params, model.state, model.rng
    searching = s.head_vacant | (s.leader_kind == ACTING)
    if not searching.any():
        return
    ready = s.ready_leaders(p.ready_threshold)
    region = model.world.region
    regions = len(REGION_NAMES)
    ready_by_region = np.bincount(region, weights=ready.sum(axis=1), minlength=regions)
    vacancies_by_region = np.bincount(region[searching], minlength=regions)
    thickness = np.minimum(1.0, ready_by_region / np.maximum(vacancies_by_region, 1))
    market = (1 - p.market_thickness_weight) + p.market_thickness_weight * thickness
    chance = np.minimum(1.0, p.external_success_per_term * attractiveness(model)
                        * market[region] * model.effects.recruitment_multiplier)

    ready_schools, ready_posts = np.nonzero(ready)
    market_pool = {r: list(np.nonzero(region[ready_schools] == r)[0]) for r in range(regions)}
    for school in np.nonzero(searching)[0]:
        school = int(school)
        if _confirm_acting_head(model, school) or _appoint_internal(model, school, ready):
            continue
        if rng.random() < chance[school]:
            candidate = _draw_candidate(model, market_pool[int(region[school])], school,
                                        ready, ready_schools, ready_posts)
            _appoint_external(model, school, ready, candidate)
        elif s.head_is_vacant(school):
            install_acting(model, school, ready)
        else:
            s.vacancy_terms[school] += 1


def _confirm_acting_head(model: "SchoolSystemModel", school: int) -> bool:
    """Appoint the acting head substantively if they stepped up internally and are now ready."""
    s, p = model.state, model.params
    readiness = float(s.acting_readiness[school])
    if (s.head_is_vacant(school) or readiness < p.ready_threshold
            or model.rng.random() >= p.internal_preference):
        return False
    person = int(s.head_person[school])
    _make_substantive(model, school, person, readiness, route="internal", experience=0.0)
    return True


def _appoint_internal(model: "SchoolSystemModel", school: int, ready: np.ndarray) -> bool:
    """Promote the school's most ready senior leader if one is ready and governors choose so."""
    s = model.state
    if not ready[school].any() or model.rng.random() >= model.params.internal_preference:
        return False
    post = int(np.argmax(np.where(ready[school], s.bench_readiness[school], -1.0)))
    readiness = float(s.bench_readiness[school, post])
    person = model.remove_senior_leader(school, post, reason="promoted_internally")
    ready[school, post] = False
    _make_substantive(model, school, person, readiness, route="internal", experience=0.0)
    return True


def _draw_candidate(model: "SchoolSystemModel", pool: list, school: int, ready: np.ndarray,
                    ready_schools: np.ndarray, ready_posts: np.ndarray) -> tuple[int, int] | None:
    """A random ready leader from another school in the region, or None if there is none.

    ``pool`` holds indices into ``ready_schools`` / ``ready_posts`` (this term's ready leaders
    in the region); leaders appointed or gone since the term began are dropped as they are met.
    """
    while pool:
        pick = int(model.rng.integers(len(pool)))
        origin, post = int(ready_schools[pool[pick]]), int(ready_posts[pool[pick]])
        if not ready[origin, post]:
            pool[pick] = pool[-1]
            pool.pop()
            continue
        if origin == school:
            others = [k for k in pool if int(ready_schools[k]) != school and ready[ready_schools[k], ready_posts[k]]]
            if not others:
                return None
            k = others[int(model.rng.integers(len(others)))]
            return int(ready_schools[k]), int(ready_posts[k])
        return origin, post
    return None


def _appoint_external(model: "SchoolSystemModel", school: int, ready: np.ndarray,
                      candidate: tuple[int, int] | None) -> None:
    """Appoint from the regional market: a ready leader elsewhere in the region, else an outsider."""
    s, rng = model.state, model.rng
    if candidate is not None:
        origin, post = candidate
        readiness = float(s.bench_readiness[origin, post])
        person = model.remove_senior_leader(origin, post, reason="promoted_elsewhere")
        ready[origin, post] = False
        _make_substantive(model, school, person, readiness, route="external", experience=0.0)
    else:
        readiness = float(np.clip(rng.normal(model.params.external_capacity_mean
                                             / model.params.new_head_capacity_per_readiness,
                                             model.params.external_readiness_sd), 0.3, 1.0))
        person = int(model.new_person_ids(1)[0])
        _make_substantive(model, school, person, readiness, route="external",
                          experience=float(rng.gamma(
                              1.5, model.params.external_head_experience_mean_years / 1.5)))


def _make_substantive(model: "SchoolSystemModel", school: int, person: int, readiness: float,
                      route: str, experience: float) -> None:
    """Install a substantive head, ending any acting arrangement first."""
    s, rng, p = model.state, model.rng, model.params
    if not s.head_is_vacant(school) and s.head_person[school] != person:
        model.end_acting_headship(school)
    elif not s.head_is_vacant(school):  # the acting head is confirmed in post
        model.remove_head(school, reason="acting_ended")
    spread = p.head_domain_sd if model.config.mechanisms.domain_heterogeneity else 0.08
    capacity = np.clip(rng.normal(readiness * p.new_head_capacity_per_readiness, spread, 4), 0.05, 1.0)
    age = float(np.clip(rng.normal(p.new_head_age_mean_years, p.new_head_age_sd_years), 30, 60))
    model.install_head(school, person, route, capacity, age, experience,
                       resilience=float(rng.beta(p.head_resilience_beta_a, p.head_resilience_beta_b)),
                       kind=SUBSTANTIVE)
    s.vacancy_terms[school] = 0
    s.acting_readiness[school] = 0.0
    s.conditions[school] = np.maximum(0.0, s.conditions[school] - model.params.transition_dip)


def install_acting(model: "SchoolSystemModel", school: int, ready: np.ndarray | None = None) -> None:
    """The most ready senior leader acts up; with none in post, an interim head comes in.

    ``ready`` is this term's mask of ready senior leaders, kept current when one acts up.
    """
    s, rng, p = model.state, model.rng, model.params
    present = s.bench_person[school] >= 0
    if present.any():
        post = int(np.argmax(np.where(present, s.bench_readiness[school], -1.0)))
        readiness = float(s.bench_readiness[school, post])
        person = model.remove_senior_leader(school, post, reason="acting_up")
        internal_readiness = readiness
        if ready is not None:
            ready[school, post] = False
    else:
        # an interim head from outside, drawn as outside appointees are (in readiness units)
        readiness = float(np.clip(rng.normal(p.external_capacity_mean / p.new_head_capacity_per_readiness,
                                             p.external_readiness_sd), 0.2, 1.0))
        person = int(model.new_person_ids(1)[0])
        internal_readiness = 0.0
    capacity = np.full(4, min(1.0, readiness + p.acting_readiness_gain) * p.acting_capacity_factor)
    age = float(np.clip(rng.normal(p.new_head_age_mean_years, p.new_head_age_sd_years), 30, 62))
    model.install_head(school, person, "acting", capacity, age, 0.0,
                       resilience=float(rng.beta(p.head_resilience_beta_a, p.head_resilience_beta_b)),
                       kind=ACTING)
    s.vacancy_terms[school] = 1
    s.acting_readiness[school] = internal_readiness
    s.conditions[school] = np.maximum(0.0, s.conditions[school] - p.transition_dip)
