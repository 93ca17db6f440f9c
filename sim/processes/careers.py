"""Heads' careers: ageing, retirement and early exit.

Heads retire with a hazard that starts at ``retirement_age_start`` and is certain at
``retirement_age_certain``. Early exit (resignation, moving out of headship) has a yearly
hazard by phase, calibrated to NFER (2017) retention, multiplied by the drivers NFER found:
an inadequate or requires-improvement grade (more so in the year after a downgrade),
disadvantage, small schools' workload (an assumption) and low resilience; policies
(retention incentives, system-leadership roles) multiply it further. Acting heads do not exit
by hazard: they hold the post until succession replaces them; a school led by an executive head
loses its leader when that head leaves their home school.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..state import ACTING, SUBSTANTIVE, TERMS_PER_YEAR, per_term
from ..world import SECONDARY

if TYPE_CHECKING:
    from ..model import SchoolSystemModel


def early_exit_hazard(model: "SchoolSystemModel") -> np.ndarray:
    """Yearly early-exit hazard of each school's head."""
    p, s, w = model.params, model.state, model.world
    base = np.where(w.phase == SECONDARY, p.head_exit_secondary_per_year, p.head_exit_primary_per_year)
    grade_mult = np.select([s.grade == 4, s.grade == 3],
                           [p.exit_mult_inadequate, p.exit_mult_requires_improvement], 1.0)
    downgraded = np.where(s.terms_since_downgrade < TERMS_PER_YEAR, p.exit_mult_after_downgrade, 1.0)
    disadvantage = 1.0 + p.exit_mult_per_fsm_band * (model.fsm_band - 1)
    small = np.where(model.small, p.exit_mult_small_school, 1.0)
    resilience = 1.0 + p.exit_mult_low_resilience * (1.0 - s.head_resilience)
    return (base * grade_mult * downgraded * disadvantage * small * resilience
            * model.effects.exit_hazard_multiplier)


def retirement_hazard(model: "SchoolSystemModel") -> np.ndarray:
    """Yearly retirement hazard by age."""
    p, age = model.params, model.state.head_age
    return np.where(age >= p.retirement_age_certain, 1.0,
                    np.where(age >= p.retirement_age_start, p.retirement_per_year_after_start, 0.0))


def step(model: "SchoolSystemModel") -> None:
    """Age heads by a term and remove those who retire or leave."""
    s, rng = model.state, model.rng
    s.head_age += 1.0 / TERMS_PER_YEAR
    s.head_tenure += 1.0 / TERMS_PER_YEAR
    s.head_experience += np.where(s.leader_kind != ACTING, 1.0 / TERMS_PER_YEAR, 0.0)

    substantive = s.leader_kind == SUBSTANTIVE  # executive-led schools share their head's fate
    draw = rng.random(s.n)
    retire_p = per_term(retirement_hazard(model))
    exit_p = per_term(early_exit_hazard(model))
    retiring = substantive & (draw < retire_p)
    leaving = substantive & ~retiring & (draw < retire_p + exit_p)
    for school in np.nonzero(retiring)[0]:
        model.remove_head(int(school), reason="retired")
    for school in np.nonzero(leaving)[0]:
        model.remove_head(int(school), reason="left_early")
