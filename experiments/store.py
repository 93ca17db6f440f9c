"""An experiment's folder: manifest, per-run outcomes streamed to Parquet, summaries, figures.

Layout (see docs/EXPERIMENTS.md)::

    <out>/manifest.json        what the experiment computes (written before any run)
    <out>/runs/part-*.parquet  one row per finished run, written in batches as runs finish
    <out>/errors/part-*.parquet  one row per run that raised: key, error type and message
    <out>/sample.parquet       sensitivity analysis: the sample, written before any run
    <out>/summary/*            tables computed from the runs
    <out>/figures/*.png        figures drawn from the tables
    <out>/sessions.json        when each (resumed) session ran, how many runs, on what backend

Every file is written to a hidden temporary name and renamed into place, so a kill never
leaves a half-written file where a reader would take it for a complete one (pyarrow skips
names starting with "."). A batch's errors are written before its outcomes, and the two hold
different runs, so a kill between them only makes the resumed experiment redo those runs.
A lock file stops two processes writing one experiment at once.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.parameters import ConfigError
from sim.results import write_table

if TYPE_CHECKING:
    from .execution import RunRecord

MANIFEST = "manifest.json"
RUNS, ERRORS, SUMMARY, FIGURES = "runs", "errors", "summary", "figures"
SESSIONS = "sessions.json"
LOCK = ".lock"
PART_PREFIX = "part-"


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a hidden temporary path beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: dict | list) -> None:
    """Write JSON atomically with sorted keys (stable bytes)."""
    write_atomic(path, lambda tmp: tmp.write_text(
        json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"))


class ExperimentStore:
    """One experiment folder, opened for writing by one process at a time.

    Use :meth:`open` to create a folder or resume the experiment it holds.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._next_part = 1 + max((int(p.stem[len(PART_PREFIX):]) for d in (RUNS, ERRORS)
                                   for p in self._parts(d)), default=0)

    @classmethod
    def open(cls, out: str | Path, manifest: dict, same_experiment: Callable[[dict], bool],
             overwrite: bool = False) -> "ExperimentStore":
        """Create ``out`` for ``manifest``, or resume it when it holds the same experiment.

        ``same_experiment(recorded_manifest)`` decides whether the recorded experiment is this
        one. A different experiment (or a folder that is not an experiment) is refused unless
        ``overwrite`` is set, in which case it is deleted.
        """
        root = Path(out)
        recorded = read_manifest(root) if (root / MANIFEST).exists() else None
        occupied = root.exists() and any(root.iterdir())
        if occupied and (recorded is None or not same_experiment(recorded)):
            if not overwrite:
                what = "a different experiment" if recorded else "files that are not an experiment"
                raise ConfigError(f"experiment.out={str(out)!r} holds {what}; choose another "
                                  "folder or set experiment.overwrite=true to delete it")
            acquire_lock(root)  # never delete a folder another process is writing
            shutil.rmtree(root)
            recorded = None
        for name in (RUNS, ERRORS, SUMMARY, FIGURES):
            (root / name).mkdir(parents=True, exist_ok=True)
        acquire_lock(root)
        for stale in root.rglob(".*.tmp"):  # left by a kill mid-write; never renamed into place
            stale.unlink()
        if recorded is None:
            write_json(root / MANIFEST, manifest)
        return cls(root)

    def close(self) -> None:
        """Release the folder for other processes."""
        (self.root / LOCK).unlink(missing_ok=True)

    def __enter__(self) -> "ExperimentStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs --------------------------------------------------------------------------------

    def finished_keys(self) -> set[str]:
        """Keys of runs already recorded, finished or failed (reads one column only)."""
        keys: set[str] = set()
        for name in (RUNS, ERRORS):
            frame = self._read(name, columns=["run_key"])
            keys.update(frame["run_key"].tolist() if len(frame) else [])
        return keys

    def append(self, records: list["RunRecord"]) -> None:
        """Record a batch of finished runs: failures to ``errors/``, then outcomes to ``runs/``."""
        failed = [r for r in records if r.error_type is not None]
        finished = [r for r in records if r.error_type is None]
        if failed:
            self._write_part(ERRORS, pa.table({
                "run_key": [r.key for r in failed],
                **_label_columns(failed),
                "seed": pa.array([r.seed for r in failed], pa.int64()),
                "error_type": [r.error_type for r in failed],
                "error_message": [r.error_message for r in failed],
            }))
        if finished:
            self._write_part(RUNS, outputs_table(finished))

    def read_runs(self, columns: list[str] | None = None,
                  where: tuple[str, object] | None = None) -> pd.DataFrame:
        """Outcomes of every finished run (or those whose column ``where[0]`` equals
        ``where[1]``); read only ``columns`` to save memory. Sorted by run key when
        ``run_key`` is read, so results never depend on the order runs finished in."""
        return self._read(RUNS, columns, where)

    def series_columns(self) -> list[str]:
        """Names of the per-step series in the runs dataset (list columns of its schema)."""
        parts = self._parts(RUNS)
        schema = pq.read_schema(parts[0]) if parts else pa.schema([])
        return [f.name for f in schema if pa.types.is_list(f.type)]

    def output_columns(self) -> list[str]:
        """Names of every column of the runs dataset (labels, seed and outputs)."""
        parts = self._parts(RUNS)
        return list(pq.read_schema(parts[0]).names) if parts else []

    def read_errors(self) -> pd.DataFrame:
        """Every run that raised, sorted by run key."""
        return self._read(ERRORS)

    # -- tables, summaries and the session log --------------------------------------------

    def write_parquet(self, relative: str, frame: pd.DataFrame) -> Path:
        """Write ``frame`` as Parquet at ``relative`` (atomically, stable bytes)."""
        path = self.root / relative
        write_atomic(path, lambda tmp: write_table(frame, tmp))
        return path

    def write_csv(self, relative: str, frame: pd.DataFrame) -> Path:
        """Write a summary table as CSV (floats at full precision) at ``relative``."""
        path = self.root / relative
        write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))
        return path

    def log_session(self, session: dict) -> None:
        """Append one session (timings, runs done, backend) to ``sessions.json``."""
        path = self.root / SESSIONS
        sessions = json.loads(path.read_text()) if path.exists() else []
        write_json(path, sessions + [session])

    # -- internals ----------------------------------------------------------------------------

    def _parts(self, name: str) -> list[Path]:
        return sorted((self.root / name).glob(f"{PART_PREFIX}*.parquet"))

    def _write_part(self, name: str, table: pa.Table) -> None:
        path = self.root / name / f"{PART_PREFIX}{self._next_part:06d}.parquet"
        self._next_part += 1
        write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))

    def _read(self, name: str, columns: list[str] | None = None,
              where: tuple[str, object] | None = None) -> pd.DataFrame:
        parts = self._parts(name)
        if not parts:
            return pd.DataFrame(columns=columns or ["run_key"])
        filters = [(where[0], "=", where[1])] if where else None
        frame = pq.ParquetDataset(parts, filters=filters).read(columns=columns).to_pandas()
        return frame.sort_values("run_key", kind="stable").reset_index(drop=True) \
            if "run_key" in frame else frame


def read_manifest(root: str | Path) -> dict:
    """The manifest of the experiment in ``root``."""
    path = Path(root) / MANIFEST
    if not path.exists():
        raise ConfigError(f"{str(root)!r} holds no experiment (no {MANIFEST})")
    return json.loads(path.read_text())


def outputs_table(records: list["RunRecord"]) -> pa.Table:
    """One row per run: key, labels, seed, scalar outcomes (float64) and series (lists)."""
    columns: dict[str, pa.Array] = {"run_key": pa.array([r.key for r in records], pa.string())}
    columns.update(_label_columns(records))
    columns["seed"] = pa.array([r.seed for r in records], pa.int64())
    for name in records[0].outputs:
        values = [r.outputs[name] for r in records]
        if np.ndim(values[0]) == 0:
            columns[name] = pa.array(np.asarray(values, dtype=np.float64), pa.float64())
        else:
            columns[name] = pa.array([np.asarray(v, dtype=np.float64) for v in values],
                                     pa.list_(pa.float64()))
    return pa.table(columns)


def _label_columns(records: list["RunRecord"]) -> dict[str, list]:
    return {name: [r.labels[name] for r in records] for name in records[0].labels}


def acquire_lock(root: Path) -> None:
    """Take the folder's lock, or fail naming the process that holds it (stale locks are taken)."""
    root.mkdir(parents=True, exist_ok=True)
    lock = root / LOCK
    try:
        holder = int(lock.read_text() or 0)
    except (FileNotFoundError, ValueError):
        holder = 0
    if holder and holder != os.getpid() and _alive(holder):
        raise ConfigError(f"{str(root)!r} is being written by process {holder}; wait for it to "
                          f"finish, or delete {lock} if that process is gone")
    lock.write_text(str(os.getpid()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
