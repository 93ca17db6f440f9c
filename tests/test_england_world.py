"""The real England world (sim/england.py) and the mechanisms that move real grades:
calendar inspection regimes, sponsored academy conversion and the secondary headwind.

Counts on the real data are computed here independently of the loader (the csv module on the
vendored file), so a loader that drops, imputes or mislabels rows fails.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from conftest import hand_world, make_config, make_model, set_params
from sim.england import DATA_DIR, SCHOOLS_FILE, START_YEAR, load_england
from sim.model import SchoolSystemModel
from sim.parameters import ConfigError, SimConfig, WorldConfig
from sim.processes import academies, inspection, succession
from sim.run import run
from sim.world import (ACADEMY_CONVERTER, ACADEMY_SPONSOR_LED, GOVERNANCE, PHASES, REGION_NAMES,
                       SECONDARY, UNINSPECTED, build_world)

pytestmark = pytest.mark.skipif(not (DATA_DIR / SCHOOLS_FILE).exists(),
                                reason="vendored data/england_2018/schools.csv is missing")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with open(DATA_DIR / SCHOOLS_FILE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def england():
    return load_england()


# ------------------------------------------------------------------------------------------
# the world as loaded
# ------------------------------------------------------------------------------------------

def test_default_world_is_the_real_england(england, rows):
    assert WorldConfig().source == "england"
    assert england.n_schools == len(rows) == 20_153
    assert england.start_year == START_YEAR == pytest.approx(2018.19)
    assert len(set(england.la_names)) == len({r["la_name"] for r in rows}) == 152
    assert sorted(np.unique(england.region)) == list(range(len(REGION_NAMES)))
    phases = Counter(r["phase"] for r in rows)
    assert [int((england.phase == p).sum()) for p in range(2)] == [phases["primary"], phases["secondary"]]
    # middle deemed secondary and all-through count as secondary: 3,112 + 158 + part of 125 middle
    assert 3_270 <= phases["secondary"] <= 3_395
    assert england.input_files == (str(DATA_DIR / SCHOOLS_FILE),)


def test_ungraded_schools_start_uninspected_never_good(england, rows):
    blank = [r["urn"] for r in rows if not r["grade"]]
    assert len(blank) > 500  # about 1,000 new schools had no graded inspection in March 2018
    assert int((england.grade == UNINSPECTED).sum()) == len(blank) == england.load_report["uninspected"]
    by_urn = dict(zip(england.school_id.tolist(), england.grade.tolist()))
    assert all(by_urn[int(u)] == UNINSPECTED for u in blank)
    graded = Counter(int(r["grade"]) for r in rows if r["grade"])
    assert [int((england.grade == g).sum()) for g in (1, 2, 3, 4)] == [graded[g] for g in (1, 2, 3, 4)]


def test_one_local_authority_matches_the_file(rows):
    name = "Rutland"
    world = build_world(WorldConfig(local_authority=name))
    mine = [r for r in rows if r["la_name"] == name]
    assert world.n_schools == len(mine) > 10
    assert sorted(world.school_id.tolist()) == sorted(int(r["urn"]) for r in mine)
    assert Counter(PHASES[p] for p in world.phase) == Counter(r["phase"] for r in mine)
    assert Counter(world.grade.tolist()) == Counter(int(r["grade"] or 0) for r in mine)
    assert {REGION_NAMES[r] for r in world.region} == {"East Midlands"}


def test_time_since_inspection_comes_from_the_grade_date(england, rows):
    row = next(r for r in rows if r["grade_date"] == "2015-03-12")  # three years before the data date
    i = int(np.nonzero(england.school_id == int(row["urn"]))[0][0])
    assert england.terms_since_inspection[i] == 9


def test_governance_and_teaching_schools_are_read(england, rows):
    assert Counter(GOVERNANCE[g] for g in england.governance) == Counter(r["governance"] for r in rows)
    assert int(england.teaching_school.sum()) == sum(r["teaching_school"] == "True" for r in rows)


@pytest.mark.parametrize("change, message", [
    (lambda text: text.replace("fsm_share", "fsm"), r"missing column\(s\): fsm_share"),
    (lambda text: text.replace(",North East,", ",Northumbria,", 1), r"line \d+: region='Northumbria' is not one of"),
    (lambda text: "", r"missing column|holds no schools|not a readable"),
])
def test_malformed_vendored_file_fails_naming_it(tmp_path, change, message):
    (tmp_path / SCHOOLS_FILE).write_text(change((DATA_DIR / SCHOOLS_FILE).read_text(encoding="utf-8")))
    with pytest.raises(ConfigError, match=message) as info:
        load_england(tmp_path)
    assert str(tmp_path / SCHOOLS_FILE) in str(info.value)


def test_missing_vendored_file_fails_before_the_run(tmp_path):
    config = replace(SimConfig(), world=replace(SimConfig().world, data_dir=str(tmp_path)))
    with pytest.raises(ConfigError, match="real-England data file missing"):
        run(config)


def test_start_year_cannot_be_moved_for_the_real_world():
    with pytest.raises(ConfigError, match="start_year"):
        build_world(WorldConfig(start_year=2010.0))


@pytest.mark.parametrize("source", ["england", "toy"])
def test_scale_is_refused_for_a_world_of_listed_schools(source):
    # a scale the world cannot honour used to be ignored silently (5x England ran 1x England)
    with pytest.raises(ConfigError, match="world.scale=5 applies only to world.source=synthetic"):
        build_world(WorldConfig(source=source, scale=5.0))


def test_real_region_runs_with_calendar_years():
    config = make_config(source="england", region="North East", years=2, system_leadership=True)
    results = run(config)
    ts, events = results.timeseries, results.events
    assert ts["calendar_year"].min() == pytest.approx(START_YEAR)
    assert ts["calendar_year"].max() == pytest.approx(START_YEAR + 2)
    assert (events["calendar_year"] - events["time_years"]).round(6).eq(round(START_YEAR, 6)).all()
    first = ts[ts["step"] == 0]
    assert first["teaching_schools"].sum() > 0  # the 2018 teaching schools, from step 0


# ------------------------------------------------------------------------------------------
# inspection regimes by calendar date (hand-made worlds)
# ------------------------------------------------------------------------------------------

def _at_year(world, year: float, **kwargs):
    world.start_year = year
    model = make_model(world, **kwargs)
    set_params(model, inspection_noise_sd=0.0)
    return model


def test_short_inspection_of_a_still_good_school_records_no_new_grade():
    model = _at_year(hand_world(2, grade=2, terms_since_inspection=40), 2018.2)
    p, s = model.params, model.state
    s.effectiveness[:] = [(p.threshold_outstanding + p.threshold_good) / 2, p.threshold_outstanding + 0.3]
    inspection.step(model)
    events = model.events.frame()
    assert events[events["event"] == "short_inspection"]["school_id"].tolist() == [1001]
    graded = events[events["event"] == "inspection"]
    assert graded["school_id"].tolist() == [1002] and graded["grade"].tolist() == [1]
    assert s.grade.tolist() == [2, 1] and s.terms_since_inspection.tolist() == [0, 0]
    assert s.previous_grade.tolist() == [0, 2]  # a short inspection leaves the grade history alone


def test_before_september_2015_good_schools_get_full_inspections():
    model = _at_year(hand_world(1, grade=2, terms_since_inspection=40), 2014.0)
    model.state.effectiveness[:] = -0.1
    inspection.step(model)
    assert model.events.frame()["event"].tolist() == ["inspection"]


def test_outstanding_exemption_follows_the_calendar():
    def inspected(year: float) -> int:
        model = _at_year(hand_world(200, grade=1, terms_since_inspection=20), year)
        model.state.effectiveness[:] = model.params.threshold_outstanding + 1.0  # not at risk
        inspection.step(model)
        return int((model.events.frame()["event"] == "inspection").sum())

    assert inspected(2019.0) == 0                 # exempt
    caught_up = inspected(2022.0)                 # exemption lifted: 21 terms > 15 + 0 overdue
    assert caught_up > 150
    long_overdue = _at_year(hand_world(1200, grade=1, terms_since_inspection=60), 2022.0)
    inspection.step(long_overdue)
    n = int((long_overdue.events.frame()["event"] == "inspection").sum())
    assert 60 < n < 150  # caught up at 1 / 12 a term, not all at once (expected 100)


def test_uninspected_school_is_first_inspected_on_the_new_school_schedule():
    model = _at_year(hand_world(2, grade=UNINSPECTED, terms_since_inspection=[8, 7]), 2018.2)
    model.state.effectiveness[:] = -2.0  # inadequate
    for _ in range(2):
        inspection.step(model)
    events = model.events.frame()
    assert events["school_id"].tolist()[:1] == [1001]          # 9 terms after opening
    assert model.state.grade.tolist()[0] == 4
    assert events["previous_grade"].tolist()[0] == 0           # no grade before
    assert model.state.terms_since_downgrade[0] == 999         # a first grade is not a downgrade


# ------------------------------------------------------------------------------------------
# sponsored academies
# ------------------------------------------------------------------------------------------

def _maintained_and_academy(order_terms: int = 3):
    world = hand_world(3, grade=[4, 4, 2])
    world.governance = np.array([0, ACADEMY_CONVERTER, 0], dtype=np.int8)
    model = make_model(world, policy={"sponsored_academies": {"order_to_opening_terms": order_terms}})
    model.state.governance[:] = world.governance
    return model


def test_inadequate_maintained_school_reopens_as_a_sponsored_academy():
    model = _maintained_and_academy(order_terms=3)
    s = model.state
    head = int(s.head_person[0])
    for step in range(1, 5):  # ordered at step 1, opens three terms later, at step 4
        model.step_count = step
        academies.step(model)
        assert s.grade[0] == (4 if step < 4 else UNINSPECTED)
    events = model.events.frame()
    assert events[events["event"] == "academy_order"]["school_id"].tolist() == [1001]  # not the academy
    assert events[events["event"] == "academy_order"]["step"].tolist() == [1]
    assert events[events["event"] == "academy_opened"]["step"].tolist() == [4]
    left = events[events["event"] == "head_left"]
    assert left["person_id"].tolist() == [head] and left["reason"].tolist() == ["academy_conversion"]
    assert model.heads[0] is None                              # succession fills it this term
    assert s.governance.tolist() == [ACADEMY_SPONSOR_LED, ACADEMY_CONVERTER, 0]
    assert s.current_id.tolist() == [academies.NEW_URN_BASE, 1002, 1003]
    assert s.previous_grade[0] == 4 and s.terms_since_inspection[0] == 0


def test_an_acting_head_leaves_on_conversion_for_the_conversion():
    """An acting-led school reopening as a sponsored academy loses its head for the conversion
    (so ``left_academy_conversion`` and ``vacancies_opened`` count it), not as a confirmed acting
    headship."""
    model = _maintained_and_academy(order_terms=1)
    model.remove_head(0, reason="left_early")
    succession.install_acting(model, 0)
    acting = int(model.state.head_person[0])
    for step in (1, 2):  # ordered at step 1, opens at step 2
        model.step_count = step
        academies.step(model)
    left = model.events.frame().query("event == 'head_left' and person_id == @acting")
    assert left["reason"].tolist() == ["academy_conversion"]


def test_sponsored_conversion_can_be_switched_off():
    world = hand_world(1, grade=4)
    model = make_model(world, policy={"sponsored_academies": {"enabled": False}})
    for step in range(1, 10):
        model.step_count = step
        academies.step(model)
    assert model.events.frame().empty and model.state.grade[0] == 4


def _region_runs(seeds, **policy):
    out = []
    for seed in seeds:
        config = make_config(source="england", region="North West", years=6, seed=seed,
                             check_invariants=False, system_leadership=True, policy=policy)
        out.append(run(config).scalar_outcomes())
    return out


@pytest.mark.slow
def test_sponsored_conversion_lowers_the_share_inadequate():
    from scipy.stats import ttest_rel
    seeds = range(8)  # 4 were too few once the issue-8 mechanisms add their own draws (p 0.08)
    on = [r["share_inadequate"] for r in _region_runs(seeds)]
    off = [r["share_inadequate"] for r in _region_runs(seeds, sponsored_academies={"enabled": False})]
    # paired by seed (common random numbers): fewer inadequate schools with conversion
    assert np.mean(on) < np.mean(off) and ttest_rel(on, off, alternative="less").pvalue < 0.05, (on, off)


# ------------------------------------------------------------------------------------------
# the secondary headwind holds the phase gap
# ------------------------------------------------------------------------------------------

def test_secondary_headwind_lowers_what_secondary_leadership_sustains():
    from sim.processes.leadership import sustainable_conditions
    world = hand_world(2, phase=[0, SECONDARY], pupils=[300, 300], fsm_share=0.0)
    model = make_model(world)
    s = model.state
    s.head_capacity[:] = 0.8
    s.bench_person[:] = -1
    set_params(model, secondary_headwind=0.07)
    target = sustainable_conditions(model)
    np.testing.assert_allclose(target[0] - target[1], 0.07)
    set_params(model, secondary_headwind=0.0)
    np.testing.assert_allclose(sustainable_conditions(model)[0], sustainable_conditions(model)[1])


@pytest.mark.slow
def test_without_the_secondary_headwind_the_phase_gap_closes():
    def gap(headwind: float) -> float:
        config = make_config(source="england", region="North West", years=8, seed=1,
                             check_invariants=False, system_leadership=True,
                             behaviour={"secondary_headwind": headwind})
        ts = run(config).timeseries
        end = ts[ts["step"] > ts["step"].max() - 3].groupby("phase")[["n_outstanding", "n_good", "n_inspected"]].sum()
        share = (end["n_outstanding"] + end["n_good"]) / end["n_inspected"]
        return float(share["primary"] - share["secondary"])

    with_headwind, without = gap(0.07), gap(0.0)
    # about 4 points apart before the issue-8 mechanisms; with them about 1.8 (seeds 1-3: 9.7 vs
    # 7.9, 8.8 vs 7.0, 11.5 vs 9.6), as home-school costs now also fall on secondary NLEs' schools
    assert with_headwind > without + 0.01, (with_headwind, without)
