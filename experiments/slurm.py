"""Runs on a Slurm cluster: job arrays submitted with submitit, results streamed into the store.

``execution=slurm`` (``conf/execution/slurm.yaml``, docs/SLURM.md). The runs an experiment
still needs are cut into batches of ``execution.runs_per_job`` runs; each batch is one task of
a Slurm job array (at most ``execution.max_array_size`` tasks per ``sbatch``), submitted with
submitit, which pickles the batch, writes the job script and runs it on the cluster. A job runs
its batch with :func:`experiments.execution.run_one` (on its ``cpus_per_task`` cores as local
processes), and hands finished runs over as small files in ``<out>/slurm/staged/``; the
submitting process polls, records them in the experiment's :class:`ExperimentStore` (the same
Parquet parts as every backend) and deletes them. Everything lives in the experiment folder::

    <out>/slurm/jobs.json     jobs submitted and not yet seen to end: job id -> run keys
    <out>/slurm/staged/       finished runs handed over by jobs, not yet recorded
    <out>/slurm/logs/         submitit's job scripts and pickles, Slurm's stdout / stderr per job

Guarantees, as for local execution:

* Results never depend on the backend: every run is the same ``(config, seed)``, and the
  store's readers sort by run key.
* A job stopped by Slurm (``scancel``, time limit, preemption) writes the runs it has finished
  on SIGTERM before it exits; a job killed outright loses at most ``flush_seconds`` of runs.
  Runs of a job that ended without them are reported, and running the same command again
  resubmits exactly those.
* The submitting process can exit at any time (Ctrl-C, logout): jobs keep running and handing
  over runs; running the same command again records what they finished, waits for the jobs
  still queued or running (listed in ``jobs.json``) and submits only runs in no job.
* A run handed over twice (a job requeued by Slurm after a node failure) is recorded once.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import pickle
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from functools import partial
from itertools import islice
from pathlib import Path

from tqdm.auto import tqdm  # a widget in notebooks, a text bar in terminals

from sim.parameters import ConfigError

from .cli import EnvironmentFailure
from .execution import Evaluate, RunRecord, open_backend, run_one
from .plan import RunTask
from .spec import ExecutionConfig
from .store import ExperimentStore, write_atomic, write_json

SLURM_DIR = "slurm"
STAGED = "staged"  # finished runs handed over by jobs, waiting to be recorded
LOGS = "logs"  # submitit's folder: job scripts, pickles, Slurm's stdout / stderr
JOBS = "jobs.json"  # jobs in flight: job id -> keys of its runs
SLURM_COMMANDS = ("sbatch", "squeue", "sinfo", "scontrol")
LISTED_JOBS = 5  # jobs named in the message about runs not done
COLLECT_SECONDS = 1.0  # how often handed-over runs are recorded and finished jobs noticed


class RunsNotDone(EnvironmentFailure):
    """Some Slurm jobs ended before finishing their runs; the same command resubmits them."""


# -- checks before any submission -----------------------------------------------------------

def check_slurm(execution: ExecutionConfig) -> None:
    """Fail before any submission on a setting Slurm would refuse, naming it."""
    time_limit_minutes(execution.time)
    for name in ("cpus_per_task", "runs_per_job", "max_array_size", "array_parallelism"):
        value = getattr(execution, name)
        if value is not None and value < 1:
            raise ConfigError(f"execution.{name}={value!r} must be >= 1")
    if execution.memory is not None and not re.fullmatch(r"\d+[KMGT]?", str(execution.memory)):
        raise ConfigError(f"execution.memory={execution.memory!r} is not a memory size "
                          "as sbatch --mem takes it, e.g. 4G or 500M")
    try:
        import submitit  # noqa: F401
    except ImportError as error:
        raise ConfigError("execution.backend=slurm needs submitit: "
                          "pip install -e '.[slurm]'") from error
    missing = [command for command in SLURM_COMMANDS if shutil.which(command) is None]
    if missing:
        raise ConfigError(f"execution.backend=slurm needs Slurm's {', '.join(missing)} on PATH; "
                          "run on the cluster's login node (docs/SLURM.md)")
    listed = _slurm_output(["sinfo", "-h", "-o", "%P"]).split()  # the default ends with "*"
    partitions = [p.rstrip("*") for p in listed]
    if execution.partition is not None and execution.partition not in partitions:
        raise ConfigError(f"execution.partition={execution.partition!r} is not a partition of "
                          f"this cluster (sinfo lists: {', '.join(partitions) or 'none'})")
    if execution.partition is None and not any(p.endswith("*") for p in listed):
        raise ConfigError("execution.partition is unset and this cluster has no default "
                          f"partition; choose one of: {', '.join(partitions) or 'none'}")
    largest = _max_array_size()
    if largest is not None and execution.max_array_size > largest:
        raise ConfigError(f"execution.max_array_size={execution.max_array_size} is more than "
                          f"this cluster's MaxArraySize ({largest})")


def time_limit_minutes(limit: str | int) -> int:
    """Whole minutes (rounded up) of a time limit in a format ``sbatch --time`` takes:
    ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M`` or ``D-H:M:S``."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", str(limit).strip())
    if match is None:
        raise ConfigError(f"execution.time={limit!r} is not a time limit as sbatch takes it "
                          "(minutes, H:M:S or D-H:M:S)")
    days, first, second, third = (int(part) if part else None for part in match.groups())
    if days is not None:
        seconds = days * 86400 + first * 3600 + (second or 0) * 60 + (third or 0)
    elif third is not None:
        seconds = first * 3600 + second * 60 + third
    else:
        seconds = first * 60 + (second or 0)
    if seconds < 60:
        raise ConfigError(f"execution.time={limit!r} is under Slurm's smallest limit, one minute")
    return math.ceil(seconds / 60)


def _slurm_output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True,
                              timeout=60).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        detail = (getattr(error, "stderr", "") or "").strip().splitlines()
        raise ConfigError(f"{' '.join(command)} failed ({detail[-1] if detail else error}); "
                          "is the Slurm controller reachable?") from None


def _max_array_size() -> int | None:
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", _slurm_output(["scontrol", "show", "config"]),
                      re.MULTILINE)
    return int(match.group(1)) if match else None


# -- the submitting process -----------------------------------------------------------------

def execute_on_slurm(tasks: Iterable[RunTask], evaluate: Evaluate, store: ExperimentStore,
                     execution: ExecutionConfig, total: int, description: str = "runs",
                     retry_failed: bool = False) -> dict:
    """Submit every run ``store`` has not recorded (or recorded as failed, with
    ``retry_failed``) and no queued job holds; record runs as jobs hand them over; return when
    every job has ended (see the module docstring).

    Raises :class:`RunsNotDone` when jobs ended with runs not done.
    """
    check_slurm(execution)
    start = time.perf_counter()
    folder = store.root.resolve() / SLURM_DIR
    collector = _Collector(store, folder / STAGED, execution.batch_size, retry_failed)
    skipped = len(collector.recorded)
    progress = tqdm(total=total, initial=skipped, desc=description, unit="run", smoothing=0.1,
                    disable=not execution.progress, dynamic_ncols=True)
    progress.update(collector.collect())  # handed over by jobs while no command was running
    jobs = _read_jobs(folder)
    queued = _queued_job_ids()
    jobs = {job: keys for job, keys in jobs.items() if job in queued}  # the others have ended
    in_flight = {key for keys in jobs.values() for key in keys}
    todo = (task for task in tasks
            if task.key not in collector.recorded and task.key not in in_flight)
    waited = dict(jobs)  # jobs of an earlier session still queued, and those submitted now
    submitted = 0
    try:
        for job, keys in _submit(todo, evaluate, folder, execution, description, retry_failed):
            waited[job] = jobs[job] = keys
            submitted += 1
            _write_jobs(folder, jobs)
        progress.update(collector.collect())
        last_squeue = time.monotonic()
        while jobs:
            time.sleep(min(COLLECT_SECONDS, execution.poll_seconds))
            progress.update(collector.collect())
            if collector.failed:
                progress.set_postfix(failed=collector.failed, refresh=False)
            # a job that returned has written submitit's result file; the queue is asked less
            # often (it is shared with every user) and catches jobs that were stopped
            ended = {job for job in jobs if _returned(folder / LOGS, job)}
            if time.monotonic() - last_squeue >= execution.poll_seconds:
                queued = _queued_job_ids(default=set(jobs))
                ended |= {job for job in jobs if job not in queued}
                last_squeue = time.monotonic()
            if ended:
                progress.update(collector.collect())  # what they handed over before ending
                jobs = {job: keys for job, keys in jobs.items() if job not in ended}
                _write_jobs(folder, jobs)
        progress.update(collector.collect())
    except KeyboardInterrupt:
        progress.update(collector.collect())
        if jobs:
            print(f"\ninterrupted: {len(jobs)} Slurm job(s) keep running; run the same command "
                  "again to record their runs, or cancel them with scancel "
                  f"{' '.join(sorted({job.split('_')[0] for job in jobs}))}", file=sys.stderr)
        raise
    finally:
        progress.close()
    not_done = {job: [key for key in keys if key not in collector.recorded]
                for job, keys in waited.items()}
    not_done = {job: keys for job, keys in not_done.items() if keys}
    if not_done:
        raise RunsNotDone(_not_done_message(not_done, folder / LOGS))
    return {"runs_done": collector.done, "runs_failed": collector.failed,
            "runs_skipped": skipped, "wall_s": round(time.perf_counter() - start, 3),
            "backend": "slurm", "workers": execution.cpus_per_task,
            "jobs": submitted, "runs_per_job": execution.runs_per_job}


def _submit(todo: Iterator[RunTask], evaluate: Evaluate, folder: Path, execution: ExecutionConfig,
            name: str, retry_failed: bool = False) -> Iterator[tuple[str, list[str]]]:
    """Submit ``todo`` as job arrays; yield each job's id and run keys once it is queued."""
    import submitit

    executor = submitit.SlurmExecutor(folder=folder / LOGS, max_num_timeout=0)
    minutes = time_limit_minutes(execution.time)
    project = Path(__file__).resolve().parents[1]
    extra = {"mem": execution.memory} if execution.memory else {}
    if execution.account:
        extra["account"] = execution.account
    executor.update_parameters(
        job_name=name, partition=execution.partition, time=minutes,
        cpus_per_task=execution.cpus_per_task,
        array_parallelism=execution.array_parallelism or execution.max_array_size,
        # jobs import this source tree, whatever directory the command was run from
        setup=[*execution.setup, f"export PYTHONPATH={shlex.quote(str(project))}"
                                 "${PYTHONPATH:+:$PYTHONPATH}"],
        # SIGUSR2 warns before the time limit; jobs ignore it and stop on SIGTERM instead
        signal_delay_s=min(90, 6 * minutes), additional_parameters=extra)
    run_batch = partial(run_job, evaluate=evaluate, root=str(folder.parent),
                        cpus=execution.cpus_per_task, batch_size=execution.batch_size,
                        flush_seconds=execution.flush_seconds, retry_failed=retry_failed)
    batches = _chunks(todo, execution.runs_per_job)
    while array := list(islice(batches, execution.max_array_size)):
        try:
            jobs = executor.map_array(run_batch, array)
        except Exception as error:  # noqa: BLE001 - sbatch's refusal, whatever submitit wraps it in
            detail = [line for line in str(error).splitlines() if line.strip()]
            raise ConfigError(f"sbatch refused the job array ({detail[-1] if detail else error}); "
                              "jobs submitted before it keep running: fix the setting and run "
                              "the same command again") from error
        for job, batch in zip(jobs, array):
            yield job.job_id, [task.key for task in batch]


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    items = iter(items)
    while chunk := list(islice(items, size)):
        yield chunk


def _queued_job_ids(default: set[str] | None = None) -> set[str]:
    """Ids of this user's jobs Slurm still holds (queued, running, requeued, completing), one
    per array task; ``default`` when squeue fails (a busy controller is no reason to give up)."""
    try:
        return set(_slurm_output(["squeue", "-h", "-r", "-o", "%i", "-u", getpass.getuser()])
                   .split())
    except ConfigError:
        if default is None:
            raise
        return default


def _returned(logs: Path, job: str) -> bool:
    """Whether the job has returned: submitit wrote its result file after its submission
    (an older file is left by another job of the same id, before the cluster was reset)."""
    result, submitted = logs / f"{job}_0_result.pkl", logs / f"{job}_submitted.pkl"
    try:
        return result.stat().st_mtime >= submitted.stat().st_mtime
    except FileNotFoundError:
        return False


def _read_jobs(folder: Path) -> dict[str, list[str]]:
    path = folder / JOBS
    return json.loads(path.read_text()) if path.exists() else {}


def _write_jobs(folder: Path, jobs: dict[str, list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / JOBS, jobs)


def _not_done_message(not_done: dict[str, list[str]], logs: Path) -> str:
    runs = sum(len(keys) for keys in not_done.values())
    named = [f"{job} ({len(keys)} runs; {_why_job_ended(logs, job)})"
             for job, keys in list(not_done.items())[:LISTED_JOBS]]
    more = f" and {len(not_done) - LISTED_JOBS} more" if len(not_done) > LISTED_JOBS else ""
    return (f"{runs} run(s) not done: Slurm job(s) {', '.join(named)}{more} ended before finishing "
            f"them (logs in {logs}); run the same command again to resubmit them")


def _why_job_ended(logs: Path, job: str) -> str:
    """Slurm's own line about the job's end (e.g. CANCELLED AT ... DUE TO TIME LIMIT), if any."""
    log = logs / f"{job}_0_log.err"
    text = log.read_text(errors="replace") if log.exists() else ""
    ends = re.findall(r"\*\*\* (.+?) \*\*\*", text)
    return ends[-1] if ends else "no reason in its log: killed, or its node was lost"


class _Collector:
    """Records the runs jobs hand over (``staged/*.pkl``) in the store, each run once."""

    def __init__(self, store: ExperimentStore, staged: Path, batch_size: int,
                 retry_failed: bool = False) -> None:
        self.store, self.staged, self.batch_size = store, staged, batch_size
        self.recorded = store.finished_keys(retry_failed=retry_failed)
        self.done = self.failed = 0

    def collect(self) -> int:
        """Record every staged run not recorded yet, then delete the staged files; return how
        many runs were recorded. A kill in between only leaves files whose runs are skipped."""
        paths = sorted(self.staged.glob("*.pkl"))  # hidden .*.tmp files are still being written
        records: list[RunRecord] = []
        for path in paths:
            for record in pickle.loads(path.read_bytes()):
                if record.key not in self.recorded:
                    self.recorded.add(record.key)
                    records.append(record)
        for batch in _chunks(records, self.batch_size):
            self.store.append(batch)
        for path in paths:
            path.unlink()
        self.done += len(records)
        self.failed += sum(record.error_type is not None for record in records)
        return len(records)


# -- inside a job -----------------------------------------------------------------------------

def run_job(tasks: list[RunTask], evaluate: Evaluate, root: str, cpus: int, batch_size: int,
            flush_seconds: float, retry_failed: bool = False) -> int:
    """Run one array task's runs on its ``cpus`` cores; hand finished runs to the submitting
    process as files in ``<root>/slurm/staged/``, at least every ``batch_size`` runs or
    ``flush_seconds``, and on SIGTERM (scancel, time limit, preemption) before exiting at once.
    Runs already recorded or handed over (a job requeued after a node failure) are skipped.
    Returns the number of runs done."""
    job = _job_id()
    staged = Path(root) / SLURM_DIR / STAGED
    staged.mkdir(parents=True, exist_ok=True)
    done = ExperimentStore(Path(root)).finished_keys(retry_failed=retry_failed)
    for path in staged.glob(f"{job}-*.pkl"):
        done.update(record.key for record in pickle.loads(path.read_bytes()))
    todo = [task for task in tasks if task.key not in done]
    handover = _Handover(staged, f"{job}-{uuid.uuid4().hex[:8]}")  # unique per (re)start

    def stop(signum, frame) -> None:
        # Exit from the handler: an exception could be swallowed (e.g. by logging) and the
        # runs in progress may take longer than Slurm waits before SIGKILL.
        handed = handover.flush()
        print(f"stopped by {signal.Signals(signum).name}: handed over {handed} finished run(s)",
              file=sys.stderr, flush=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)  # submitit's early warning; SIGTERM stops us
    inner = ExecutionConfig(backend="local" if cpus > 1 else "serial", workers=cpus)
    last = time.perf_counter()
    with open_backend(inner) as imap_unordered:
        try:  # hand over before the pool shuts down: that waits for runs in progress
            for record in imap_unordered(partial(run_one, evaluate), todo):
                handover.batch.append(record)
                if len(handover.batch) >= batch_size or \
                        time.perf_counter() - last >= flush_seconds:
                    handover.flush()
                    last = time.perf_counter()
        finally:
            handover.flush()
    return len(todo)


class _Handover:
    """A job's finished runs not yet handed over, and how to hand them over (atomically)."""

    def __init__(self, staged: Path, prefix: str) -> None:
        self.staged, self.prefix = staged, prefix
        self.batch: list[RunRecord] = []
        self.parts = 0

    def flush(self) -> int:
        """Write the batch as ``staged/<prefix>-NNNNN.pkl``; return how many runs it held."""
        batch, self.batch = self.batch, []
        if batch:
            path = self.staged / f"{self.prefix}-{self.parts:05d}.pkl"
            self.parts += 1
            data = pickle.dumps(batch)
            write_atomic(path, lambda tmp: tmp.write_bytes(data))
        return len(batch)


def _job_id() -> str:
    """This job's id as submitit and squeue write it: ``<array job>_<task>`` or ``<job>``."""
    array_job, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array_job}_{task}" if array_job and task else os.environ.get("SLURM_JOB_ID", "local")
