"""Ofsted inspection: schools are inspected when due for their grade; the grade is an imperfect
reading of effectiveness (DESIGN.md process 5).

The interval for each grade and the 2012-2020 exemption of outstanding schools are set by the
inspection regime (``policy.inspection``). Under the exemption, an outstanding school is
inspected only when its results fall below the good threshold (risk assessment), with a
per-term chance. The observed effectiveness is the true value plus noise; grade thresholds
are calibrated to Ofsted's Aug 2018 grade mix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

RISK_INSPECTION_PER_TERM = 0.2  # assumption: chance an exempt school at risk is inspected


def grade_from(observed: np.ndarray, model: "SchoolSystemModel") -> np.ndarray:
    """Ofsted grade 1-4 for observed effectiveness."""
    p = model.params
    cuts = np.array([-p.threshold_outstanding, -p.threshold_good, -p.threshold_inadequate])
    return (1 + np.searchsorted(cuts, -observed, side="right")).astype(np.int8)


def due(model: "SchoolSystemModel") -> np.ndarray:
    """Schools due an inspection this term."""
    regime, s, rng = model.config.policy.inspection, model.state, model.rng
    interval = np.array(regime.interval_terms)[s.grade - 1]
    is_due = (s.terms_since_inspection >= interval) | (
        (s.terms_since_inspection >= interval - 1) & (rng.random(s.n) < 0.3))
    if regime.outstanding_exempt:
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
    s.previous_grade[inspected] = old
    s.grade[inspected] = new
    s.terms_since_inspection[inspected] = 0
    s.terms_since_downgrade[inspected[new > old]] = 0
    for school, grade, previous in zip(inspected, new, old):
        model.events.log("inspection", int(school), int(s.head_person[school]),
                         grade=int(grade), previous_grade=int(previous))
    return inspected
