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

Small parts are merged as the experiment runs: every ``MERGED_RUNS`` runs or ``MERGED_BYTES``
of outputs (and at the end of a session) the parts written since the last merge are written
again as one part, from the copies kept in memory, and then deleted. Reading thousands of small Parquet files back costs
far more time and memory than the runs they hold (each file's footer is decoded: about 25 ms
and 0.6 MB of a process's memory per part of a toy run's 184 outputs, measured by
bench/bench_slurm.py), so an experiment of any size ends with few parts. A merge writes its
plan to ``runs/.merging.json`` first; readers ignore the parts it replaces once the merged
part exists, and the next session finishes or drops a merge that a kill interrupted.
A lock (``filelock``, held by the writing process and released by the system when it dies)
stops two processes writing one experiment at once.

Overwrite rules (docs/RESULTS.md): a folder is replaced only when its manifest says it is this
project's experiment and ``experiment.overwrite`` is set; only the files an experiment writes
(the layout above) are removed. A folder holding a single run's results or anything else is
refused, overwrite or not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from sim.parameters import ConfigError
from sim.results import (EXPERIMENT_KIND, RUN_KIND, RUN_LOG, check_out_path, check_writable,
                         occupied, read_json_manifest, recorded_output, write_table)

if TYPE_CHECKING:
    from .execution import RunRecord

MANIFEST = "manifest.json"
RUNS, ERRORS, SUMMARY, FIGURES = "runs", "errors", "summary", "figures"
SESSIONS = "sessions.json"
SAMPLE = "sample.parquet"
LOCK = ".lock"
PART_PREFIX = "part-"
# a merge is due at MERGED_RUNS runs or MERGED_BYTES of their outputs (about 2,000 England
# runs of 942 outputs), whichever comes first: bounds what is kept in memory for it
MERGED_RUNS = 4096
MERGED_BYTES = 32 * 2**20
MERGING = ".merging.json"  # in runs/: the parts a merge replaces and the part replacing them
# What an experiment writes, by folder ("" = the experiment folder itself); overwrite removes
# these and nothing else. Besides the store's own files: the report (experiments.report,
# experiments.analysis_reports), a calibration's ensemble (experiments.calibrate), the log
# (experiments.logs), scenario discovery's default folder (experiments.discover) and the Slurm
# backend's hand-over files and submitit's job files (experiments.slurm).
WRITTEN_PATTERNS = {
    "": (MANIFEST, SESSIONS, SAMPLE, "report.md", "report.html", "ensemble.csv", RUN_LOG),
    RUNS: (f"{PART_PREFIX}*.parquet", MERGING), ERRORS: (f"{PART_PREFIX}*.parquet",),
    SUMMARY: ("*.csv", "*.parquet"), FIGURES: ("*.png",),
    "discovery": ("boxes.csv", "trajectory.csv", "boxes.png", "report.md", "report.html"),
    "slurm/staged": ("*.pkl",), "slurm/logs": ("*",), "slurm": ("jobs.json",),
}


class DifferentExperiment(ConfigError):
    """The folder holds another experiment; ``suggest_overwrite`` is False when replacing it
    would throw away finished runs the user most likely wants (e.g. fewer replications)."""

    def __init__(self, message: str, suggest_overwrite: bool = True) -> None:
        super().__init__(message)
        self.suggest_overwrite = suggest_overwrite


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

    Use :meth:`open` to create a folder or resume the experiment it holds;
    ``ExperimentStore(folder)`` reads a folder without locking it.
    """

    def __init__(self, root: Path, lock: FileLock | None = None) -> None:
        self.root = Path(root)
        self._lock = lock
        # runs parts written since the last merge: (path, runs, the table as one Arrow buffer)
        self._unmerged: list[tuple[Path, int, pa.Buffer]] = []
        self._next_part = 1 + max((int(p.stem[len(PART_PREFIX):]) for d in (RUNS, ERRORS)
                                   for p in self._parts(d)), default=0)

    @classmethod
    def open(cls, out: str | Path, manifest: dict, reconcile: Callable[[dict], dict],
             overwrite: bool = False) -> "ExperimentStore":
        """Create ``out`` for ``manifest``, or resume the experiment it holds.

        ``reconcile(recorded_manifest)`` returns the manifest to keep when the folder holds
        this experiment (the recorded one, or an updated one when replications grew), and
        raises :class:`DifferentExperiment` when it holds another; that one is replaced only
        when ``overwrite`` is set. Anything that is not an experiment of this project is
        refused.
        """
        root = check_out_path(out, "experiment.out")
        if root.exists() and not root.is_dir():
            raise ConfigError(f"experiment.out={str(out)!r} exists and is not a folder")
        check_writable(root, "experiment.out")
        cls._refuse_foreign(root, str(out))  # before the lock file is put in someone's folder
        root.mkdir(parents=True, exist_ok=True)
        lock = take_lock(root)
        try:
            cls._prepare(root, str(out), manifest, reconcile, overwrite)
        except BaseException:
            lock.release()
            raise
        return cls(root, lock)

    @classmethod
    def _prepare(cls, root: Path, out: str, manifest: dict, reconcile: Callable[[dict], dict],
                 overwrite: bool) -> None:
        """Decide, under the lock, whether to resume, replace or refuse; write the manifest."""
        keep = manifest
        if cls._refuse_foreign(root, out):
            recorded = recorded_output(root)[1]
            try:
                keep = reconcile(recorded)
            except DifferentExperiment as different:
                if not overwrite:
                    runs = len(cls(root).finished_keys())
                    advice = (f", or set experiment.overwrite=true to delete it and its {runs} "
                              "recorded run(s)") if different.suggest_overwrite else ""
                    raise ConfigError(f"experiment.out={out!r} holds {different}; choose another "
                                      f"experiment.out{advice}") from None
                clear_experiment(root)
                keep = manifest
            if keep == recorded:
                keep = None
        if keep is not None:
            write_json(root / MANIFEST, keep)
        for name in (RUNS, ERRORS, SUMMARY, FIGURES):
            (root / name).mkdir(exist_ok=True)
        for stale in root.rglob(".*.tmp"):  # left by a kill mid-write; never renamed into place
            stale.unlink()
        _finish_merge(root / RUNS)

    @staticmethod
    def _refuse_foreign(root: Path, out: str) -> bool:
        """Whether ``root`` holds an experiment; refuse it if it holds anything else."""
        if not occupied(root, ignore=(LOCK,)):
            return False
        kind = recorded_output(root)[0]
        if kind != EXPERIMENT_KIND:
            what = ("a single run's results" if kind == RUN_KIND else
                    "files that are not an experiment's results (no manifest.json of this project)")
            raise ConfigError(f"experiment.out={out!r} holds {what}; choose another folder")
        return True

    def close(self, merge: bool = True) -> None:
        """Merge the parts written since the last merge (unless ``merge`` is false), then
        release the folder."""
        if self._lock is not None:
            if merge:
                self.merge_parts()
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "ExperimentStore":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(merge=exc_type is None)  # after a failure, leave the parts as they are

    # -- runs --------------------------------------------------------------------------------

    def finished_keys(self, retry_failed: bool = False) -> set[str]:
        """Keys of runs already recorded, finished or failed (reads one column only); with
        ``retry_failed``, only those that finished, so failed runs are run again."""
        keys: set[str] = set()
        for name in (RUNS,) if retry_failed else (RUNS, ERRORS):
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
            table = outputs_table(finished)
            path = self._write_part(RUNS, table)
            self._unmerged.append((path, len(table), _serialised(table)))
            if sum(runs for _, runs, _ in self._unmerged) >= MERGED_RUNS or \
                    sum(buffer.size for _, _, buffer in self._unmerged) >= MERGED_BYTES:
                self.merge_parts()

    def merge_parts(self) -> None:
        """Write the runs parts written since the last merge as one part (rows sorted by run
        key) and delete them; see the module docstring for why and how a kill is survived."""
        if len(self._unmerged) > 1:
            replaced = [path for path, _, _ in self._unmerged]
            merged = pa.concat_tables([pa.ipc.open_stream(buffer).read_all()
                                       for _, _, buffer in self._unmerged],
                                      promote_options="default")
            folder = self.root / RUNS
            target = self._part_path(RUNS)
            write_json(folder / MERGING, {"replaced": [path.name for path in replaced],
                                          "by": target.name})
            self._write_part(RUNS, merged.sort_by("run_key"), target)
            _finish_merge(folder)
        self._unmerged = []

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
        """Every run whose latest attempt raised, sorted by run key (a run retried with
        ``experiment.retry_failed`` keeps only its last error, none once it has finished)."""
        errors = self._read(ERRORS, ordered=True)
        if not len(errors):
            return errors
        finished = set(self._read(RUNS, columns=["run_key"])["run_key"])
        errors = errors[~errors["run_key"].isin(finished)]
        errors = errors.drop_duplicates("run_key", keep="last")
        return errors.sort_values("run_key", kind="stable").reset_index(drop=True)

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
        """The parts of ``name`` a reader should read: without those a finished merge replaced
        (the plan is read before the folder is listed, see :meth:`merge_parts`)."""
        replaced = _merged_away(self.root / name)
        return sorted(path for path in (self.root / name).glob(f"{PART_PREFIX}*.parquet")
                      if path.name not in replaced)

    def _part_path(self, name: str) -> Path:
        path = self.root / name / f"{PART_PREFIX}{self._next_part:06d}.parquet"
        self._next_part += 1
        return path

    def _write_part(self, name: str, table: pa.Table, path: Path | None = None) -> Path:
        path = path or self._part_path(name)
        write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return path

    def _read(self, name: str, columns: list[str] | None = None,
              where: tuple[str, object] | None = None, ordered: bool = False) -> pd.DataFrame:
        """The parts of ``name`` as one frame, sorted by run key (or in the order the parts
        were written, when ``ordered``); a damaged part is a ConfigError naming it."""
        parts = self._parts(name)
        if not parts:
            return pd.DataFrame(columns=columns or ["run_key"])
        filters = [(where[0], "=", where[1])] if where else None
        try:
            if ordered:
                frame = pd.concat([pq.read_table(part, columns=columns).to_pandas()
                                   for part in parts], ignore_index=True)
                return frame
            frame = pq.ParquetDataset(parts, filters=filters).read(columns=columns).to_pandas()
        except (pa.ArrowException, OSError) as error:
            raise ConfigError(f"{damaged_part(parts, error)} is not a readable Parquet file; it "
                              "was damaged after being written: delete it (its runs are redone "
                              "when the experiment is resumed)") from None
        return frame.sort_values("run_key", kind="stable").reset_index(drop=True) \
            if "run_key" in frame else frame


def read_manifest(root: str | Path) -> dict:
    """The manifest of the experiment in ``root``; a folder that holds no experiment of this
    project (a single run's results, or nothing) is a ConfigError saying so."""
    path = Path(root) / MANIFEST
    if not Path(root).is_dir():
        raise ConfigError(f"{str(root)!r} is not a folder")
    if not path.exists():
        raise ConfigError(f"{str(root)!r} holds no experiment (no {MANIFEST})")
    manifest = read_json_manifest(path)
    kind = recorded_output(Path(root))[0]
    if kind == RUN_KIND:
        raise ConfigError(f"{str(root)!r} holds a single run's results, not an experiment; "
                          "reproduce a run with python -m experiments.run and its manifest's "
                          "config")
    if kind != EXPERIMENT_KIND:
        raise ConfigError(f"{path} is not an experiment manifest of this project")
    return manifest


def failed_runs_message(store: ExperimentStore, name: str) -> str | None:
    """One line on the runs of ``name`` whose last attempt failed (None if none did): how many,
    the first error, where they are recorded and how to retry them."""
    errors = store.read_errors()
    if not len(errors):
        return None
    first = errors.iloc[0]
    finished = len(store.finished_keys(retry_failed=True))
    return (f"{len(errors)} run(s) of {name} failed and {finished} finished (first: "
            f"{first['run_key']}: {first['error_type']}: {first['error_message']}); every error "
            f"is in {store.root / ERRORS}; after fixing the cause, run the same command with "
            "experiment.retry_failed=true to run them again")


def damaged_part(parts: list[Path], error: Exception) -> str:
    """The first part whose footer cannot be read (the one to blame for ``error``)."""
    for part in parts:
        try:
            pq.read_metadata(part)
        except (pa.ArrowException, OSError):
            return str(part)
    return f"one of {parts[0].parent}/{PART_PREFIX}*.parquet ({error})"


def _serialised(table: pa.Table) -> pa.Buffer:
    """``table`` as one contiguous Arrow buffer. Kept as a table, a batch's hundreds of small
    column buffers pin the freed memory around them (the outputs of every run, unpickled
    beside them), and the process grew by about 100 KB per run of England's 942 outputs."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _merged_away(folder: Path) -> set[str]:
    """Names of the parts in ``folder`` that a merge replaced (its merged part exists)."""
    plan = _merge_plan(folder)
    return set(plan["replaced"]) if plan and (folder / plan["by"]).exists() else set()


def _merge_plan(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MERGING).read_text())
    except FileNotFoundError:
        return None


def _finish_merge(folder: Path) -> None:
    """Complete the merge planned in ``folder`` (delete the parts it replaced) if its merged
    part was written; forget it otherwise (the parts it would have replaced stay)."""
    plan = _merge_plan(folder)
    if plan is None:
        return
    for name in _merged_away(folder):
        (folder / name).unlink(missing_ok=True)
    (folder / MERGING).unlink()


def clear_experiment(root: Path) -> None:
    """Remove the files an experiment writes (:data:`WRITTEN_PATTERNS`), nothing else, and
    the folders they leave empty."""
    for name in sorted(WRITTEN_PATTERNS, key=lambda folder: -folder.count("/")):
        folder = root / name
        for pattern in (*WRITTEN_PATTERNS[name], ".*.tmp"):
            for path in folder.glob(pattern):
                if path.is_file() and not path.is_symlink():
                    path.unlink()
        if name and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


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


def take_lock(root: Path) -> FileLock:
    """Hold the folder's lock, or fail at once if another process holds it. The operating
    system releases it when the holder dies, so a killed experiment never leaves it taken."""
    lock = FileLock(root / LOCK, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(f"{str(root)!r} is being written by another process; wait for it to "
                          "finish") from None
    return lock
