"""State of system leadership: roles, support deployments and executive headships.

Held by the model as ``model.sl``; the processes ``designation``, ``brokerage``, ``support`` and
``structure`` read and change it. Roles belong to the head (they end when the head leaves);
deployments link a supporting school to a client school; an executive headship links a school
to the home school whose head leads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .events import DEDESIGNATED, SUPPORT_ENDED

if TYPE_CHECKING:
    from .model import SchoolSystemModel

NO_ROLE, LLE, NLE = 0, 1, 2
ROLES = ("none", "LLE", "NLE")
# Deployment modes and their intensity (share of a full-time leader): National College NLE FAQ
# (full-time acting/executive head; 3 days a week supporting an acting head; 1-2 days a week
# consultancy with NSS staff) and seed 004 L495 (secondment two days a week).
MODES = {"consultancy": 0.3, "secondment": 0.4, "interim_headship": 0.6}
SECONDARY_SECONDMENT_SHARE = 4 / 11  # seed 004 L493: 4 of 11 secondary clients cited secondment
# Readiness of the middle leader who steps up into a seconded leader's post: the mean of the
# pipeline's Beta(2, 5) draw for middle leaders stepping up (processes/pipeline.py), fixed rather
# than drawn so that the ablation arms keep drawing the same random numbers.
STAND_IN_READINESS = 2.0 / 7.0


@dataclass(eq=False)  # identity, not field equality: deployments are removed from lists often
class Deployment:
    """One school-to-school support partnership."""

    supporter: int          # school index of the NLE / LLE
    client: int             # school index of the supported school
    role: int               # NLE or LLE
    mode: str               # key of MODES
    intensity: float        # share of a full-time leader
    start_step: int
    end_step: int           # planned end (one to three years: seed 004 L135)
    distance_km: float
    engagement: float       # client's readiness to engage, 0-1 (seed 003 L1348-1353)
    shallow: bool           # a funding-led partnership (seed 002 L6654-6662)
    grant_gbp: float
    start_grade: int        # client's grade when support started
    # a secondment's vacancy chain (mechanism secondment_vacancy_chain): the senior leader away
    # from the supporter's senior team, the post they left and their readiness, which grows
    secondee_person: int = -1
    secondee_post: int = -1
    secondee_readiness: float = 0.0


class Deployments:
    """Active deployments in the order they started, indexed by supporter and by client.

    Behaves like a list for reading (iteration, ``len``, indexing, ``== []``) and supports
    ``append`` / ``remove`` / ``clear``; removal and look-ups by school take constant time,
    which keeps a run linear in the number of schools.
    """

    def __init__(self, items: list[Deployment] | None = None) -> None:
        self._items: dict[int, Deployment] = {}
        self._by_supporter: dict[int, dict[int, Deployment]] = {}
        self._by_client: dict[int, dict[int, Deployment]] = {}
        for d in items or []:
            self.append(d)

    def append(self, d: Deployment) -> None:
        """Add a deployment."""
        self._items[id(d)] = d
        self._by_supporter.setdefault(d.supporter, {})[id(d)] = d
        self._by_client.setdefault(d.client, {})[id(d)] = d

    def extend(self, items) -> None:
        """Add several deployments."""
        for d in items:
            self.append(d)

    def __iadd__(self, items) -> "Deployments":
        self.extend(items)
        return self

    def remove(self, d: Deployment) -> None:
        """Remove a deployment (KeyError if it is not active)."""
        del self._items[id(d)]
        for index, school in ((self._by_supporter, d.supporter), (self._by_client, d.client)):
            del index[school][id(d)]
            if not index[school]:
                del index[school]

    def clear(self) -> None:
        """Remove every deployment."""
        self.__init__()

    def of_supporter(self, school: int) -> list[Deployment]:
        """Deployments in which ``school`` supports."""
        return list(self._by_supporter.get(school, {}).values())

    def of_client(self, school: int) -> list[Deployment]:
        """Deployments supporting ``school``."""
        return list(self._by_client.get(school, {}).values())

    def __iter__(self):
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> Deployment:
        return list(self._items.values())[i]

    def __eq__(self, other) -> bool:
        return list(self._items.values()) == list(other)

    __hash__ = None  # mutable


@dataclass
class SystemLeadershipState:
    """Roles, deployments and executive headships of every school."""

    role: np.ndarray                # (n,) int8: NO_ROLE / LLE / NLE of the school's head
    designated_step: np.ndarray     # (n,) int32: step the role began (-1 none)
    effectiveness_history: np.ndarray  # (n, 3) float: effectiveness at the last three year ends
    executive_of: np.ndarray        # (n,) int64: home school index of an executive head, else -1
    executive_led_count: np.ndarray  # (n,) int16: schools led by this school's head as executive
    executive_since: np.ndarray     # (n,) int32: step the executive headship began
    executive_permanent: np.ndarray  # (n,) bool: the arrangement has become permanent
    teaching_school_since: np.ndarray  # (n,) int32: step designated a teaching school, -1 if not
    alliance_of: np.ndarray         # (n,) int64: index of the teaching school whose alliance the
                                    # school belongs to (itself for a teaching school), else -1
    deployments: Deployments = field(default_factory=Deployments)
    spent_this_year_gbp: float = 0.0
    spent_total_gbp: float = 0.0
    started_this_step: int = 0

    @classmethod
    def empty(cls, n: int, effectiveness: np.ndarray) -> "SystemLeadershipState":
        """No roles, no deployments; history filled with the starting effectiveness."""
        return cls(role=np.zeros(n, dtype=np.int8), designated_step=np.full(n, -1, dtype=np.int32),
                   effectiveness_history=np.repeat(effectiveness[:, None], 3, axis=1).copy(),
                   executive_of=np.full(n, -1, dtype=np.int64),
                   executive_led_count=np.zeros(n, dtype=np.int16),
                   executive_since=np.full(n, -1, dtype=np.int32),
                   executive_permanent=np.zeros(n, dtype=bool),
                   teaching_school_since=np.full(n, -1, dtype=np.int32),
                   alliance_of=np.full(n, -1, dtype=np.int64))

    def clients_of(self, n: int) -> np.ndarray:
        """(n,) number of active clients of each supporting school."""
        return self._count(n, self.deployments._by_supporter)

    def supporters_of(self, n: int) -> np.ndarray:
        """(n,) number of active supporters of each client school."""
        return self._count(n, self.deployments._by_client)

    @staticmethod
    def _count(n: int, index: dict[int, dict]) -> np.ndarray:
        counts = np.zeros(n, dtype=np.int64)
        if index:
            schools = np.fromiter(index.keys(), dtype=np.int64, count=len(index))
            counts[schools] = np.fromiter((len(v) for v in index.values()), dtype=np.int64, count=len(index))
        return counts


def second_leader(model: "SchoolSystemModel", deployment: Deployment) -> None:
    """Start a secondment's vacancy chain (seed 004 L495: the seconded deputy's secondment
    "created opportunities for eight staff ... to take on additional responsibilities"): the
    supporting school's most ready senior leader leaves their post for the client school and a
    middle leader steps up into it, so the home team is less ready until they return."""
    s, home = model.state, deployment.supporter
    present = s.bench_person[home] >= 0
    if not present.any():
        return
    post = int(np.argmax(np.where(present, s.bench_readiness[home], -1.0)))
    deployment.secondee_readiness = float(s.bench_readiness[home, post])
    deployment.secondee_post = post
    deployment.secondee_person = model.remove_senior_leader(home, post, reason="seconded")
    model.add_senior_leader(home, post, STAND_IN_READINESS, route="stepped_up")


def return_secondee(model: "SchoolSystemModel", deployment: Deployment) -> None:
    """End a secondment's vacancy chain: the seconded leader takes back their post, with the
    readiness gained away; whoever holds it moves to a free senior post or steps back down."""
    s, home, post = model.state, deployment.supporter, deployment.secondee_post
    if s.bench_person[home, post] >= 0:
        free = np.nonzero((s.bench_person[home] < 0) & (np.arange(s.bench_person.shape[1]) < s.bench_posts[home]))[0]
        if len(free):
            model.move_senior_leader(home, post, int(free[0]))
        else:
            model.remove_senior_leader(home, post, reason="stepped_down")
    model.add_senior_leader(home, post, deployment.secondee_readiness, route="returned_from_secondment",
                            person=deployment.secondee_person)
    deployment.secondee_person = -1


def end_deployment(model: "SchoolSystemModel", deployment: Deployment, reason: str) -> None:
    """Close a deployment (a seconded leader returns home) and log ``support_ended``."""
    model.sl.deployments.remove(deployment)
    if deployment.secondee_person >= 0:
        return_secondee(model, deployment)
    model.events.log(SUPPORT_ENDED, deployment.client, int(model.state.head_person[deployment.supporter]),
                     reason=reason, supporter=deployment.supporter, client=deployment.client,
                     distance_km=deployment.distance_km, mode=deployment.mode,
                     grade=int(model.state.grade[deployment.client]),
                     previous_grade=deployment.start_grade, role=ROLES[deployment.role])


def dedesignate(model: "SchoolSystemModel", school: int, reason: str) -> None:
    """Remove the head's NLE / LLE role, ending the deployments it supports."""
    sl = model.sl
    if sl.role[school] == NO_ROLE:
        return
    model.events.log(DEDESIGNATED, school, int(model.state.head_person[school]), reason=reason,
                     role=ROLES[sl.role[school]])
    sl.role[school] = NO_ROLE
    sl.designated_step[school] = -1
    for d in sl.deployments.of_supporter(school):
        end_deployment(model, d, reason="supporter_" + reason)


def head_leaving(model: "SchoolSystemModel", school: int) -> None:
    """Hook called before a head leaves ``school``: roles and links that were theirs end."""
    dedesignate(model, school, reason="head_left")
