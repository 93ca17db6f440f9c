"""The school-system model: one step is one school term (three a year).

Step order, written once here and followed by :meth:`SchoolSystemModel.step`:

1. **Policies** (``sim/policies``): each lever in force sets this term's effects
   (recruitment and retention multipliers, development-programme places, spend).
2. **Support, federation and alliance effects** (``processes/support.py``,
   ``processes/structure.py``, ``processes/alliances.py``): deployments that reached their end
   close; active ones add their effects on clients and home schools; executive-led schools take
   their executive head's capacity; alliance schools' leaders develop; grants are paid.
3. **Leadership** (``processes/leadership.py``): heads' practice moves the four school
   conditions; conditions move pupil outcomes and the disadvantage gap (indirect effects).
4. **Pipeline** (``processes/pipeline.py``): senior leaders' readiness grows; some leave;
   vacant senior posts are filled from middle leaders.
5. **Careers** (``processes/careers.py``): heads age; some retire, some leave early (their
   system-leadership roles, deployments and executive headships end with them).
6. **Academies** (``processes/academies.py``): inadequate maintained schools get an academy
   order; sponsored academies due to open do (new head search, new URN, inspection clock reset).
7. **Succession** (``processes/succession.py``): each vacant headship is filled internally,
   externally from the regional market, or held by an acting head; new heads bring a dip.
8. **Structure** (``processes/structure.py``): temporary executive headships are reviewed
   (made permanent or ended); schools that cannot recruit, or fail, get an executive head.
9. **Inspection** (``processes/inspection.py``): Ofsted inspects the schools that are due;
   support for a client now graded good or better ends.
10. **Designation** (``processes/designation.py``, ``processes/alliances.py``): NLEs / LLEs and
   teaching schools whose school fell below good lose the role (alliances dissolve), and under
   the ``status_review`` mechanism NLEs and teaching schools inspected this term and not found
   outstanding; at each year end, results are recorded and designation rounds are held
   (teaching schools form alliances with their nearest schools).
11. **Brokerage** (``processes/brokerage.py``): brokers offer schools in need to available
    system leaders under the targeting rule (a school may decline: ``client_readiness``); new
    deployments start next term.
12. **Observation** (``recorder.py``): the term's time-series rows are recorded (the event log
    is written as events happen); post-run metrics are computed later by ``outcomes.py``.
"""

from __future__ import annotations

import mesa
import numpy as np

from . import recorder
from .agents import Headteacher, School, SeniorLeader
from .events import (FEDERATION_ENDED, FEDERATION_FORMED, HEAD_APPOINTED, HEAD_LEFT, LEADER_APPOINTED,
                     LEADER_LEFT)
from .invariants import check_invariants
from .parameters import SimConfig
from .policies import PolicyEffects, build_policies
from .policies.system_leadership import SystemLeadershipLevers
from .processes import (academies, alliances, brokerage, careers, designation, inspection, leadership,
                        pipeline, structure, succession, support)
from .state import (ACTING, EXECUTIVE, MAX_SENIOR_LEADERS, TERMS_PER_YEAR, VACANT, SchoolState,
                    initial_state)
from .system_leadership import SystemLeadershipState, end_deployment, head_leaving
from .world import World, build_world


class SchoolSystemModel(mesa.Model):
    """England's state schools, their heads and senior leaders, term by term.

    Args:
        config: the resolved configuration (plain dataclasses; no Hydra needed).
        seed: seed of every random draw in the run (``config.run.seed`` when omitted).
        world: a prebuilt world (built from ``config.world`` when omitted).
    """

    def __init__(self, config: SimConfig, seed: int | None = None, world: World | None = None) -> None:
        seed = config.run.seed if seed is None else seed
        super().__init__(rng=np.random.default_rng(seed))
        self.config = config
        self.params = config.behaviour
        self.seed = seed
        self.world = world if world is not None else build_world(config.world)
        self.step_count = 0
        self.events = recorder.EventLog(self)
        self._next_person = 0

        n = self.world.n_schools
        head_ids = self.new_person_ids(n)
        bench_ids = self.new_person_ids(n * MAX_SENIOR_LEADERS).reshape(n, MAX_SENIOR_LEADERS)
        self.state: SchoolState = initial_state(self.world, self.params, self.rng, head_ids, bench_ids)
        self.sl = SystemLeadershipState.empty(n, self.state.effectiveness)
        self.fsm_band = self.world.fsm_band
        self.small = self.world.small

        self.schools = [School(self, i) for i in range(n)]
        # agents are views of the state arrays; a vacant headship is VACANT in state.head_person
        self.heads: list[Headteacher | None] = [Headteacher(self, i) for i in range(n)]
        established = np.arange(MAX_SENIOR_LEADERS)[None, :] < self.state.bench_posts[:, None]
        self.senior_posts: dict[tuple[int, int], SeniorLeader] = {
            (int(i), int(k)): SeniorLeader(self, int(i), int(k)) for i, k in zip(*np.nonzero(established))}

        self.policies = build_policies(config.policy, self)
        self.system_leadership = next(p for p in self.policies if isinstance(p, SystemLeadershipLevers))
        self.effects = PolicyEffects.neutral(n)
        alliances.seed_from_world(self)  # the real teaching schools of March 2018
        if config.mechanisms.domain_heterogeneity:
            leadership.domain_profiles(self)  # heads differ across the four practice domains
        if config.mechanisms.starting_system_leaders and config.policy.system_leadership.enabled:
            designation.initial_round(self)  # NLEs and LLEs in post at the start
        self.recorder = recorder.TimeSeriesRecorder(self)
        self.recorder.record()  # step 0: the starting state

    # ---------------------------------------------------------------------------------------
    # the term
    # ---------------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance one school term, in the order given in the module docstring."""
        self.step_count += 1
        self.effects = PolicyEffects.neutral(self.world.n_schools)
        for policy in self.policies:
            policy.apply(self, self.effects)
        support.step(self)
        structure.apply(self)
        alliances.apply(self)
        leadership.step(self)
        pipeline.step(self)
        careers.step(self)
        academies.step(self)
        succession.step(self)
        structure.step(self)
        inspected = inspection.step(self)
        support.end_on_improvement(self, inspected)
        designation.step(self)
        alliances.step(self)
        brokerage.step(self)
        self.recorder.record()
        if self.config.run.check_invariants:
            check_invariants(self)

    @property
    def time_years(self) -> float:
        """Years since the start of the run."""
        return self.step_count / TERMS_PER_YEAR

    @property
    def calendar_year(self) -> float:
        """The calendar year now, as a decimal (2018.19 is 12 March 2018)."""
        return self.world.start_year + self.time_years

    # ---------------------------------------------------------------------------------------
    # people: the only places heads and senior leaders are created, moved and removed
    # ---------------------------------------------------------------------------------------

    def new_person_ids(self, count: int) -> np.ndarray:
        """Fresh person ids (never reused within a run)."""
        ids = np.arange(self._next_person, self._next_person + count, dtype=np.int64)
        self._next_person += count
        return ids

    def remove_head(self, school: int, reason: str) -> int:
        """Remove the head of record of ``school``; log ``head_left``; return their person id.

        Their system-leadership role and deployments end, and any school they lead as
        executive head loses its leader of record (succession fills it this term).
        """
        head = self.heads[school]
        if self.state.leader_kind[school] == EXECUTIVE:
            raise RuntimeError(f"school index {school} is executive-led: end_executive_headship instead")
        person = head.person_id
        head_leaving(self, school)
        if self.sl.executive_led_count[school]:
            for led in np.nonzero(self.sl.executive_of == school)[0]:
                self.end_executive_headship(int(led), reason="executive_left")
        self.events.log(HEAD_LEFT, school, person, reason=reason,
                        kind=int(self.state.leader_kind[school]))
        head.remove()
        self.heads[school] = None
        self.state.head_person[school] = VACANT
        return person

    def install_head(self, school: int, person: int, route: str, capacity: np.ndarray,
                     age: float, experience: float, resilience: float, kind: int) -> Headteacher:
        """Make ``person`` the leader of record of ``school``; log ``head_appointed``."""
        if not self.state.head_is_vacant(school):
            raise RuntimeError(f"school index {school} already has a leader of record")
        s = self.state
        s.head_person[school] = person
        s.leader_kind[school] = kind
        s.head_capacity[school] = capacity
        s.head_age[school] = age
        s.head_tenure[school] = 0.0
        s.head_experience[school] = experience
        s.head_resilience[school] = resilience
        head = Headteacher(self, school)
        self.heads[school] = head
        self.events.log(HEAD_APPOINTED, school, person, route=route, kind=kind,
                        vacancy_terms=int(s.vacancy_terms[school]))
        return head

    def start_executive_headship(self, school: int, home: int, distance_km: float) -> None:
        """The head of ``home`` becomes executive head of ``school`` (replacing an acting head)."""
        s, sl = self.state, self.sl
        if not s.head_is_vacant(school):
            self.end_acting_headship(school)
        for deployment in sl.deployments.of_client(school):
            end_deployment(self, deployment, reason="client_executive_headship")
        head = self.heads[home]
        s.head_person[school] = head.person_id
        s.leader_kind[school] = EXECUTIVE
        s.head_capacity[school] = s.head_capacity[home] * (1.0 - self.params.federation_coordination_cost)
        s.head_age[school], s.head_tenure[school] = s.head_age[home], 0.0
        s.head_experience[school] = s.head_experience[home]
        s.head_resilience[school] = s.head_resilience[home]
        s.acting_readiness[school] = 0.0
        sl.executive_of[school] = home
        sl.executive_led_count[home] += 1
        sl.executive_since[school] = self.step_count
        sl.executive_permanent[school] = False
        self.heads[school] = head
        self.events.log(HEAD_APPOINTED, school, head.person_id, route="executive", kind=EXECUTIVE,
                        vacancy_terms=int(s.vacancy_terms[school]))
        self.events.log(FEDERATION_FORMED, school, head.person_id, supporter=home, client=school,
                        distance_km=distance_km, mode="executive_headship")
        s.vacancy_terms[school] = 0

    def end_executive_headship(self, school: int, reason: str) -> None:
        """Detach ``school`` from its executive head; it is left without a leader of record."""
        s, sl = self.state, self.sl
        home = int(sl.executive_of[school])
        person = int(s.head_person[school])
        self.events.log(HEAD_LEFT, school, person, reason=reason, kind=EXECUTIVE)
        self.events.log(FEDERATION_ENDED, school, person, reason=reason, supporter=home, client=school)
        self.heads[school] = None
        s.head_person[school] = VACANT
        sl.executive_led_count[home] -= 1
        sl.executive_of[school] = -1
        sl.executive_since[school] = -1
        sl.executive_permanent[school] = False
        s.leader_kind[school] = ACTING  # placeholder until succession installs a leader

    def end_acting_headship(self, school: int, reason: str = "acting_ended") -> None:
        """Remove an acting head (logged with ``reason``); one who stepped up from the senior
        team returns to it if a post is free (a head of school keeps running the site day to
        day: seed 002 L6410-6418)."""
        s = self.state
        returning = float(s.acting_readiness[school])
        person = self.remove_head(school, reason=reason)
        s.acting_readiness[school] = 0.0
        free = np.nonzero((s.bench_person[school] < 0) & (np.arange(MAX_SENIOR_LEADERS) < s.bench_posts[school]))[0]
        if returning > 0 and len(free):
            self.add_senior_leader(school, int(free[0]), returning, route="returned_from_acting", person=person)

    def add_senior_leader(self, school: int, post: int, readiness: float, route: str,
                          person: int | None = None) -> int:
        """Fill an empty senior post (with a new person unless ``person`` is given); log
        ``leader_appointed``."""
        s = self.state
        person = int(self.new_person_ids(1)[0]) if person is None else person
        s.bench_person[school, post] = person
        s.bench_readiness[school, post] = readiness
        s.bench_years[school, post] = 0.0
        s.bench_programme_terms[school, post] = 0
        if (school, post) not in self.senior_posts:  # a post established after the start
            self.senior_posts[(school, post)] = SeniorLeader(self, school, post)
        self.events.log(LEADER_APPOINTED, school, person, route=route)
        return person

    def move_senior_leader(self, school: int, from_post: int, to_post: int) -> None:
        """Move a senior leader to an empty established post of the same school (no event: they
        stay in the school's senior team)."""
        s = self.state
        if s.bench_person[school, to_post] >= 0 or to_post >= s.bench_posts[school]:
            raise RuntimeError(f"post {to_post} of school index {school} is not an empty established post")
        for array in (s.bench_person, s.bench_readiness, s.bench_years, s.bench_programme_terms):
            array[school, to_post] = array[school, from_post]
        s.bench_person[school, from_post] = -1
        s.bench_readiness[school, from_post] = 0.0
        s.bench_years[school, from_post] = 0.0
        s.bench_programme_terms[school, from_post] = 0
        if (school, to_post) not in self.senior_posts:
            self.senior_posts[(school, to_post)] = SeniorLeader(self, school, to_post)

    def remove_senior_leader(self, school: int, post: int, reason: str) -> int:
        """Empty a senior post; log ``leader_left`` with the reason; return the person id."""
        s = self.state
        person = int(s.bench_person[school, post])
        self.events.log(LEADER_LEFT, school, person, reason=reason)
        s.bench_person[school, post] = -1
        s.bench_readiness[school, post] = 0.0
        s.bench_years[school, post] = 0.0
        s.bench_programme_terms[school, post] = 0
        return person
