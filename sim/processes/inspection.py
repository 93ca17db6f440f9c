"""Ofsted inspection: schools are inspected when due for their grade; the grade is an imperfect
reading of effectiveness (DESIGN.md process 5).

The interval for each grade is set by the inspection regime (``policy.inspection``); a school
not yet inspected (grade 0: new, or reopened as a sponsored academy) is first inspected
``first_inspection_terms`` after opening. Under ``regime=calendar`` the rules in force on each
calendar date apply (``CALENDAR``):

* **Outstanding exemption** (Education Act 2011; in force from 2012, lifted by regulations in
  November 2020, routine re-inspection from September 2021): an outstanding school is inspected
  only when its results fall below the good threshold (risk assessment), with a per-term chance.
  When it ends, the overdue schools are caught up over ``CATCH_UP_TERMS`` rather than all at once.
* **Short inspections** (September 2015 on): a good school's routine inspection is a short
  (section 8) one; one that finds the school still good records no new graded judgement
  (event ``short_inspection``) and one that finds it better or worse converts to a full graded
  inspection (event ``inspection``), as the history file in data/england_2018 records them.

The observed effectiveness is the true value plus noise; grade thresholds are calibrated to
Ofsted's Aug 2018 grade mix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

RISK_INSPECTION_PER_TERM = 0.2  # assumption: chance an exempt school at risk is inspected
# Calendar years (decimal; .67 = September) between which each rule was in force.
CALENDAR = {
    "outstanding_exempt": (2012.0, 2021.67),
    "short_inspections": (2015.67, float("inf")),
}
# Ofsted planned to re-inspect the formerly exempt schools over about four years (2021-2025):
# an assumption on the pace, an overdue school is inspected with chance 1 / CATCH_UP_TERMS a term.
CATCH_UP_TERMS = 12


def in_force(rule: str, model: "SchoolSystemModel") -> bool:
    """Whether ``rule`` applies this term under the model's inspection regime."""
    regime = model.config.policy.inspection
    if regime.regime == "fixed":
        return rule == "outstanding_exempt" and regime.outstanding_exempt
    start, end = CALENDAR[rule]
    return start <= model.calendar_year < end


def grade_from(observed: np.ndarray, model: "SchoolSystemModel") -> np.ndarray:
    """Ofsted grade 1-4 for observed effectiveness."""
    p = model.params
    cuts = np.array([-p.threshold_outstanding, -p.threshold_good, -p.threshold_inadequate])
    return (1 + np.searchsorted(cuts, -observed, side="right")).astype(np.int8)


def due(model: "SchoolSystemModel") -> np.ndarray:
    """Schools due an inspection this term."""
    regime, s, rng = model.config.policy.inspection, model.state, model.rng
    interval = np.array((regime.first_inspection_terms,) + tuple(regime.interval_terms))[s.grade]
    draw = rng.random(s.n)
    is_due = (s.terms_since_inspection >= interval) | ((s.terms_since_inspection >= interval - 1) & (draw < 0.3))
    if regime.regime == "calendar":
        # Outstanding schools long overdue (the exemption just lifted) are caught up gradually.
        overdue = (s.grade == 1) & (s.terms_since_inspection >= interval + CATCH_UP_TERMS)
        is_due = np.where(overdue, draw < 1.0 / CATCH_UP_TERMS, is_due)
    if in_force("outstanding_exempt", model):
        at_risk = (s.effectiveness < model.params.threshold_good) & (rng.random(s.n) < RISK_INSPECTION_PER_TERM)
        is_due = np.where(s.grade == 1, at_risk, is_due)
    return is_due


def step(model: "SchoolSystemModel") -> np.ndarray:
    """Inspect the schools that are due, log each inspection; return the inspected indices."""
    s, rng = model.state, model.rng
    s.terms_since_inspection += 1
    s.terms_since_downgrade = np.minimum(s.terms_since_downgrade + 1, 999).astype(np.int16)
    inspected = np.nonzero(due(model))[0]
    if len(inspected) == 0:
        return inspected
    observed = s.effectiveness[inspected] + rng.normal(0, model.params.inspection_noise_sd, len(inspected))
    new = grade_from(observed, model)
    old = s.grade[inspected].copy()
    s.terms_since_inspection[inspected] = 0
    if in_force("short_inspections", model):
        still_good = (old == 2) & (new == 2)
        for school in inspected[still_good]:
            model.events.log("short_inspection", int(school), int(s.head_person[school]),
                             grade=2, previous_grade=2)
        inspected, new, old = inspected[~still_good], new[~still_good], old[~still_good]
    s.previous_grade[inspected] = old
    s.grade[inspected] = new
    s.terms_since_downgrade[inspected[(new > old) & (old > 0)]] = 0
    for school, grade, previous in zip(inspected, new, old):
        model.events.log("inspection", int(school), int(s.head_person[school]),
                         grade=int(grade), previous_grade=int(previous))
    return inspected
