"""The experiment store merges its small Parquet parts: an experiment ends with few parts
whatever its batch size, no run is read twice or lost, and a merge interrupted by a kill is
finished or dropped by the next session."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from experiments import store as store_module
from experiments.compose import compose_spec
from experiments.execution import RunRecord
from experiments.store import MERGING, RUNS, ExperimentStore
from experiments.sweep import run_sweep
from sim.results import EXPERIMENT_KIND, OUTPUT_KIND

TOY_SWEEP = ["experiment=smoke", "run.years=1", "execution.progress=false",
             "experiment.figures=false", "execution=serial"]


def parts(folder: Path) -> list[Path]:
    return sorted((folder / RUNS).glob("part-*.parquet"))


def records(first: int, count: int) -> list[RunRecord]:
    return [RunRecord(f"run{i:04d}", {"arm": "a"}, i, outputs={"x": float(i)})
            for i in range(first, first + count)]


def open_store(folder: Path) -> ExperimentStore:
    """Create or resume a bare experiment folder (a manifest of the experiment kind)."""
    return ExperimentStore.open(folder, {OUTPUT_KIND: EXPERIMENT_KIND},
                                reconcile=lambda recorded: recorded)


def test_a_sweep_of_many_small_batches_ends_with_one_part_holding_every_run(tmp_path):
    spec, execution = compose_spec([*TOY_SWEEP, f"experiment.out={tmp_path / 'sweep'}",
                                    "experiment.replications=6", "execution.batch_size=2"])
    folder = run_sweep(spec, execution)
    assert len(parts(folder)) == 1
    assert not (folder / RUNS / MERGING).exists()
    table = pq.read_table(parts(folder)[0])
    assert table.num_rows == 12
    assert table["run_key"].to_pylist() == sorted(table["run_key"].to_pylist())
    assert len(ExperimentStore(folder).read_runs()) == 12


def test_parts_are_merged_every_merged_runs_while_running(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "MERGED_RUNS", 6)
    with open_store(tmp_path / "exp") as store:
        for first in range(0, 14, 2):  # 7 batches of 2 runs
            store.append(records(first, 2))
        # merged after the third and the sixth batch; the seventh is not merged yet
        assert [pq.read_metadata(p).num_rows for p in parts(tmp_path / "exp")] == [6, 6, 2]
    assert [pq.read_metadata(p).num_rows for p in parts(tmp_path / "exp")] == [6, 6, 2]
    keys = ExperimentStore(tmp_path / "exp").read_runs()["run_key"].tolist()
    assert keys == [f"run{i:04d}" for i in range(14)]


def interrupted_merge(folder: Path, merged_written: bool) -> list[Path]:
    """A store whose merge was killed after its plan (and, if ``merged_written``, its merged
    part) was written, before the parts it replaces were deleted; returns those parts."""
    with open_store(folder) as store:
        store.append(records(0, 2))
        store.append(records(2, 2))
        store._unmerged = []  # the session was killed: nothing merged at its end
    small = parts(folder)
    merged = folder / RUNS / "part-000003.parquet"
    (folder / RUNS / MERGING).write_text(json.dumps({"replaced": [p.name for p in small],
                                                     "by": merged.name}))
    if merged_written:
        pq.write_table(pa.concat_tables([pq.read_table(p) for p in small]), merged)
    return small


@pytest.mark.parametrize("merged_written", [True, False])
def test_a_merge_killed_midway_reads_every_run_once_and_is_settled_on_resume(
        tmp_path, merged_written):
    folder = tmp_path / "exp"
    small = interrupted_merge(folder, merged_written)
    expected = [f"run{i:04d}" for i in range(4)]
    assert ExperimentStore(folder).read_runs()["run_key"].tolist() == expected
    assert sorted(ExperimentStore(folder).finished_keys()) == expected

    open_store(folder).close()  # the next session settles the merge under its lock
    assert not (folder / RUNS / MERGING).exists()
    left = parts(folder)
    assert (left == [folder / RUNS / "part-000003.parquet"]) if merged_written else \
        (left == small)
    assert ExperimentStore(folder).read_runs()["run_key"].tolist() == expected


def test_a_failed_session_leaves_its_parts_unmerged(tmp_path):
    folder = tmp_path / "exp"
    with pytest.raises(RuntimeError):
        with open_store(folder) as store:
            store.append(records(0, 2))
            store.append(records(2, 2))
            raise RuntimeError("disk trouble")
    assert len(parts(folder)) == 2
    assert len(ExperimentStore(folder).read_runs()) == 4


def test_parts_are_merged_when_their_outputs_reach_merged_bytes(tmp_path, monkeypatch):
    batch_bytes = store_module._serialised(store_module.outputs_table(records(0, 2))).size
    monkeypatch.setattr(store_module, "MERGED_BYTES", 2 * batch_bytes)
    with open_store(tmp_path / "exp") as store:
        for first in range(0, 10, 2):  # 5 batches of 2 runs: merged after the second and fourth
            store.append(records(first, 2))
        assert [pq.read_metadata(p).num_rows for p in parts(tmp_path / "exp")] == [4, 4, 2]
