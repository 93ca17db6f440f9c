"""One line per failure, and exit codes scripts can tell apart (issue 11, item 6):
2 a user's mistake (Hydra's composition errors included), 3 the environment, 4 finished but
not all of it, 1 only for a bug, which prints its traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.cli import EXIT_BUG, EXIT_ENVIRONMENT, EXIT_USER, run_command
from experiments.execution import open_backend
from experiments.spec import ExecutionConfig
from sim.parameters import ConfigError

REPO = Path(__file__).resolve().parent.parent


def command(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.mark.parametrize("args, words", [
    (["run.nonexistent=1"], "run.nonexistent"),                # Hydra: unknown key
    (["run.years=abc"], "run.years=abc"),                      # Hydra: wrong type
    (["world=nope"], "world/nope"),                            # Hydra: unknown preset
    (["world=toy", "run.years=0"], "run.years=0 is out of range"),   # the project's own check
    (["world=toy", "run.out="], "run.out is empty"),
])
def test_user_mistakes_exit_2_in_one_line(args, words):
    result = command("experiments.run", *args)
    assert result.returncode == EXIT_USER, result.stderr
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unwritable_output_folder_exits_3_before_the_run(tmp_path):
    result = command("experiments.run", "world=toy", "run.years=60", "run.out=/proc/no/results")
    assert result.returncode == EXIT_ENVIRONMENT, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: run.out: cannot write in /proc (No such file or directory)"]
    assert result.stdout == ""  # no run: 60 years would have printed a summary


def test_sweep_mistakes_exit_2_in_one_line(tmp_path):
    work = tmp_path / "work"  # the command that once deleted its working directory: in a sandbox
    work.mkdir()
    (work / "thesis.tex").write_text("keep")
    result = command("experiments.sweep", "experiment=smoke", "experiment.name=../..",
                     "experiment.overwrite=true", cwd=work)
    assert (work / "thesis.tex").read_text() == "keep"
    assert result.returncode == EXIT_USER
    assert result.stderr.strip().splitlines() == [
        "error: experiment.name='../..' must be a plain folder name: not empty, no '/', '\\' or "
        "'..', not starting with '.'"]


def test_an_unreachable_dask_scheduler_is_one_line():
    dask_config = pytest.importorskip("dask.config")
    with dask_config.set({"distributed.comm.timeouts.connect": "0.5s"}):
        with pytest.raises(ConnectionError, match=r"execution.address=tcp://127.0.0.1:9: no Dask "
                                                  r"scheduler answered"):
            with open_backend(ExecutionConfig(backend="dask", address="tcp://127.0.0.1:9")):
                pass


@pytest.mark.parametrize("error, code", [
    (ConfigError("experiment.N=1 must be >= 2"), EXIT_USER),
    (PermissionError(13, "Permission denied", "/results/x"), EXIT_ENVIRONMENT),
    (OSError(28, "No space left on device"), EXIT_ENVIRONMENT),
    (ConnectionError("no Dask scheduler answered"), EXIT_ENVIRONMENT),
])
def test_failures_map_to_their_exit_code_in_one_line(error, code, capsys):
    def fail():
        raise error
    assert run_command(fail) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert "Traceback" not in err


def test_only_a_bug_exits_1_with_its_traceback(capsys):
    assert run_command(lambda: 1 / 0) == EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "bug" in err


def test_scenario_discovery_ends_in_one_line_too(tmp_path, capsys):
    from experiments import discover
    from experiments.calibrate import run_calibration
    from experiments.compose import compose_spec
    folder = run_calibration(*compose_spec([
        "experiment=calibration", "world=toy", "experiment.N=4", "run.years=1",
        "execution=serial", "execution.progress=false", "experiment.figures=false",
        f"experiment.out={tmp_path / 'cal'}"]))
    capsys.readouterr()
    ask = [str(folder), "--outcome", "share_good_or_outstanding", "--below", "2"]
    assert discover.main([str(tmp_path / "nothing"), *ask[1:]]) == EXIT_USER
    assert discover.main([*ask, "--out", "/proc/no/discovery"]) == EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 2 and "Traceback" not in err


def test_a_nearly_full_disk_is_found_before_the_run_and_exits_3(tmp_path, monkeypatch, capsys):
    import shutil

    import sim.results
    from sim.results import check_out_dir
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sim.results.shutil, "disk_usage",
                        lambda path: usage._replace(free=5 * 2**20))
    assert run_command(lambda: check_out_dir(str(tmp_path / "out"), overwrite=False)) == \
        EXIT_ENVIRONMENT
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: run.out: only 5 MB free in") and "need at least 100 MB" in err


def test_an_unreachable_dask_scheduler_is_refused_before_any_folder_is_made(tmp_path):
    from experiments.compose import compose_spec
    from experiments.sweep import run_sweep

    out = tmp_path / "never"
    spec, execution = compose_spec(["experiment=smoke", "execution=dask",
                                    "execution.address=tcp://127.0.0.1:9", f"experiment.out={out}"])
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=r"execution.address=tcp://127.0.0.1:9: no Dask "
                                              r"scheduler answered"):
        run_sweep(spec, execution)
    assert time.monotonic() - started < 10 and not out.exists()
