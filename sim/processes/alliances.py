"""Teaching schools and their alliances.

Once a year outstanding schools with a strong senior team and an experienced head (TSA criteria:
outstanding for overall effectiveness, leadership and teaching, with partnerships and
professional development beyond the school: seed 002, section 2.1 item 2) are designated teaching
schools up to the quota (scaled like the NLE quota). Each forms an alliance with its nearest
schools not yet in one, within the travel distance. Alliance membership grows leaders: senior
leaders in member schools gain readiness each term (seed 001 L230; seed 002 L5945-5958). The
teaching school's grant tapers to nothing over its first four years (seed 002 L6680-6684). A
teaching school whose grade falls below good loses the designation (which belongs to the school,
not the head) and its alliance dissolves. Under the ``status_review`` mechanism a teaching school
inspected and not found outstanding loses it too: the criteria begin, as for an NLE, with an
Ofsted judgement of outstanding (seed 002 L1000-1004), and heads who led teaching schools spoke
of "the fragility of the status of teaching school being linked to maintaining an outstanding
judgement from Ofsted" (seed 002 L6672-6678). A good teaching school keeps the status until its
next inspection (59 of the 662 mainstream teaching schools of March 2018 were graded good).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from ..events import ALLIANCE_JOINED, ALLIANCE_LEFT, DEDESIGNATED, DESIGNATED
from ..state import SUBSTANTIVE, TERMS_PER_YEAR

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

GRANT_TAPER = (1.0, 0.75, 0.5, 0.25)  # share of the first-year grant in years 1-4 (assumption)


def apply(model: "SchoolSystemModel") -> None:
    """This term's effects: readiness growth in alliance schools and the tapering grants."""
    sl, cfg = model.sl, model.config.policy.system_leadership
    members = sl.alliance_of >= 0
    if not members.any():
        return
    model.effects.readiness_bonus += np.where(members, model.params.alliance_readiness_gain, 0.0)[:, None]
    teaching = sl.teaching_school_since >= 0
    # Designated at a year end, a teaching school is in year 0 for the next three terms.
    year = (model.step_count - sl.teaching_school_since - 1) // TERMS_PER_YEAR
    share = np.where(teaching & (year < len(GRANT_TAPER)),
                     np.array(GRANT_TAPER + (0.0,))[np.clip(year, 0, len(GRANT_TAPER))], 0.0)
    model.effects.spend("teaching_school_grants", share * cfg.teaching_school_grant_gbp / TERMS_PER_YEAR)


def dissolve(model: "SchoolSystemModel", school: int, reason: str) -> None:
    """End a teaching school's designation and its alliance."""
    sl = model.sl
    if sl.teaching_school_since[school] < 0:
        return
    model.events.log(DEDESIGNATED, school, int(model.state.head_person[school]), reason=reason,
                     role="teaching_school")
    for member in np.nonzero(sl.alliance_of == school)[0]:
        if member != school:
            model.events.log(ALLIANCE_LEFT, int(member), int(model.state.head_person[member]),
                             reason=reason, supporter=school, client=int(member))
    sl.alliance_of[sl.alliance_of == school] = -1
    sl.teaching_school_since[school] = -1


def step(model: "SchoolSystemModel") -> None:
    """Dissolve alliances whose teaching school fell below good; at year ends, designate more."""
    sl, s, cfg = model.sl, model.state, model.config.policy.system_leadership
    for school in np.nonzero((sl.teaching_school_since >= 0) & (s.grade >= 3))[0]:
        dissolve(model, int(school), reason="grade_fell")
    if model.config.mechanisms.status_review:
        inspected_now = s.terms_since_inspection == 0
        for school in np.nonzero((sl.teaching_school_since >= 0) & inspected_now & (s.grade != 1))[0]:
            dissolve(model, int(school), reason="not_outstanding")
    if model.step_count % TERMS_PER_YEAR or not (cfg.enabled and cfg.teaching_schools):
        return
    quota = model.system_leadership.teaching_school_quota(model)
    places = quota - int((sl.teaching_school_since >= 0).sum())
    eligible = ((s.grade == 1) & (s.bench_strength() >= model.params.nle_bench_strength)
                & (s.head_experience >= cfg.min_headship_years) & (s.leader_kind == SUBSTANTIVE)
                & (sl.alliance_of < 0) & (sl.executive_of < 0))
    if places <= 0 or not eligible.any():
        return
    candidates = np.nonzero(eligible)[0]
    _designate(model, candidates[np.argsort(-s.effectiveness[candidates], kind="stable")[:places]])


def seed_from_world(model: "SchoolSystemModel") -> None:
    """At the start, the world's teaching schools (the real March 2018 list) form alliances.

    The list names teaching schools, not their member schools: each leads an alliance with its
    nearest schools, as a newly designated one would (about 83 % of alliances have a single
    teaching school: DfE, December 2019).
    """
    cfg = model.config.policy.system_leadership
    if cfg.enabled and cfg.teaching_schools and model.world.teaching_school.any():
        _designate(model, np.nonzero(model.world.teaching_school)[0])


def _designate(model: "SchoolSystemModel", chosen: np.ndarray) -> None:
    """Designate ``chosen`` teaching schools in order; each forms an alliance with the nearest
    schools not yet in one, within the travel distance."""
    sl, s, cfg, w = model.sl, model.state, model.config.policy.system_leadership, model.world
    free = sl.alliance_of < 0
    tree = cKDTree(np.column_stack([w.x_km, w.y_km]))  # all schools; membership filtered below
    for school in chosen:
        if not free[school]:  # joined an alliance formed earlier in this round
            continue
        sl.teaching_school_since[school] = model.step_count
        sl.alliance_of[school] = school
        free[school] = False
        model.events.log(DESIGNATED, int(school), int(s.head_person[school]), role="teaching_school")
        for member, distance in _nearest_free(tree, free, school, cfg.alliance_size - 1, cfg.max_distance_km):
            sl.alliance_of[member] = school
            free[member] = False
            model.events.log(ALLIANCE_JOINED, member, int(s.head_person[member]),
                             supporter=int(school), client=member, distance_km=distance)


def _nearest_free(tree: cKDTree, free: np.ndarray, school: int, wanted: int,
                  max_km: float) -> list[tuple[int, float]]:
    """Up to ``wanted`` nearest schools not in an alliance, within ``max_km`` of ``school``."""
    n = tree.n
    k = min(n, 4 * wanted + 1)
    while True:
        distance, index = tree.query(tree.data[school], k=k, distance_upper_bound=max_km)
        distance, index = np.atleast_1d(distance), np.atleast_1d(index)
        reachable = index < n
        distance, index = distance[reachable], index[reachable]
        keep = free[index]
        if keep.sum() >= wanted or len(index) < k or k == n:
            return [(int(i), float(d)) for i, d in zip(index[keep][:wanted], distance[keep][:wanted])]
        k = min(n, 4 * k)
