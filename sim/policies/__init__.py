"""Levers: one policy class per module, each turning its configuration into this term's effects.

Every term the model resets a :class:`PolicyEffects` to neutral and asks each policy in force to
``apply`` itself; the processes read the effects. Adding a lever means adding a module with a
:class:`Policy` subclass and a config dataclass in ``sim/parameters.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..parameters import PolicyConfig
from ..state import MAX_SENIOR_LEADERS

if TYPE_CHECKING:
    from ..model import SchoolSystemModel


@dataclass
class PolicyEffects:
    """What the levers in force do this term, per school (neutral values change nothing)."""

    recruitment_multiplier: np.ndarray       # on the chance of an external appointment
    exit_hazard_multiplier: np.ndarray       # on heads' early-exit hazard
    leadership_effort_multiplier: np.ndarray  # on the rate conditions change
    condition_target_shift: np.ndarray       # added to sustainable condition levels
    readiness_bonus: np.ndarray              # (n, K) extra readiness growth this term
    spend_gbp: dict[str, np.ndarray] = field(default_factory=dict)  # per school, by lever

    @classmethod
    def neutral(cls, n: int) -> "PolicyEffects":
        """Effects of no policy at all."""
        return cls(np.ones(n), np.ones(n), np.ones(n), np.zeros(n), np.zeros((n, MAX_SENIOR_LEADERS)))

    def spend(self, lever: str, per_school_gbp: np.ndarray) -> None:
        """Record this term's spend of ``lever`` per school (GBP)."""
        self.spend_gbp[lever] = self.spend_gbp.get(lever, 0.0) + per_school_gbp


class Policy:
    """A lever. Subclasses set ``name`` and implement :meth:`apply`."""

    name = "policy"

    def apply(self, model: "SchoolSystemModel", effects: PolicyEffects) -> None:
        """Add this lever's effects for the current term."""
        raise NotImplementedError


def build_policies(config: PolicyConfig, model: "SchoolSystemModel") -> list[Policy]:
    """The policy objects in force for ``config``, in a fixed order."""
    from .development_programme import DevelopmentProgramme
    from .recruitment_incentive import RecruitmentIncentive
    from .system_leadership import SystemLeadershipLevers

    policies: list[Policy] = []
    if config.recruitment_incentive.enabled:
        policies.append(RecruitmentIncentive(config.recruitment_incentive, model))
    if config.development_programme.enabled:
        policies.append(DevelopmentProgramme(config.development_programme, model))
    policies.append(SystemLeadershipLevers(config.system_leadership, model))  # read by processes
    return policies
