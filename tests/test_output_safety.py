"""Nothing is deleted that the project did not write (issue 11, item 1).

Output names and folders are checked before any work; overwrite replaces only this project's
results of the same kind, removing the files the old results consisted of and nothing else;
growing an experiment's replications resumes it; two processes never write one experiment.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.compose import compose_spec
from experiments.plan import replication_seeds
from experiments.store import ExperimentStore
from experiments.sweep import run_sweep
from sim.parameters import ConfigError
from sim.results import MANIFEST, RESULT_FILES, check_out_dir
from sim.run import run
from tests.conftest import make_config

REPO = Path(__file__).resolve().parent.parent
TOY_SWEEP = ["experiment=smoke", "run.years=1", "execution=serial", "execution.progress=false",
             "experiment.figures=false"]


def sweep_spec(out: Path, *overrides: str):
    return compose_spec([*TOY_SWEEP, f"experiment.out={out}", *overrides])


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def toy_results():
    return run(make_config(source="toy", toy_schools=12, years=1, check_invariants=False), seed=4)


# -- names and folders -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../..", "..", "a/b", "a\\b", ".hidden", "", "x/../../y"])
def test_experiment_name_that_is_not_a_plain_folder_name_is_refused(name):
    with pytest.raises(ConfigError, match=r"experiment\.name(=.*plain folder name| must be given)"):
        compose_spec([*TOY_SWEEP, f"experiment.name={name}"])


@pytest.mark.parametrize("out", ["", ".", "..", str(REPO), str(REPO.parent), "/"])
def test_experiment_out_that_is_empty_or_above_the_project_is_refused(out):
    with pytest.raises(ConfigError, match=r"experiment\.out"):
        compose_spec([*TOY_SWEEP, f"experiment.out={out}"])


def test_experiment_out_above_the_working_directory_is_refused(tmp_path, monkeypatch):
    work = tmp_path / "thesis" / "chapter"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    with pytest.raises(ConfigError, match="working directory or a folder above it"):
        compose_spec([*TOY_SWEEP, f"experiment.out={tmp_path / 'thesis'}"])


@pytest.mark.parametrize("out", ["", ".", str(REPO), str(REPO.parent)])
def test_run_out_that_is_empty_or_above_the_project_is_refused(out):
    with pytest.raises(ConfigError, match=r"run\.out"):
        check_out_dir(out, overwrite=True)


# -- overwrite replaces only this project's results of the same kind -------------------------

def test_run_overwrite_never_deletes_a_folder_that_is_not_a_run(toy_results, tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter3.tex").write_text("months of work")
    with pytest.raises(ConfigError, match="not a run's results"):
        toy_results.write(str(folder), overwrite=True, figures=False)
    assert files_under(folder) == {"chapter3.tex": b"months of work"}


def test_experiment_overwrite_never_deletes_a_folder_that_is_not_an_experiment(tmp_path):
    folder = tmp_path / "thesis"
    (folder / "data").mkdir(parents=True)
    (folder / "chapter3.tex").write_text("months of work")
    (folder / "data" / "survey.csv").write_text("a,b\n1,2\n")
    before = files_under(folder)
    spec, execution = sweep_spec(folder, "experiment.overwrite=true")
    with pytest.raises(ConfigError, match="not an experiment's results") as refusal:
        run_sweep(spec, execution)
    assert "overwrite=true" not in str(refusal.value)
    assert files_under(folder) == before


def test_overwrite_never_crosses_kinds(toy_results, tmp_path):
    single = tmp_path / "single"
    toy_results.write(str(single), figures=False)
    before = files_under(single)
    spec, execution = sweep_spec(single, "experiment.overwrite=true")
    with pytest.raises(ConfigError, match="single run's results"):
        run_sweep(spec, execution)
    assert files_under(single) == before

    experiment = run_sweep(*sweep_spec(tmp_path / "experiment"))
    before = files_under(experiment)
    with pytest.raises(ConfigError, match="experiment's results"):
        toy_results.write(str(experiment), overwrite=True, figures=False)
    assert files_under(experiment) == before


def test_overwriting_a_different_experiment_removes_only_what_it_wrote(tmp_path):
    folder = run_sweep(*sweep_spec(tmp_path / "sweep"))
    (folder / "notes.txt").write_text("mine")
    (folder / "summary" / "my_table.xlsx").write_bytes(b"mine too")
    spec, execution = sweep_spec(folder, "experiment.seed=1")
    with pytest.raises(ConfigError, match=r"different experiment \(experiment\.seed: 0 recorded, "
                                          r"1 now\).*overwrite=true to delete it and its 6"):
        run_sweep(spec, execution)
    spec, execution = sweep_spec(folder, "experiment.seed=1", "experiment.overwrite=true")
    run_sweep(spec, execution)
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "summary" / "my_table.xlsx").read_bytes() == b"mine too"
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["replication_seeds"] == replication_seeds(1, 3)
    assert set(ExperimentStore(folder).read_runs()["seed"]) == set(replication_seeds(1, 3))


def test_run_overwrite_removes_the_old_figures_and_nothing_else(toy_results, tmp_path):
    out = tmp_path / "out"
    toy_results.write(str(out), figures=True)
    old = json.loads((out / MANIFEST).read_text())["files"]
    figures = [name for name in old if name.endswith(".png")]
    assert figures
    (out / "my_notes.txt").write_text("mine")
    toy_results.write(str(out), overwrite=True, figures=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, MANIFEST, "my_notes.txt"])


def test_a_manifest_listing_paths_outside_the_folder_deletes_nothing_there(toy_results, tmp_path):
    out = tmp_path / "out"
    toy_results.write(str(out), figures=False)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"] += ["../precious.txt", str(outside)]
    (out / MANIFEST).write_text(json.dumps(manifest))
    toy_results.write(str(out), overwrite=True, figures=False)
    assert outside.read_text() == "keep"


# -- growing an experiment ---------------------------------------------------------------------

def test_more_replications_resume_without_overwrite_and_fewer_are_refused(tmp_path):
    folder = run_sweep(*sweep_spec(tmp_path / "grow"))
    run_sweep(*sweep_spec(folder, "experiment.replications=5"))
    session = json.loads((folder / "sessions.json").read_text())[-1]
    assert (session["runs_skipped"], session["runs_done"]) == (6, 4)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["total_runs"] == 10
    assert manifest["spec"]["experiment"]["replications"] == 5
    assert manifest["replication_seeds"] == replication_seeds(0, 5)
    assert len(ExperimentStore(folder).read_runs()) == 10

    with pytest.raises(ConfigError, match=r"experiment\.replications=2 would leave recorded runs "
                                          r"out") as refusal:
        run_sweep(*sweep_spec(folder, "experiment.replications=2"))
    assert "overwrite=true" not in str(refusal.value)


def test_edited_replication_seeds_are_not_resumed(tmp_path):
    folder = run_sweep(*sweep_spec(tmp_path / "edited"))
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["replication_seeds"][1] += 1
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="replication_seeds"):
        run_sweep(*sweep_spec(folder))


# -- one writer at a time ----------------------------------------------------------------------

def _try_open(folder: str, manifest: dict, start: float, results, tried) -> None:
    while time.time() < start:
        pass
    try:
        store = ExperimentStore.open(folder, manifest, lambda recorded: recorded)
    except ConfigError:
        results.put("refused")
        tried.wait(timeout=30)
        return
    results.put("opened")
    tried.wait(timeout=30)  # hold the folder until every other process has tried
    store.close()


@pytest.mark.parametrize("trial", range(10))
def test_of_four_processes_started_together_exactly_one_writes(tmp_path, trial):
    context = multiprocessing.get_context("fork")
    results, tried = context.Queue(), context.Barrier(4)
    manifest = {"output_kind": "experiment", "format_version": 1, "spec": {},
                "replication_seeds": []}
    start = time.time() + 0.3
    processes = [context.Process(target=_try_open, args=(str(tmp_path / "race"), manifest, start,
                                                         results, tried)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
    outcomes = sorted(results.get(timeout=5) for _ in processes)
    assert outcomes == ["opened", "refused", "refused", "refused"]


# -- stale files of replaced results -------------------------------------------------------------

def test_overwriting_a_run_of_several_seeds_removes_its_seed_figures_and_log(tmp_path):
    """``run.seeds=2`` draws figures/seed_bands.png and figures/head_survival.png: they are
    the run's files (listed in its manifest), so a replacement without them removes them."""
    out = tmp_path / "out"
    common = ["world=toy", "run.years=1", "run.figures=false", f"run.out={out}"]
    for args in (["run.seeds=2"], ["run.overwrite=true"]):
        result = subprocess.run([sys.executable, "-m", "experiments.run", *common, *args],
                                cwd=REPO, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        if args == ["run.seeds=2"]:
            files = json.loads((out / MANIFEST).read_text())["files"]
            assert {"figures/seed_bands.png", "figures/head_survival.png"} <= set(files)
            (out / "figures" / "my_figure.png").write_bytes(b"mine")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == sorted(
        [*RESULT_FILES, MANIFEST, "run.log", "figures", "figures/my_figure.png"])


def test_replacing_results_from_python_removes_the_old_commands_log(toy_results, tmp_path):
    out = tmp_path / "out"
    toy_results.write(str(out), figures=False)
    (out / "run.log").write_text("the log of the results being replaced")
    toy_results.write(str(out), overwrite=True, figures=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, MANIFEST])


def test_overwriting_an_experiment_removes_its_report_ensemble_discovery_and_slurm_files(tmp_path):
    folder = run_sweep(*sweep_spec(tmp_path / "sweep", "experiment.figures=true"))
    assert (folder / "report.md").exists() and (folder / "report.html").exists()
    written_elsewhere = {"ensemble.csv": "member\n", "discovery/boxes.csv": "box\n",
                         "discovery/report.md": "old\n", "slurm/jobs.json": "{}",
                         "slurm/staged/123_0-abc-00000.pkl": "old runs",
                         "slurm/logs/123_0_log.out": "old job"}
    for name, text in written_elsewhere.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (folder / "discovery" / "my_notes.md").write_text("mine")
    run_sweep(*sweep_spec(folder, "experiment.seed=1", "experiment.overwrite=true"))
    left = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert not left & {*written_elsewhere, "report.md", "report.html"}
    assert (folder / "discovery" / "my_notes.md").read_text() == "mine"
    assert not (folder / "slurm").exists()  # emptied, so removed
