"""The explorer's parts that need no browser: form settings, checks, runs, saved work, figures.

The page itself is tested in a real browser by ``test_explorer_browser.py``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException

from conftest import CONF_DIR, REPO, make_config
from experiments.config import to_sim_config
from explorer import charts
from explorer.jobs import RunCancelled, RunJob
from explorer.saved import find_finished, folder_kind, load_run, load_sweep
from explorer.scenario import (LEVERS, Scenario, declared_field, lever_settings, number_text,
                               parse_value, preset_value, world_presets)
from sim.parameters import ConfigError, to_dict
from sim.run import HEARTBEAT_S, run
from sim.state import TERMS_PER_YEAR

pytest.importorskip("solara")
run_module = importlib.import_module("sim.run")  # the package exports `run`, the function


def cli_config(overrides: list[str]):
    """What ``python -m experiments.run <overrides>`` would run (or its ConfigError)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return to_sim_config(compose(config_name="config", overrides=overrides))


def test_levers_show_their_declared_unit_default_and_range():
    for item in lever_settings():
        f, _ = declared_field(item.path)
        assert item.default == f.default
        assert item.unit == f.metadata.get("unit", "")
        if item.unit:
            assert item.unit in item.note
        if item.kind == "number":
            assert f"range {number_text(f.metadata['low'])} to {number_text(f.metadata['high'])}" \
                in item.note
    kinds = {item.path: item.kind for item in lever_settings()}
    assert kinds["policy.system_leadership.targeting"] == "choice"
    assert kinds["policy.inspection.outstanding_exempt"] == "bool"
    assert len(kinds) == len(LEVERS)


@pytest.mark.parametrize("path, text", [
    ("policy.system_leadership.budget_gbp_per_year", "-5"),
    ("policy.system_leadership.deployment_grant_gbp", "lots"),
    ("policy.development_programme.places_per_year", "2.5"),
    ("policy.recruitment_incentive.recruitment_multiplier", "9"),
    ("policy.system_leadership.targeting", "closest"),
    ("run.years", "0"),
])
def test_form_refuses_bad_values_with_the_command_lines_message(path, text):
    with pytest.raises((ConfigError, HydraException)) as cli:
        cli_config(["world=toy", f"{path}={text}"])
    with pytest.raises(ConfigError) as form:
        Scenario(world="toy", values={path: text}).config()
    if isinstance(cli.value, ConfigError):
        assert str(form.value) == str(cli.value)
    else:  # a value of the wrong type: Hydra's message and the first line of its cause
        assert str(form.value) == f"{cli.value}\n{str(cli.value.__cause__).splitlines()[0]}"


@pytest.mark.parametrize("path, text", [
    ("policy.system_leadership.budget_gbp_per_year", "-5"),
    ("policy.development_programme.places_per_year", "2.5"),
])
def test_form_message_is_what_the_command_line_prints(tmp_path, path, text):
    cli = subprocess.run([sys.executable, "-m", "experiments.run", "world=toy", f"{path}={text}",
                          f"run.out={tmp_path}/out"], cwd=REPO, capture_output=True, text=True)
    assert cli.returncode != 0
    with pytest.raises(ConfigError) as form:
        Scenario(world="toy", values={path: text}).config()
    for line in str(form.value).splitlines():
        assert line in cli.stderr + cli.stdout
    assert not (tmp_path / "out").exists()


def test_form_builds_the_command_lines_configuration():
    values = {"policy.system_leadership.targeting": "neediest_first", "run.years": "3",
              "policy.inspection.regime": "fixed", "policy.inspection.outstanding_exempt": True}
    scenario = Scenario(world="north_east", values=values)
    cli = cli_config(["world=north_east", "policy.system_leadership.targeting=neediest_first",
                      "run.years=3", "policy.inspection.regime=fixed",
                      "policy.inspection.outstanding_exempt=true"])
    form = scenario.config()
    assert to_dict(dataclasses.replace(form, run=dataclasses.replace(form.run, progress=True))) \
        == to_dict(cli)
    assert form.run.progress is False  # the explorer shows its own progress


def test_world_presets_and_seeds():
    presets = world_presets()
    assert presets[0] == "toy" and "england" in presets and "gias" not in presets
    assert preset_value("england_2010", "world.starting_grades") == "2010"  # the form starts here
    assert Scenario(values={"run.seed": "4"}, n_seeds="3").seeds() == [4, 5, 6]
    with pytest.raises(ConfigError, match="seeds"):
        Scenario(n_seeds="0").config()
    assert number_text(1e10) == "10,000,000,000" and number_text(0.33) == "0.33"
    assert parse_value("20,000") == 20000 and parse_value("0.5") == 0.5 and parse_value("x") == "x"


def test_on_progress_reports_every_stage_and_term_and_leaves_results_unchanged():
    config = make_config(years=2, check_invariants=False)
    calls = []
    hooked = run(config, on_progress=lambda *call: calls.append(call))
    plain = run(config)
    steps = 2 * TERMS_PER_YEAR
    heard = [call for i, call in enumerate(calls) if i == 0 or call != calls[i - 1]]  # no repeats
    assert heard == ([("build_world", 0, 1), ("initialise", 0, 1)]
                     + [("simulate", done, steps) for done in range(steps + 1)]
                     + [("collect", 0, 1)])
    pd.testing.assert_frame_equal(hooked.timeseries, plain.timeseries)
    pd.testing.assert_frame_equal(hooked.events, plain.events)


def slow_world_building(monkeypatch, seconds: float) -> None:
    """Make ``run``'s world building one call of at least ``seconds`` (like loading England
    on a loaded machine)."""
    build = run_module.cached_world

    def slow(config):
        time.sleep(seconds)
        return build(config)
    monkeypatch.setattr(run_module, "cached_world", slow)


def test_a_stage_that_is_one_long_call_still_reports_every_heartbeat(monkeypatch):
    slow_world_building(monkeypatch, 3 * HEARTBEAT_S)
    calls = []
    run(make_config(years=1, check_invariants=False),
        on_progress=lambda *call: calls.append((time.perf_counter(), call)))
    building = [t for t, call in calls if call[0] == "build_world"]
    assert len(building) >= 3  # the start, then repeated by the watchdog while the world builds
    initialising = next(t for t, call in calls if call[0] == "initialise")
    gaps = np.diff([*building, initialising])
    assert gaps.max() < 3 * HEARTBEAT_S  # never silent for the whole slow call


def test_a_cancel_raised_on_the_watchdog_thread_stops_the_run_at_its_next_report(monkeypatch):
    slow_world_building(monkeypatch, 3 * HEARTBEAT_S)
    calls = []

    def cancel_when_repeated(*call):
        calls.append(call)
        if threading.current_thread() is not threading.main_thread():
            raise RunCancelled()  # what the explorer's job raises
    with pytest.raises(RunCancelled):
        run(make_config(years=1, check_invariants=False), on_progress=cancel_when_repeated)
    assert {stage for stage, _, _ in calls} == {"build_world"}  # stopped before initialising


def test_job_status_counts_the_seconds_of_a_long_stage_from_the_runs_reports(monkeypatch):
    slow_world_building(monkeypatch, 4 * HEARTBEAT_S)
    job = RunJob(make_config(years=1, check_invariants=False), [0]).start()
    lines = []
    while job.running:
        lines.append(job.describe())
        time.sleep(0.05)
    building = {float(m.group(1)) for line in lines
                if (m := re.search(r"building the world for ([0-9.]+) s", line))}
    assert job.status == "done" and len(building) >= 2  # the line moved while the world built
    assert max(building) >= HEARTBEAT_S


def test_job_runs_each_seed_with_the_command_lines_run():
    scenario = Scenario(world="toy", n_seeds=2, values={"run.years": "2"})
    job = RunJob(scenario.config(), scenario.seeds()).start()
    assert job.running or job.status == "done"
    job.wait(60)
    assert job.status == "done" and job.progress == 1.0 and len(job.results) == 2
    assert job.first_result_s is not None and job.first_result_s <= job.finished_s
    direct = run(scenario.config(), seed=1)
    pd.testing.assert_frame_equal(job.results[1].timeseries, direct.timeseries)


def test_job_can_be_cancelled_and_keeps_finished_seeds():
    scenario = Scenario(world="north_east", n_seeds=20, values={"run.years": "20"})
    job = RunJob(scenario.config(), scenario.seeds()).start()
    deadline = time.perf_counter() + 60
    while job.progress == 0 and time.perf_counter() < deadline:
        time.sleep(0.02)
    job.cancel()
    job.wait(60)
    assert job.status == "cancelled"
    assert len(job.results) < 20
    assert "cancelled" in job.describe()


def test_job_reports_a_bad_local_authority_like_the_command_line():
    config = Scenario(world="england", local_authority="Nowhere LA").config()
    job = RunJob(config, [0]).start().wait(60)
    assert job.status == "failed"
    assert job.error.startswith("world.local_authority='Nowhere LA' is not in this world")


@pytest.fixture(scope="module")
def toy_runs():
    scenario = Scenario(world="toy", n_seeds=2, values={"run.years": "3"})
    return RunJob(scenario.config(), scenario.seeds()).start().wait(60).results


def test_saved_run_reads_back_what_was_written(tmp_path, toy_runs):
    toy_runs[0].write(str(tmp_path / "run"), figures=False)
    assert folder_kind(tmp_path / "run") == "run"
    loaded = load_run(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.timeseries, toy_runs[0].timeseries, check_dtype=False)
    assert loaded.manifest["seed"] == toy_runs[0].manifest["seed"]
    assert find_finished(tmp_path) == [str(tmp_path / "run")]
    with pytest.raises(ConfigError, match="no manifest.json"):
        folder_kind(tmp_path)
    with pytest.raises(ConfigError, match="is not a folder"):
        folder_kind(tmp_path / "missing")


def test_saved_sweep_shows_its_arms_and_figures(tmp_path):
    from experiments.compose import compose_spec
    from experiments.sweep import run_sweep
    spec, execution = compose_spec(["experiment=smoke", "execution=serial",
                                    "execution.progress=false", f"experiment.out={tmp_path}/sweep"])
    folder = run_sweep(spec, execution)
    saved = load_sweep(folder)
    assert saved.arm_names == ["baseline", "no_system_leadership"]
    assert saved.reference_arm == "baseline"
    assert set(saved.arms["arm"]) == set(saved.arm_names)
    assert saved.figures and all(f.suffix == ".png" for f in saved.figures)
    assert saved.arm_levers()["no_system_leadership"] == {"policy.system_leadership.enabled": False}


def test_figures_draw_from_results(toy_runs):
    series = charts.series_across_seeds(toy_runs)
    ts = toy_runs[0].timeseries
    first = ts[ts["step"] == 0]
    expected = 100 * (first["n_outstanding"].sum() + first["n_good"].sum()) / first["n_schools"].sum()
    assert series["good_or_outstanding_pct"]["mean"].iloc[0] == pytest.approx(expected)
    assert (series["nle_count"]["low"] <= series["nle_count"]["high"]).all()
    assert series["good_or_outstanding_pct"]["year"].iloc[0] == ts["calendar_year"].min()
    fig = charts.time_series({"A": toy_runs, "B": toy_runs[:1]})
    assert len(fig.axes) == 6
    fig = charts.school_map(toy_runs[0])
    plotted = sum(len(c.get_offsets()) for c in fig.axes[0].collections if hasattr(c, "get_offsets"))
    assert plotted >= len(toy_runs[0].schools)
    fig = charts.difference_by_area(toy_runs, toy_runs)
    bars = [p.get_width() for p in fig.axes[0].patches]
    assert bars and np.allclose(bars, 0)  # a scenario against itself differs nowhere
    assert len(charts.supply_need(toy_runs).axes) == 2
    table = charts.scalar_table({"A": toy_runs})
    assert "share_good_or_outstanding" in table.index


@pytest.fixture(scope="module")
def north_east_runs():
    """The real North East for one year, with and without system leadership."""
    runs = []
    for enabled in (True, False):
        scenario = Scenario(world="north_east", values={
            "run.years": "1", "policy.system_leadership.enabled": enabled})
        runs.append(run(scenario.config()))
    return runs


def test_map_zooms_to_a_local_authority_with_the_links_into_it(north_east_runs):
    results = north_east_runs[0]
    whole = charts.map_caption(results)
    assert whole.startswith(f"All schools at the end: {len(results.schools):,} schools")
    assert whole.endswith("local authority and region boundaries")  # the real map
    la = results.schools["local_authority"].value_counts().index[0]
    n_la = int((results.schools["local_authority"] == la).sum())
    caption = charts.map_caption(results, "North East", la)
    assert caption.startswith(f"{la} at the end: {n_la:,} schools")
    fig = charts.school_map(results, region="North East", local_authority=la)
    ax = fig.axes[0]
    x, y = results.schools.loc[results.schools["local_authority"] == la, ["x_km", "y_km"]].T.to_numpy()
    assert ax.get_xlim()[0] <= x.min() and x.max() <= ax.get_xlim()[1]
    assert np.ptp(ax.get_xlim()) < np.ptp(charts.school_map(results).axes[0].get_xlim())  # zoomed
    assert ax.get_title() == caption.split(";")[0]


def test_difference_on_the_map_by_region_or_local_authority(north_east_runs):
    a, b = [north_east_runs[0]], [north_east_runs[1]]
    by_la = charts.difference_table(a, b, "local_authority")
    assert len(by_la) == results_areas(a[0], "local_authority")
    by_region = charts.difference_table(a, b, "region")
    assert list(by_region.index) == ["North East"]
    for level, expected in (("local_authority", by_la), ("region", by_region)):
        fig = charts.difference_by_area(a, b, map_level=level)
        filled = [c for c in fig.axes[1].collections if c.get_array() is not None]
        assert sorted(filled[0].get_array()) == pytest.approx(sorted(expected))  # one area each
    with pytest.raises(ValueError, match="map_level"):
        charts.difference_by_area(a, b, map_level="district")


def results_areas(results, level: str) -> int:
    return results.schools[level].nunique()
