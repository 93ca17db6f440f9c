"""Fault tests (issue 11, item 7): runs and sweeps killed at random points leave no result that
looks complete but is not, no temporary folder for ever, and no process behind them.

Each test starts a real command (``python -m experiments.run`` / ``experiments.sweep``) and
signals it: SIGKILL (nothing of ours runs), SIGTERM and SIGINT (the command unwinds). The kill
points are drawn from a seeded generator, so CI sees the same points every time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from experiments.cli import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USER
from experiments.compose import compose_spec
from experiments.store import ExperimentStore
from experiments.sweep import run_sweep
from sim.results import MANIFEST, listed_files, process_alive

REPO = Path(__file__).resolve().parent.parent
RUN = ["world=toy", "run.years=2"]  # figures on: writing them takes a second or two
KILLS = random.Random(11)
POLL_S = 0.02


@pytest.fixture
def start():
    """Start ``python -m module args``; whatever a test leaves running is killed after it."""
    started: list[subprocess.Popen] = []

    def start_(module: str, *args: str) -> subprocess.Popen:
        started.append(subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=REPO, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)}))
        return started[-1]

    yield start_
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(condition, process: subprocess.Popen, timeout_s: float = 120) -> bool:
    """Poll until ``condition()`` holds; False if the process ended (or time ran out) first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            return True
        time.sleep(POLL_S)
    return False


def partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.partial-*"))


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (workers, their server, the resource tracker)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def assert_complete_or_absent(out: Path) -> bool:
    """A run folder is either absent (or empty), or complete: a manifest and every file it
    lists. Returns whether it is complete."""
    if not out.exists() or not any(out.iterdir()):
        return False
    manifest = json.loads((out / MANIFEST).read_text())  # no manifest: a partial that looks real
    for name in listed_files(manifest):
        assert (out / name).is_file(), f"{name} listed but missing"
    for name in ("timeseries.parquet", "events.parquet", "schools.parquet"):
        pq.read_metadata(out / name)
    return True


# -- single runs ---------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("trial", range(3))
def test_a_run_killed_at_a_random_point_leaves_nothing_half_written(tmp_path, start, trial):
    out = tmp_path / "out"
    process = start("experiments.run", *RUN, f"run.out={out}")
    # a point in the write (most of the risk), drawn after the temporary folder appears
    delay_s = KILLS.uniform(0.0, 1.5)
    assert wait_for(lambda: partials(tmp_path), process), process.stderr.read()
    time.sleep(delay_s)
    process.kill()
    process.wait()
    complete = assert_complete_or_absent(out)

    again = subprocess.run([sys.executable, "-m", "experiments.run", *RUN, "run.figures=false",
                            f"run.out={out}"], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    if complete:  # the kill came after the results were in place: they are kept
        assert again.returncode == EXIT_USER and "already holds results" in again.stderr
    else:
        assert again.returncode == 0, again.stderr
        assert_complete_or_absent(out)
    assert partials(tmp_path) == [], "the killed run's temporary folder was not removed"


@pytest.mark.parametrize("signum, code, word", [(signal.SIGTERM, EXIT_TERMINATED, "terminated"),
                                                (signal.SIGINT, EXIT_INTERRUPTED, "interrupted")])
def test_a_run_stopped_while_writing_removes_its_temporary_folder(tmp_path, start, signum, code,
                                                                  word):
    out = tmp_path / "out"
    process = start("experiments.run", *RUN, f"run.out={out}")
    assert wait_for(lambda: partials(tmp_path), process), process.stderr.read()
    process.send_signal(signum)
    assert process.wait(timeout=60) == code
    lines = process.stderr.read().strip().splitlines()
    assert lines[-1].startswith(f"error: {word}") and "Traceback" not in "".join(lines)
    assert partials(tmp_path) == []
    assert not (out / MANIFEST).exists()


# -- sweeps --------------------------------------------------------------------------------------

SWEEP = ["experiment=smoke", "run.years=1", "execution.progress=false", "experiment.figures=false",
         "experiment.replications=20", "execution.batch_size=2"]


@pytest.mark.slow
def test_a_killed_local_sweep_leaves_no_worker_and_resumes(tmp_path, start):
    """SIGKILL the sweep while its two worker processes run: they, their server and the
    resource tracker end within seconds (the issue found 650 MB of orphans), everything
    written is readable, and the sweep resumes to all its runs."""
    out = tmp_path / "sweep"
    process = start("experiments.sweep", *SWEEP, "execution=local", "execution.workers=2",
                    f"experiment.out={out}")
    assert wait_for(lambda: list((out / "runs").glob("part-*.parquet")), process), \
        process.stderr.read()
    time.sleep(KILLS.uniform(0.0, 1.0))
    children = descendants(process.pid)
    assert len(children) >= 3, "expected workers, their server and the resource tracker"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(process_alive(pid) for pid in children):
        time.sleep(0.1)
    orphans = [pid for pid in children if process_alive(pid)]
    for pid in orphans:  # do not leave them running when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not orphans, "orphaned worker processes"

    for part in (out / "runs").glob("part-*.parquet"):
        pq.read_metadata(part)  # every visible part is whole
    recorded = len(ExperimentStore(out).read_runs(columns=["run_key"]))
    assert 0 < recorded < 40
    run_sweep(*compose_spec([*SWEEP, "execution=serial", f"experiment.out={out}"]))
    session = json.loads((out / "sessions.json").read_text())[-1]
    assert (session["runs_skipped"], session["runs_done"]) == (recorded, 40 - recorded)
    assert not list(out.rglob(".*.tmp"))


def test_a_sweep_stopped_by_sigterm_exits_143_keeping_finished_runs(tmp_path, start):
    out = tmp_path / "sweep"
    process = start("experiments.sweep", *SWEEP, "execution=serial", f"experiment.out={out}")
    assert wait_for(lambda: list((out / "runs").glob("part-*.parquet")), process), \
        process.stderr.read()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == EXIT_TERMINATED
    assert process.stderr.read().strip().splitlines()[-1].startswith("error: terminated")
    assert len(ExperimentStore(out).read_runs(columns=["run_key"])) >= 2
    assert not list(out.rglob(".*.tmp"))
