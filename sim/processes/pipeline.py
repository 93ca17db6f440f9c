"""The succession pipeline: senior leaders' readiness grows, some leave, empty posts are refilled.

Readiness grows each term by a base rate plus the head's "developing people" capacity
(seed 004 L104, L235, L279; seed 002 L5397), plus any development-programme gain set by the
policies. Senior leaders leave at a yearly hazard; a vacant senior post is filled from middle
leaders with a per-term probability, the newcomer starting with low readiness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..state import DEVELOPING_PEOPLE, TERMS_PER_YEAR, per_term

if TYPE_CHECKING:
    from ..model import SchoolSystemModel


def step(model: "SchoolSystemModel") -> None:
    """Develop, lose and replace senior leaders for one term."""
    p, s, rng = model.params, model.state, model.rng
    present = s.bench_present
    growth = (p.readiness_growth_per_term
              + p.developing_people_weight * s.head_capacity[:, DEVELOPING_PEOPLE])[:, None]
    growth = growth + model.effects.readiness_bonus
    s.bench_readiness[:] = np.where(present, np.minimum(1.0, s.bench_readiness + growth), 0.0)
    s.bench_years[:] = np.where(present, s.bench_years + 1.0 / TERMS_PER_YEAR, 0.0)
    acting_up = s.acting_readiness > 0
    s.acting_readiness[acting_up] = np.minimum(1.0, s.acting_readiness[acting_up] + growth[acting_up, 0])

    leaving = present & (rng.random(present.shape) < per_term(p.senior_leader_exit_per_year))
    for school, post in zip(*np.nonzero(leaving)):
        model.remove_senior_leader(int(school), int(post), reason="left")

    open_post = (~s.bench_present) & (np.arange(s.bench_person.shape[1])[None, :] < s.bench_posts[:, None])
    filling = open_post & (rng.random(open_post.shape) < p.bench_refill_per_term)
    schools, posts = np.nonzero(filling)
    readiness = rng.beta(p.entrant_readiness_beta_a, p.entrant_readiness_beta_b, len(schools))
    for school, post, ready in zip(schools, posts, readiness):
        model.add_senior_leader(int(school), int(post), float(ready), route="middle_leader")
