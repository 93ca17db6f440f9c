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

Mechanisms of issue 8 (each switched by ``config.mechanisms``):

* ``status_review``: at each inspection an NLE's school must still be outstanding, or with the
  FSM relaxation good with FSM >= 25 % (seed 002 L2575-2579: the role "is dependent on their
  school continuing to have an outstanding grade"); otherwise the NLE role ends.
* ``deployment_limits``: an NLE needs at least ``nle_min_senior_leaders`` senior leaders in post
  (seed 004 L648), which small schools lack, so supply thins where schools are small.
* ``cva_ranking``: NLE applicants are ranked by contextual value added (seed 004 L647: CVA above
  the national average), the effectiveness the school would show without its intake's headwind,
  so the FSM relaxation can change who is designated.
* ``phase_mix``: secondary heads apply ``secondary_application_ratio`` times as often as primary
  heads (seed 002 L772-774: 77 % of secondary and 56 % of primary heads hold a system-leadership role).
* ``starting_system_leaders``: at step 0 the NLEs and LLEs in post are designated with these
  criteria, every eligible head counting as an applicant, the NLE quota split by phase as
  published (about 53.5 % primary; LLEs about 81 % primary: seed 002 Appendix 1 L8252-8327).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..events import DEDESIGNATED, DESIGNATED
from ..state import SUBSTANTIVE, TERMS_PER_YEAR
from ..system_leadership import LLE, NLE, NO_ROLE, ROLES, dedesignate
from ..world import PRIMARY, good_or_better

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

HIGH_DEPRIVATION_FSM = 0.25          # seed 004 L646
# Primary share of NLEs and LLEs (seed 002 Appendix 1: 465 of 878 NLEs in 2013, 504 of 941 in 2014;
# 1,312 of 1,617 LLEs in 2014; the totals include nursery and special schools).
STARTING_PRIMARY_SHARE = {NLE: 0.535, LLE: 0.81}


def outstanding_for_nle(model: "SchoolSystemModel") -> np.ndarray:
    """(n,) bool: the school meets the NLE grade criterion (outstanding, or with the FSM relaxation
    a good school serving a high-deprivation intake whose results are exceptionally good)."""
    p, s, sl = model.params, model.state, model.sl
    outstanding = s.grade == 1
    if model.config.policy.system_leadership.fsm_relaxation:
        high_fsm_good = (s.grade == 2) & (model.world.fsm_share >= HIGH_DEPRIVATION_FSM)
        exceptionally_good = high_fsm_good & (
            sl.effectiveness_history[:, -1] >= p.threshold_outstanding - p.exceptionally_good_margin)
        outstanding = outstanding | exceptionally_good
    return outstanding


def contextual_value_added(model: "SchoolSystemModel") -> np.ndarray:
    """(n,) effectiveness with the intake's disadvantage headwind added back (seed 004 L647: CVA)."""
    p = model.params
    return model.state.effectiveness + p.outcome_per_condition * p.disadvantage_headwind * model.world.fsm_share


def nle_eligible(model: "SchoolSystemModel") -> np.ndarray:
    """Heads who meet the NLE criteria now."""
    p, s, sl = model.params, model.state, model.sl
    cfg = model.config.policy.system_leadership
    history = sl.effectiveness_history
    outstanding = outstanding_for_nle(model)
    sustained = history.min(axis=1) > p.threshold_good
    high_or_improving = (history.mean(axis=1) > 0) | (history[:, -1] - history[:, 0] > p.improving_margin)
    strong_bench = s.bench_strength() >= p.nle_bench_strength
    experienced = s.head_experience >= cfg.min_headship_years
    staying = s.head_age <= p.retirement_age_certain - 2
    if model.config.mechanisms.deployment_limits:
        strong_bench &= s.bench_present.sum(axis=1) >= p.nle_min_senior_leaders
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
    if model.config.mechanisms.status_review:
        inspected_now = s.terms_since_inspection == 0
        for school in np.nonzero((sl.role == NLE) & inspected_now & ~outstanding_for_nle(model))[0]:
            dedesignate(model, int(school), reason="not_outstanding")
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


def application_probability(model: "SchoolSystemModel", role: int) -> np.ndarray:
    """(n,) chance that an eligible head applies in this year's round."""
    p = model.params
    rate = np.full(model.state.n, p.nle_application_per_year)
    if role == NLE and model.config.mechanisms.phase_mix:
        rate = np.where(model.world.phase == PRIMARY, rate / p.secondary_application_ratio, rate)
    return rate


def ranking_score(model: "SchoolSystemModel", role: int) -> np.ndarray:
    """(n,) what applicants are ranked by: CVA for NLEs under ``cva_ranking``, else effectiveness."""
    if role == NLE and model.config.mechanisms.cva_ranking:
        return contextual_value_added(model)
    return model.state.effectiveness


def initial_round(model: "SchoolSystemModel") -> None:
    """System leaders in post at step 0: every eligible head counts as an applicant and the
    quotas are filled by phase in the published proportions (``STARTING_PRIMARY_SHARE``)."""
    levers = model.system_leadership
    primary = model.world.phase == PRIMARY
    for role, eligible, quota in ((NLE, nle_eligible(model), levers.nle_quota(model)),
                                  (LLE, lle_eligible(model), levers.lle_quota(model))):
        primary_quota = int(round(quota * STARTING_PRIMARY_SHARE[role]))
        _designate(model, role, eligible & primary, primary_quota, applying_share=1.0)
        _designate(model, role, eligible & ~primary, quota - primary_quota, applying_share=1.0,
                   already=int(((model.sl.role == role) & ~primary).sum()))


def _designate(model: "SchoolSystemModel", role: int, eligible: np.ndarray, quota: int,
               applying_share: float | None = None, already: int | None = None) -> None:
    """Designate applicants to ``role`` in order of their ranking score until the quota is reached.

    ``already`` is how many hold the role towards this quota (default: all who hold it);
    ``applying_share`` overrides the yearly application probability (the step-0 round uses 1).
    """
    sl, s = model.sl, model.state
    held = int((sl.role == role).sum()) if already is None else already
    places = quota - held
    draw = model.rng.random(s.n)
    chance = application_probability(model, role) if applying_share is None else applying_share
    applying = eligible & (sl.role < role) & (draw < chance)
    if places <= 0 or not applying.any():
        return
    candidates = np.nonzero(applying)[0]
    score = ranking_score(model, role)
    chosen = candidates[np.argsort(-score[candidates], kind="stable")[:places]]
    for school in chosen:
        if sl.role[school] == LLE and role == NLE:
            model.events.log(DEDESIGNATED, int(school), int(s.head_person[school]),
                             reason="became_nle", role=ROLES[LLE])
        sl.role[school] = role
        sl.designated_step[school] = model.step_count
        model.events.log(DESIGNATED, int(school), int(s.head_person[school]), role=ROLES[role])

