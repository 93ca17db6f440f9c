"""Designation of system leaders: yearly NLE and LLE rounds, and de-designation.

NLE criteria (seed 004 Annex B L646-652; DfE NLE guide): an outstanding school (or, with the
FSM relaxation, an "exceptionally good" school serving an area of high deprivation, FSM >= 25%);
three years of high or improving results above the floor (here: effectiveness at each of the
last three year ends above the good threshold and either above average or rising); strong
senior leaders (seed 004 L648; a bench able to cover, seed 002 L6338-6344); at least three years
a head; able to stay a head two more years. LLE: at least three years a head of a good or
outstanding school. Eligible heads apply with a yearly probability; the most effective are
designated up to the quota (``policies/system_leadership.py``: a national figure scaled to the
world's share of England's schools).
Roles end when the head leaves or, at an inspection, when the school falls below good
(NLE status is contingent on the home school's grade: seed 002 L2575-2579, L6378-6384).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..state import SUBSTANTIVE, TERMS_PER_YEAR
from ..system_leadership import LLE, NLE, NO_ROLE, ROLES, dedesignate
from ..world import good_or_better

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

HIGH_DEPRIVATION_FSM = 0.25          # seed 004 L646
EXCEPTIONALLY_GOOD_MARGIN = 0.25     # assumption: "exceptionally good" = within 0.25 sd of outstanding
IMPROVING_MARGIN = 0.2               # assumption: a rise of 0.2 sd over three years is "improving"
NLE_BENCH_STRENGTH = 0.5             # assumption: mean readiness of a bench able to cover


def nle_eligible(model: "SchoolSystemModel") -> np.ndarray:
    """Heads who meet the NLE criteria now."""
    p, s, sl = model.params, model.state, model.sl
    cfg = model.config.policy.system_leadership
    history = sl.effectiveness_history
    outstanding = s.grade == 1
    if cfg.fsm_relaxation:
        exceptionally_good = ((s.grade == 2) & (model.world.fsm_share >= HIGH_DEPRIVATION_FSM)
                              & (history[:, -1] >= p.threshold_outstanding - EXCEPTIONALLY_GOOD_MARGIN))
        outstanding = outstanding | exceptionally_good
    sustained = history.min(axis=1) > p.threshold_good
    high_or_improving = (history.mean(axis=1) > 0) | (history[:, -1] - history[:, 0] > IMPROVING_MARGIN)
    strong_bench = s.bench_strength() >= NLE_BENCH_STRENGTH
    experienced = s.head_experience >= cfg.min_headship_years
    staying = s.head_age <= p.retirement_age_certain - 2
    return (outstanding & sustained & high_or_improving & strong_bench & experienced & staying
            & (s.leader_kind == SUBSTANTIVE) & (sl.executive_of < 0))


def lle_eligible(model: "SchoolSystemModel") -> np.ndarray:
    """Heads who meet the LLE criteria now (three years a head of a good or better school)."""
    s, cfg = model.state, model.config.policy.system_leadership
    return (good_or_better(s.grade) & (s.head_experience >= cfg.min_headship_years)
            & (s.leader_kind == SUBSTANTIVE) & (model.sl.executive_of < 0))


def step(model: "SchoolSystemModel") -> None:
    """De-designate after a fall in grade; at each year end, record results and run a round."""
    s, sl = model.state, model.sl
    for school in np.nonzero((sl.role != NO_ROLE) & (s.grade >= 3))[0]:
        dedesignate(model, int(school), reason="grade_fell")
    if model.step_count % TERMS_PER_YEAR:
        return
    sl.effectiveness_history[:, :-1] = sl.effectiveness_history[:, 1:]
    sl.effectiveness_history[:, -1] = s.effectiveness
    cfg = model.config.policy.system_leadership
    if not cfg.enabled:
        return
    levers = model.system_leadership
    _designate(model, NLE, nle_eligible(model), levers.nle_quota(model))
    _designate(model, LLE, lle_eligible(model), levers.lle_quota(model))


def _designate(model: "SchoolSystemModel", role: int, eligible: np.ndarray, quota: int) -> None:
    """Designate applicants to ``role`` in order of effectiveness until the quota is reached."""
    sl, s = model.sl, model.state
    places = quota - int((sl.role == role).sum())
    applying = eligible & (sl.role < role) & (model.rng.random(s.n) < model.params.nle_application_per_year)
    if places <= 0 or not applying.any():
        return
    candidates = np.nonzero(applying)[0]
    chosen = candidates[np.argsort(-s.effectiveness[candidates], kind="stable")[:places]]
    for school in chosen:
        if sl.role[school] == LLE and role == NLE:
            model.events.log("dedesignated", int(school), int(s.head_person[school]),
                             reason="became_nle", role=ROLES[LLE])
        sl.role[school] = role
        sl.designated_step[school] = model.step_count
        model.events.log("designated", int(school), int(s.head_person[school]), role=ROLES[role])

