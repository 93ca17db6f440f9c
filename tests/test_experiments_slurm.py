"""Experiments on a real Slurm cluster (the single-node cluster of scripts/slurm_cluster.sh):
a sweep and a Sobol analysis identical to serial runs; jobs stopped by scancel or by their time
limit keep their finished runs and are resubmitted to the same results; failing runs recorded;
a killed submitting process resumed without submitting anything twice; a bad partition and a
job sbatch refuses reported in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from experiments.compose import compose_spec
from experiments.model_function import evaluate_model
from experiments.plan import replication_seeds
from experiments.sensitivity import run_sensitivity
from experiments.slurm import JOBS, SLURM_DIR, RunsNotDone
from experiments.store import ExperimentStore
from experiments.sweep import run_sweep
from sim.parameters import ConfigError

REPO = Path(__file__).resolve().parent.parent
ON_SLURM = ["execution=slurm", "execution.poll_seconds=0.5", "execution.progress=false",
            "execution.time=10", "execution.memory=1G"]
TOY_SWEEP = ["experiment=smoke", "run.years=1", "execution.progress=false"]
TOY_SOBOL = ["experiment=sobol", "world=toy", "run.years=1", "experiment.N=4",
             "experiment.replications=1", "experiment.bootstrap_resamples=50",
             "experiment.figures=false", "execution.progress=false",
             "experiment.outcomes=[mean_gap,acting_head_share]"]

pytestmark = [pytest.mark.usefixtures("slurm_cluster"), pytest.mark.slow]
pytest.importorskip("submitit", reason="execution=slurm needs submitit: pip install -e '.[slurm]'")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # jobs cannot import tests/


def evaluate_slowly_on_slurm(config, seed, seconds: float):
    """The model, taking ``seconds`` longer inside a Slurm job (same outputs everywhere)."""
    if "SLURM_JOB_ID" in os.environ:
        time.sleep(seconds)
    return evaluate_model(config, seed)


def same_results(a: Path, b: Path, tables: list[str]) -> None:
    pd.testing.assert_frame_equal(ExperimentStore(a).read_runs(), ExperimentStore(b).read_runs())
    for name in tables:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory) -> Path:
    """The toy smoke sweep (2 arms x 3 replications) run serially."""
    out = tmp_path_factory.mktemp("serial") / "smoke"
    return run_sweep(*compose_spec([*TOY_SWEEP, f"experiment.out={out}", "execution=serial"]))


SWEEP_TABLES = ["summary/arms.csv", "summary/paired_differences.csv", "summary/series.csv"]


def test_smoke_sweep_on_slurm_equals_serial_and_writes_only_its_folder(tmp_path, monkeypatch,
                                                                        serial_sweep):
    workdir = tmp_path / "workdir"  # jobs start in the submitting directory
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    out = tmp_path / "on_slurm"
    spec, execution = compose_spec([*TOY_SWEEP, *ON_SLURM, f"experiment.out={out}",
                                    "execution.runs_per_job=2"])
    run_sweep(spec, execution)
    same_results(out, serial_sweep, [*SWEEP_TABLES, "figures/arms_at_horizon.png"])
    assert list(workdir.iterdir()) == []
    logs = out / SLURM_DIR / "logs"
    assert len(list(logs.glob("*_log.err"))) == 3  # 6 runs, 2 per job
    assert list((out / SLURM_DIR / "staged").iterdir()) == []
    session = ExperimentStore(out).root / "sessions.json"
    assert '"jobs": 3' in session.read_text()


def test_small_sobol_on_slurm_equals_serial(tmp_path):
    serial = run_sensitivity(*compose_spec([*TOY_SOBOL, f"experiment.out={tmp_path / 'serial'}",
                                            "execution=serial"]))
    spec, execution = compose_spec([*TOY_SOBOL, *ON_SLURM, "execution.runs_per_job=48",
                                    "execution.cpus_per_task=2",
                                    f"experiment.out={tmp_path / 'slurm'}"])
    on_slurm = run_sensitivity(spec, execution)
    assert len(ExperimentStore(on_slurm).read_runs(columns=["run_key"])) == 48
    same_results(on_slurm, serial, ["summary/sobol_indices.csv", "summary/convergence.csv",
                                    "summary/sample_outcomes.parquet", "sample.parquet"])


def run_in_thread(run, *args):
    """Start ``run(*args)`` in a thread; return it and the list its exception lands in."""
    raised: list[BaseException] = []

    def target():
        try:
            run(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            raised.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, raised


def wait_until(condition, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return value


def submitted_jobs(out: Path) -> dict[str, list[str]]:
    path = out / SLURM_DIR / JOBS
    return json.loads(path.read_text()) if path.exists() else {}


def test_job_cancelled_mid_sweep_keeps_its_runs_and_is_resubmitted(tmp_path, serial_sweep):
    out = tmp_path / "cancelled"
    spec, execution = compose_spec([*TOY_SWEEP, *ON_SLURM, f"experiment.out={out}",
                                    "execution.runs_per_job=3", "execution.batch_size=1",
                                    "execution.flush_seconds=0"])
    slow = partial(evaluate_slowly_on_slurm, seconds=1.5)
    thread, raised = run_in_thread(run_sweep, spec, execution, slow)
    jobs = wait_until(lambda: len(submitted_jobs(out)) == 2 and submitted_jobs(out))
    cancelled, keys = sorted(jobs.items())[0]
    wait_until(lambda: set(keys) & ExperimentStore(out).finished_keys())
    subprocess.run(["scancel", cancelled], check=True)
    thread.join(timeout=120)
    assert len(raised) == 1 and isinstance(raised[0], RunsNotDone), raised
    message = str(raised[0])
    assert cancelled in message and "CANCELLED" in message and "same command" in message
    recorded = ExperimentStore(out).finished_keys()
    assert 0 < len(set(keys) & recorded) < 3  # the runs it finished were kept
    assert set(jobs[sorted(jobs)[1]]) <= recorded  # the other job finished

    run_sweep(spec, execution)  # resume: only the cancelled job's remaining runs are submitted
    same_results(out, serial_sweep, SWEEP_TABLES)
    assert len(submitted_jobs(out)) == 0


def test_job_over_its_time_limit_keeps_its_runs_and_is_resubmitted(tmp_path, serial_sweep):
    out = tmp_path / "timed_out"
    spec, execution = compose_spec([*TOY_SWEEP, *ON_SLURM, f"experiment.out={out}",
                                    "execution.time=1", "execution.batch_size=1",
                                    "execution.flush_seconds=0"])
    slow = partial(evaluate_slowly_on_slurm, seconds=20)  # 6 runs x 20 s: over one minute
    with pytest.raises(RunsNotDone, match="TIME LIMIT"):
        run_sweep(spec, execution, slow)
    assert 0 < len(ExperimentStore(out).finished_keys()) < 6
    spec, execution = compose_spec([*TOY_SWEEP, *ON_SLURM, f"experiment.out={out}"])
    run_sweep(spec, execution)
    same_results(out, serial_sweep, SWEEP_TABLES)


def test_bad_partition_is_refused_before_any_submission(tmp_path):
    out = tmp_path / "refused"
    result = subprocess.run(
        [sys.executable, "-m", "experiments.sweep", *TOY_SWEEP, "execution=slurm",
         "execution.partition=no_such_partition", f"experiment.out={out}"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: execution.partition='no_such_partition' is not a partition of this cluster")
    assert not out.exists()


def evaluate_failing_one_seed(config, seed, failing_seed: int):
    """The model, raising for one seed (the failure must stay that run's own)."""
    if seed == failing_seed:
        raise ValueError(f"no run for seed {seed}")
    return evaluate_model(config, seed)


def test_failed_runs_on_slurm_are_recorded_and_the_others_kept(tmp_path):
    out = tmp_path / "failing"
    spec, execution = compose_spec([*TOY_SWEEP, *ON_SLURM, f"experiment.out={out}",
                                    "experiment.figures=false"])
    failing = partial(evaluate_failing_one_seed, failing_seed=replication_seeds(0, 3)[1])
    run_sweep(spec, execution, failing)
    errors = ExperimentStore(out).read_errors()
    assert sorted(errors["run_key"]) == ["baseline/r0001", "no_system_leadership/r0001"]
    assert set(errors["error_type"]) == {"ValueError"}
    assert len(ExperimentStore(out).read_runs(columns=["run_key"])) == 4

    run_sweep(spec, execution, evaluate_model)  # not retried unasked
    assert len(ExperimentStore(out).read_errors()) == 2
    spec, execution = compose_spec([*TOY_SWEEP, *ON_SLURM, f"experiment.out={out}",
                                    "experiment.figures=false", "experiment.retry_failed=true"])
    run_sweep(spec, execution, evaluate_model)  # the cause fixed, retried on the cluster
    assert len(ExperimentStore(out).read_errors()) == 0
    assert len(ExperimentStore(out).read_runs(columns=["run_key"])) == 6


def test_submitting_process_killed_then_rerun_waits_for_its_jobs_and_resubmits_nothing(tmp_path):
    command = [sys.executable, "-m", "experiments.sweep", *TOY_SWEEP, *ON_SLURM,
               "experiment.replications=10", "execution.runs_per_job=5",
               "experiment.figures=false"]
    out = tmp_path / "left"
    submitter = subprocess.Popen([*command, f"experiment.out={out}"], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: len(submitted_jobs(out)) == 4)
    submitter.send_signal(signal.SIGKILL)  # a lost login session: its jobs run on
    submitter.wait()
    again = subprocess.run([*command, f"experiment.out={out}"], cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    sessions = json.loads((out / "sessions.json").read_text())
    assert [session["jobs"] for session in sessions] == [0]  # it waited for the four jobs
    serial = run_sweep(*compose_spec([*TOY_SWEEP, "experiment.replications=10",
                                      "experiment.figures=false", "execution=serial",
                                      f"experiment.out={tmp_path / 'serial'}"]))
    same_results(out, serial, SWEEP_TABLES)


def test_a_job_array_sbatch_refuses_is_reported_in_one_line(tmp_path):
    spec, execution = compose_spec([*TOY_SWEEP, *ON_SLURM, "execution.memory=999999G",
                                    f"experiment.out={tmp_path / 'too_big'}"])
    with pytest.raises(ConfigError, match=r"^sbatch refused the job array \(.*Batch job "
                                          r"submission failed[^\n]*\); jobs submitted before"):
        run_sweep(spec, execution)
