"""Grade transitions and inspection intervals from the inspection history (sim/inspection_history.py).

Worked answers on a hand-made history; the committed tables reproduced from the vendored
history (skipped when it is absent); the simulated counterparts on a hand-made event log.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from sim import inspection_history as ih

TERM_DAYS = 365.25 / 3


@pytest.fixture
def history_files(tmp_path):
    """Five schools; URN 9 is not in the schools table; URN 5 has no FSM share."""
    schools = pd.DataFrame({
        "urn": [1, 2, 3, 4, 5],
        "phase": ["primary", "primary", "secondary", "primary", "secondary"],
        "region": ["London", "London", "North East", "North East", "London"],
        "fsm_share": [0.05, 0.10, 0.40, 0.25, None],
    })
    rows = [
        (1, "2010-06-01", 3), (1, "2012-08-31", 2),    # last day of the 2005 framework
        (2, "2010-06-01", 3), (2, "2012-09-01", 2),    # first day of the 2012 framework
        (3, "2013-01-10", 2), (3, "2015-08-31", 3), (3, "2015-09-01", 4),
        (4, "2016-03-12", 2),                          # never re-inspected: censored
        (5, "2014-05-01", 2), (5, "2014-05-01", 4),    # one judgement logged twice: worse kept
        (5, "2016-05-01", 3),
        (9, "2011-01-01", 1), (9, "2014-01-01", 2),    # special school: not in the table
    ]
    inspections = pd.DataFrame(rows, columns=["urn", "inspection_date", "grade"])
    schools.to_csv(tmp_path / "schools.csv", index=False)
    inspections.to_csv(tmp_path / "inspections.csv.gz", index=False)
    return tmp_path / "inspections.csv.gz", tmp_path / "schools.csv"


def test_periods_at_the_2012_and_2015_boundaries():
    dates = ["2005-08-31", "2005-09-01", "2012-08-31", "2012-09-01", "2015-08-31", "2015-09-01"]
    assert list(ih.period_of(dates)) == ["", "2005-2012", "2005-2012", "2012-2015", "2012-2015",
                                         "2015-"]
    # Decimal years: 1 September 2012 is day 245 of a leap year, 2012 + 244 / 365.25 = 2012.668.
    assert list(ih.period_of_year([2012.667, 2012.669, 2015.66, 2015.67, 2018.2])) == [
        "2005-2012", "2012-2015", "2012-2015", "2015-", "2015-"]


def test_regimes_agree_with_the_model_calendar():
    from sim.processes.inspection import CALENDAR
    exempt_from, exempt_until = CALENDAR["outstanding_exempt"]
    assert list(ih.period_of_year([exempt_until - 0.01, exempt_until + 0.01])) == ["2015-", "2021-"]
    assert ih.period_of_year([CALENDAR["short_inspections"][0] + 0.01])[0] == "2015-"


def test_years_each_regime_is_observed():
    assert ih.observed_years("2015-") == pytest.approx(ih.decimal_year(date(2018, 3, 12)) - 2015.6653, abs=1e-3)
    assert ih.observed_years("2012-2015") == pytest.approx(3.0, abs=0.01)
    assert ih.observed_years("2021-") == 0.0
    assert ih.period_bounds("2021-")[1] == np.inf


def test_history_join_and_transitions(history_files):
    history = ih.load_history(*history_files)
    assert sorted(history["urn"].unique()) == [1, 2, 3, 4, 5]
    assert history[history["urn"] == 5]["grade"].tolist() == [4, 3]     # same-day pair: worse
    assert history.set_index("urn")["fsm_band"].groupby(level=0).first().tolist()[:4] == [1, 2, 4, 3]

    t = ih.observed_transitions(history)
    assert list(zip(t["period"], t["previous_grade"], t["next_grade"])) == [
        ("2005-2012", 3, 2), ("2012-2015", 3, 2), ("2012-2015", 2, 3), ("2015-", 3, 4),
        ("2015-", 4, 3)]
    # 2010-06-01 to 2012-08-31 is 365 + 366 + 91 = 822 days.
    assert t["interval_terms"].iloc[0] == pytest.approx(822 / TERM_DAYS)
    assert t["interval_terms"].iloc[3] == pytest.approx(1 / TERM_DAYS)


def test_transition_counts_shares_and_intervals(history_files):
    table = ih.transition_table(ih.observed_transitions(ih.load_history(*history_files)))
    cell = table.set_index(["period", "phase", "fsm_band", "previous_grade", "next_grade"])
    # One transition 3 -> 2 under the 2005 framework: share 1, Wilson 95 % low end n / (n + z^2).
    row = cell.loc[("2005-2012", "primary", "1", 3, 2)]
    assert (row["count"], row["share"]) == (1, 1.0)
    assert row["share_low"] == pytest.approx(1 / (1 + 1.959964 ** 2), abs=1e-6)
    assert row["share_high"] == pytest.approx(1.0)
    # Every next grade is listed, zero counts included.
    assert cell.loc[("2005-2012", "primary", "1", 3, 1), "count"] == 0
    # Margins: both primaries (bands 1 and 2) go 3 -> 2, one under each framework.
    assert cell.loc[("2012-2015", "primary", "all", 3, 2), "count"] == 1
    assert cell.loc[("2012-2015", "all", "all", 3, 2), "count"] == 1
    assert cell.loc[("2012-2015", "all", "all", 2, 3), "count"] == 1
    # School 5 has no FSM band: only in the fsm_band "all" rows.
    assert cell.loc[("2015-", "secondary", "all", 4, 3), "count"] == 1
    assert ("2015-", "secondary", "4", 4, 3) not in cell.index
    assert cell.loc[("2015-", "all", "all", 4, 3), "count"] == 1
    assert cell.loc[("2015-", "all", "4", 3, 4), "count"] == 1
    shares = table.groupby(["period", "phase", "fsm_band", "previous_grade"])["share"].sum()
    assert np.allclose(shares, 1.0)


def test_intervals_with_censoring(history_files):
    spells = ih.observed_spells(ih.load_history(*history_files))
    censored = spells[~spells["completed"]]
    # Each school's last inspection is censored at 2018-03-12: school 4 after 731 days.
    assert len(censored) == 5
    school_4 = censored[censored["period"].eq("2015-") & censored["grade"].eq(2)]
    assert school_4["duration_terms"].iloc[0] == pytest.approx(
        (date(2018, 3, 12) - date(2016, 3, 12)).days / TERM_DAYS)


def test_interval_table_kaplan_meier_worked_example():
    # Spells of 3, 6, 6 (censored) and 9 terms: S(3) = 3/4, S(6) = 3/4 * 2/3 = 1/2, S(9) = 0.
    spells = pd.DataFrame({"period": "2012-2015", "grade": 2,
                           "duration_terms": [3.0, 6.0, 6.0, 9.0],
                           "completed": [True, True, False, True]})
    row = ih.interval_table(spells).iloc[0]
    assert (row["n"], row["n_completed"]) == (4, 3)
    assert row["mean_terms"] == pytest.approx(6.0)
    assert row["q50_terms"] == pytest.approx(6.0)
    assert row["uninspected_after_1y"] == pytest.approx(0.75)
    assert row["uninspected_after_2y"] == pytest.approx(0.5)
    assert row["uninspected_after_3y"] == pytest.approx(0.0)
    assert row["uninspected_after_4y"] == 0.0          # everyone re-inspected by 9 terms
    last_censored = ih.interval_table(spells.assign(completed=[True, True, True, False])).iloc[0]
    # 3 (event), 6, 6 (events), 9 (censored): S(3) = 3/4, S(6) = 3/4 * 1/3 = 1/4 = S(9).
    assert last_censored["uninspected_after_3y"] == pytest.approx(0.25)
    assert np.isnan(last_censored["uninspected_after_4y"])  # beyond the longest follow-up
    # statsmodels' median: the first time the share uninspected falls *below* one half.
    assert row["km_median_terms"] == pytest.approx(9.0)
    # No completed spell: nobody re-inspected within the follow-up.
    never = ih.interval_table(spells.assign(completed=False)).iloc[0]
    assert never["n_completed"] == 0 and never["uninspected_after_3y"] == 1.0
    assert np.isnan(never["mean_terms"])


def test_region_test_detects_a_regional_difference_and_not_noise():
    rng = np.random.default_rng(1)
    n = 4000
    region = rng.choice(["London", "North East"], n)
    base = dict(period="2012-2015", phase="primary", fsm_band=2, previous_grade=3)
    same = pd.DataFrame({**base, "region": region, "next_grade": rng.choice([2, 3], n)})
    result = ih.region_test(same).set_index("period").loc["2012-2015"]
    assert not result["adds"] and result["p_value"] > 0.001
    good = rng.random(n) < np.where(region == "London", 0.7, 0.5)
    differs = same.assign(next_grade=np.where(good, 2, 3))
    result = ih.region_test(differs).set_index("period").loc["2012-2015"]
    assert result["adds"] and result["max_region_departure_points"] == pytest.approx(10, abs=2)


def test_missing_or_malformed_file_is_named(history_files, tmp_path):
    inspections, schools = history_files
    with pytest.raises(ih.HistoryFileError, match="nowhere.csv.gz: file not found"):
        ih.load_history(tmp_path / "nowhere.csv.gz", schools)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"urn": [1], "inspection_date": ["12/03/2018"], "grade": [2]}).to_csv(bad, index=False)
    with pytest.raises(ih.HistoryFileError, match="bad.csv: line 2"):
        ih.load_history(bad, schools)
    pd.DataFrame({"urn": [1]}).to_csv(bad, index=False)
    with pytest.raises(ih.HistoryFileError, match="missing column"):
        ih.load_history(bad, schools)


@pytest.mark.skipif(not (ih.INSPECTIONS_FILE.is_file() and ih.SCHOOLS_FILE.is_file()),
                    reason="vendored inspection history not present")
def test_committed_tables_are_reproduced_from_the_vendored_history(tmp_path):
    ih.write_tables(ih.estimate(), tmp_path)
    for name in ih.TABLE_FILES.values():
        assert (tmp_path / name).read_bytes() == (ih.DATA_DIR / name).read_bytes(), name
    transitions = pd.read_csv(ih.TRANSITIONS_FILE)
    everything = transitions[(transitions["phase"] == "all") & (transitions["fsm_band"] == "all")]
    assert everything["count"].sum() > 25_000      # about 29,000 transitions among 54,461 rows


def hand_made_events() -> pd.DataFrame:
    rows = [  # step, event, school_id, grade, previous_grade
        (2, "inspection", 10, 3, 2),
        (4, "head_left", 10, None, None),
        (5, "inspection", 11, 2, 0),          # first grade of a school not yet inspected
        (9, "inspection", 10, 2, 3),
    ]
    events = pd.DataFrame(rows, columns=["step", "event", "school_id", "grade", "previous_grade"])
    events["grade"] = events["grade"].astype("Int8")
    events["previous_grade"] = events["previous_grade"].astype("Int8")
    events["phase"] = ["primary", "primary", "secondary", "primary"]
    events["region"] = ["London"] * 4
    events["fsm_band"] = np.array([2, 2, 3, 2], dtype=np.int8)
    return events


def test_simulated_transitions_and_spells_from_an_event_log():
    events = hand_made_events()
    t = ih.simulated_transitions(events, start_year=2018.2)
    assert list(zip(t["previous_grade"], t["next_grade"])) == [(2, 3), (3, 2)]
    assert set(t["period"]) == {"2015-"}
    assert np.isnan(t["interval_terms"].iloc[0]) and t["interval_terms"].iloc[1] == 7
    table = ih.transition_table(t).set_index(
        ["period", "phase", "fsm_band", "previous_grade", "next_grade"])
    assert table.loc[("2015-", "primary", "2", 2, 3), "share"] == 1.0
    assert table.loc[("2015-", "all", "all", 3, 2), "count"] == 1

    spells = ih.simulated_spells(events, start_year=2018.2, end_step=30)
    assert list(zip(spells["grade"], spells["duration_terms"], spells["completed"])) == [
        (3, 7, True), (2, 21, False), (2, 25, False)]
    intervals = ih.interval_table(spells).set_index("grade")
    assert intervals.loc[3, "q50_terms"] == 7 and intervals.loc[2, "n_completed"] == 0

    # School 10 reopens as a sponsored academy (new URN) at step 12: its spell from step 9 is
    # censored there, and the academy's first inspection (previous grade 0) is no transition.
    converted = pd.concat([events, pd.DataFrame({
        "step": [12, 15], "event": ["academy_opened", "inspection"], "school_id": [10, 10],
        "grade": pd.array([pd.NA, 2], dtype="Int8"), "previous_grade": pd.array([pd.NA, 0], dtype="Int8"),
        "phase": "primary", "region": "London", "fsm_band": np.int8(2)})], ignore_index=True)
    spells = ih.simulated_spells(converted, start_year=2018.2, end_step=30)
    assert list(zip(spells["grade"], spells["duration_terms"], spells["completed"])) == [
        (3, 7, True), (2, 3, False), (2, 15, False), (2, 25, False)]
    assert len(ih.simulated_transitions(converted, start_year=2018.2)) == 2

    # Calendar years from the start year, or from a calendar_year column when the log has one.
    early = ih.simulated_transitions(events, start_year=2012.0)
    assert list(early["period"]) == ["2005-2012", "2012-2015"]   # steps 2 and 9
    dated = ih.simulated_transitions(events.assign(calendar_year=2016.0), start_year=2012.0)
    assert set(dated["period"]) == {"2015-"}


def calibration_report_module():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "scripts" / "calibration_report.py"
    spec = importlib.util.spec_from_file_location("calibration_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_compares_cell_by_cell():
    report = calibration_report_module()
    observed = ih.transition_table(pd.DataFrame({
        "period": "2015-", "phase": "primary", "fsm_band": 2, "region": "London",
        "previous_grade": 3, "next_grade": [2] * 30 + [3] * 10}))
    simulated = pd.DataFrame({"period": "2015-", "phase": "primary", "fsm_band": 2,
                              "region": "London", "previous_grade": 3,
                              "next_grade": [2] * 24 + [3] * 8})
    cells = report.compare_transitions(observed.astype({"fsm_band": str}), simulated).set_index(
        ["phase", "fsm_band", "previous_grade", "next_grade"])
    to_good = cells.loc[("primary", "2", 3, 2)]
    assert (to_good["share"], to_good["share_sim"], to_good["n_obs"], to_good["n_sim"]) == (0.75, 0.75, 40, 32)
    assert to_good["inside"] and to_good["scored"]
    to_outstanding = cells.loc[("primary", "2", 3, 1)]
    assert to_outstanding["share_sim"] == 0 and to_outstanding["inside"]   # interval [0, 8.8 %]
    few = report.compare_transitions(observed.astype({"fsm_band": str}), simulated.iloc[:19])
    assert not few["scored"].any()        # fewer than 20 simulated transitions: shown, not scored


def test_report_sections_on_a_toy_run_say_na_without_data(tmp_path, capsys):
    from conftest import make_config
    from sim import run
    report = calibration_report_module()
    config = make_config(toy_schools=30, years=3, check_invariants=False)
    results = [run(config, seed=1)]
    report.inspection_history_report(config, results, tables_dir=tmp_path,
                                     observed_schools=tmp_path / "schools.csv")
    out = capsys.readouterr().out
    assert out.count("n/a: the observed table is missing") == 2
    assert "by fsm_band" in out and "n/a" in out.split("(c)")[1]
    results[0].schools = results[0].schools.drop(columns=["fsm_band"])
    report.print_heterogeneity(config, results, tmp_path / "schools.csv")
    fsm_rows = capsys.readouterr().out.split("by fsm_band")[1].strip().splitlines()
    # band, observed n/a, start mix (good or better), end n/a, drift n/a, start-obs n/a
    assert fsm_rows and all(line.split()[1] == "n/a" and line.split()[4:] == ["n/a"] * 3
                            for line in fsm_rows)
    if ih.TRANSITIONS_FILE.is_file():
        report.inspection_history_report(config, results)
        out = capsys.readouterr().out
        assert "Cells inside the observed interval" in out and "By region" in out
