"""Recruitment and retention premium for hard-to-staff schools.

Schools meeting any of the configured criteria (rural, coastal, small, FSM band 4, inadequate;
the settings where seed 002 L2415-2417 and seed 003 L1438-1440 find heads and staff hard to
recruit and keep; coastal is an assumption, seed 003 L798-802 reports coastal schools' isolation
from support, not recruitment) get a premium that raises the chance of an external appointment and lowers
their head's early-exit hazard. The effect sizes are levers to sweep, not evidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..parameters import RecruitmentIncentiveConfig
from ..state import TERMS_PER_YEAR
from . import Policy, PolicyEffects

if TYPE_CHECKING:
    from ..model import SchoolSystemModel



def hard_to_staff(model: "SchoolSystemModel", criteria: tuple[str, ...]) -> np.ndarray:
    """Schools meeting any of ``criteria`` (names from HARD_TO_STAFF_CRITERIA)."""
    w = model.world
    tests = {
        "rural": lambda: w.rural,
        "coastal": lambda: w.coastal,
        "small": lambda: model.small,
        "fsm_band4": lambda: model.fsm_band == 4,
        "inadequate": lambda: model.state.grade == 4,
    }
    eligible = np.zeros(w.n_schools, dtype=bool)
    for name in criteria:
        eligible |= tests[name]()
    return eligible


class RecruitmentIncentive(Policy):
    """A premium for heads of hard-to-staff schools."""

    name = "recruitment_incentive"

    def __init__(self, config: RecruitmentIncentiveConfig, model: "SchoolSystemModel") -> None:
        self.config = config

    def apply(self, model: "SchoolSystemModel", effects: PolicyEffects) -> None:
        """Raise recruitment and retention in eligible schools and pay the premium."""
        eligible = hard_to_staff(model, self.config.targets)
        effects.recruitment_multiplier *= np.where(eligible, self.config.recruitment_multiplier, 1.0)
        effects.exit_hazard_multiplier *= np.where(eligible, self.config.exit_hazard_multiplier, 1.0)
        effects.spend(self.name, eligible * (self.config.premium_gbp_per_year / TERMS_PER_YEAR))
