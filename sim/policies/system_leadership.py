"""System-leadership levers: how many NLEs, LLEs and teaching schools there may be, the
deployment budget, and the rule brokers use to target support.

The processes that carry system leadership out (``designation``, ``brokerage``, ``structure``,
``alliances``) ask this object for the lever settings in force; quotas and the budget are
national figures, scaled here to the world's share of England's schools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..parameters import SystemLeadershipConfig
from ..state import TERMS_PER_YEAR
from ..world import ENGLAND_SCHOOLS
from . import Policy, PolicyEffects
from .targeting import order_clients

if TYPE_CHECKING:
    from ..model import SchoolSystemModel



def national_quota(model: "SchoolSystemModel", quota: float, schedule) -> int:
    """A national quota for the current calendar year (from ``schedule``, [year, value] pairs,
    interpolated, when given), scaled to this world."""
    if len(schedule):
        years = np.array([y for y, _ in schedule], dtype=float)
        values = np.array([v for _, v in schedule], dtype=float)
        quota = float(np.interp(model.calendar_year, years, values))
    return int(round(quota * model.world.n_schools / ENGLAND_SCHOOLS))


class SystemLeadershipLevers(Policy):
    """Quotas, criteria switches, budget and targeting rule of system leadership."""

    name = "system_leadership"

    def __init__(self, config: SystemLeadershipConfig, model: "SchoolSystemModel") -> None:
        self.config = config

    def apply(self, model: "SchoolSystemModel", effects: PolicyEffects) -> None:
        """Open a new budget year at the first term of each of the run's years."""
        if model.step_count % TERMS_PER_YEAR == 1:
            model.sl.spent_this_year_gbp = 0.0

    def nle_quota(self, model: "SchoolSystemModel") -> int:
        """NLEs allowed this year (the historical schedule if given, else ``nle_quota``)."""
        return national_quota(model, self.config.nle_quota, self.config.nle_quota_by_year)

    def lle_quota(self, model: "SchoolSystemModel") -> int:
        """LLEs allowed this year."""
        return national_quota(model, self.config.lle_quota, ())

    def teaching_school_quota(self, model: "SchoolSystemModel") -> int:
        """Teaching schools allowed this year."""
        return national_quota(model, self.config.teaching_school_quota, ())

    def yearly_budget(self, model: "SchoolSystemModel") -> float:
        """This world's share of the national yearly deployment budget (GBP)."""
        return self.config.budget_gbp_per_year * model.world.n_schools / ENGLAND_SCHOOLS

    def order_clients(self, model: "SchoolSystemModel", need: np.ndarray,
                      supply: np.ndarray) -> tuple[np.ndarray, bool]:
        """Clients in the order the targeting rule serves them; whether it picks the nearest."""
        return order_clients(self.config.targeting, model, need, supply)
