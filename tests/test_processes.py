"""Each process and policy on a tiny hand-made world, against answers worked out by hand.

Pattern: build a model on a hand-made world (``conftest.hand_world``), set the state arrays the
process reads, call that one process's ``step(model)`` (or a policy's ``apply``), and compare
with the value computed by hand from the documented rule. The behavioural parameters used in
those hand computations are pinned (``PINNED``) so the expected values do not move when the
defaults are recalibrated; a change of rule is still noticed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import empty_bench, hand_world, make_model, set_params
from sim.invariants import check_invariants
from sim.policies import PolicyEffects
from sim.processes import careers, inspection, leadership, pipeline, succession
from sim.processes.pipeline import per_term
from sim.state import ACTING, SUBSTANTIVE, combined_condition
from sim.world import RURAL, SECONDARY, TOWN


# Parameter values the hand computations below use (pinned: recalibrating defaults must not
# change the known answers; these are the documented defaults at the time of writing, with
# round head-exit rates).
PINNED = dict(
    condition_rate_per_term=0.06, early_tenure_years=3.0, early_tenure_effort_boost=0.5,
    disadvantage_effort_per_band=0.1, distributed_leadership_weight=0.3,
    disadvantage_headwind=0.25, weakest_condition_weight=0.5, outcome_rate_per_term=0.12,
    outcome_per_condition=5.0, transition_dip=0.03, acting_effort=0.5, gap_base=0.35,
    gap_conditions_effect=0.4, capacity_growth_per_term=0.006,
    readiness_growth_per_term=0.008, developing_people_weight=0.015, ready_threshold=0.7,
    head_exit_primary_per_year=0.04, head_exit_secondary_per_year=0.07,
    exit_mult_inadequate=2.5, exit_mult_requires_improvement=1.4, exit_mult_per_fsm_band=0.12,
    exit_mult_small_school=1.2, exit_mult_low_resilience=0.8, retirement_age_start=55.0,
    retirement_per_year_after_start=0.12, retirement_age_certain=65.0,
    attractiveness_rural=0.7, attractiveness_coastal=0.8, attractiveness_small=0.75,
    attractiveness_fsm_band4=0.8, attractiveness_inadequate=0.7,
)


def pinned_model(world, **kwargs):
    """A model on ``world`` (system leadership off) with the ``PINNED`` parameters."""
    model = make_model(world, **kwargs)
    set_params(model, **PINNED)
    return model


def events_of(model, event: str | None = None) -> pd.DataFrame:
    """The model's event log so far, optionally one event type."""
    frame = model.events.frame()
    return frame if event is None else frame[frame["event"] == event].reset_index(drop=True)


def apply_policies(model) -> PolicyEffects:
    """Run the policies of the model for its current ``step_count`` and return the effects."""
    model.effects = PolicyEffects.neutral(model.world.n_schools)
    for policy in model.policies:
        policy.apply(model, model.effects)
    return model.effects


def set_bench(model, school: int, readiness: list[float]) -> list[int]:
    """Give ``school`` exactly these senior leaders (new people); return their person ids."""
    empty_bench(model, school)
    model.state.bench_posts[school] = max(len(readiness), 1)
    return [model.add_senior_leader(school, post, r, route="middle_leader")
            for post, r in enumerate(readiness)]


def test_per_term_converts_a_yearly_hazard():
    # three terms at the per-term probability leave exactly the yearly survival
    assert (1 - per_term(0.2)) ** 3 == pytest.approx(0.8)
    assert per_term(0.0) == 0.0
    assert per_term(1.0) == 1.0
    assert per_term(3.0) == 1.0  # capped


# ------------------------------------------------------------------------------------------
# leadership
# ------------------------------------------------------------------------------------------

@pytest.fixture
def leadership_model():
    """Four identical band-1 primaries; capacity 0.8 everywhere; conditions at 0.5."""
    model = pinned_model(hand_world(4, fsm_share=0.05))
    set_params(model, outcome_noise_sd=0.0)
    s = model.state
    s.head_capacity[:] = 0.8
    s.conditions[:] = 0.5
    s.effectiveness[:] = 0.0
    s.head_tenure[:] = 10.0          # settled heads
    s.leader_kind[:] = SUBSTANTIVE
    for school in range(4):
        set_bench(model, school, [0.4, 0.6])   # bench strength 0.5
    return model


def test_leadership_moves_conditions_toward_sustainable_level_at_stated_rate(leadership_model):
    model, s = leadership_model, leadership_model.state
    # by hand: PRACTICE_TO_CONDITION rows sum to 1, so target = 0.8 * (1 + 0.3 * 0.5) - 0.25 * 0.05
    target = 0.8 * (1 + 0.3 * 0.5) - 0.25 * 0.05
    assert target == pytest.approx(0.9075)
    np.testing.assert_allclose(leadership.sustainable_conditions(model)[0], target)
    leadership.step(model)
    # settled head in FSM band 1: effort 1, rate 0.06
    expected = 0.5 + 0.06 * (target - 0.5)
    np.testing.assert_allclose(s.conditions[0], expected, rtol=1e-12)
    assert expected == pytest.approx(0.52445)


def test_leadership_effectiveness_moves_toward_its_target(leadership_model):
    model, s = leadership_model, leadership_model.state
    s.effectiveness[1] = 2.0   # far above what conditions support
    leadership.step(model)
    level = s.conditions[0].mean()   # band 1: plain mean of the four conditions
    outcome_target = 5.0 * (level - 0.7)
    assert s.effectiveness[0] == pytest.approx(0.0 + 0.12 * (outcome_target - 0.0))
    assert s.effectiveness[1] == pytest.approx(2.0 + 0.12 * (outcome_target - 2.0))
    assert s.effectiveness[0] < 0.0 < s.effectiveness[1] < 2.0   # both moved toward the target
    # the gap follows the conditions
    assert s.gap[0] == pytest.approx(0.35 - 0.4 * (level - 0.7))


def test_new_head_changes_conditions_faster_than_settled_head(leadership_model):
    model, s = leadership_model, leadership_model.state
    s.head_tenure[1] = 0.5   # first year in the school (< early_tenure_years = 3)
    before = s.conditions.copy()
    leadership.step(model)
    change = s.conditions - before
    assert np.all(change[1] > change[0]) and np.all(change[0] > 0)
    np.testing.assert_allclose(change[1] / change[0], 1.5)   # 1 + early_tenure_effort_boost


def test_acting_head_changes_conditions_more_slowly(leadership_model):
    model, s = leadership_model, leadership_model.state
    s.leader_kind[2] = ACTING
    before = s.conditions.copy()
    leadership.step(model)
    change = s.conditions - before
    assert np.all(0 < change[2]) and np.all(change[2] < change[0])
    np.testing.assert_allclose(change[2] / change[0], 0.5)   # acting_effort


def test_capacity_grows_for_substantive_heads_only(leadership_model):
    model, s = leadership_model, leadership_model.state
    s.leader_kind[2] = ACTING
    s.head_resilience[:] = 0.5
    leadership.step(model)
    np.testing.assert_allclose(s.head_capacity[0], 0.8 + 0.006 * 0.5 * 0.2)
    np.testing.assert_allclose(s.head_capacity[2], 0.8)


def test_disadvantage_raises_effort_and_lowers_target():
    # school 0 in FSM band 1 (5%), school 1 in band 4 (40%); same head, same bench
    model = pinned_model(hand_world(2, fsm_share=[0.05, 0.40]))
    s = model.state
    s.head_capacity[:] = 0.8
    s.head_tenure[:] = 10.0
    for school in range(2):
        empty_bench(model, school)
    effort = leadership.change_effort(model)
    np.testing.assert_allclose(effort, [1.0, 1.0 + 0.1 * 3])
    np.testing.assert_allclose(leadership.sustainable_conditions(model),
                               [[0.8 - 0.25 * 0.05] * 4, [0.8 - 0.25 * 0.40] * 4])


def test_weakest_condition_weighs_more_in_disadvantaged_schools():
    conditions = np.array([[0.2, 0.8, 0.8, 0.8], [0.2, 0.8, 0.8, 0.8]])
    level = combined_condition(conditions, np.array([2, 4]), weakest_weight=0.5)
    np.testing.assert_allclose(level, [0.65, 0.5 * 0.65 + 0.5 * 0.2])


# ------------------------------------------------------------------------------------------
# pipeline
# ------------------------------------------------------------------------------------------

def test_readiness_grows_by_base_plus_developing_people_capacity():
    model = pinned_model(hand_world(4))
    set_params(model, senior_leader_exit_per_year=0.0, bench_refill_per_term=0.0)
    s = model.state
    ids = [set_bench(model, school, [0.1, 0.5]) for school in range(4)]
    s.bench_posts[:] = 3                     # one open post each: refill is 0, so it stays open
    s.head_capacity[:, 1] = [0.0, 0.2, 0.6, 1.0]   # "developing people"
    s.bench_readiness[3, 1] = 0.995          # growth is capped at 1
    n_events = len(model.events.rows)
    pipeline.step(model)
    growth = 0.008 + 0.015 * np.array([0.0, 0.2, 0.6, 1.0])
    np.testing.assert_allclose(s.bench_readiness[:, 0], 0.1 + growth)
    np.testing.assert_allclose(s.bench_readiness[:3, 1], 0.5 + growth[:3])
    assert s.bench_readiness[3, 1] == 1.0
    np.testing.assert_array_equal(s.bench_person[:, :2], np.array(ids))
    assert np.all(s.bench_person[:, 2:] == -1) and np.all(s.bench_readiness[:, 2:] == 0)
    np.testing.assert_allclose(s.bench_years[:, :2], 1 / 3)
    assert len(model.events.rows) == n_events   # nobody left, nobody appointed


def test_all_senior_leaders_leave_and_posts_are_refilled():
    model = pinned_model(hand_world(4))
    # a yearly hazard of 1 is a per-term probability of 1; refill 1 fills every open post
    set_params(model, senior_leader_exit_per_year=1.0, bench_refill_per_term=1.0)
    s = model.state
    before = set(s.bench_person[s.bench_person >= 0].tolist())
    first_new_id = model._next_person
    pipeline.step(model)
    left, appointed = events_of(model, "leader_left"), events_of(model, "leader_appointed")
    assert set(left["person_id"]) == before and (left["reason"] == "left").all()
    assert len(appointed) == int(s.bench_posts.sum())
    assert (appointed["route"] == "middle_leader").all()
    assert np.array_equal(s.bench_present.sum(axis=1), s.bench_posts)
    now = s.bench_person[s.bench_person >= 0]
    assert set(now.tolist()) == set(appointed["person_id"]) and now.min() >= first_new_id
    assert np.all(s.bench_years[s.bench_present] == 0)    # newcomers start afresh
    check_invariants(model)


def test_exit_at_maximum_rate_empties_some_posts_that_are_refilled(ne_world):
    model = pinned_model(ne_world)
    set_params(model, senior_leader_exit_per_year=0.15, bench_refill_per_term=1.0)  # 0.15: range max
    s = model.state
    present_before = s.bench_present.copy()
    open_before = int(((~present_before) & (np.arange(6)[None, :] < s.bench_posts[:, None])).sum())
    pipeline.step(model)
    left, appointed = events_of(model, "leader_left"), events_of(model, "leader_appointed")
    expected_leavers = per_term(0.15) * present_before.sum()
    assert 0.6 * expected_leavers < len(left) < 1.4 * expected_leavers
    assert len(appointed) == open_before + len(left)
    assert np.array_equal(s.bench_present.sum(axis=1), s.bench_posts)
    assert not set(left["person_id"]) & set(s.bench_person[s.bench_present].tolist())
    check_invariants(model)


@pytest.fixture(scope="module")
def ne_world():
    """The synthetic North East (~1,000 schools), built once for this module."""
    from sim.parameters import WorldConfig
    from sim.world import build_world
    return build_world(WorldConfig(region="North East"))


# ------------------------------------------------------------------------------------------
# careers
# ------------------------------------------------------------------------------------------

def quiet_careers(model, age: float = 40.0) -> None:
    """No early exits, no retirement before the certain age, everyone aged ``age``."""
    set_params(model, head_exit_primary_per_year=0.0, head_exit_secondary_per_year=0.0,
               retirement_per_year_after_start=0.0)
    model.state.head_age[:] = age


def test_head_at_certain_retirement_age_retires():
    model = pinned_model(hand_world(4))
    quiet_careers(model)
    model.state.head_age[0] = 65.0   # retirement_age_certain
    head = model.state.head_person[0]
    careers.step(model)
    left = events_of(model, "head_left")
    assert len(left) == 1
    assert left.loc[0, "school_id"] == 1001 and left.loc[0, "person_id"] == head
    assert left.loc[0, "reason"] == "retired"
    assert model.heads[0] is None and all(h is not None for h in model.heads[1:])


def test_no_one_leaves_with_zero_hazards():
    model = pinned_model(hand_world(40, phase=[0, 1] * 20, pupils=80, fsm_share=0.5, grade=4))
    quiet_careers(model)
    model.state.head_resilience[:] = 0.0
    heads = model.state.head_person.copy()
    for _ in range(12):
        careers.step(model)
    assert events_of(model, "head_left").empty
    assert np.array_equal(model.state.head_person, heads)
    np.testing.assert_allclose(model.state.head_age, 44.0)


def test_acting_heads_do_not_retire_or_leave():
    model = pinned_model(hand_world(2))
    model.state.leader_kind[:] = ACTING
    model.state.head_age[:] = 70.0
    set_params(model, head_exit_primary_per_year=0.12)
    for _ in range(6):
        careers.step(model)
    assert events_of(model, "head_left").empty


def test_early_exit_hazard_by_grade_and_phase():
    model = pinned_model(hand_world(4, phase=[0, 0, SECONDARY, SECONDARY], pupils=300,
                                  fsm_share=0.05, grade=[2, 4, 2, 4]))
    s = model.state
    s.head_resilience[:] = 1.0           # no low-resilience multiplier
    s.terms_since_downgrade[:] = 999     # no recent downgrade
    hazard = careers.early_exit_hazard(model)
    np.testing.assert_allclose(hazard, [0.04, 0.04 * 2.5, 0.07, 0.07 * 2.5])
    assert hazard[1] > hazard[0] and hazard[3] > hazard[2]   # grade 4 above grade 2
    assert hazard[2] > hazard[0] and hazard[3] > hazard[1]   # secondary above primary
    s.terms_since_downgrade[1] = 1       # downgraded this year
    assert careers.early_exit_hazard(model)[1] == pytest.approx(0.04 * 2.5 * 1.5)


def test_retirement_hazard_by_age():
    model = pinned_model(hand_world(4))
    model.state.head_age[:] = [54.9, 55.0, 64.9, 65.0]
    np.testing.assert_allclose(careers.retirement_hazard(model), [0.0, 0.12, 0.12, 1.0])


# ------------------------------------------------------------------------------------------
# succession
# ------------------------------------------------------------------------------------------

def vacate(model, school: int) -> int:
    """The head of ``school`` retires; return their person id. Clears the setup's events."""
    model.events.rows.clear()
    return model.remove_head(school, reason="retired")


def test_internal_appointment_of_ready_deputy():
    model = pinned_model(hand_world(4))
    set_params(model, internal_preference=1.0)
    deputy, junior = set_bench(model, 0, [0.9, 0.3])
    vacate(model, 0)
    model.state.conditions[0] = 0.5
    succession.step(model)
    appointed = events_of(model, "head_appointed")
    assert len(appointed) == 1
    assert appointed.loc[0, "route"] == "internal" and appointed.loc[0, "person_id"] == deputy
    left = events_of(model, "leader_left")
    assert list(left["person_id"]) == [deputy] and left.loc[0, "reason"] == "promoted_internally"
    s = model.state
    assert model.heads[0].person_id == deputy and s.head_person[0] == deputy
    assert s.leader_kind[0] == SUBSTANTIVE and s.head_tenure[0] == 0.0
    assert deputy not in s.bench_person[0] and junior in s.bench_person[0]
    np.testing.assert_allclose(s.conditions[0], 0.5 - 0.03)   # transition dip
    check_invariants(model)


def test_no_bench_and_failed_search_gives_an_acting_head():
    model = pinned_model(hand_world(4))
    set_params(model, external_success_per_term=1e-12)
    empty_bench(model, 0)
    old = vacate(model, 0)
    model.state.conditions[0] = [0.5, 0.6, 0.01, 0.7]
    next_id = model._next_person
    succession.step(model)
    appointed = events_of(model, "head_appointed")
    assert list(appointed["route"]) == ["acting"]
    s = model.state
    assert s.leader_kind[0] == ACTING and s.vacancy_terms[0] == 1
    assert model.heads[0] is not None and model.heads[0].person_id == s.head_person[0]
    assert s.head_person[0] >= next_id and s.head_person[0] != old   # an interim from outside
    assert sum(h.school_index == 0 for h in model.heads) == 1           # one leader of record
    np.testing.assert_allclose(s.conditions[0], [0.47, 0.57, 0.0, 0.67])   # dip, floored at 0
    check_invariants(model)


def test_an_interim_head_from_outside_is_drawn_in_readiness_units():
    """An interim head's readiness is the outside appointee's capacity converted to readiness,
    as for a substantive outside appointment; capacity = (readiness + gain) x acting factor."""
    model = pinned_model(hand_world(4))
    set_params(model, external_success_per_term=1e-12, external_readiness_sd=1e-9,
               external_capacity_mean=0.5, new_head_capacity_per_readiness=0.625,
               acting_readiness_gain=0.05, acting_capacity_factor=0.9)
    empty_bench(model, 0)
    vacate(model, 0)
    succession.step(model)
    # readiness 0.5 / 0.625 = 0.8; (0.8 + 0.05) x 0.9 = 0.765
    np.testing.assert_allclose(model.state.head_capacity[0], 0.765)


def test_deputy_acts_up_when_not_ready_and_search_fails():
    model = pinned_model(hand_world(4))
    set_params(model, external_success_per_term=1e-12)
    deputy, = set_bench(model, 0, [0.4])
    vacate(model, 0)
    succession.step(model)
    assert model.state.head_person[0] == deputy and model.state.leader_kind[0] == ACTING
    assert model.state.acting_readiness[0] == pytest.approx(0.4)
    assert events_of(model, "leader_left")["reason"].tolist() == ["acting_up"]
    check_invariants(model)


def test_acting_head_stays_and_wait_is_counted_while_search_fails():
    model = pinned_model(hand_world(4))
    set_params(model, external_success_per_term=1e-12)
    empty_bench(model, 0)
    vacate(model, 0)
    succession.step(model)
    acting = model.state.head_person[0]
    for _ in range(3):
        succession.step(model)
    assert model.state.head_person[0] == acting and model.state.vacancy_terms[0] == 4
    check_invariants(model)


def test_ready_acting_deputy_is_confirmed():
    model = pinned_model(hand_world(4))
    set_params(model, external_success_per_term=1e-12, internal_preference=1.0)
    deputy, = set_bench(model, 0, [0.4])
    vacate(model, 0)
    succession.step(model)                     # the deputy acts up
    model.state.acting_readiness[0] = 0.8      # ... and becomes ready
    succession.step(model)
    appointed = events_of(model, "head_appointed")
    assert list(appointed["route"]) == ["acting", "internal"]
    assert list(appointed["person_id"]) == [deputy, deputy]
    assert model.state.leader_kind[0] == SUBSTANTIVE and model.state.vacancy_terms[0] == 0
    assert events_of(model, "head_left")["reason"].tolist() == ["retired", "acting_ended"]
    check_invariants(model)


def test_outside_appointment_when_region_has_no_ready_leader():
    model = pinned_model(hand_world(4))
    set_params(model, external_success_per_term=1e9)  # the draw always succeeds (chance capped at 1)
    s = model.state
    s.bench_readiness[s.bench_present] = 0.1           # nobody ready anywhere in the region
    vacate(model, 0)
    before_bench = s.bench_person.copy()
    next_id = model._next_person
    succession.step(model)
    appointed = events_of(model, "head_appointed")
    assert list(appointed["route"]) == ["external"]
    assert appointed.loc[0, "person_id"] >= next_id    # someone new to the model
    assert events_of(model, "leader_left").empty and np.array_equal(s.bench_person, before_bench)
    assert s.leader_kind[0] == SUBSTANTIVE and s.head_experience[0] > 0
    check_invariants(model)


def test_external_appointment_takes_a_ready_leader_from_another_school():
    model = pinned_model(hand_world(4))
    set_params(model, external_success_per_term=1e9)
    s = model.state
    s.bench_readiness[s.bench_present] = 0.1
    empty_bench(model, 0)
    candidate, = set_bench(model, 2, [0.95])
    vacate(model, 0)
    succession.step(model)
    appointed = events_of(model, "head_appointed")
    assert list(appointed["route"]) == ["external"]
    assert appointed.loc[0, "person_id"] == candidate
    left = events_of(model, "leader_left")
    assert list(left["person_id"]) == [candidate] and left.loc[0, "reason"] == "promoted_elsewhere"
    assert left.loc[0, "school_id"] == 1003
    assert candidate not in s.bench_person
    check_invariants(model)


def test_attractiveness_of_hard_to_staff_posts():
    model = pinned_model(hand_world(4, setting=[0, TOWN, RURAL, 0], pupils=[300, 300, 80, 300],
                                  fsm_share=[0.05, 0.05, 0.05, 0.40], grade=[2, 2, 2, 4]))
    appeal = succession.attractiveness(model)
    np.testing.assert_allclose(appeal, [1.0, 0.85, 0.7 * 0.75, 0.8 * 0.7])


# ------------------------------------------------------------------------------------------
# inspection
# ------------------------------------------------------------------------------------------

FIXED = {"regime": "fixed"}  # one regime throughout: no short inspections, no dated exemption


def test_overdue_school_is_inspected_and_others_are_not():
    model = pinned_model(hand_world(4, terms_since_inspection=[40, 0, 0, 0]), inspection=FIXED)
    inspection.step(model)
    inspected = events_of(model, "inspection")
    assert list(inspected["school_id"]) == [1001]
    np.testing.assert_array_equal(model.state.terms_since_inspection, [0, 1, 1, 1])


def test_grades_follow_thresholds_without_noise():
    model = pinned_model(hand_world(4, grade=2, terms_since_inspection=40), inspection=FIXED)
    set_params(model, inspection_noise_sd=0.0)
    p, s = model.params, model.state
    s.effectiveness[:] = [p.threshold_outstanding + 0.3,
                          (p.threshold_outstanding + p.threshold_good) / 2,
                          (p.threshold_good + p.threshold_inadequate) / 2,
                          p.threshold_inadequate - 0.3]
    heads = s.head_person.copy()
    inspection.step(model)
    np.testing.assert_array_equal(s.grade, [1, 2, 3, 4])
    np.testing.assert_array_equal(s.previous_grade, [2, 2, 2, 2])
    rows = events_of(model, "inspection")
    assert rows["grade"].tolist() == [1, 2, 3, 4] and rows["previous_grade"].tolist() == [2] * 4
    assert rows["person_id"].tolist() == heads.tolist()
    # downgraded schools restart their downgrade clock; the others do not
    np.testing.assert_array_equal(s.terms_since_downgrade, [999, 999, 0, 0])


def test_outstanding_exemption_spares_a_strong_outstanding_school():
    kwargs = dict(grade=[1, 1], terms_since_inspection=[100, 100])
    exempt = pinned_model(hand_world(2, **kwargs), inspection={**FIXED, "outstanding_exempt": True})
    routine = pinned_model(hand_world(2, **kwargs), inspection=FIXED)
    for model in (exempt, routine):
        model.state.effectiveness[:] = model.params.threshold_outstanding + 0.5
    for _ in range(9):
        inspection.step(exempt)
    inspection.step(routine)
    assert events_of(exempt, "inspection").empty
    assert exempt.state.terms_since_inspection.tolist() == [109, 109]
    assert len(events_of(routine, "inspection")) == 2


def test_outstanding_exemption_still_inspects_at_risk_schools_sometimes():
    model = pinned_model(hand_world(400, grade=1, terms_since_inspection=0),
                       inspection={**FIXED, "outstanding_exempt": True})
    model.state.effectiveness[:200] = model.params.threshold_good - 0.2   # at risk
    model.state.effectiveness[200:] = model.params.threshold_good + 0.2   # not at risk
    inspection.step(model)
    inspected = events_of(model, "inspection")["school_id"].to_numpy() - 1001
    assert np.all(inspected < 200)
    assert 20 <= len(inspected) <= 60   # risk_inspection_per_term = 0.2 of 200


# ------------------------------------------------------------------------------------------
# policies
# ------------------------------------------------------------------------------------------

def test_recruitment_incentive_only_for_eligible_schools():
    world = hand_world(4, setting=[0, TOWN, RURAL, 0], fsm_share=[0.05, 0.05, 0.05, 0.40])
    model = pinned_model(world, policy={"recruitment_incentive": {
        "enabled": True, "targets": ("rural",), "recruitment_multiplier": 1.5,
        "exit_hazard_multiplier": 0.6, "premium_gbp_per_year": 9_000.0}})
    effects = apply_policies(model)
    np.testing.assert_allclose(effects.recruitment_multiplier, [1.0, 1.5, 1.5, 1.0])
    np.testing.assert_allclose(effects.exit_hazard_multiplier, [1.0, 0.6, 0.6, 1.0])
    np.testing.assert_allclose(effects.spend_gbp["recruitment_incentive"], [0, 3_000, 3_000, 0])
    # the processes read the effects: the same head is less likely to leave where eligible
    model.state.head_resilience[:] = 1.0
    model.state.grade[:] = 2
    hazard = careers.early_exit_hazard(model)
    assert hazard[1] == pytest.approx(0.6 * 0.04)


def test_recruitment_incentive_spend_in_the_time_series():
    from sim.run import run
    from conftest import make_config
    config = make_config(toy_schools=12, years=2, system_leadership=False, policy={
        "recruitment_incentive": {"enabled": True, "targets": ("rural",),
                                  "premium_gbp_per_year": 6_000.0}})
    results = run(config, seed=1)
    eligible = int((results.schools["setting"] != "urban").sum())
    assert eligible == 8   # toy world: settings cycle urban, town, rural
    spend = results.timeseries["spend_recruitment_incentive_gbp"]
    assert spend.sum() == pytest.approx(eligible * 6_000.0 * 2)


def dev_model(world, **programme):
    settings = {"enabled": True, "places_per_year": 100_000, "duration_terms": 3,
                "minimum_effective_terms": 2, "readiness_gain_per_term": 0.04}
    settings.update(programme)
    return pinned_model(world, policy={"development_programme": settings})


def test_development_programme_enrols_at_most_its_places(ne_world):
    model = dev_model(ne_world, places_per_year=2_000, cost_gbp_per_place=5_000.0)
    places = model.policies[0].places_per_year
    assert places == round(2_000 * ne_world.n_schools / 20_219) and places > 0
    s = model.state
    s.bench_readiness[s.bench_present] = 0.1      # everyone eligible: far more than the places
    model.step_count = 1                          # enrolment happens in the first term of a year
    effects = apply_policies(model)
    enrolled = s.bench_programme_terms == 2       # enrolled this term, so now in their second
    assert enrolled.sum() == places
    assert np.all(s.bench_present[enrolled])
    assert effects.spend_gbp["development_programme"].sum() == pytest.approx(places * 5_000.0)
    model.step_count = 2                          # no new cohort in the second term
    apply_policies(model)
    assert (s.bench_programme_terms > 0).sum() == places and (s.bench_programme_terms == 1).sum() == 0


def test_development_programme_offers_places_only_to_targeted_unready_leaders():
    world = hand_world(4, fsm_share=[0.05, 0.05, 0.40, 0.40])
    model = dev_model(world, targeting="disadvantaged")
    for school in range(4):
        set_bench(model, school, [0.1, 0.95])     # post 1 already ready
    model.step_count = 1
    apply_policies(model)
    np.testing.assert_array_equal(model.state.bench_programme_terms[:, :2],
                                  [[0, 0], [0, 0], [2, 0], [2, 0]])


def programme_bonus_by_term(model, school: int, post: int, terms: int, leave_after: int | None = None):
    """Readiness bonus of one post each term from enrolment; optionally the person leaves."""
    bonuses = []
    for k in range(terms):
        model.step_count = 1 + k
        if leave_after is not None and k == leave_after:
            model.remove_senior_leader(school, post, reason="left")
        effects = apply_policies(model)
        bonuses.append(float(effects.readiness_bonus[school, post]))
    return bonuses


def test_programme_pays_after_minimum_terms_and_not_before():
    model = dev_model(hand_world(1), duration_terms=3, minimum_effective_terms=2)
    set_bench(model, 0, [0.1])
    bonuses = programme_bonus_by_term(model, 0, 0, terms=4)
    # enrolled in term 1; term 2 reaches the minimum and pays both terms; term 3 pays one;
    # term 4 is past the duration and pays nothing
    np.testing.assert_allclose(bonuses, [0.0, 0.08, 0.04, 0.0])
    assert sum(bonuses) == pytest.approx(3 * 0.04)   # duration x gain


def test_programme_graduate_is_not_enrolled_again():
    model = dev_model(hand_world(1), duration_terms=3, minimum_effective_terms=2,
                      readiness_gain_per_term=0.0)   # stays unready, so stays eligible
    set_bench(model, 0, [0.1])
    bonuses = programme_bonus_by_term(model, 0, 0, terms=9)
    assert model.state.bench_programme_terms[0, 0] == -1   # completed: not enrolled a second time
    assert sum(bonuses) == 0.0
    model.step_count = 10
    apply_policies(model)
    assert model.state.bench_programme_terms[0, 0] == -1


def test_participant_leaving_before_minimum_terms_gains_nothing():
    model = dev_model(hand_world(1), duration_terms=4, minimum_effective_terms=3)
    set_bench(model, 0, [0.1])
    # the participant leaves in their third term, before the minimum of three is credited
    bonuses = programme_bonus_by_term(model, 0, 0, terms=4, leave_after=2)
    assert bonuses == [0.0, 0.0, 0.0, 0.0]
    assert model.state.bench_programme_terms[0, 0] == 0


def test_programme_total_gain_does_not_depend_on_minimum_terms():
    totals = {}
    for minimum in (1, 2, 3):
        model = dev_model(hand_world(1), duration_terms=3, minimum_effective_terms=minimum)
        set_bench(model, 0, [0.1])
        totals[minimum] = sum(programme_bonus_by_term(model, 0, 0, terms=3))
    assert totals[1] == pytest.approx(totals[2]) == pytest.approx(totals[3]) == pytest.approx(0.12)
