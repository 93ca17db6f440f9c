"""System leadership on tiny hand-made worlds with known answers.

Designation of NLEs / LLEs (``processes/designation.py``), brokerage under each targeting rule
(``processes/brokerage.py``, ``policies/targeting.py``), the deployment budget, the per-NLE client
cap, executive headships and federations (``processes/structure.py`` and the model's
``start_executive_headship`` / ``end_executive_headship`` / ``remove_head``), support effects
(``processes/support.py``), determinism and invariants with system leadership on, and the
historical NLE schedule.

Pattern: build a :class:`~sim.world.World` of a handful of schools at chosen coordinates,
phases and grades, build a model on it with system leadership switched on, set the state the
process reads, call that process's ``step(model)`` and compare with the documented rule.
"""

from __future__ import annotations

from dataclasses import fields, replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import empty_bench, make_config, make_model, set_params
from sim.invariants import check_invariants
from sim.model import SchoolSystemModel
from sim.outcomes import support_outcomes
from sim.recorder import geography_rows
from sim.parameters import MechanismSwitches
from sim.policies import PolicyEffects
from sim.policies.system_leadership import national_quota
from sim.policies.targeting import supply_need_ratio_by_la
from sim.processes import brokerage, designation, structure, succession, support
from sim.processes.brokerage import schools_in_need
from sim.run import run
from sim.state import ACTING, EXECUTIVE, SUBSTANTIVE
from sim.system_leadership import LLE, NLE, NO_ROLE, Deployment
from sim.world import PRIMARY, SECONDARY, World, build_world

GRANT = 20_000.0
MECHANISMS_OFF = {f.name: False for f in fields(MechanismSwitches)}
ENGLAND = 20_219


# ------------------------------------------------------------------------------------------
# builders
# ------------------------------------------------------------------------------------------

def sl_world(x, *, y=0.0, phase=PRIMARY, grade=1, fsm=0.05, la=0, pupils=300, setting=0,
             la_names=("LA A",)) -> World:
    """Schools at the given x (km) coordinates; other attributes scalars or per-school sequences."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)

    def arr(value, dtype):
        return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

    return World(
        school_id=np.arange(5001, 5001 + n, dtype=np.int64), phase=arr(phase, np.int8),
        pupils=arr(pupils, np.int32), region=np.zeros(n, dtype=np.int8),
        local_authority=arr(la, np.int16), la_names=tuple(la_names), x_km=x.copy(),
        y_km=arr(y, np.float64), setting=arr(setting, np.int8), coastal=np.zeros(n, dtype=bool),
        fsm_share=arr(fsm, np.float64), academy=np.zeros(n, dtype=bool), grade=arr(grade, np.int8),
        terms_since_inspection=np.zeros(n, dtype=np.int16), name="sl")


def sl_model(world: World, *, seed: int = 0, behaviour: dict | None = None,
             inspection: dict | None = None, mechanisms: dict | None = None,
             **sl_overrides) -> SchoolSystemModel:
    """A model on ``world`` with system leadership on and these ``policy.system_leadership`` fields.

    The issue-8 mechanisms (``config.mechanisms``) are off unless ``mechanisms`` switches them on,
    so each test exercises the rules it names and starts from the roles it sets.
    """
    mechanisms = {**MECHANISMS_OFF, **(mechanisms or {})}
    return make_model(world, seed=seed, system_leadership=True, behaviour=behaviour,
                      inspection=inspection, mechanisms=mechanisms,
                      policy={"system_leadership": sl_overrides})


def set_bench(model, school: int, readiness: list[float]) -> None:
    """Give ``school`` exactly these senior leaders (through the model, so agents stay consistent)."""
    empty_bench(model, school)
    model.state.bench_posts[school] = max(len(readiness), 1)
    for post, r in enumerate(readiness):
        model.add_senior_leader(school, post, r, route="middle_leader")


def make_strong(model, schools, effectiveness: float = 1.0) -> None:
    """Experienced substantive heads with strong benches and results ``effectiveness`` for 3 years."""
    s = model.state
    for i in np.atleast_1d(schools):
        i = int(i)
        s.effectiveness[i] = effectiveness
        model.sl.effectiveness_history[i] = effectiveness
        s.head_experience[i] = 10.0
        s.head_age[i] = 45.0
        set_bench(model, i, [0.8, 0.8])


def make_acting(model, school: int, vacancy_terms: int = 2) -> None:
    """Replace the head of ``school`` by an acting head who has held it ``vacancy_terms`` terms."""
    model.remove_head(school, reason="left_early")
    succession.install_acting(model, school)
    model.state.vacancy_terms[school] = vacancy_terms


def events_of(model, event: str | None = None) -> pd.DataFrame:
    """The model's event log so far, optionally one event type."""
    frame = model.events.frame()
    return frame if event is None else frame[frame["event"] == event].reset_index(drop=True)


def sid(model, index: int) -> int:
    """School id of school index ``index``."""
    return int(model.world.school_id[index])


def broker_once(model) -> pd.DataFrame:
    """One brokerage round at the current step; the ``support_started`` events it logged."""
    before = len(model.events.rows)
    model.effects = PolicyEffects.neutral(model.world.n_schools)
    brokerage.step(model)
    frame = events_of(model).iloc[before:]
    return frame[frame["event"] == "support_started"].reset_index(drop=True)


def reset_deployments(model) -> None:
    """Forget every deployment and this year's spend (to repeat a brokerage round)."""
    model.sl.deployments.clear()
    model.sl.spent_this_year_gbp = 0.0


def manual_deployment(supporter: int, client: int, *, role=NLE, start_step=1, intensity=0.3,
                      engagement=1.0, shallow=False, mode="consultancy") -> Deployment:
    """A deployment with known weights (consultancy at full engagement by default)."""
    return Deployment(supporter=supporter, client=client, role=role, mode=mode, intensity=intensity,
                      start_step=start_step, end_step=start_step + 6, distance_km=1.0,
                      engagement=engagement, shallow=shallow, grant_gbp=GRANT, start_grade=3)


def ne_config(years: int = 3, **sl_overrides):
    """A North East synthetic world with system leadership on (invariants checked every step)."""
    return make_config(source="synthetic", region="North East", years=years, system_leadership=True,
                       policy={"system_leadership": sl_overrides} if sl_overrides else None)


@pytest.fixture(scope="module")
def ne_world():
    """The North East world (about 1,000 schools), built once."""
    return build_world(ne_config().world)


# ------------------------------------------------------------------------------------------
# 1. designation criteria
# ------------------------------------------------------------------------------------------

def designation_rounds(model, rounds: int) -> None:
    """Hold ``rounds`` year-end designation rounds (steps 3, 6, ...), nothing else moving."""
    for k in range(1, rounds + 1):
        model.step_count = 3 * k
        designation.step(model)


def nle_designated(model) -> set[int]:
    """School ids ever designated NLE."""
    ev = events_of(model, "designated")
    return set(ev.loc[ev["role"] == "NLE", "school_id"].astype(int))


def test_only_the_eligible_school_becomes_nle_across_many_rounds():
    # 0 eligible outstanding; 1 good with low FSM; 2 head of two years; 3 weak bench; 4 head too
    # old to stay two more years; 5 outstanding but results below average and not improving;
    # 6 acting head; 7 good with low FSM. Quota 10,000 nationally = 4 places in 8 schools.
    world = sl_world(np.arange(8) * 2.0, grade=[1, 2, 1, 1, 1, 1, 1, 2])
    model = sl_model(world, nle_quota=10_000, lle_quota=0)
    set_params(model, nle_application_per_year=1.0)
    assert national_quota(model, 10_000, ()) == 4
    make_strong(model, range(8))
    s = model.state
    s.head_experience[2] = 2.0
    set_bench(model, 3, [0.3, 0.3])
    s.head_age[4] = 64.0                          # > retirement_age_certain - 2 = 63
    s.effectiveness[5] = -0.5
    model.sl.effectiveness_history[5] = -0.5     # above good, but below average and flat
    make_acting(model, 6)                        # acting, but otherwise as strong as school 0
    make_strong(model, 6)
    eligible = designation.nle_eligible(model)
    assert eligible.tolist() == [True] + [False] * 7

    designation_rounds(model, 12)
    assert nle_designated(model) == {sid(model, 0)}
    assert model.sl.role.tolist() == [NLE] + [NO_ROLE] * 7   # lle_quota 0: no LLEs either
    assert model.sl.designated_step[0] == 3


def test_quota_caps_nles_and_the_most_effective_applicants_are_designated():
    # 8 eligible outstanding schools, 4 places (10,000 nationally in an 8-school world)
    world = sl_world(np.arange(8) * 2.0, grade=1)
    model = sl_model(world, nle_quota=10_000, lle_quota=0)
    set_params(model, nle_application_per_year=1.0)
    effectiveness = [0.9, 1.4, 0.6, 1.2, 0.8, 1.5, 0.7, 1.0]
    for school, eff in enumerate(effectiveness):
        make_strong(model, school, effectiveness=eff)
    designation_rounds(model, 5)
    assert nle_designated(model) == {sid(model, i) for i in (5, 1, 3, 7)}
    assert (model.sl.role == NLE).sum() == 4


def test_good_school_with_three_years_of_headship_becomes_lle_not_nle():
    world = sl_world([0.0, 5.0], grade=[2, 2])
    model = sl_model(world, nle_quota=10_000, lle_quota=20_000)
    set_params(model, nle_application_per_year=1.0)
    make_strong(model, [0, 1])
    model.state.head_experience[1] = 2.9    # below min_headship_years: neither role
    designation_rounds(model, 6)
    assert model.sl.role.tolist() == [LLE, NO_ROLE]
    assert nle_designated(model) == set()
    assert designation.lle_eligible(model).tolist() == [True, False]


def test_lle_meeting_nle_criteria_is_promoted_with_became_nle_event():
    world = sl_world([0.0, 5.0], grade=[1, 2])
    model = sl_model(world, nle_quota=10_000, lle_quota=20_000)
    set_params(model, nle_application_per_year=1.0)
    make_strong(model, [0, 1])
    model.sl.role[0] = LLE
    designation_rounds(model, 1)
    assert model.sl.role[0] == NLE
    ded = events_of(model, "dedesignated")
    assert ded["school_id"].tolist() == [sid(model, 0)]
    assert ded["reason"].tolist() == ["became_nle"]


@pytest.mark.parametrize("relaxation", [True, False])
def test_fsm_relaxation_lets_exceptionally_good_high_fsm_school_qualify(relaxation):
    # "exceptionally good": results within 0.25 of the outstanding threshold (0.459 - 0.25)
    # 0: good, FSM 30%, results 0.3: "exceptionally good" in a deprived area
    # 1: good, FSM 30%, results 0.1 (above average, below the cut): good but not exceptionally so
    # 2: good, FSM 20%, results 0.3: exceptionally good but not a high-deprivation school
    # 3: outstanding, FSM 30%, results 1.0: qualifies either way
    # 4-7: requires improvement (never eligible), so that the quota has 4 places for 3 candidates
    world = sl_world(np.arange(8) * 3.0, grade=[2, 2, 2, 1, 3, 3, 3, 3],
                     fsm=[0.30, 0.30, 0.20, 0.30, 0.05, 0.05, 0.05, 0.05])
    model = sl_model(world, nle_quota=10_000, lle_quota=0, fsm_relaxation=relaxation)
    set_params(model, nle_application_per_year=1.0)
    assert national_quota(model, 10_000, ()) == 4
    cut = model.params.threshold_outstanding - model.params.exceptionally_good_margin
    assert 0.1 < cut <= 0.3 < model.params.threshold_outstanding
    for school, eff in enumerate([0.3, 0.1, 0.3, 1.0]):
        make_strong(model, school, effectiveness=eff)
    designation_rounds(model, 8)
    expected = {sid(model, 3)} | ({sid(model, 0)} if relaxation else set())
    assert nle_designated(model) == expected


# ------------------------------------------------------------------------------------------
# 2. de-designation
# ------------------------------------------------------------------------------------------

def test_nle_whose_school_falls_to_requires_improvement_loses_role_and_deployments():
    world = sl_world([0.0, 5.0, 10.0, 40.0], grade=[1, 3, 4, 1])
    model = sl_model(world, budget_gbp_per_year=1e10)
    make_strong(model, [0, 3])
    model.sl.role[[0, 3]] = NLE
    model.sl.designated_step[[0, 3]] = 0
    started = broker_once(model)
    assert len(started) == 2 and set(started["supporter_school_id"]) == {sid(model, 0)}

    model.state.grade[0] = 3                     # an inspection downgraded the NLE's school
    model.step_count = 1                         # not a year end: no designation round
    designation.step(model)
    assert model.sl.role[0] == NO_ROLE and model.sl.designated_step[0] == -1
    assert model.sl.role[3] == NLE
    ded = events_of(model, "dedesignated")
    assert ded[["school_id", "reason", "role"]].values.tolist() == [[sid(model, 0), "grade_fell", "NLE"]]
    ended = events_of(model, "support_ended")
    assert len(ended) == 2
    assert set(ended["reason"]) == {"supporter_grade_fell"}
    assert set(ended["supporter_school_id"]) == {sid(model, 0)}
    assert set(ended["client_school_id"]) == {sid(model, 1), sid(model, 2)}
    assert model.sl.deployments == []
    check_invariants(model)


def test_inadequate_lle_loses_role_and_head_leaving_ends_role():
    world = sl_world([0.0, 5.0, 10.0], grade=[2, 3, 2])
    model = sl_model(world, budget_gbp_per_year=1e10)
    model.sl.role[[0, 2]] = LLE
    model.state.grade[0] = 4
    model.step_count = 2
    designation.step(model)
    assert model.sl.role.tolist() == [NO_ROLE, NO_ROLE, LLE]
    model.remove_head(2, reason="retired")       # roles belong to the head
    assert model.sl.role[2] == NO_ROLE
    ded = events_of(model, "dedesignated")
    assert ded["reason"].tolist() == ["grade_fell", "head_left"]


# ------------------------------------------------------------------------------------------
# 3. nearest, distance cap, phase match
# ------------------------------------------------------------------------------------------

def test_nearest_rule_picks_nearest_supporter():
    # client 0 at 0 km; NLEs at 30, 12, 5 and 40 km (index order is not distance order)
    world = sl_world([0.0, 30.0, 12.0, 5.0, 40.0], grade=[3, 1, 1, 1, 1])
    for seed in range(3):
        model = sl_model(world, seed=seed, budget_gbp_per_year=1e10, targeting="nearest")
        model.sl.role[1:] = NLE
        started = broker_once(model)
        assert started["supporter_school_id"].tolist() == [sid(model, 3)]
        assert started["client_school_id"].tolist() == [sid(model, 0)]
        assert started["distance_km"].tolist() == [5.0]
        assert len(model.sl.deployments) == 1 and model.sl.deployments[0].start_step == 1


def test_client_with_supporters_only_beyond_the_cap_gets_none():
    # client 0 at 0 km: NLEs at 60 and 80 km; client 3 at 120 km is within 50 km of the NLE at 80
    world = sl_world([0.0, 60.0, 80.0, 120.0], grade=[3, 1, 1, 3])
    model = sl_model(world, budget_gbp_per_year=1e10, max_distance_km=50.0)
    model.sl.role[[1, 2]] = NLE
    started = broker_once(model)
    assert started["client_school_id"].tolist() == [sid(model, 3)]
    assert started["supporter_school_id"].tolist() == [sid(model, 2)]
    # with a wider cap the first client is reached too, from the nearest NLE
    model = sl_model(world, budget_gbp_per_year=1e10, max_distance_km=70.0)
    model.sl.role[[1, 2]] = NLE
    started = broker_once(model).set_index("client_school_id")
    assert started.loc[sid(model, 0), "supporter_school_id"] == sid(model, 1)


@pytest.mark.parametrize("phase_match, expected", [(True, 2), (False, 1)])
def test_phase_match_prevents_cross_phase_support(phase_match, expected):
    # primary client 0; secondary NLE at 1 km; primary NLE at 20 km
    world = sl_world([0.0, 1.0, 20.0], grade=[3, 1, 1], phase=[PRIMARY, SECONDARY, PRIMARY])
    model = sl_model(world, budget_gbp_per_year=1e10, phase_match=phase_match)
    model.sl.role[[1, 2]] = NLE
    started = broker_once(model)
    assert started["supporter_school_id"].tolist() == [sid(model, expected)]


def test_phase_match_with_only_other_phase_supporters_gives_none():
    world = sl_world([0.0, 1.0, 2.0], grade=[3, 1, 1], phase=[SECONDARY, PRIMARY, PRIMARY])
    model = sl_model(world, budget_gbp_per_year=1e10, phase_match=True)
    model.sl.role[[1, 2]] = NLE
    assert broker_once(model).empty and model.sl.deployments == []


def test_supply_excludes_full_nles_and_supporters_below_good():
    world = sl_world([0.0, 1.0, 2.0, 3.0, 4.0], grade=[3, 1, 3, 2, 2])
    model = sl_model(world, budget_gbp_per_year=1e10, max_clients_per_nle=1)
    sl = model.sl
    sl.role[[1, 3, 4]] = [NLE, LLE, NLE]
    sl.deployments.append(manual_deployment(4, 2))       # NLE 4 is full at a cap of one
    supply = brokerage.available_supply(model)
    assert supply.tolist() == [False, True, False, True, False]
    model.state.grade[1] = 3                             # a supporter's own school is below good
    assert brokerage.available_supply(model).tolist() == [False, False, False, True, False]
    # need: both grade-3 schools; school 2 already supported: only 0 (and 1) are unmet
    assert brokerage.unmet_need(model).tolist() == [True, True, False, False, False]


# ------------------------------------------------------------------------------------------
# 4. the yearly budget
# ------------------------------------------------------------------------------------------

def budget_run(k: int, steps: int):
    """8 NLEs (16 places) at 0-7 km and 16 requires-improvement clients at 10-25 km, no
    inspections, a yearly budget of exactly ``k`` grants; run ``steps`` terms. Returns the model,
    the support_started events and the time series' deployment spend per step."""
    n_sup, n_cli = 8, 16
    x = np.concatenate([np.arange(n_sup, dtype=float), 10.0 + np.arange(n_cli)])
    world = sl_world(x, grade=[1] * n_sup + [3] * n_cli)
    budget = k * GRANT * ENGLAND / world.n_schools
    model = sl_model(world, seed=k, budget_gbp_per_year=budget, deployment_grant_gbp=GRANT,
                     nle_quota=0, lle_quota=0, inspection={"interval_terms": (60, 60, 60, 60)})
    assert model.system_leadership.yearly_budget(model) == pytest.approx(k * GRANT)
    make_strong(model, range(n_sup))
    model.sl.role[:n_sup] = NLE
    model.state.head_age[:] = 40.0
    for _ in range(steps):
        model.step()
        assert model.sl.spent_this_year_gbp <= k * GRANT + 1e-6
    events = model.events.frame()
    starts = events[events["event"] == "support_started"]
    ts = model.recorder.frame(events)
    spend = ts.groupby("step")["spend_deployment_grants_gbp"].sum()
    assert spend.sum() == pytest.approx(len(starts) * GRANT) == pytest.approx(model.sl.spent_total_gbp)
    assert ts.groupby("step")["support_started"].sum().sum() == len(starts)
    return model, starts, spend


@pytest.mark.parametrize("k", [1, 2])
def test_budget_for_k_grants_is_never_overspent_in_a_year_of_the_run(k):
    # run years are steps 1-3, 4-6, 7-9 (time_years 1, 2, 3 at their last term); demand is
    # ample, so the budget binds: exactly k deployments start in each year, none beyond it.
    # (Regression: the budget used to reset at the year-end designation step, before that
    # term's brokerage, giving the first run year two budgets and an N-year run N+1.)
    _, starts, spend = budget_run(k, steps=9)
    run_year = (starts["step"] - 1) // 3
    assert run_year.value_counts().sort_index().tolist() == [k] * 3
    in_run = spend[spend.index >= 1]
    spend_per_year = in_run.groupby((in_run.index - 1) // 3).sum()
    assert spend_per_year.tolist() == pytest.approx([k * GRANT] * 3)
    assert len(starts) == 3 * k


def test_no_deployment_when_budget_is_below_one_grant():
    world = sl_world([0.0, 1.0, 2.0], grade=[3, 1, 3])
    budget = 0.99 * GRANT * ENGLAND / world.n_schools
    model = sl_model(world, budget_gbp_per_year=budget)
    model.sl.role[1] = NLE
    assert broker_once(model).empty
    assert model.effects.spend_gbp["deployment_grants"].sum() == 0.0


# ------------------------------------------------------------------------------------------
# 5. client caps over a multi-year run
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cap", [1, 2])
def test_nle_never_exceeds_client_cap_and_lle_has_at_most_one(ne_world, cap):
    config = ne_config(years=4, max_clients_per_nle=cap)
    model = SchoolSystemModel(config, seed=11, world=ne_world)
    reached_cap = False
    for _ in range(12):
        model.step()                                    # check_invariants runs in step
        sl = model.sl
        clients = sl.clients_of(model.state.n)
        assert clients[sl.role == NLE].max(initial=0) <= cap
        assert clients[sl.role == LLE].max(initial=0) <= 1
        assert clients[sl.role == NO_ROLE].max(initial=0) == 0
        supporters = [d.supporter for d in sl.deployments]
        assert all(d.supporter != d.client for d in sl.deployments)
        assert len({(d.supporter, d.client) for d in sl.deployments}) == len(supporters)
        reached_cap |= bool((clients[sl.role == NLE] == cap).any())
    assert reached_cap, "the run never tested the cap"
    assert (model.sl.role == NLE).sum() > 0


# ------------------------------------------------------------------------------------------
# 6. targeting rules
# ------------------------------------------------------------------------------------------

def neediest_world():
    # 0: NLE at 0 km; 1: requires improvement, results -1.0 (nearest); 2: requires improvement,
    # results -0.9; 3: inadequate (farthest); 4: good but FSM band 4 with results below good
    world = sl_world([0.0, 1.0, 2.0, 20.0, 3.0], grade=[1, 3, 3, 4, 2], fsm=[0.05, 0.05, 0.05, 0.05, 0.40])
    return world


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_neediest_first_serves_inadequate_before_requires_improvement(seed):
    world = neediest_world()
    model = sl_model(world, seed=seed, budget_gbp_per_year=1e10, targeting="neediest_first",
                     max_clients_per_nle=1)
    model.sl.role[0] = NLE
    s = model.state
    s.effectiveness[[0, 1, 2, 3, 4]] = [1.0, -1.0, -0.9, -1.5, -1.0]
    assert schools_in_need(model).tolist() == [False, True, True, True, True]
    started = broker_once(model)
    assert started["client_school_id"].tolist() == [sid(model, 3)]   # scarce: inadequate first
    # with room for everyone the order is: inadequate, weakest RI, other RI, other need
    model2 = sl_model(world, seed=seed, budget_gbp_per_year=1e10, targeting="neediest_first",
                      max_clients_per_nle=4)
    model2.sl.role[0] = NLE
    model2.state.effectiveness[:] = s.effectiveness
    started = broker_once(model2)
    assert started["client_school_id"].tolist() == [sid(model2, i) for i in (3, 1, 2, 4)]


def test_nearest_rule_does_not_prioritise_need():
    # the same world under "nearest": clients in random order, so the inadequate school is not
    # always served first (over several seeds the nearer requires-improvement schools win some)
    world = neediest_world()
    served = set()
    for seed in range(12):
        model = sl_model(world, seed=seed, budget_gbp_per_year=1e10, targeting="nearest",
                         max_clients_per_nle=1)
        model.sl.role[0] = NLE
        served |= set(broker_once(model)["client_school_id"])
    assert len(served) > 1


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cold_spots_first_serves_the_la_with_least_supply_for_its_need(seed):
    # LA A: NLE 0 and client 1 (ratio 1); LA B: client 2 and no supply (ratio 0).
    # The one place goes to LA B's client even though LA A's client is nearer.
    world = sl_world([0.0, 1.0, 10.0], grade=[1, 3, 3], la=[0, 0, 1], la_names=("LA A", "LA B"))
    model = sl_model(world, seed=seed, budget_gbp_per_year=1e10, targeting="cold_spots_first",
                     max_clients_per_nle=1)
    model.sl.role[0] = NLE
    need, supply = brokerage.unmet_need(model), brokerage.available_supply(model)
    np.testing.assert_allclose(supply_need_ratio_by_la(model, need, supply), [1.0, 0.0])
    geo = geography_rows(model, schools_in_need(model)).set_index(["level", "area"])
    assert geo.loc[("local_authority", "LA A"), "supply_need_ratio"] == 1.0
    assert geo.loc[("local_authority", "LA B"), "supply_need_ratio"] == 0.0
    started = broker_once(model)
    assert started["client_school_id"].tolist() == [sid(model, 2)]
    assert started["distance_km"].tolist() == [10.0]


def test_targeting_none_starts_no_deployments():
    world = sl_world([0.0, 1.0, 2.0], grade=[1, 3, 4])
    model = sl_model(world, budget_gbp_per_year=1e10, targeting="none")
    model.sl.role[0] = NLE
    assert broker_once(model).empty
    assert model.sl.deployments == [] and model.sl.started_this_step == 0
    assert model.sl.spent_this_year_gbp == 0.0


def test_random_rule_stays_within_the_distance_cap_and_varies():
    # client 0; NLEs at 10, 20, 30, 40 km (within 50) and 60, 90 km (beyond)
    world = sl_world([0.0, 10.0, 20.0, 30.0, 40.0, 60.0, 90.0], grade=[3, 1, 1, 1, 1, 1, 1])
    model = sl_model(world, seed=4, budget_gbp_per_year=1e10, targeting="random", max_distance_km=50.0)
    model.sl.role[1:] = NLE
    chosen = []
    for _ in range(60):
        started = broker_once(model)
        assert len(started) == 1
        assert (started["distance_km"] <= 50.0).all()
        chosen.append(int(started["supporter_school_id"].iloc[0]))
        reset_deployments(model)
    assert set(chosen) == {sid(model, i) for i in (1, 2, 3, 4)}   # random, but always in reach


# ------------------------------------------------------------------------------------------
# 7. executive headships and federations
# ------------------------------------------------------------------------------------------

def federation_model(**kwargs):
    """0: strong primary at 0 km; 1: small primary with an acting head for two terms at 5 km;
    2: strong primary at 15 km; 3: strong secondary at 1 km."""
    world = sl_world([0.0, 5.0, 15.0, 1.0], grade=[2, 3, 1, 1], pupils=[300, 80, 300, 900],
                     phase=[PRIMARY, PRIMARY, PRIMARY, SECONDARY])
    model = sl_model(world, **kwargs)
    set_params(model, executive_formation_per_term=1.0)
    make_strong(model, [0, 2, 3])
    make_acting(model, 1, vacancy_terms=2)
    model.step_count = 1
    return model


def test_small_school_that_cannot_recruit_gets_nearest_strong_head_as_executive():
    model = federation_model()
    s, sl = model.state, model.sl
    structure.step(model)
    assert sl.executive_of.tolist() == [-1, 0, -1, -1]     # nearest same-phase strong school
    assert s.leader_kind[1] == EXECUTIVE and not sl.executive_permanent[1]
    assert model.heads[1] is model.heads[0] and s.head_person[1] == s.head_person[0]
    appointed = events_of(model, "head_appointed")
    assert appointed.iloc[-1][["school_id", "route", "kind"]].tolist() == [sid(model, 1), "executive", "executive"]
    formed = events_of(model, "federation_formed")
    assert formed[["school_id", "supporter_school_id", "client_school_id"]].values.tolist() == [
        [sid(model, 1), sid(model, 0), sid(model, 1)]]
    assert formed["distance_km"].tolist() == [5.0]
    assert s.vacancy_terms[1] == 0
    check_invariants(model)                                  # one leader of record each
    # the federation keeps running consistently (model.step checks invariants every step)
    for _ in range(2):
        model.step()
        assert model.heads[1] is model.heads[0] or sl.executive_of[1] < 0


@pytest.mark.parametrize("change", ["short_vacancy", "large_urban", "too_far", "enabled_off"])
def test_no_executive_headship_without_its_conditions(change):
    kwargs = {}
    if change == "too_far":
        kwargs["max_distance_km"] = 4.0
    if change == "enabled_off":
        kwargs["executive_headship"] = False
    model = federation_model(**kwargs)
    if change == "short_vacancy":
        model.state.vacancy_terms[1] = 1
    if change == "large_urban":
        model.world.pupils[1] = 300      # the model reads its own view of the world
        model.small = model.world.small
    structure.step(model)
    assert (model.sl.executive_of < 0).all()
    assert events_of(model, "federation_formed").empty


def test_failing_school_with_acting_head_gets_executive_head_of_same_phase_only():
    # an inadequate large urban primary qualifies as failing; the secondary at 1 km is skipped
    world = sl_world([0.0, 1.0, 8.0], grade=[4, 1, 2], pupils=[400, 900, 300],
                     phase=[PRIMARY, SECONDARY, PRIMARY])
    model = sl_model(world)
    set_params(model, executive_formation_per_term=1.0)
    make_strong(model, [1, 2])
    make_acting(model, 0, vacancy_terms=1)
    structure.step(model)
    assert model.sl.executive_of.tolist() == [2, -1, -1]
    check_invariants(model)


def test_federation_ends_when_executive_head_leaves_and_school_gets_own_leader():
    model = federation_model()
    structure.step(model)
    assert model.sl.executive_of[1] == 0
    executive = model.state.head_person[0]
    model.remove_head(0, reason="retired")
    assert model.heads[0] is None and model.heads[1] is None
    ended = events_of(model, "federation_ended")
    assert ended[["school_id", "reason", "supporter_school_id"]].values.tolist() == [
        [sid(model, 1), "executive_left", sid(model, 0)]]
    left = events_of(model, "head_left")
    assert set(left.loc[left["person_id"] == executive, "school_id"]) == {sid(model, 0), sid(model, 1)}
    succession.step(model)
    s = model.state
    assert model.heads[1] is not None and model.heads[1] is not model.heads[0]
    assert s.leader_kind[1] != EXECUTIVE and model.sl.executive_of[1] == -1
    assert s.head_person[1] != executive and s.head_person[0] != executive
    check_invariants(model)


def test_temporary_executive_headships_become_permanent_at_about_the_stated_rate():
    pairs = 300
    # pair j: strong home 2j at 10j km, small acting school 2j+1 at 10j + 1 km
    x = np.repeat(np.arange(pairs) * 100.0, 2) + np.tile([0.0, 1.0], pairs)
    world = sl_world(x, grade=np.tile([1, 3], pairs), pupils=np.tile([300, 80], pairs))
    model = sl_model(world, seed=5)
    p = model.params.executive_permanent_probability
    assert p == 0.65
    homes, led = np.arange(0, 2 * pairs, 2), np.arange(1, 2 * pairs, 2)
    model.state.leader_kind[homes] = SUBSTANTIVE
    model.step_count = 10
    for h, school in zip(homes, led):
        model.start_executive_headship(int(school), int(h), 1.0)
    check_invariants(model)

    model.step_count = 12                      # before executive_review_terms (3): no review
    structure.step(model)
    assert (model.sl.executive_of[led] == homes).all() and not model.sl.executive_permanent.any()

    model.step_count = 13                      # reviewed now
    structure.step(model)
    sl, s = model.sl, model.state
    permanent = sl.executive_permanent[led]
    share = permanent.mean()
    assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / pairs)      # about 0.11 either side
    made = events_of(model, "federation_permanent")
    ended = events_of(model, "federation_ended")
    assert len(made) == permanent.sum() and len(ended) == pairs - permanent.sum()
    assert set(ended["reason"]) == {"own_head_to_be_appointed"}
    # permanent federations keep their executive head; the others get an acting head
    assert (sl.executive_of[led[permanent]] == homes[permanent]).all()
    assert (s.leader_kind[led[permanent]] == EXECUTIVE).all()
    assert (sl.executive_of[led[~permanent]] == -1).all()
    assert (s.leader_kind[led[~permanent]] == ACTING).all()
    assert all(model.heads[i] is not None and model.heads[i].school_index == i for i in led[~permanent])
    check_invariants(model)
    # permanent arrangements are not reviewed again
    n_events = len(model.events.rows)
    model.step_count = 30
    structure.step(model)
    assert sl.executive_permanent[led].sum() == permanent.sum()
    assert not [r for r in model.events.rows[n_events:] if r[1] in ("federation_permanent", "federation_ended")]


def test_failing_school_whose_temporary_federation_ends_recruits_its_own_head():
    # Regression: an inadequate school whose temporary arrangement ended at review was a
    # "failing" candidate in the same structure.step and was taken on again by its former home.
    world = sl_world([0.0, 2.0], grade=[1, 4], pupils=[300, 400])
    model = sl_model(world, seed=1)
    set_params(model, executive_formation_per_term=1.0, executive_permanent_probability=0.0)
    make_strong(model, 0)
    make_acting(model, 1, vacancy_terms=1)
    model.step_count = 1
    structure.step(model)                       # failing school: executive head from school 0
    assert model.sl.executive_of[1] == 0
    model.step_count = 4                        # review: the arrangement ends
    structure.step(model)
    ended = events_of(model, "federation_ended")
    assert ended["reason"].tolist() == ["own_head_to_be_appointed"]
    assert model.sl.executive_of[1] == -1 and model.state.leader_kind[1] == ACTING
    assert len(events_of(model, "federation_formed")) == 1


# ------------------------------------------------------------------------------------------
# 8. support effects
# ------------------------------------------------------------------------------------------

def support_step(model, step: int) -> PolicyEffects:
    """Run ``support.step`` at ``step`` with fresh neutral effects; return them."""
    model.step_count = step
    model.effects = PolicyEffects.neutral(model.world.n_schools)
    support.step(model)
    return model.effects


@pytest.mark.parametrize("bench, strain", [([0.3, 0.3], 1 - 0.3 * 0.3 * (1 - 0.3 / 0.6)),
                                           ([0.6, 0.6], 1.0), ([0.9, 0.8], 1.0)])
def test_support_raises_client_conditions_after_lag_and_strains_weak_home(bench, strain):
    world = sl_world([0.0, 5.0, 9.0], grade=[1, 3, 2])
    model = sl_model(world)
    model.sl.role[0] = NLE
    set_bench(model, 0, bench)
    model.sl.deployments.append(manual_deployment(0, 1, start_step=1))   # consultancy, 0.3
    fx = support_step(model, 0)                     # not started yet: nothing at all
    assert (fx.condition_target_shift == 0).all() and (fx.leadership_effort_multiplier == 1).all()
    for step in (1, 2):                             # within support_lag_terms = 2: no client effect
        cap_before = model.state.head_capacity[1].copy()
        fx = support_step(model, step)
        assert (fx.condition_target_shift == 0).all()
        np.testing.assert_array_equal(model.state.head_capacity[1], cap_before)
        # the supporter's time away costs the home school from the first term
        np.testing.assert_allclose(fx.leadership_effort_multiplier, [strain, 1.0, 1.0])
    cap_before = model.state.head_capacity[1].copy()
    fx = support_step(model, 3)
    np.testing.assert_allclose(fx.condition_target_shift, [0.0, 0.08 * 0.3, 0.0])
    np.testing.assert_allclose(model.state.head_capacity[1], cap_before + 0.02 * 0.3 * (1 - cap_before))
    np.testing.assert_allclose(fx.leadership_effort_multiplier, [strain, 1.0, 1.0])
    assert fx.exit_hazard_multiplier[0] == pytest.approx(0.7) and fx.exit_hazard_multiplier[1] == 1.0
    fx = support_step(model, 7)                     # end_step = 7: the deployment completes
    assert model.sl.deployments == [] and (fx.condition_target_shift == 0).all()
    assert events_of(model, "support_ended")["reason"].tolist() == ["completed"]


def test_support_weights_for_lle_shallow_engagement_and_overload():
    world = sl_world([0.0, 1.0, 2.0, 3.0, 4.0], grade=[1, 2, 3, 3, 3])
    model = sl_model(world)
    model.sl.role[[0, 1]] = [NLE, LLE]
    sl = model.sl
    sl.deployments += [manual_deployment(1, 2, role=LLE),                    # LLE: x 0.6
                       manual_deployment(0, 3, shallow=True, engagement=0.3),  # x 0.5 x 0.3
                       manual_deployment(0, 4), manual_deployment(1, 4, role=LLE)]  # two on one
    fx = support_step(model, 3)
    base = 0.08 * 0.3
    np.testing.assert_allclose(fx.condition_target_shift,
                               [0.0, 0.0, base * 0.6, base * 0.5 * 0.3, (base + base * 0.6) / np.sqrt(2)])


# ------------------------------------------------------------------------------------------
# 9. determinism and invariants with system leadership on
# ------------------------------------------------------------------------------------------

def test_runs_with_system_leadership_are_deterministic():
    config = ne_config(years=3)
    a, b = run(config, seed=21), run(config, seed=21)
    assert (a.events["event"] == "support_started").any()
    assert (a.events["event"] == "federation_formed").any()
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.schools, b.schools)


@pytest.mark.parametrize("rule", ["none", "nearest", "neediest_first", "cold_spots_first", "random"])
def test_each_targeting_rule_runs_three_years_with_invariants(rule):
    config = ne_config(years=3, targeting=rule)
    assert config.run.check_invariants
    results = run(config, seed=3)
    ev = results.events
    started = ev[ev["event"] == "support_started"]
    if rule == "none":
        assert started.empty
        assert results.timeseries["deployments_active"].sum() == 0
    else:
        assert len(started) > 0
        assert (started["distance_km"] <= config.policy.system_leadership.max_distance_km).all()
        ts = results.timeseries
        assert ts["support_started"].sum() == len(started)
        assert ts["nle_count"].max() > 0 and ts["schools_in_need"].max() > 0
    assert (ev["event"] == "designated").any()


# ------------------------------------------------------------------------------------------
# 10. the historical NLE schedule
# ------------------------------------------------------------------------------------------

def fake_model(n_schools: int, start_year: int, step: int):
    return SimpleNamespace(calendar_year=start_year + step / 3, time_years=step / 3,
                           world=SimpleNamespace(n_schools=n_schools, start_year=start_year))


def test_national_quota_follows_the_historical_schedule_by_calendar_year():
    schedule = [[2010, 0], [2012, 400], [2015, 1000]]
    q = lambda step, n=ENGLAND: national_quota(fake_model(n, 2010, step), 123, schedule)
    assert q(0) == 0                 # 2010
    assert q(3) == 200               # 2011: halfway to 400
    assert q(6) == 400               # 2012
    assert q(9) == 600               # 2013
    assert q(15) == 1000             # 2015
    assert q(30) == 1000             # 2020: held at the last value
    assert q(6, n=ENGLAND // 4) == 100  # scaled to the world's share of England's schools
    # without a schedule the fixed quota applies, scaled
    assert national_quota(fake_model(ENGLAND, 2010, 0), 123, ()) == 123
    assert national_quota(fake_model(ENGLAND // 2, 2010, 0), 1000, []) == 500


def test_schedule_sets_the_quota_used_by_designation_rounds():
    # 8 schools: a national figure of 20,219 NLEs is 8 places; 0 until 2012, 8 from 2013
    world = sl_world(np.arange(8) * 2.0, grade=1)
    config = make_config(system_leadership=True, mechanisms=MECHANISMS_OFF, policy={"system_leadership": {
        "nle_quota_by_year": [[2010, 0], [2012, 0], [2013, ENGLAND]], "lle_quota": 0}})
    world.start_year = 2010.0
    model = SchoolSystemModel(config, seed=0, world=world)
    set_params(model, nle_application_per_year=1.0)
    make_strong(model, range(8))
    for k in (1, 2):                                  # 2011, 2012: quota 0
        model.step_count = 3 * k
        designation.step(model)
        assert national_quota(model, 0, model.config.policy.system_leadership.nle_quota_by_year) == 0
        assert (model.sl.role == NO_ROLE).all()
    model.step_count = 9                              # 2013: quota 8
    designation.step(model)
    assert (model.sl.role == NLE).sum() == 8


# ------------------------------------------------------------------------------------------
# support outcomes (sim/outcomes.py)
# ------------------------------------------------------------------------------------------

def outcome_events(log: list[tuple]) -> pd.DataFrame:
    """An event frame from ``(step, event, school, fields)`` rows, on a four-school world."""
    model = sl_model(sl_world([0.0, 1.0, 2.0, 3.0], grade=[1, 3, 3, 3]))
    model.events.rows.clear()
    for step, event, school, fields in log:
        model.step_count = step
        model.events.log(event, school, **fields)
    return model.events.frame()


def supported_group(log) -> str:
    """The group support_outcomes puts the log's single inspection in."""
    out = support_outcomes(outcome_events(log))
    assert out["inspections"].sum() == 1
    return str(out["group"].iloc[0])


SUPPORT = {"supporter": 0, "client": 1, "distance_km": 1.0, "mode": "consultancy"}
INSPECTED = {"grade": 2, "previous_grade": 3}


@pytest.mark.parametrize("inspection_step, group", [(4, "supported"), (1, "not_supported")])
def test_support_outcomes_counts_inspections_during_support_as_supported(inspection_step, group):
    log = [(0, "support_started", 1, SUPPORT), (inspection_step, "inspection", 1, INSPECTED)]
    assert supported_group(log) == group


def test_inspection_without_support_is_not_supported():
    log = [(0, "support_started", 1, SUPPORT), (4, "inspection", 2, INSPECTED)]
    assert supported_group(log) == "not_supported"


def test_support_that_ended_more_than_a_year_before_the_inspection_does_not_count():
    # Regression: support_outcomes used a fixed 2-12 term window after support_started and
    # ignored support_ended.
    # support agreed at step 0, ended early at step 2 (the supporter lost the role);
    # inspection at step 9: support ended seven terms (over two years) before
    log = [(0, "support_started", 1, SUPPORT),
           (2, "support_ended", 1, {**SUPPORT, "reason": "supporter_grade_fell"}),
           (9, "inspection", 1, INSPECTED)]
    assert supported_group(log) == "not_supported"


@pytest.mark.parametrize("inspection_step, group", [(9, "supported"), (10, "not_supported")])
def test_support_counts_until_a_year_after_it_ended(inspection_step, group):
    # agreed at step 0, completed at step 6: inspections up to three terms later still count
    log = [(0, "support_started", 1, SUPPORT),
           (6, "support_ended", 1, {**SUPPORT, "reason": "completed"}),
           (inspection_step, "inspection", 1, INSPECTED)]
    assert supported_group(log) == group
