"""Structure: executive headships and federations.

A school that cannot recruit (acting head for two terms or more) and is small or rural, or that
is inadequate and without a substantive head, may be taken on by the head of a nearby strong
school (seed 002 L2348-2358, L5080-5082, L6364-6368; seed 001 L313): a substantive head of at
least two years of a good or outstanding school of the same phase within the maximum travel
distance (a "potential system leader", seed 002 L8105-8111), leading at most one other school.
The arrangement starts temporary; at review about two thirds become permanent federations
(seed 002 L831-837), the rest end and the school recruits its own head. A head of school runs the
site day to day; the school's leadership is its executive head's capacity less a coordination
cost (seed 001 L307), and federation widens routes for deputies (seed 001 L322). With the
``executive_home_cost`` mechanism the home school loses conditions for the time its head gives
the other school (``executive_time_share``), less what its senior team covers (seed 002
L6360-6376: the home school "left without clear leadership ... putting two schools at risk").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..events import FEDERATION_PERMANENT
from ..state import ACTING, SUBSTANTIVE
from ..system_leadership import NLE
from ..nearest import CandidateSearch
from ..world import good_or_better
from .succession import install_acting
from .support import home_capacity_shift

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

MAX_SCHOOLS_LED = 2                   # home plus one (seed 002 Table 3.1: mode 2 schools)


def apply(model: "SchoolSystemModel") -> None:
    """This term's effects of executive headships: shared capacity and wider deputy routes."""
    s, sl, p = model.state, model.sl, model.params
    led = np.nonzero(sl.executive_of >= 0)[0]
    if len(led) == 0:
        return
    home = sl.executive_of[led]
    s.head_capacity[led] = s.head_capacity[home] * (1.0 - p.federation_coordination_cost)
    if model.config.mechanisms.executive_home_cost:  # seed 002 L6360-6376: "two schools at risk"
        home_capacity_shift(model, home, np.full(len(home), p.executive_time_share))
    bonus = np.zeros(s.n)
    bonus[led] = p.federation_readiness_gain
    bonus[home] = p.federation_readiness_gain
    model.effects.readiness_bonus += bonus[:, None]


def step(model: "SchoolSystemModel") -> None:
    """Review temporary executive headships, then form new ones where schools cannot recruit."""
    cfg, s, sl, p, w, rng = (model.config.policy.system_leadership, model.state, model.sl,
                             model.params, model.world, model.rng)
    just_ended = np.zeros(s.n, dtype=bool)  # these now recruit their own head, not another executive
    for school in np.nonzero((sl.executive_of >= 0) & ~sl.executive_permanent)[0]:
        if model.step_count - sl.executive_since[school] < p.executive_review_terms:
            continue
        if rng.random() < p.executive_permanent_probability:
            sl.executive_permanent[school] = True
            model.events.log(FEDERATION_PERMANENT, int(school), int(s.head_person[school]),
                             supporter=int(sl.executive_of[school]), client=int(school))
        else:
            model.end_executive_headship(int(school), reason="own_head_to_be_appointed")
            install_acting(model, int(school))
            just_ended[school] = True
    if not (cfg.enabled and cfg.executive_headship):
        return
    cannot_recruit = (s.leader_kind == ACTING) & (s.vacancy_terms >= p.cannot_recruit_terms) & (
        model.small | w.rural)
    failing = (s.leader_kind == ACTING) & (s.grade == 4)
    chance = min(1.0, p.executive_formation_per_term * cfg.federation_incentive)
    approached = (cannot_recruit | failing) & ~just_ended & (rng.random(s.n) < chance)
    candidates = np.nonzero(approached)[0]
    if len(candidates) == 0:
        return
    strong = (good_or_better(s.grade) & (s.leader_kind == SUBSTANTIVE) & (sl.executive_of < 0)
              & (s.head_experience >= p.executive_min_headship_years)
              & (sl.executive_led_count < MAX_SCHOOLS_LED - 1))
    searches = {}
    for phase in np.unique(w.phase[candidates]):
        homes = np.nonzero(strong & (w.phase == phase))[0]
        searches[phase] = CandidateSearch(homes, w.x_km[homes], w.y_km[homes])
    for school in candidates:
        search = searches[w.phase[school]]
        found = _supporting_nle(model, int(school), search) or search.nearest(
            w.x_km[school], w.y_km[school], cfg.max_distance_km, exclude=int(school))
        if found is None:
            continue
        position, distance = found
        model.start_executive_headship(int(school), int(search.schools[position]), distance)
        search.available[position] = False  # a head takes on one other school at most


def _supporting_nle(model: "SchoolSystemModel", school: int, search: CandidateSearch) -> tuple[int, float] | None:
    """Under ``nle_executive_headship``: (position, distance) of an NLE already supporting
    ``school`` who could become its executive head, else None.

    The NLE deployment modes include acting or executive headship of the client (National
    College NLE FAQ), and over a third of NLEs were also executive heads (seed 002 L935-937).
    """
    if not model.config.mechanisms.nle_executive_headship:
        return None
    for d in model.sl.deployments.of_client(school):
        if d.role != NLE:
            continue
        position = np.nonzero(search.schools == d.supporter)[0]
        if len(position) and search.available[position[0]]:
            return int(position[0]), float(d.distance_km)
    return None
