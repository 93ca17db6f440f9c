"""Leadership -> school conditions -> pupil outcomes (seed 000 claims 1-3; indirect effects).

Each term, the conditions a head's practice can sustain are ``PRACTICE_TO_CONDITION @ capacity``,
amplified by a ready senior team (distributed leadership, seed 000 L768-818) and held back by
disadvantage (seed 003 L287-289) and, in secondary schools, by the phase's own challenges
(seed 003 L765-769). Conditions move towards that level at a rate that rises with
the head's change effort: higher in the first years in a school (seed 000 L1489-1492) and in
disadvantaged schools (seed 000 L612-626), lower under an acting head. Outcomes then follow the
conditions with a lag (seed 003 L616-620), the weakest condition weighing more in FSM band 3-4
schools (seed 000 L1580-1582). Heads' own capacity grows with experience and resilience
(seed 000 L951-961).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..state import (ACTING, CONDITION_REFERENCE, PRACTICE_TO_CONDITION, combined_condition,
                     condition_headwind)

if TYPE_CHECKING:
    from ..model import SchoolSystemModel


def domain_profiles(model: "SchoolSystemModel") -> None:
    """Give each starting head a profile across the four practice domains (``head_domain_sd``)
    and each school the conditions that profile sustains, keeping the combined level (and so
    effectiveness and the grade) where the starting state put it.

    A zero-mean profile ``q`` moves the conditions by ``M @ q`` (times the senior team's
    amplification); in FSM band 3-4 schools the weakest-condition rule would then lower the
    combined level, so conditions and capacity are raised evenly by what that rule takes off
    (rows of ``M`` sum to one, so an even shift of capacity is an even shift of conditions).
    """
    p, s, rng = model.params, model.state, model.rng
    q = rng.normal(0.0, p.head_domain_sd, (s.n, 4))
    q -= q.mean(axis=1, keepdims=True)
    gain = 1.0 + p.distributed_leadership_weight * s.bench_strength()
    shift = (q @ PRACTICE_TO_CONDITION.T) * gain[:, None]
    shift -= shift.mean(axis=1, keepdims=True)
    weight = np.where(model.fsm_band >= 3, p.weakest_condition_weight, 0.0)
    lift = weight * -shift.min(axis=1)
    s.conditions[:] = np.clip(s.conditions + shift + lift[:, None], 0.0, 1.0)
    capacity_shift = q - (q @ PRACTICE_TO_CONDITION.T).mean(axis=1, keepdims=True) + (lift / gain)[:, None]
    s.head_capacity[:] = np.clip(s.head_capacity + capacity_shift, 0.05, 1.0)


def change_effort(model: "SchoolSystemModel") -> np.ndarray:
    """Relative change effort of each school's leader this term (1 = a settled substantive head)."""
    p, s = model.params, model.state
    effort = (1.0 + p.early_tenure_effort_boost * (s.head_tenure < p.early_tenure_years)
              + p.disadvantage_effort_per_band * (model.fsm_band - 1))
    effort = effort * np.where(s.leader_kind == ACTING, p.acting_effort, 1.0)
    return effort * model.effects.leadership_effort_multiplier


def sustainable_conditions(model: "SchoolSystemModel") -> np.ndarray:
    """(n, 4) condition levels the current leadership can sustain."""
    p, s = model.params, model.state
    target = s.head_capacity @ PRACTICE_TO_CONDITION.T
    target *= (1.0 + p.distributed_leadership_weight * s.bench_strength())[:, None]
    target -= condition_headwind(model.world, p)[:, None]
    target += model.effects.condition_target_shift[:, None]
    return np.clip(target, 0.0, 1.0)


def step(model: "SchoolSystemModel") -> None:
    """Update conditions, effectiveness, gap and heads' capacity for one term."""
    p, s, rng = model.params, model.state, model.rng
    rate = np.minimum(1.0, p.condition_rate_per_term * change_effort(model))
    s.conditions += rate[:, None] * (sustainable_conditions(model) - s.conditions)
    np.clip(s.conditions, 0.0, 1.0, out=s.conditions)

    level = combined_condition(s.conditions, model.fsm_band, p.weakest_condition_weight)
    outcome_target = p.outcome_per_condition * (level - CONDITION_REFERENCE)
    s.effectiveness += p.outcome_rate_per_term * (outcome_target - s.effectiveness)
    s.effectiveness += rng.normal(0.0, p.outcome_noise_sd, s.n)
    s.gap[:] = p.gap_base - p.gap_conditions_effect * (level - CONDITION_REFERENCE)

    growing = s.leader_kind != ACTING
    growth = p.capacity_growth_per_term * s.head_resilience[:, None] * (1.0 - s.head_capacity)
    s.head_capacity += np.where(growing[:, None], growth, 0.0)
