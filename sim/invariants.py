"""Invariants that must hold after every step (tests run with ``run.check_invariants=true``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .agents import Headteacher, School, SeniorLeader

if TYPE_CHECKING:
    from .model import SchoolSystemModel


class InvariantError(AssertionError):
    """The model state broke an invariant; the message says which and where."""


def check_invariants(model: "SchoolSystemModel") -> None:
    """Raise :class:`InvariantError` unless the model state is consistent.

    * every open school has exactly one leader of record, whose agent points back at it;
    * nobody is lost or duplicated: every person holds at most one post, and the Mesa agent
      registry holds exactly the schools, heads and senior leaders in the state arrays;
    * grade counts add up to the number of schools, and all values are in range.
    """
    s, n = model.state, model.state.n
    executive_of = model.sl.executive_of
    for i, head in enumerate(model.heads):
        if head is None or s.head_is_vacant(i):
            raise InvariantError(f"school index {i} has no leader of record at step {model.step_count}")
        home = i if s.leader_kind[i] != 2 else int(executive_of[i])
        if head.school_index != home or s.head_person[i] != head.person_id:
            raise InvariantError(f"school index {i}: leader of record does not match the state")
        if (s.leader_kind[i] == 2) != (executive_of[i] >= 0):
            raise InvariantError(f"school index {i}: executive leadership and its link disagree")
    for d in model.sl.deployments:
        if model.sl.role[d.supporter] == 0:
            raise InvariantError(f"deployment from school index {d.supporter} has no system leader")
    bench = s.bench_person[s.bench_person >= 0]
    heads = s.head_person[s.leader_kind != 2]  # an executive head also leads a home school
    people = np.concatenate([heads, bench])
    if len(np.unique(people)) != len(people):
        raise InvariantError(f"a person holds two posts at step {model.step_count}")
    filled = set(zip(*(a.tolist() for a in np.nonzero(s.bench_person >= 0))))
    if not filled <= set(model.senior_posts):
        raise InvariantError("a filled senior post has no senior-leader agent")
    for (school, post), leader in model.senior_posts.items():
        if (leader.school_index, leader.post) != (school, post):
            raise InvariantError(f"senior-leader agent of post {(school, post)} points elsewhere")
    led_count = np.bincount(executive_of[executive_of >= 0], minlength=n)
    if not np.array_equal(led_count, model.sl.executive_led_count):
        raise InvariantError("executive headship counts disagree with the links")
    counts = {cls: len(model.agents_by_type[cls]) if cls in model.agents_by_type else 0
              for cls in (School, Headteacher, SeniorLeader)}
    expected = {School: n, Headteacher: len({h.person_id for h in model.heads}),
                SeniorLeader: len(model.senior_posts)}
    if counts != expected:
        raise InvariantError(f"agent registry {counts} differs from the state {expected}")
    if len(s.grade) != n or np.any((s.grade < 0) | (s.grade > 4)):
        raise InvariantError(f"grades out of range 0-4: {np.unique(s.grade)}")
    if not (np.all((s.conditions >= 0) & (s.conditions <= 1))
            and np.all((s.head_capacity >= 0) & (s.head_capacity <= 1))
            and np.all((s.bench_readiness >= 0) & (s.bench_readiness <= 1))):
        raise InvariantError("a condition, capacity or readiness left [0, 1]")
    if np.any(s.bench_present.sum(axis=1) > s.bench_posts):
        raise InvariantError("a school has more senior leaders than posts")
