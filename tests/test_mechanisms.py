"""The system-leadership mechanisms of issue 8, each on a hand-made world with a worked answer,
and each switched off by its ``config.mechanisms`` setting.

Built with the helpers of ``test_system_leadership.py``: every mechanism is off unless the test
switches it on, so each test sees one mechanism at work.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes import brokerage, designation, structure
from sim.state import EXECUTIVE
from sim.system_leadership import LLE, NLE, NO_ROLE
from sim.world import ACADEMY_CONVERTER, ACADEMY_SPONSOR_LED, PRIMARY, RURAL, SECONDARY
from conftest import set_params
from test_system_leadership import (broker_once, events_of, make_acting, make_strong, manual_deployment,
                                    set_bench, sl_model, sl_world, support_step)


def on(*names: str) -> dict:
    """Mechanism overrides switching ``names`` on."""
    return {name: True for name in names}


# ------------------------------------------------------------------------------------------
# home school: capacity at risk as a level effect, the senior team as buffer
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("switched_on", [True, False])
def test_home_school_loses_sustainable_conditions_in_proportion_to_uncovered_time(switched_on):
    world = sl_world([0.0, 5.0, 9.0], grade=[1, 3, 1])
    model = sl_model(world, mechanisms={"home_capacity_at_risk": switched_on})
    model.sl.role[[0, 2]] = NLE
    set_bench(model, 0, [0.5, 0.5])             # bench strength 0.5: half the time uncovered
    set_bench(model, 2, [1.0, 1.0])             # a fully ready team covers everything
    model.sl.deployments += [manual_deployment(0, 1, start_step=5),      # consultancy 0.3
                             manual_deployment(2, 1, start_step=5, intensity=0.6)]
    fx = support_step(model, 1)                 # neither has started: no cost yet
    assert fx.condition_target_shift[0] == 0.0
    fx = support_step(model, 5)                 # both started; client effect still in its lag
    # worked: -home_capacity_loss * intensity * (1 - bench) = -0.15 * 0.3 * 0.5 at school 0
    expected = -0.15 * 0.3 * 0.5 if switched_on else 0.0
    assert fx.condition_target_shift[0] == pytest.approx(expected)
    assert fx.condition_target_shift[2] == pytest.approx(0.0)


@pytest.mark.parametrize("switched_on", [True, False])
def test_executive_heads_home_school_bears_the_cost_of_the_shared_head(switched_on):
    world = sl_world([0.0, 3.0], grade=[1, 3], pupils=80, setting=RURAL)
    model = sl_model(world, mechanisms={"executive_home_cost": switched_on})
    make_strong(model, 0)
    set_bench(model, 0, [0.6, 0.2])                     # strength 0.4: 60 % uncovered
    make_acting(model, 1)
    model.start_executive_headship(1, 0, 3.0)
    assert model.state.leader_kind[1] == EXECUTIVE
    fx = support_step(model, 1)
    structure.apply(model)
    # worked: -0.15 * executive_time_share 0.5 * (1 - 0.4) = -0.045
    assert fx.condition_target_shift[0] == pytest.approx(-0.045 if switched_on else 0.0)
    assert fx.condition_target_shift[1] == 0.0


# ------------------------------------------------------------------------------------------
# status reviewed against the criteria at each inspection
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("switched_on", [True, False])
def test_nle_whose_school_is_inspected_good_loses_the_role_unless_relaxation_applies(switched_on):
    # 0: NLE, inspected, good, low FSM -> loses NLE; 1: NLE, inspected, good, FSM 30 % and
    # exceptionally good -> keeps it; 2: NLE graded good long ago, not inspected now -> keeps;
    # 3: LLE inspected good -> keeps (LLEs need good).
    world = sl_world([0.0, 2.0, 4.0, 6.0], grade=2, fsm=[0.05, 0.30, 0.05, 0.05])
    model = sl_model(world, mechanisms={"status_review": switched_on})
    make_strong(model, range(4))
    model.sl.role[:] = [NLE, NLE, NLE, LLE]
    s = model.state
    s.terms_since_inspection[:] = [0, 0, 4, 0]
    model.step_count = 1
    designation.step(model)
    expected = [NO_ROLE, NLE, NLE, LLE] if switched_on else [NLE, NLE, NLE, LLE]
    assert model.sl.role.tolist() == expected
    reasons = events_of(model, "dedesignated")["reason"].tolist()
    assert reasons == (["not_outstanding"] if switched_on else [])


@pytest.mark.parametrize("switched_on", [True, False])
def test_teaching_school_inspected_and_not_found_outstanding_loses_the_designation(switched_on):
    # Teaching schools 0, 1, 2; school 3 a member of 0's alliance. 0 inspected now and graded
    # good: loses the designation and its alliance dissolves (seed 002 L1000-1004, L6672-6678);
    # 1 graded good long ago and not inspected now: keeps it; 2 inspected now, outstanding: keeps.
    from sim.processes import alliances
    world = sl_world([0.0, 10.0, 20.0, 1.0], grade=[2, 2, 1, 2])
    model = sl_model(world, mechanisms={"status_review": switched_on}, teaching_schools=True)
    sl = model.sl
    sl.teaching_school_since[:3] = 0
    sl.alliance_of[:] = [0, 1, 2, 0]
    model.state.terms_since_inspection[:] = [0, 5, 0, 0]
    model.step_count = 1
    alliances.step(model)
    if switched_on:
        assert (sl.teaching_school_since >= 0).tolist() == [False, True, True, False]
        assert sl.alliance_of.tolist() == [-1, 1, 2, -1]
        lost = events_of(model, "dedesignated")
        assert lost["reason"].tolist() == ["not_outstanding"] and lost["role"].tolist() == ["teaching_school"]
    else:
        assert (sl.teaching_school_since >= 0).tolist() == [True, True, True, False]
        assert sl.alliance_of.tolist() == [0, 1, 2, 0]


# ------------------------------------------------------------------------------------------
# travel cost
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("switched_on", [True, False])
def test_support_dose_falls_with_distance(switched_on):
    world = sl_world([0.0, 25.0, 50.0], grade=[1, 3, 3])
    model = sl_model(world, mechanisms={"travel_cost": switched_on})
    model.sl.role[0] = NLE
    near, far = manual_deployment(0, 1), manual_deployment(0, 2)
    near.distance_km, far.distance_km = 0.0, 25.0      # travel_decay_km = 25: far gets 1/e
    model.sl.deployments += [near, far]
    fx = support_step(model, 3)
    base = 0.08 * 0.3
    expected_far = base * np.exp(-1.0) if switched_on else base
    np.testing.assert_allclose(fx.condition_target_shift[1:], [base, expected_far])


# ------------------------------------------------------------------------------------------
# deployments limited by willingness and home cover, not by the budget alone
# ------------------------------------------------------------------------------------------

def test_unwilling_supporters_and_supporters_without_cover_start_nothing():
    # 0, 1, 2 LLEs of good schools; 3, 4, 5 clients graded RI. 0 has a ready deputy, 1 has none.
    world = sl_world([0.0, 100.0, 200.0, 1.0, 101.0, 201.0], grade=[2, 2, 2, 3, 3, 3])
    model = sl_model(world, mechanisms=on("deployment_limits"), lle_quota=0, nle_quota=0,
                     budget_gbp_per_year=1e9)
    model.sl.role[:3] = LLE
    set_bench(model, 0, [0.8])
    set_bench(model, 1, [0.3])
    set_bench(model, 2, [0.8])
    set_params(model, supporter_willingness=1.0)
    supply = brokerage.available_supply(model)
    assert supply[:3].tolist() == [True, False, True]      # 1 has no ready leader to cover
    set_params(model, supporter_willingness=0.0)
    assert len(broker_once(model)) == 0                    # nobody willing: no deployment at all
    model.config.mechanisms.deployment_limits = False
    assert len(broker_once(model)) == 3                    # budget alone: every client served


def test_nle_needs_enough_senior_leaders_under_deployment_limits():
    world = sl_world([0.0, 2.0], grade=1)
    model = sl_model(world, mechanisms=on("deployment_limits"))
    make_strong(model, [0, 1])
    set_bench(model, 1, [0.9])                  # one excellent deputy, but only one
    assert designation.nle_eligible(model).tolist() == [True, False]
    model.config.mechanisms.deployment_limits = False
    assert designation.nle_eligible(model).tolist() == [True, True]


# ------------------------------------------------------------------------------------------
# designation ranking: contextual value added lets the FSM relaxation matter
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cva, expected", [(True, 1), (False, 0)])
def test_cva_ranking_prefers_the_high_fsm_school_with_the_better_context_adjusted_results(cva, expected):
    # One place (quota 10,000 nationally in 2 schools is 1). School 0: outstanding, FSM 5 %,
    # effectiveness 0.6, CVA 0.6 + outcome_per_condition 5 * headwind 0.25 * 0.05 = 0.6625.
    # School 1: good with FSM 40 %, exceptionally good (0.4 is within 0.25 of 0.459), CVA
    # 0.4 + 5 * 0.25 * 0.4 = 0.9. Raw effectiveness designates 0; CVA designates 1.
    world = sl_world([0.0, 2.0], grade=[1, 2], fsm=[0.05, 0.40])
    model = sl_model(world, mechanisms={"cva_ranking": cva}, nle_quota=10_000, lle_quota=0)
    make_strong(model, 0, effectiveness=0.6)
    make_strong(model, 1, effectiveness=0.4)
    set_params(model, nle_application_per_year=1.0)
    model.step_count = 3
    designation.step(model)
    assert np.nonzero(model.sl.role == NLE)[0].tolist() == [expected]


# ------------------------------------------------------------------------------------------
# phase mix of applicants
# ------------------------------------------------------------------------------------------

def test_primary_heads_apply_less_often_than_secondary_heads_under_phase_mix():
    world = sl_world(np.arange(4) * 2.0, phase=[PRIMARY, PRIMARY, SECONDARY, SECONDARY])
    model = sl_model(world, mechanisms=on("phase_mix"))
    # worked: nle_application_per_year 0.5; primary 0.5 / secondary_application_ratio 4 = 0.125
    np.testing.assert_allclose(designation.application_probability(model, NLE), [0.125, 0.125, 0.5, 0.5])
    np.testing.assert_allclose(designation.application_probability(model, LLE), 0.5)
    model.config.mechanisms.phase_mix = False
    np.testing.assert_allclose(designation.application_probability(model, NLE), 0.5)


def test_starting_round_fills_the_quotas_in_the_published_phase_split():
    # 40 eligible primaries and 40 eligible secondaries; NLE quota scaled to this world is 20:
    # round(20 * 0.535) = 11 primary and 9 secondary NLEs, the most effective of each phase.
    n = 80
    phase = np.array([PRIMARY] * 40 + [SECONDARY] * 40)
    world = sl_world(np.arange(n) * 1.0, phase=phase, grade=1)
    quota = int(np.ceil(20 * 20_219 / n))
    model = sl_model(world, nle_quota=quota, lle_quota=0)
    make_strong(model, range(n))
    model.state.effectiveness[:] = np.linspace(0.5, 1.5, n)
    designation.initial_round(model)
    nle = np.nonzero(model.sl.role == NLE)[0]
    assert len(nle) == 20
    assert sorted(nle[phase[nle] == PRIMARY].tolist()) == list(range(29, 40))
    assert sorted(nle[phase[nle] == SECONDARY].tolist()) == list(range(71, 80))


# ------------------------------------------------------------------------------------------
# client readiness (seed 003 L1277-1362)
# ------------------------------------------------------------------------------------------

def readiness_world():
    """0 plain urban maintained client with a team of two and a head at capacity 0.6;
    1 academy (trust); 2 rural; 3 one senior leader only (cover costs); 4 head capacity 0.3;
    5 all of these; 6 coastal."""
    world = sl_world(np.arange(7) * 1.0, grade=3, setting=[0, 0, RURAL, 0, 0, RURAL, 0])
    world.academy[[1, 5]] = True
    world.governance[[1, 5]] = ACADEMY_CONVERTER  # in a trust: what the take-up rule reads
    world.coastal[6] = True
    model = sl_model(world, mechanisms=on("client_readiness"))
    for i in range(7):
        set_bench(model, i, [0.5] if i in (3, 5) else [0.5, 0.5])
    model.state.head_capacity[:] = 0.6
    model.state.head_capacity[[4, 5]] = 0.3
    return model


def test_access_barriers_lower_the_chance_of_taking_up_support():
    # worked: trust_engagement 0.8 for the academy, remote_engagement 0.8 for rural or coastal,
    # both for school 5 (0.64); cover costs and weak leadership do not stop take-up.
    model = readiness_world()
    np.testing.assert_allclose(brokerage.take_up_probability(model), [1, 0.8, 0.8, 1, 1, 0.64, 0.8])
    model.state.governance[0] = ACADEMY_SPONSOR_LED  # reopened as a sponsored academy: in a trust now
    assert brokerage.take_up_probability(model)[0] == pytest.approx(0.8)
    model.config.mechanisms.client_readiness = False
    np.testing.assert_allclose(brokerage.take_up_probability(model), 1.0)


def test_capacity_barriers_lower_the_engagement_of_a_client_that_takes_up_support():
    # worked: 3 one senior leader only (cover costs): 0.8; 4 head capacity 0.3 (0.2 below
    # 0.5): 1 - weak_leadership_engagement 0.5 * 0.2 = 0.9; 5 both: 0.72; trust and remoteness
    # (1, 2, 6) act on take-up instead.
    model = readiness_world()
    factors = [brokerage.client_engagement_factor(model, i) for i in range(7)]
    np.testing.assert_allclose(factors, [1.0, 1.0, 1.0, 0.8, 0.9, 0.8 * 0.9, 1.0])
    model.config.mechanisms.client_readiness = False
    assert [brokerage.client_engagement_factor(model, i) for i in range(7)] == [1.0] * 7


@pytest.mark.parametrize("switched_on", [True, False])
def test_school_that_declines_support_is_not_served_and_its_supporter_stays_free(switched_on):
    # LLEs at 0 and 10 km; clients at 1 km (an academy whose trust never takes up external
    # support: trust_engagement 0) and 11 km (a maintained school). With the mechanism the
    # academy declines and only the maintained school is served; without it both are.
    world = sl_world([0.0, 10.0, 1.0, 11.0], grade=[2, 2, 3, 3])
    world.academy[2] = True
    world.governance[2] = ACADEMY_CONVERTER
    model = sl_model(world, mechanisms={"client_readiness": switched_on}, lle_quota=0, nle_quota=0,
                     budget_gbp_per_year=1e9)
    model.sl.role[:2] = LLE
    set_params(model, trust_engagement=0.0)
    started = broker_once(model)
    served = sorted(started["client_school_id"].astype(int) - 5001)
    assert served == ([3] if switched_on else [2, 3])
    assert (brokerage.available_supply(model)[:2].sum() == 1) == switched_on


@pytest.mark.parametrize("switched_on", [True, False])
def test_a_new_headteacher_makes_a_good_school_a_client_for_support(switched_on):
    # 0 good school, substantive head in their first headship (half a year); 1 good school, head of
    # five years; 2 good school led by an acting head; 3 requires improvement, experienced head.
    from sim.need import schools_in_need
    world = sl_world([0.0, 1.0, 2.0, 3.0], grade=[2, 2, 2, 3])
    model = sl_model(world, mechanisms={"new_head_support": switched_on})
    model.state.head_experience[:] = [0.5, 5.0, 5.0, 5.0]
    make_acting(model, 2)
    model.state.head_experience[2] = 0.0
    assert schools_in_need(model).tolist() == [switched_on, False, False, True]


# ------------------------------------------------------------------------------------------
# NLEs as executive heads; deployment lengths
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("switched_on, home", [(True, 2), (False, 1)])
def test_school_needing_an_executive_head_goes_to_the_nle_already_supporting_it(switched_on, home):
    # 0 small rural school that cannot recruit; 1 a strong school 2 km away (the nearest);
    # 2 an NLE's school 20 km away that already supports school 0.
    world = sl_world([0.0, 2.0, 20.0], grade=[3, 2, 1], pupils=80, setting=RURAL)
    model = sl_model(world, mechanisms={"nle_executive_headship": switched_on})
    set_params(model, executive_formation_per_term=1.0)
    make_strong(model, [1, 2])
    model.sl.role[2] = NLE
    make_acting(model, 0, vacancy_terms=3)
    deployment = manual_deployment(2, 0, mode="interim_headship", intensity=0.6)
    deployment.distance_km = 20.0
    model.sl.deployments.append(deployment)
    model.step_count = 1
    structure.step(model)
    assert model.sl.executive_of[0] == home
    assert model.sl.deployments == []            # support ends when an executive head takes over


def test_planned_deployment_lengths_spread_over_one_to_three_years():
    from sim.processes.brokerage import planned_length_terms
    rng = np.random.default_rng(0)
    lengths = [planned_length_terms(2.0, rng) for _ in range(2000)]
    assert set(lengths) == set(range(3, 10))     # 1 to 3 years in whole terms, three-year ones too
    assert np.mean(lengths) == pytest.approx(6.0, abs=0.15)
    assert {planned_length_terms(3.0, rng) for _ in range(300)} == set(range(6, 10))
    assert {planned_length_terms(1 / 3, rng) for _ in range(300)} == set(range(1, 5))


# ------------------------------------------------------------------------------------------
# four domains that differ between heads (and so between schools' conditions)
# ------------------------------------------------------------------------------------------

def test_domain_profiles_spread_conditions_but_keep_level_and_equilibrium():
    from sim.processes import leadership
    from sim.state import combined_condition
    # FSM 5 % (band 1: mean of conditions) and 40 % (band 4: pulled towards the weakest)
    world = sl_world(np.arange(40) * 1.0, grade=2, fsm=[0.05, 0.40] * 20)
    model = sl_model(world, mechanisms=on("domain_heterogeneity"))
    s, p = model.state, model.params
    s.conditions[:] = 0.5
    s.head_capacity[:] = 0.45
    level = combined_condition(s.conditions, model.fsm_band, p.weakest_condition_weight)
    gap = leadership.sustainable_conditions(model) - s.conditions   # distance from equilibrium
    leadership.domain_profiles(model)
    assert s.conditions.std(axis=1).mean() > 0.05                   # the four conditions differ
    np.testing.assert_allclose(combined_condition(s.conditions, model.fsm_band,
                                                  p.weakest_condition_weight), level, atol=1e-12)
    np.testing.assert_allclose(leadership.sustainable_conditions(model) - s.conditions, gap, atol=1e-12)


def test_new_heads_capacity_spread_follows_the_switch():
    from sim.processes import succession
    world = sl_world(np.arange(400) * 1.0, grade=2)
    spreads = {}
    for switched_on in (True, False):
        model = sl_model(world, mechanisms={"domain_heterogeneity": switched_on})
        for i in range(400):
            model.remove_head(i, reason="left_early")
            succession._make_substantive(model, i, 10_000 + i, 0.75, route="external", experience=0.0)
        spreads[switched_on] = model.state.head_capacity.std(axis=1, ddof=1).mean()
    # sd within a head: about head_domain_sd (0.18) on, 0.08 off (times E[s]/sigma ~ 0.92 for 4 draws)
    assert spreads[True] == pytest.approx(0.18 * 0.92, rel=0.1)
    assert spreads[False] == pytest.approx(0.08 * 0.92, rel=0.1)


# ------------------------------------------------------------------------------------------
# secondment vacancy chain (seed 004 L495)
# ------------------------------------------------------------------------------------------

def secondment_model(switched_on: bool, posts: int):
    """0 a secondary NLE's school with senior leaders ready 0.9, 0.8 and 0.4 in ``posts``
    established posts; 1 a secondary school graded requires improvement."""
    world = sl_world([0.0, 5.0], grade=[1, 3], phase=SECONDARY)
    model = sl_model(world, mechanisms={"secondment_vacancy_chain": switched_on}, lle_quota=0,
                     nle_quota=0, budget_gbp_per_year=1e9)
    make_strong(model, 0)
    model.sl.role[0] = NLE
    set_bench(model, 0, [0.9, 0.8, 0.4])
    model.state.bench_posts[0] = posts
    return model


@pytest.mark.parametrize("switched_on", [True, False])
def test_secondment_takes_the_most_ready_leader_and_a_middle_leader_steps_up(switched_on, monkeypatch):
    monkeypatch.setattr(brokerage, "SECONDARY_SECONDMENT_SHARE", 1.0)  # the mode drawn is secondment
    model = secondment_model(switched_on, posts=3)
    person = int(model.state.bench_person[0, 0])
    started = broker_once(model)
    assert started["mode"].tolist() == ["secondment"]
    s, d = model.state, model.sl.deployments[0]
    if switched_on:
        # worked: the 0.9 leader leaves; a middle leader at 2/7 steps up into post 0, so the
        # team's mean readiness falls from 0.7 to (2/7 + 0.8 + 0.4) / 3 = 0.4952
        assert d.secondee_person == person and d.secondee_readiness == pytest.approx(0.9)
        assert person not in s.bench_person[0]
        assert s.bench_strength()[0] == pytest.approx((2 / 7 + 0.8 + 0.4) / 3)
        routes = events_of(model, "leader_appointed")["route"].tolist()
        assert routes[-1] == "stepped_up"
        assert events_of(model, "leader_left")["reason"].tolist()[-1] == "seconded"
    else:
        assert d.secondee_person == -1 and s.bench_person[0, 0] == person
        assert s.bench_strength()[0] == pytest.approx(0.7)


@pytest.mark.parametrize("posts, stand_in_post", [(3, None), (4, 3)])
def test_seconded_leader_returns_with_readiness_gained_and_stand_in_moves_or_steps_down(posts, stand_in_post):
    from sim.system_leadership import STAND_IN_READINESS, end_deployment, second_leader
    model = secondment_model(True, posts=posts)
    person = int(model.state.bench_person[0, 0])
    d = manual_deployment(0, 1, mode="secondment", intensity=0.4)
    model.sl.deployments.append(d)
    second_leader(model, d)
    stand_in = int(model.state.bench_person[0, 0])
    support_step(model, 2)
    support_step(model, 3)
    # worked: two terms away at secondee_readiness_gain 0.03: 0.9 + 0.06 = 0.96
    assert d.secondee_readiness == pytest.approx(0.96)
    end_deployment(model, d, reason="completed")
    s = model.state
    assert s.bench_person[0, 0] == person and s.bench_readiness[0, 0] == pytest.approx(0.96)
    if stand_in_post is None:       # no free post: the stand-in steps back down
        assert stand_in not in s.bench_person[0]
        assert events_of(model, "leader_left")["reason"].tolist()[-1] == "stepped_down"
    else:                           # a free post: the stand-in keeps a senior post
        assert s.bench_person[0, stand_in_post] == stand_in
        assert s.bench_readiness[0, stand_in_post] == pytest.approx(STAND_IN_READINESS)
    assert events_of(model, "leader_appointed")["route"].tolist()[-1] == "returned_from_secondment"
    from sim.invariants import check_invariants
    check_invariants(model)
