"""Per-school state arrays that the vectorised processes update and the agents read and write.

Row ``i`` of every array belongs to the school with index ``i`` in the :class:`~sim.world.World`.
The head of record's personal state (capacity, age, tenure, resilience) lives in the row of the
school they lead, so a term's continuous updates are a handful of numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .parameters import BehaviourParams
from .world import PRIMARY, STARTING_GRADE_SHARES, UNINSPECTED, World

# School conditions (seed 000 L95-110) and the head's practice domains (seed 000 L73-79).
CONDITIONS = ("culture_trust", "academic_press", "behavioural_climate", "teaching_quality")
DOMAINS = ("setting_direction", "developing_people", "redesigning_organisation",
           "managing_teaching_learning")
DEVELOPING_PEOPLE = 1
# How each practice domain supports each condition (rows: conditions, columns: domains; rows sum
# to 1). An assumption shaped by seed 000 L83-110 (practices act on conditions) and L693-700
# (staff ability, motivation and working conditions are the main channel).
PRACTICE_TO_CONDITION = np.array([
    [0.40, 0.40, 0.10, 0.10],   # culture and trust
    [0.40, 0.10, 0.10, 0.40],   # academic press
    [0.20, 0.10, 0.50, 0.20],   # behavioural climate
    [0.10, 0.30, 0.10, 0.50],   # quality of teaching
])
# Condition level at which effectiveness is zero (the centre of the effectiveness scale).
CONDITION_REFERENCE = 0.7

TERMS_PER_YEAR = 3  # one model step is one school term

SUBSTANTIVE, ACTING, EXECUTIVE = 0, 1, 2
VACANT = -1  # head_person / bench_person of a post nobody holds
LEADER_KINDS = ("substantive", "acting", "executive")
MAX_SENIOR_LEADERS = 6  # deputy / assistant-head posts per school (secondary SLTs are the largest)


@dataclass
class SchoolState:
    """Dynamic state of every school, its head of record and its senior leaders."""

    conditions: np.ndarray         # (n, 4) float, 0-1: culture, press, behaviour, teaching
    effectiveness: np.ndarray      # (n,) float: latent pupil outcome, sd ~1 across schools
    gap: np.ndarray                # (n,) float: disadvantage gap, effect-size units
    grade: np.ndarray              # (n,) int8: Ofsted grade at the last inspection
    previous_grade: np.ndarray     # (n,) int8: grade before that (0 = none recorded)
    terms_since_inspection: np.ndarray  # (n,) int16
    terms_since_downgrade: np.ndarray   # (n,) int16: terms since the grade last fell (large = never)
    governance: np.ndarray         # (n,) int8: index into world.GOVERNANCE (changes on conversion)
    academy_order_step: np.ndarray  # (n,) int32: step of a pending academy order, -1 = none
    current_id: np.ndarray         # (n,) int64: the school's URN now (a sponsored academy gets a new one)
    # head of record
    head_person: np.ndarray        # (n,) int64, VACANT while the headship has no leader of record
    leader_kind: np.ndarray        # (n,) int8: SUBSTANTIVE / ACTING / EXECUTIVE
    head_capacity: np.ndarray      # (n, 4) float, 0-1, by practice domain
    head_age: np.ndarray           # (n,) float, years
    head_tenure: np.ndarray        # (n,) float, years as head of this school
    head_experience: np.ndarray    # (n,) float, years as a head anywhere
    head_resilience: np.ndarray    # (n,) float, 0-1 (self-efficacy / resilience)
    vacancy_terms: np.ndarray      # (n,) int16: terms the substantive post has been vacant
    acting_readiness: np.ndarray   # (n,) float: readiness of an acting head who stepped up from
                                   # the school's own senior team (0 for interim heads)
    # senior leaders (deputies / assistant heads)
    bench_posts: np.ndarray        # (n,) int8: established senior posts
    bench_person: np.ndarray       # (n, K) int64, -1 = empty
    bench_readiness: np.ndarray    # (n, K) float, 0-1 readiness for headship
    bench_years: np.ndarray        # (n, K) float, years in the senior role
    bench_programme_terms: np.ndarray  # (n, K) int8: terms on a development programme, 0 = none

    @property
    def n(self) -> int:
        """Number of schools."""
        return len(self.effectiveness)

    @property
    def head_vacant(self) -> np.ndarray:
        """(n,) bool: the school has no leader of record (succession fills it this term)."""
        return self.head_person == VACANT

    def head_is_vacant(self, school: int) -> bool:
        """``head_vacant`` for one school (without building the whole array)."""
        return bool(self.head_person[school] == VACANT)

    @property
    def bench_present(self) -> np.ndarray:
        """(n, K) bool: the post is filled."""
        return self.bench_person >= 0

    def ready_leaders(self, ready_threshold: float, schools: Any = slice(None)) -> np.ndarray:
        """(n, K) bool: senior leaders in post whose readiness for headship reaches the threshold
        (the one definition of a "ready" leader); ``schools`` picks rows (one school: (K,))."""
        return ((self.bench_person[schools] >= 0)
                & (self.bench_readiness[schools] >= ready_threshold))

    def bench_strength(self) -> np.ndarray:
        """Mean readiness of the senior leaders in post (0 where there are none)."""
        return mean_readiness(self.bench_person, self.bench_readiness)


def per_term(rate_per_year: np.ndarray | float) -> np.ndarray | float:
    """Convert a yearly hazard to the probability of the event within one term."""
    return 1.0 - (1.0 - np.minimum(rate_per_year, 1.0)) ** (1.0 / TERMS_PER_YEAR)


def mean_readiness(bench_person: np.ndarray, bench_readiness: np.ndarray) -> np.ndarray:
    """(n,) mean readiness of the filled senior posts of each school (0 where none are filled)."""
    present = bench_person >= 0
    count = present.sum(axis=1)
    total = np.where(present, bench_readiness, 0.0).sum(axis=1)
    return np.divide(total, count, out=np.zeros(len(count)), where=count > 0)


def combined_condition(conditions: np.ndarray, fsm_band: np.ndarray, weakest_weight: float) -> np.ndarray:
    """Conditions combined into one level: the mean, pulled towards the weakest in FSM band 3-4.

    In challenging contexts improving one or two areas is not enough (seed 000 L1580-1582).
    """
    weight = np.where(fsm_band >= 3, weakest_weight, 0.0)
    return (1 - weight) * conditions.mean(axis=1) + weight * conditions.min(axis=1)


def condition_headwind(world: World, params: BehaviourParams) -> np.ndarray:
    """(n,) condition units by which context holds back what leadership can sustain:
    disadvantage (seed 003 L287-289) and the secondary phase (seed 003 L765-769)."""
    return (params.disadvantage_headwind * world.fsm_share
            + params.secondary_headwind * (world.phase != PRIMARY))


def initial_state(world: World, params: BehaviourParams, rng: np.random.Generator,
                  person_ids: np.ndarray, bench_ids: np.ndarray) -> SchoolState:
    """State at step 0, consistent with each school's starting grade.

    Effectiveness is drawn inside the band of the school's grade; conditions are set to the level
    that effectiveness implies; heads' capacity to the level that sustains those conditions,
    so the model starts near its own equilibrium rather than drifting in the first years.
    ``person_ids`` (n,) and ``bench_ids`` (n, K) are the ids to give heads and senior leaders.
    """
    n, p = world.n_schools, params
    bands = np.array([p.threshold_outstanding + p.start_band_above_outstanding,
                      p.threshold_outstanding, p.threshold_good, p.threshold_inadequate,
                      p.threshold_inadequate - p.start_band_below_inadequate])
    # A school not yet inspected has a latent state all the same: its band is drawn from the
    # national grade mix (its recorded grade stays "none" until Ofsted inspects it).
    latent_grade = world.grade.astype(np.int64)
    new = latent_grade == UNINSPECTED
    if new.any():
        shares = np.array(STARTING_GRADE_SHARES["2018"])
        latent_grade[new] = 1 + rng.choice(4, size=int(new.sum()), p=shares / shares.sum())
    hi, lo = bands[latent_grade - 1], bands[latent_grade]
    effectiveness = lo + (hi - lo) * rng.random(n)
    level = CONDITION_REFERENCE + effectiveness / p.outcome_per_condition
    conditions = np.clip(level[:, None] + rng.normal(0, p.start_condition_sd, (n, 4)), 0.02, 0.98)

    bench_posts = _bench_posts(world, p, rng)
    k = MAX_SENIOR_LEADERS
    filled = ((np.arange(k)[None, :] < bench_posts[:, None])
              & (rng.random((n, k)) < p.start_senior_post_fill_share))
    bench_person = np.where(filled, bench_ids, VACANT)
    # Years in role and readiness as the pipeline process would have produced them: entrants
    # start low and grow at the base rate plus a typical head's coaching.
    bench_years = np.where(filled, rng.exponential(p.start_senior_years_mean, (n, k)), 0.0)
    growth_per_year = 3 * (p.readiness_growth_per_term
                           + p.start_coaching_capacity * p.developing_people_weight)
    bench_readiness = np.where(filled, np.minimum(1.0, rng.beta(p.entrant_readiness_beta_a,
                                                                p.entrant_readiness_beta_b, (n, k))
                                                  + growth_per_year * bench_years), 0.0)
    strength = mean_readiness(bench_person, bench_readiness)
    # Capacity that would hold conditions where they are (inverse of the leadership target).
    needed = (level + condition_headwind(world, params)) / (
        1 + p.distributed_leadership_weight * strength)
    head_capacity = np.clip(needed[:, None] + rng.normal(0, p.start_capacity_sd, (n, 4)), 0.05, 1.0)

    age = np.clip(rng.normal(p.start_head_age_mean_years, p.start_head_age_sd_years, n), 32, 63)
    experience = np.minimum(rng.gamma(2.0, p.start_head_experience_mean_years / 2.0, n), age - 28)
    tenure = np.minimum(experience, rng.gamma(1.6, p.start_head_tenure_mean_years / 1.6, n))
    gap = p.gap_base - p.gap_conditions_effect * (level - CONDITION_REFERENCE)

    return SchoolState(
        conditions=conditions, effectiveness=effectiveness, gap=gap,
        grade=world.grade.copy(), previous_grade=np.zeros(n, dtype=np.int8),
        terms_since_inspection=world.terms_since_inspection.astype(np.int16).copy(),
        terms_since_downgrade=np.full(n, 999, dtype=np.int16),
        governance=world.governance.astype(np.int8).copy(),
        academy_order_step=np.full(n, -1, dtype=np.int32), current_id=world.school_id.copy(),
        head_person=person_ids.astype(np.int64), leader_kind=np.zeros(n, dtype=np.int8),
        head_capacity=head_capacity, head_age=age, head_tenure=tenure,
        head_experience=experience,
        head_resilience=rng.beta(p.head_resilience_beta_a, p.head_resilience_beta_b, n),
        vacancy_terms=np.zeros(n, dtype=np.int16), acting_readiness=np.zeros(n),
        bench_posts=bench_posts,
        bench_person=bench_person.astype(np.int64), bench_readiness=bench_readiness,
        bench_years=bench_years, bench_programme_terms=np.zeros((n, k), dtype=np.int8))


def _bench_posts(world: World, p: BehaviourParams, rng: np.random.Generator) -> np.ndarray:
    """Senior posts (deputies and assistant heads) by phase and size.

    Primary: about one post per ``primary_pupils_per_senior_post`` pupils, 0-4 (seed 001 L63:
    head alone in 5% of primaries, head plus one in 11%, three or four members in about half).
    Secondary: three to six.
    """
    noise = rng.normal(0, p.senior_posts_noise_sd, world.n_schools)
    primary = np.clip(np.round(world.pupils / p.primary_pupils_per_senior_post + noise), 0, 4)
    secondary = np.clip(np.round(p.secondary_senior_posts_base
                                 + world.pupils / p.secondary_pupils_per_senior_post + noise),
                        3, MAX_SENIOR_LEADERS)
    return np.where(world.phase == PRIMARY, primary, secondary).astype(np.int8)
