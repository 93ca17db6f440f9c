"""Whole-model properties: invariants every step, determinism, and the consistency of outputs.

Runs are small: toy worlds and the synthetic North East (~1,000 schools) for a few years; one
full-England run of a single year checks the invariants at full scale.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import hand_world, make_config, make_model
from sim import recorder
from sim.invariants import InvariantError, check_invariants
from sim.parameters import SimConfig, from_dict, to_dict
from sim.results import RESULT_FILES
from sim.run import run

EVENT_COLUMNS_REQUIRED = ("step", "time_years", "event", "school_id", "person_id", "region", "phase",
                          "fsm_band", "setting", "route", "reason", "grade", "previous_grade")
WORLD_STATIC_COLUMNS = ("school_id", "region", "local_authority", "phase", "pupils", "setting",
                        "coastal", "fsm_share", "fsm_band", "academy_at_start", "x_km", "y_km")

# ------------------------------------------------------------------------------------------
# invariants, checked after every step by the model itself (run.check_invariants=True)
# ------------------------------------------------------------------------------------------

STRESS = {  # within the declared ranges: many departures, a thin market, many acting heads
    "head_exit_primary_per_year": 0.12, "head_exit_secondary_per_year": 0.16,
    "retirement_age_start": 52.0, "retirement_per_year_after_start": 0.3,
    "external_success_per_term": 0.2, "internal_preference": 0.3,
    "senior_leader_exit_per_year": 0.15, "bench_refill_per_term": 0.2,
}
ALL_LEVERS = {"recruitment_incentive": {"enabled": True},
              "development_programme": {"enabled": True, "places_per_year": 20_000}}

INVARIANT_CASES = {
    "toy_default": dict(source="toy", toy_schools=12, years=6),
    "toy_stress": dict(source="toy", toy_schools=60, years=6, behaviour=STRESS),
    "toy_all_levers_exempt": dict(source="toy", toy_schools=40, years=5, policy=ALL_LEVERS,
                                  inspection={"regime": "fixed", "outstanding_exempt": True}),
    "north_east_default": dict(source="synthetic", region="North East", years=4),
    "north_east_stress_levers": dict(source="synthetic", region="North East", years=3,
                                     behaviour=STRESS, policy=ALL_LEVERS),
}


@pytest.mark.parametrize("case", list(INVARIANT_CASES))
def test_invariants_hold_every_step(case):
    kwargs = INVARIANT_CASES[case]
    config = make_config(check_invariants=True, **kwargs)
    results = run(config, seed=11)   # check_invariants raises InvariantError on any bad step
    events = results.events
    assert results.timeseries["step"].max() == 3 * kwargs["years"]
    # the run exercised the processes whose consistency the invariants guard
    for event in ("head_left", "head_appointed", "leader_left", "leader_appointed", "inspection"):
        assert (events["event"] == event).any(), f"no {event} events in {case}"


def test_invariants_hold_for_stress_run_with_many_acting_heads():
    config = make_config(source="synthetic", region="North East", years=3, behaviour=STRESS)
    results = run(config, seed=2)
    routes = results.events.loc[results.events["event"] == "head_appointed", "route"]
    assert {"internal", "external", "acting"} <= set(routes)


def test_invariants_hold_for_one_year_of_full_england():
    config = make_config(source="synthetic", years=1)
    results = run(config, seed=1)
    assert len(results.schools) > 19_000


@pytest.fixture
def toy_model():
    model = make_model(hand_world(6), system_leadership=None)
    for _ in range(3):
        model.step()
    check_invariants(model)   # a healthy model passes
    return model


def test_missing_head_breaks_invariants(toy_model):
    toy_model.remove_head(2, reason="retired")
    with pytest.raises(InvariantError, match="school index 2 has no leader"):
        check_invariants(toy_model)


def test_person_in_two_posts_breaks_invariants(toy_model):
    s = toy_model.state
    school, post = map(int, np.argwhere(s.bench_person >= 0)[0])
    s.bench_person[school, post] = s.head_person[(school + 1) % s.n]   # a head also on a bench
    with pytest.raises(InvariantError, match="two posts"):
        check_invariants(toy_model)


def test_head_agent_of_another_school_breaks_invariants(toy_model):
    # agents read the state arrays, so a head agent can only disagree by pointing elsewhere
    toy_model.heads[1] = toy_model.heads[2]
    with pytest.raises(InvariantError, match="does not match"):
        check_invariants(toy_model)


def test_lost_senior_leader_agent_breaks_invariants(toy_model):
    s = toy_model.state
    school, post = (int(v[0]) for v in np.nonzero(s.bench_person >= 0))
    toy_model.senior_posts.pop((school, post))
    with pytest.raises(InvariantError, match="no senior-leader agent"):
        check_invariants(toy_model)


def test_stray_agent_in_registry_breaks_invariants(toy_model):
    from sim.agents import Headteacher
    Headteacher(toy_model, 0)   # registered with Mesa, but not the leader of record of school 0
    with pytest.raises(InvariantError, match="agent registry"):
        check_invariants(toy_model)


@pytest.mark.parametrize("value", [1.5, -0.1, np.nan])
def test_condition_out_of_range_breaks_invariants(toy_model, value):
    toy_model.state.conditions[3, 1] = value
    with pytest.raises(InvariantError, match=r"left \[0, 1\]"):
        check_invariants(toy_model)


def test_more_senior_leaders_than_posts_breaks_invariants(toy_model):
    s = toy_model.state
    school = int(np.argmax(s.bench_present.sum(axis=1)))
    assert s.bench_present[school].any()
    s.bench_posts[school] = s.bench_present[school].sum() - 1
    with pytest.raises(InvariantError, match="more senior leaders than posts"):
        check_invariants(toy_model)


def test_negative_grade_breaks_invariants(toy_model):
    toy_model.state.grade[0] = -1
    with pytest.raises(InvariantError, match="grades"):
        check_invariants(toy_model)


def test_uninspected_grade_zero_keeps_invariants(toy_model):
    toy_model.state.grade[0] = 0  # not yet inspected: a valid state
    check_invariants(toy_model)


def test_grade_above_four_breaks_invariants(toy_model):
    toy_model.state.grade[0] = 5
    with pytest.raises(InvariantError):
        check_invariants(toy_model)


def test_model_step_checks_invariants_when_asked():
    model = make_model(hand_world(4), check_invariants=True)
    model.state.conditions[0, 0] = 0.5
    model.state.head_capacity[0, 0] = 7.0   # beyond any process's reach within one step
    with pytest.raises(InvariantError):
        model.step()


# ------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def north_east_runs(tmp_path_factory):
    """Two runs of one configuration and seed, one with another seed, each written to disk."""
    config = make_config(source="synthetic", region="North East", years=2, check_invariants=False)
    out = {}
    for label, seed in (("a", 5), ("b", 5), ("other", 6)):
        results = run(config, seed=seed)
        folder = tmp_path_factory.mktemp(f"ne_{label}") / "out"
        results.write(str(folder), figures=False)
        out[label] = (results, folder)
    return config, out


def test_same_config_and_seed_give_byte_identical_files(north_east_runs):
    _, runs = north_east_runs
    for name in RESULT_FILES:
        a = (runs["a"][1] / name).read_bytes()
        b = (runs["b"][1] / name).read_bytes()
        assert a == b, f"{name} differs between two runs with the same seed"


def test_different_seed_gives_different_events(north_east_runs):
    _, runs = north_east_runs
    a = runs["a"][0].events
    other = runs["other"][0].events
    assert not a.equals(other)
    assert (runs["a"][1] / "events.parquet").read_bytes() != (runs["other"][1] / "events.parquet").read_bytes()


def test_run_seeds_share_the_world_built_from_world_seed(north_east_runs):
    _, runs = north_east_runs
    cols = list(WORLD_STATIC_COLUMNS)
    pd.testing.assert_frame_equal(runs["a"][0].schools[cols], runs["other"][0].schools[cols])
    # ...and the world does depend on world.seed
    config = make_config(source="synthetic", region="North East", years=1, world_seed=1,
                         check_invariants=False)
    other_world = run(config, seed=5).schools
    assert not np.allclose(other_world["fsm_share"].to_numpy()[:100],
                           runs["a"][0].schools["fsm_share"].to_numpy()[:100])


def test_starting_state_depends_on_run_seed_but_world_does_not():
    world_config = make_config(source="synthetic", region="North East").world
    from sim.world import build_world
    w1, w2 = build_world(world_config), build_world(world_config)
    for name in ("school_id", "phase", "pupils", "fsm_share", "x_km", "grade"):
        assert np.array_equal(getattr(w1, name), getattr(w2, name))
    m1 = make_model(w1, seed=1, system_leadership=None)
    m2 = make_model(w2, seed=2, system_leadership=None)
    assert not np.allclose(m1.state.effectiveness, m2.state.effectiveness)
    np.testing.assert_array_equal(m1.state.grade, m2.state.grade)   # grades come from the world


# ------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A North East run of three years (stress behaviour: every route and reason occurs), written."""
    config = make_config(source="synthetic", region="North East", years=3, check_invariants=False,
                         behaviour={"external_success_per_term": 0.3, "internal_preference": 0.5})
    results = run(config, seed=3)
    folder = tmp_path_factory.mktemp("written") / "results"
    results.write(str(folder), figures=True)
    frames = {name.removesuffix(".parquet"): pq.read_table(folder / name).to_pandas()
              for name in RESULT_FILES}
    manifest = json.loads((folder / "manifest.json").read_text())
    return config, results, folder, frames, manifest


def test_events_file_has_the_documented_columns(written):
    _, _, _, frames, _ = written
    events = frames["events"]
    missing = set(EVENT_COLUMNS_REQUIRED) - set(events.columns)
    assert not missing, f"events.parquet lacks {sorted(missing)}"
    assert len(events) > 0
    np.testing.assert_allclose(events["time_years"], events["step"] / 3)
    # events happen during steps, except the designations of the system leaders in post at the start
    assert (events.loc[events["step"] == 0, "event"] == "designated").all()
    assert events["step"].min() >= 0


def test_event_rows_carry_their_details(written):
    _, _, _, frames, _ = written
    events = frames["events"]
    appointed = events[events["event"] == "head_appointed"]
    assert len(appointed) > 0 and appointed["route"].notna().all()
    assert set(appointed["route"]) <= set(recorder.APPOINTMENT_ROUTES)
    assert {"internal", "external", "acting"} <= set(appointed["route"])
    left = events[events["event"] == "head_left"]
    assert len(left) > 0 and left["reason"].notna().all() and (left["reason"].str.len() > 0).all()
    assert {"retired", "left_early", "acting_ended"} <= set(left["reason"])
    inspected = events[events["event"] == "inspection"]
    assert len(inspected) > 0
    assert inspected["grade"].notna().all() and inspected["previous_grade"].notna().all()
    assert inspected["grade"].between(1, 4).all() and inspected["previous_grade"].between(1, 4).all()
    leader_left = events[events["event"] == "leader_left"]
    assert leader_left["reason"].notna().all()
    assert events["school_id"].notna().all()
    # nobody leads a school between its head leaving and succession later in the term
    no_person = events[events["person_id"] < 0]
    assert (events["person_id"] >= -1).all()
    assert set(no_person["event"]) <= {"academy_order", "academy_opened"}


def test_inspection_previous_grade_is_the_last_grade(written):
    _, _, _, frames, _ = written
    ins = frames["events"]
    ins = ins[ins["event"] == "inspection"].sort_values(["school_id", "step"], kind="stable")
    last = ins.groupby("school_id")["grade"].shift(1)
    repeat = last.notna()
    assert repeat.sum() > 0
    np.testing.assert_array_equal(ins.loc[repeat, "previous_grade"].to_numpy(dtype=int),
                                  last[repeat].to_numpy(dtype=int))


def test_time_series_grade_counts_add_up(written):
    _, _, _, frames, _ = written
    ts, schools = frames["timeseries"], frames["schools"]
    total = ts["n_outstanding"] + ts["n_good"] + ts["n_requires_improvement"] + ts["n_inadequate"]
    np.testing.assert_array_equal(total, ts["n_inspected"])  # the others are not yet inspected
    assert (ts["n_inspected"] <= ts["n_schools"]).all()
    per_step = ts.groupby("step")["n_schools"].sum()
    assert (per_step == len(schools)).all() and len(per_step) == 3 * 3 + 1
    # the last row of stocks agrees with the final school table
    last = ts[ts["step"] == ts["step"].max()].set_index("phase")
    by_phase = schools.groupby("phase")
    for g, name in enumerate(("outstanding", "good", "requires_improvement", "inadequate"), start=1):
        counts = by_phase["grade"].apply(lambda x, g=g: int((x == g).sum()))
        for phase, count in counts.items():
            assert last.loc[phase, f"n_{name}"] == count
    acting = by_phase["leader_kind"].apply(lambda x: int((x == "acting").sum()))
    for phase, count in acting.items():
        assert last.loc[phase, "acting_heads"] == count
    senior = by_phase["senior_leaders"].sum()
    for phase, count in senior.items():
        assert last.loc[phase, "senior_leaders"] == count


def test_time_series_flows_equal_event_counts(written):
    _, _, _, frames, _ = written
    ts, events = frames["timeseries"], frames["events"]
    keys = ["step", "region", "phase"]
    flows = {f"appointed_{r}": ("head_appointed", "route", r) for r in recorder.APPOINTMENT_ROUTES}
    flows.update({"left_retired": ("head_left", "reason", "retired"),
                  "left_early": ("head_left", "reason", "left_early"),
                  "left_acting_ended": ("head_left", "reason", "acting_ended")})
    indexed = ts.set_index(keys)
    for column, (event, field, value) in flows.items():
        rows = events[(events["event"] == event) & (events[field] == value)]
        counted = rows.groupby(keys).size()
        series = indexed[column]
        assert series.sum() == len(rows), column
        for key, count in counted.items():
            assert series.loc[key] == count, (column, key)
    inspections = events[events["event"] == "inspection"]
    assert ts["inspections"].sum() == len(inspections)
    downgrades = inspections[(inspections["previous_grade"] > 0)
                             & (inspections["grade"] > inspections["previous_grade"])]
    assert ts["downgrades"].sum() == len(downgrades) > 0
    np.testing.assert_array_equal(ts["vacancies_opened"], ts["left_retired"] + ts["left_early"]
                                  + ts["left_executive_left"] + ts["left_own_head_to_be_appointed"]
                                  + ts["left_academy_conversion"])


def test_every_departure_is_replaced_and_the_last_appointee_is_in_post(written):
    _, _, _, frames, _ = written
    events, schools = frames["events"], frames["schools"]
    heads = events[events["event"].isin(["head_appointed", "head_left"])]
    counts = heads.groupby(["school_id", "event"]).size().unstack(fill_value=0)
    np.testing.assert_array_equal(counts["head_appointed"], counts["head_left"])
    last = events[events["event"] == "head_appointed"].groupby("school_id")["person_id"].last()
    in_post = schools.set_index("school_id")["head_person_id"]
    np.testing.assert_array_equal(in_post.loc[last.index].to_numpy(), last.to_numpy())


def test_senior_leader_flows_match_the_change_in_stock(written):
    _, _, _, frames, _ = written
    ts, events = frames["timeseries"], frames["events"]
    start = ts.loc[ts["step"] == 0, "senior_leaders"].sum()
    end = ts.loc[ts["step"] == ts["step"].max(), "senior_leaders"].sum()
    joined = (events["event"] == "leader_appointed").sum()
    left = (events["event"] == "leader_left").sum()
    assert end - start == joined - left


def test_schools_file_has_one_row_per_school(written):
    config, results, _, frames, _ = written
    schools = frames["schools"]
    assert schools["school_id"].is_unique
    assert len(schools) == results.manifest["n_schools"] == len(results.schools)
    assert set(schools["region"]) == {"North East"}
    assert schools["grade"].between(0, 4).all()  # 0: not yet inspected (a new sponsored academy)


def test_written_tables_match_results_in_memory(written):
    _, results, _, frames, _ = written
    for name in ("timeseries", "events", "schools"):
        memory, disk = getattr(results, name), frames[name]
        assert list(disk.columns) == list(memory.columns) and len(disk) == len(memory)
    np.testing.assert_allclose(frames["schools"]["effectiveness"], results.schools["effectiveness"])


def test_manifest_records_what_is_needed_to_reproduce(written):
    config, _, folder, _, manifest = written
    for key in ("config", "seed", "package_versions", "source_revision", "timings_s"):
        assert key in manifest, key
    assert manifest["seed"] == 3
    assert manifest["package_versions"]["numpy"] == np.__version__
    assert manifest["source_revision"]
    assert {"simulate_s", "build_world_s"} <= set(manifest["timings_s"])
    for name in manifest["files"]:
        assert (folder / name).is_file(), name
    assert {"timeseries.parquet", "events.parquet", "schools.parquet"} <= set(manifest["files"])
    assert any(name.endswith(".png") for name in manifest["files"])
    # the recorded configuration is the one that ran (with the run seed)
    rebuilt = from_dict(SimConfig, manifest["config"])   # validates: a usable configuration
    expected = replace(config, run=replace(config.run, seed=3))

    def canonical(c):   # JSON form: lists and tuples compare alike
        return json.dumps(to_dict(c), sort_keys=True)
    assert canonical(rebuilt) == canonical(expected)
    assert rebuilt.behaviour == expected.behaviour and rebuilt.world == expected.world


def test_scalar_outcomes_are_finite_shares(written):
    _, results, _, _, _ = written
    scalars = results.scalar_outcomes()
    for name in ("share_good_or_outstanding", "share_inadequate", "acting_head_share",
                 "internal_appointment_share"):
        assert 0.0 <= scalars[name] <= 1.0, name
    assert scalars["vacancies_per_100_schools_per_year"] > 0
