"""Mesa agents: schools, headteachers and senior leaders.

Agents carry identity and relations; the processes (``sim/processes``) make the decisions, the
discrete ones one school at a time. An agent's state (person ids and vacancies included: a vacant
headship or post has person id -1, ``state.VACANT``) is a row of the model's
:class:`~sim.state.SchoolState` arrays, which the properties below read and write. That keeps a term's updates for 20,000 schools vectorised while
every school and person remains an agent a user can inspect (``model.schools[i].head.capacity``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .state import LEADER_KINDS
from .world import GRADES, PHASES, REGION_NAMES, SETTINGS

if TYPE_CHECKING:
    from .model import SchoolSystemModel


class School(mesa.Agent):
    """A state-funded school: its context is fixed, its conditions and grade evolve."""

    model: "SchoolSystemModel"

    def __init__(self, model: "SchoolSystemModel", index: int) -> None:
        super().__init__(model)
        self.index = index
        self.school_id = int(model.world.school_id[index])

    @property
    def phase(self) -> str:
        """``primary`` or ``secondary``."""
        return PHASES[self.model.world.phase[self.index]]

    @property
    def region(self) -> str:
        """One of the nine regions."""
        return REGION_NAMES[self.model.world.region[self.index]]

    @property
    def setting(self) -> str:
        """``urban``, ``town`` or ``rural``."""
        return SETTINGS[self.model.world.setting[self.index]]

    @property
    def grade(self) -> int:
        """Ofsted grade at the last inspection (1 outstanding .. 4 inadequate; 0 not inspected)."""
        return int(self.model.state.grade[self.index])

    @property
    def grade_name(self) -> str:
        """The grade as a word (``not_inspected`` before the first inspection)."""
        return GRADES[self.grade - 1] if self.grade else "not_inspected"

    @property
    def conditions(self) -> np.ndarray:
        """The four school conditions (a view: writing to it changes the school)."""
        return self.model.state.conditions[self.index]

    @property
    def effectiveness(self) -> float:
        """Latent pupil outcome (standard-deviation units across schools)."""
        return float(self.model.state.effectiveness[self.index])

    @property
    def head(self) -> "Headteacher | None":
        """The leader of record: substantive, acting or executive head (None while vacant)."""
        return self.model.heads[self.index]

    @property
    def senior_leaders(self) -> list["SeniorLeader"]:
        """Deputy and assistant-head posts that are filled."""
        posts = self.model.senior_posts
        return [posts[(self.index, k)] for k, p in enumerate(self.model.state.bench_person[self.index])
                if p >= 0]


class Headteacher(mesa.Agent):
    """The head of record of one school (substantive, acting or executive)."""

    model: "SchoolSystemModel"

    def __init__(self, model: "SchoolSystemModel", school_index: int) -> None:
        super().__init__(model)
        self.school_index = school_index

    @property
    def person_id(self) -> int:
        """The head's person id (from the state arrays, like every other attribute)."""
        return int(self.model.state.head_person[self.school_index])

    @property
    def school(self) -> School:
        """The school this head leads."""
        return self.model.schools[self.school_index]

    @property
    def kind(self) -> str:
        """``substantive``, ``acting`` or ``executive``."""
        return LEADER_KINDS[self.model.state.leader_kind[self.school_index]]

    @property
    def capacity(self) -> np.ndarray:
        """Leadership capacity by practice domain (a view into the model state)."""
        return self.model.state.head_capacity[self.school_index]

    @property
    def age(self) -> float:
        """Age in years."""
        return float(self.model.state.head_age[self.school_index])

    @property
    def tenure_years(self) -> float:
        """Years as head of this school."""
        return float(self.model.state.head_tenure[self.school_index])

    @property
    def resilience(self) -> float:
        """Self-efficacy / resilience, 0-1."""
        return float(self.model.state.head_resilience[self.school_index])


class SeniorLeader(mesa.Agent):
    """A deputy or assistant head post and whoever holds it: the succession pipeline.

    The agent stands for the post, which lasts for the whole run; the people who hold it come
    and go (``person_id`` is -1 while it is vacant). Modelling the post rather than each holder
    keeps tens of thousands of hires a run from creating and destroying Mesa agents.
    """

    model: "SchoolSystemModel"

    def __init__(self, model: "SchoolSystemModel", school_index: int, post: int) -> None:
        super().__init__(model)
        self.school_index = school_index
        self.post = post

    @property
    def person_id(self) -> int:
        """The holder's person id, or -1 while the post is vacant."""
        return int(self.model.state.bench_person[self.school_index, self.post])

    @property
    def vacant(self) -> bool:
        """Nobody holds the post."""
        return self.person_id < 0

    @property
    def readiness(self) -> float:
        """The holder's readiness for headship, 0-1."""
        return float(self.model.state.bench_readiness[self.school_index, self.post])

    @property
    def years_in_role(self) -> float:
        """The holder's years in the senior role."""
        return float(self.model.state.bench_years[self.school_index, self.post])
