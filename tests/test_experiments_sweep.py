"""Scenario sweeps: deterministic and backend-independent results, failures recorded, an
interrupted sweep resumed to the same outputs, and reproduction from the manifest."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from experiments import reproduce
from experiments.compose import compose_spec
from experiments.model_function import evaluate_model
from experiments.plan import replication_seeds
from experiments.store import ExperimentStore
from experiments.sweep import run_sweep
from sim.parameters import ConfigError

REPO = Path(__file__).resolve().parent.parent
TOY_SWEEP = ["experiment=smoke", "run.years=1", "execution.progress=false"]


def sweep_spec(out: Path, *overrides: str):
    """The smoke preset on a one-year toy world, written to ``out``."""
    return compose_spec([*TOY_SWEEP, f"experiment.out={out}", *overrides])


def outputs_of(folder: Path) -> dict[str, bytes | pd.DataFrame]:
    """Everything a sweep produces that must be reproducible: runs, summaries, figures."""
    outputs: dict[str, bytes | pd.DataFrame] = {"runs": ExperimentStore(folder).read_runs()}
    for path in sorted([*(folder / "summary").iterdir(), *(folder / "figures").iterdir()]):
        outputs[path.name] = path.read_bytes()
    return outputs


def assert_same_outputs(a: Path, b: Path) -> None:
    first, second = outputs_of(a), outputs_of(b)
    assert first.keys() == second.keys()
    pd.testing.assert_frame_equal(first.pop("runs"), second.pop("runs"))
    for name in first:
        assert first[name] == second[name], name


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory) -> Path:
    """A finished serial sweep (2 arms x 3 replications), shared by the tests below."""
    out = tmp_path_factory.mktemp("sweeps") / "serial"
    spec, execution = sweep_spec(out, "execution=serial")
    return run_sweep(spec, execution)


def test_sweep_writes_runs_summaries_and_figures(serial_sweep):
    runs = ExperimentStore(serial_sweep).read_runs()
    assert len(runs) == 6 and runs["run_key"].is_unique
    assert set(runs["arm"]) == {"baseline", "no_system_leadership"}
    arms = pd.read_csv(serial_sweep / "summary" / "arms.csv")
    assert {"arm", "subgroup", "outcome", "n", "mean", "ci_low", "ci_high"} <= set(arms.columns)
    assert {"all", "rural", "fsm_band_4"} <= set(arms["subgroup"])
    assert (arms["n"] == 3).all() and (arms["ci_low"] <= arms["ci_high"]).all()
    differences = pd.read_csv(serial_sweep / "summary" / "paired_differences.csv")
    assert set(differences["versus"]) == {"baseline"}
    series = pd.read_csv(serial_sweep / "summary" / "series.csv")
    assert series["step"].max() == 3  # one year = three terms, plus step 0
    assert sorted(p.name for p in (serial_sweep / "figures").iterdir()) == \
        ["arms_at_horizon.png", "arms_over_time.png", "paired_differences.png",
         "report_differences.png", "report_headline.png", "report_la_map.png",
         "report_over_time.png"]
    report = (serial_sweep / "report.md").read_text()
    assert "percentage points" in report and "paired replications" in report
    assert "data:image/png;base64," in (serial_sweep / "report.html").read_text()
    manifest = json.loads((serial_sweep / "manifest.json").read_text())
    assert manifest["replication_seeds"] == replication_seeds(0, 3)
    assert {"package_versions", "source_revision", "spec"} <= set(manifest)


def test_paired_differences_are_differences_of_the_same_seeds(serial_sweep):
    runs = ExperimentStore(serial_sweep).read_runs()
    wide = runs.pivot(index="seed", columns="arm", values="acting_head_share")
    expected = (wide["no_system_leadership"] - wide["baseline"]).mean()
    differences = pd.read_csv(serial_sweep / "summary" / "paired_differences.csv")
    row = differences[(differences["outcome"] == "acting_head_share")
                      & (differences["subgroup"] == "all")].iloc[0]
    assert row["mean_difference"] == pytest.approx(expected)


def test_same_sweep_on_local_processes_gives_identical_outputs(serial_sweep, tmp_path):
    spec, execution = sweep_spec(tmp_path / "local", "execution=local", "execution.workers=2")
    assert_same_outputs(serial_sweep, run_sweep(spec, execution))


def test_rerunning_a_finished_sweep_redoes_nothing(serial_sweep):
    spec, execution = sweep_spec(serial_sweep, "execution=serial")
    run_sweep(spec, execution)
    last_session = json.loads((serial_sweep / "sessions.json").read_text())[-1]
    assert last_session["runs_done"] == 0 and last_session["runs_skipped"] == 6


def test_a_different_experiment_is_refused_its_folder(serial_sweep):
    spec, execution = sweep_spec(serial_sweep, "execution=serial", "experiment.seed=1")
    with pytest.raises(ConfigError, match="different experiment"):
        run_sweep(spec, execution)


FAILING_SEED = replication_seeds(0, 3)[1]


def evaluate_failing_once(config, seed):
    """The model, except that the no-system-leadership arm's second replication raises."""
    if seed == FAILING_SEED and not config.policy.system_leadership.enabled:
        raise ValueError("deliberate failure")
    return evaluate_model(config, seed)


def test_a_failing_run_is_recorded_and_the_rest_carry_on(tmp_path):
    spec, execution = sweep_spec(tmp_path / "failing", "execution=serial",
                                 "experiment.figures=false")
    folder = run_sweep(spec, execution, evaluate=evaluate_failing_once)
    errors = ExperimentStore(folder).read_errors()
    assert errors[["run_key", "error_type", "error_message"]].values.tolist() == \
        [["no_system_leadership/r0001", "ValueError", "deliberate failure"]]
    assert len(ExperimentStore(folder).read_runs()) == 5
    arms = pd.read_csv(folder / "summary" / "arms.csv").set_index(["arm", "subgroup", "outcome"])
    assert arms.loc[("no_system_leadership", "all", "mean_gap"), "n"] == 2
    differences = pd.read_csv(folder / "summary" / "paired_differences.csv")
    assert (differences["n"] == 2).all()  # only replications both arms finished are paired


def test_killed_sweep_resumes_to_the_uninterrupted_outputs(serial_sweep, tmp_path):
    """Kill a sweep (SIGKILL) after some batches are written; resuming it must redo nothing
    finished and end with exactly the outputs of an uninterrupted sweep."""
    out = tmp_path / "killed"
    overrides = ["execution=serial", "execution.batch_size=2", "experiment.replications=8",
                 "experiment.figures=false"]
    process = subprocess.Popen([sys.executable, "-m", "experiments.sweep", *TOY_SWEEP,
                                f"experiment.out={out}", *overrides],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list((out / "runs").glob("part-*.parquet"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = list((out / "runs").glob("part-*.parquet"))
    finished_before = sum(pq.read_metadata(part).num_rows for part in written)  # all readable
    assert 4 <= finished_before < 16, "the sweep was not killed midway"

    spec, execution = sweep_spec(out, *overrides)
    run_sweep(spec, execution)
    session = json.loads((out / "sessions.json").read_text())[-1]
    assert session["runs_skipped"] == finished_before
    assert session["runs_done"] == 16 - finished_before

    uninterrupted = tmp_path / "uninterrupted"
    spec, execution = sweep_spec(uninterrupted, *overrides)
    assert_same_outputs(out, run_sweep(spec, execution))


def test_reproduce_confirms_identical_outputs_and_catches_a_changed_one(serial_sweep, tmp_path,
                                                                        capsys):
    assert reproduce.main([str(serial_sweep), "--sample", "3", "--backend", "serial"]) == 0
    assert "3 of 3 runs identical" in capsys.readouterr().out

    tampered = Path(shutil.copytree(serial_sweep, tmp_path / "tampered"))
    part = next((tampered / "runs").glob("part-*.parquet"))
    table = pq.read_table(part).to_pandas()
    table.loc[0, "mean_gap"] += 1e-12
    table.to_parquet(part, index=False)
    assert reproduce.main([str(tampered), "--backend", "serial"]) == 4
    assert "mean_gap" in capsys.readouterr().out


def test_reproduce_uses_the_manifest_not_the_presets(serial_sweep):
    manifest = json.loads((serial_sweep / "manifest.json").read_text())
    spec = reproduce.spec_from_dict(manifest["spec"])
    spec_now, _ = sweep_spec(serial_sweep, "execution=serial")
    assert spec == replace(spec_now, experiment=replace(spec_now.experiment,
                                                        outcomes=spec.experiment.outcomes))


def test_hydra_multirun_with_the_joblib_launcher_runs_a_small_grid(tmp_path):
    """Two experiment seeds as a Hydra multirun on joblib processes, one folder each."""
    result = subprocess.run(
        [sys.executable, "-m", "experiments.sweep", "-m", "hydra/launcher=joblib",
         "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'multirun'}", *TOY_SWEEP,
         "experiment.seed=0,1", "execution=serial", "experiment.figures=false",
         f"experiment.out={tmp_path}/seed${{experiment.seed}}"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    seeds = [ExperimentStore(tmp_path / f"seed{seed}").read_runs()["seed"] for seed in (0, 1)]
    assert list(seeds[0][:3]) == replication_seeds(0, 3)
    assert list(seeds[1][:3]) == replication_seeds(1, 3)


def test_run_table_carries_every_lever_value_of_its_arm(serial_sweep):
    runs = ExperimentStore(serial_sweep).read_runs()
    levers = runs.groupby("arm")["policy.system_leadership.enabled"].unique()
    assert levers["baseline"].tolist() == [True]  # the base value where the arm sets nothing
    assert levers["no_system_leadership"].tolist() == [False]
