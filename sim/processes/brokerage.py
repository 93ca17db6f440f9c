"""Brokerage: brokers find schools in need and match them to available system leaders.

Need (``sim/need.py``; seed 004 L432-438: low achievement, new headteachers, Ofsted categories): a
school graded requires improvement or inadequate; a high-disadvantage school (FSM band 4) with
results below the good threshold; a school in its new head's first year as a head. Brokers seek
support for those not already supported or led by an executive head.

Supply: NLEs with fewer clients than the cap (one or two schools: seed 002 L1023) and LLEs
without a client, whose own school is good or better. A match must be within the maximum travel
distance (geographical proximity, seed 004 L440) and, when required, of the same phase; the
targeting rule orders clients and picks supporters (``policies/targeting.py``). Each
deployment costs the deployment grant and the yearly budget (``policies/system_leadership.py``;
a budget year is the run's year, terms 1-3, 4-6...) is never overspent.

Mechanisms of issue 8 (``config.mechanisms``): ``deployment_limits`` makes supply depend on more
than the budget: a system leader takes a new client in a term only if willing
(``supporter_willingness``: seed 002 L2724-2728, the time commitment presses on capacity) and if
the home school has a ready senior leader to cover (seed 002 L6338-6344). ``client_readiness``
applies the barriers of seed 003 L1277-1362 where the source places them: access barriers lower
the chance a school offered support takes it up this term (membership of a trust that prefers
its own support, ``trust_engagement``, for a school whose governance now is not maintained,
sponsored academies opened during the run included; village-and-hamlet or coastal remoteness,
``remote_engagement``), and capacity barriers lower the engagement of a client that does (cover
costs where the senior team is one person or none, ``cover_cost_engagement``; weak leadership,
``weak_leadership_engagement``). A school that declines stays in need and can be offered
support again next term.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..events import SUPPORT_STARTED
from ..nearest import CandidateSearch
from ..need import schools_in_need  # noqa: F401  (re-exported: brokers' definition of need)
from ..state import ACTING, TERMS_PER_YEAR
from ..system_leadership import (MODES, NLE, NO_ROLE, ROLES, SECONDARY_SECONDMENT_SHARE, Deployment,
                                 second_leader)
from ..world import MAINTAINED, RURAL, SECONDARY, good_or_better

if TYPE_CHECKING:
    from ..model import SchoolSystemModel



def unmet_need(model: "SchoolSystemModel") -> np.ndarray:
    """(n,) bool: schools in need with no supporter and no executive head: brokers' clients."""
    sl = model.sl
    return schools_in_need(model) & (sl.supporters_of(model.state.n) == 0) & (sl.executive_of < 0)


def client_room(model: "SchoolSystemModel") -> np.ndarray:
    """(n,) further clients each school's head could take (NLE: up to the cap; others: one)."""
    sl = model.sl
    cap = np.where(sl.role == NLE, model.config.policy.system_leadership.max_clients_per_nle, 1)
    return cap - sl.clients_of(model.state.n)


def available_supply(model: "SchoolSystemModel", room: np.ndarray | None = None) -> np.ndarray:
    """(n,) bool: system leaders of good or better schools with room for another client (and,
    under ``deployment_limits``, a ready senior leader at home to cover)."""
    room = client_room(model) if room is None else room
    supply = (model.sl.role > NO_ROLE) & (room > 0) & good_or_better(model.state.grade)
    if model.config.mechanisms.deployment_limits:
        supply &= model.state.ready_leaders(model.params.ready_threshold).any(axis=1)
    return supply


def take_up_probability(model: "SchoolSystemModel") -> np.ndarray:
    """(n,) chance that a school offered external support this term takes it up: the access
    barriers of seed 003 (1 without the ``client_readiness`` mechanism). A school in a trust may
    prefer the trust's own support (L1343-1346, ``trust_engagement``); a village or hamlet (not
    ``World.rural``, which adds town and fringe: see ODD 6.12) or coastal school finds support
    "time consuming and costly to attend" (L1354-1356, ``remote_engagement``)."""
    n = model.state.n
    if not model.config.mechanisms.client_readiness:
        return np.ones(n)
    p, w = model.params, model.world
    in_trust = model.state.governance != MAINTAINED  # sponsored conversions join a trust
    return (np.where(in_trust, p.trust_engagement, 1.0)
            * np.where((w.setting == RURAL) | w.coastal, p.remote_engagement, 1.0))


def client_engagement_factor(model: "SchoolSystemModel", client: int) -> float:
    """Multiplier on a new client's engagement for the capacity barriers of seed 003 (1 without
    the ``client_readiness`` mechanism): cover costs where the senior team is one person or none
    (L1281-1285) and weak leadership (L1360-1362, L1323-1325)."""
    if not model.config.mechanisms.client_readiness:
        return 1.0
    p, s = model.params, model.state
    factor = p.cover_cost_engagement if (s.bench_person[client] >= 0).sum() <= 1 else 1.0
    shortfall = max(0.0, p.weak_leadership_capacity - float(s.head_capacity[client].mean()))
    return factor * max(0.0, 1.0 - p.weak_leadership_engagement * shortfall)


def step(model: "SchoolSystemModel") -> None:
    """Start new deployments for this term under the targeting rule in force."""
    cfg, sl, s, w = model.config.policy.system_leadership, model.sl, model.state, model.world
    sl.started_this_step = 0
    if not cfg.enabled or cfg.targeting == "none":
        return
    need = unmet_need(model)
    room_by_school = client_room(model)
    supply = available_supply(model, room_by_school)
    willing = model.rng.random(s.n) < model.params.supporter_willingness  # drawn always: common numbers
    takes_up = model.rng.random(s.n) < take_up_probability(model)  # drawn always: common numbers
    if model.config.mechanisms.deployment_limits:
        supply &= willing
    levers = model.system_leadership
    clients, pick_nearest = levers.order_clients(model, need, supply)
    supporters = np.nonzero(supply)[0]
    room = room_by_school[supporters]
    # One search per phase when phases must match; positions map back through `members`.
    groups = (w.phase[supporters] if cfg.phase_match else np.zeros(len(supporters), dtype=np.int8))
    searches, members = {}, {}
    for g in np.unique(groups):
        members[g] = np.nonzero(groups == g)[0]
        chosen = supporters[members[g]]
        searches[g] = CandidateSearch(chosen, w.x_km[chosen], w.y_km[chosen])
    budget = levers.yearly_budget(model)
    grants = np.zeros(s.n)
    open_places = int(room.sum())
    for client in clients:
        if sl.spent_this_year_gbp + cfg.deployment_grant_gbp > budget + 1e-9 or open_places == 0:
            break
        g = w.phase[client] if cfg.phase_match else 0
        if g not in searches or not takes_up[client]:
            continue
        search = searches[g]
        x, y = w.x_km[client], w.y_km[client]
        if pick_nearest:
            found = search.nearest(x, y, cfg.max_distance_km, exclude=int(client))
            if found is None:
                continue
            position, distance = found
        else:
            positions, distances = search.within(x, y, cfg.max_distance_km, exclude=int(client))
            if len(positions) == 0:
                continue
            k = int(model.rng.integers(len(positions)))
            position, distance = int(positions[k]), float(distances[k])
        pick = members[g][position]
        _start(model, int(supporters[pick]), int(client), distance)
        grants[client] += cfg.deployment_grant_gbp
        room[pick] -= 1
        open_places -= 1
        if room[pick] == 0:
            search.available[position] = False
    model.effects.spend("deployment_grants", grants)


def planned_length_terms(support_years: float, rng: np.random.Generator) -> int:
    """Planned length of a deployment: whole terms drawn evenly over ``support_years`` +- 1 year,
    kept within one to three years when ``support_years`` is (seed 004 L135: "between one and
    three years")."""
    low = max(min(support_years, 1.0), support_years - 1.0)
    high = min(max(support_years, 3.0), support_years + 1.0)
    return int(rng.integers(round(low * TERMS_PER_YEAR), round(high * TERMS_PER_YEAR) + 1))


def _start(model: "SchoolSystemModel", supporter: int, client: int, distance_km: float) -> None:
    """Start a deployment: choose its mode, draw the client's engagement, pay the grant."""
    cfg, p, s, sl, rng = (model.config.policy.system_leadership, model.params, model.state,
                          model.sl, model.rng)
    ready_in_home = s.ready_leaders(p.ready_threshold, supporter).sum()
    if s.leader_kind[client] == ACTING:
        mode = "interim_headship"
    elif (ready_in_home >= p.secondment_min_ready_leaders and model.world.phase[client] == SECONDARY
          and rng.random() < SECONDARY_SECONDMENT_SHARE):
        mode = "secondment"
    else:
        mode = "consultancy"
    if s.grade[client] >= 3:
        engagement = 1.0 if rng.random() < p.client_reach_out_probability else p.withdrawn_engagement
    else:
        engagement = p.exploratory_engagement
    engagement *= client_engagement_factor(model, client)
    start, length = model.step_count + 1, planned_length_terms(cfg.support_years, rng)
    deployment = Deployment(supporter=supporter, client=client, role=int(sl.role[supporter]), mode=mode,
                            intensity=MODES[mode], start_step=start, end_step=start + length,
                            distance_km=distance_km, engagement=engagement,
                            shallow=bool(rng.random() < cfg.funding_incentive),
                            grant_gbp=cfg.deployment_grant_gbp, start_grade=int(s.grade[client]))
    sl.deployments.append(deployment)
    if mode == "secondment" and model.config.mechanisms.secondment_vacancy_chain:
        second_leader(model, deployment)
    sl.spent_this_year_gbp += cfg.deployment_grant_gbp
    sl.spent_total_gbp += cfg.deployment_grant_gbp
    sl.started_this_step += 1
    model.events.log(SUPPORT_STARTED, client, int(s.head_person[supporter]), supporter=supporter,
                     client=client, distance_km=distance_km, mode=mode, grade=int(s.grade[client]),
                     role=ROLES[sl.role[supporter]])
