"""Teaching schools and alliances on tiny hand-made worlds (sim/processes/alliances.py)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import hand_world, make_model
from sim.policies import PolicyEffects
from sim.processes import alliances

ONE_PER_SIX_SCHOOLS = 20_219 // 6 + 1  # national quota that scales to one in a 6-school world


def alliance_model(n: int = 6, alliance_size: int = 4, max_distance_km: float = 50.0, **world):
    """A model whose school 0 meets the teaching-school criteria; others are good schools."""
    grades = [1] + [2] * (n - 1)
    model = make_model(hand_world(n, grade=grades, **world), system_leadership=True, policy={
        "system_leadership": {"teaching_school_quota": ONE_PER_SIX_SCHOOLS * n // 6,
                              "alliance_size": alliance_size, "max_distance_km": max_distance_km,
                              "teaching_school_grant_gbp": 60_000.0}})
    s = model.state
    s.head_experience[:] = 10.0
    s.bench_readiness[s.bench_person >= 0] = 0.9
    if not (s.bench_person[0] >= 0).any():
        model.add_senior_leader(0, 0, 0.9, route="test")
    return model


def designation_round(model) -> None:
    model.step_count = 3  # a year end
    alliances.step(model)


def test_outstanding_school_becomes_teaching_school_with_nearest_members():
    model = alliance_model(n=6, alliance_size=4)   # schools at x = 0, 2, 4, 6, 8, 10 km
    designation_round(model)
    sl = model.sl
    assert sl.teaching_school_since[0] == 3 and (sl.teaching_school_since[1:] == -1).all()
    np.testing.assert_array_equal(sl.alliance_of, [0, 0, 0, 0, -1, -1])   # itself + 3 nearest
    events = model.events.frame()
    joined = events[events["event"] == "alliance_joined"]
    assert sorted(joined["school_id"]) == [1002, 1003, 1004]
    assert joined["distance_km"].max() == pytest.approx(6.0)


def test_members_must_be_within_the_distance_cap():
    model = alliance_model(n=6, alliance_size=6, max_distance_km=4.5)
    designation_round(model)
    np.testing.assert_array_equal(model.sl.alliance_of, [0, 0, 0, -1, -1, -1])


def test_good_school_is_not_a_teaching_school():
    model = alliance_model()
    model.state.grade[0] = 2
    designation_round(model)
    assert (model.sl.teaching_school_since == -1).all() and (model.sl.alliance_of == -1).all()


def test_alliance_dissolves_when_teaching_school_falls_below_good():
    model = alliance_model()
    designation_round(model)
    model.state.grade[0] = 3
    model.step_count = 4
    alliances.step(model)
    assert (model.sl.alliance_of == -1).all() and model.sl.teaching_school_since[0] == -1
    events = model.events.frame()
    assert ((events["event"] == "dedesignated") & (events["role"] == "teaching_school")).sum() == 1
    assert (events["event"] == "alliance_left").sum() == 3


def test_grant_tapers_to_zero_over_four_years_and_members_develop():
    model = alliance_model()
    designation_round(model)
    paid = []
    for year in range(6):
        total = 0.0
        for term in range(3):
            model.step_count = 4 + 3 * year + term
            model.effects = PolicyEffects.neutral(model.state.n)
            alliances.apply(model)
            total += float(model.effects.spend_gbp["teaching_school_grants"].sum())
        paid.append(total)
    np.testing.assert_allclose(paid, [60_000, 45_000, 30_000, 15_000, 0, 0])
    bonus = model.effects.readiness_bonus[:, 0]
    gain = model.params.alliance_readiness_gain
    np.testing.assert_allclose(bonus, [gain] * 4 + [0, 0])
