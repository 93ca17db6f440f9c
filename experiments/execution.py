"""Running many runs: serially, on local processes, or on a Dask cluster, with a progress bar.

Every backend runs :func:`run_one`, which never raises for a run's own error: the error is
returned as a record and the experiment carries on. Only a bounded number of runs is in
flight at a time and finished runs are written in small batches, so memory stays bounded
however many runs an experiment has, and a kill loses at most one unwritten batch.

Backends (``execution.backend``):

* ``local``: a ``ProcessPoolExecutor`` with ``execution.workers`` processes (all cores when
  unset), forked from a clean server process (see :func:`_worker_context`). Each worker
  starts with the worlds this process has built (the pre-flight checks build them), and
  watches the process that started it and exits when that process is gone, so a killed
  experiment leaves no worker behind (:func:`_start_worker`).
* ``serial``: in this process (debugging, tests, analytic functions).
* ``dask``: an existing Dask scheduler at ``execution.address``, or a ``LocalCluster`` of
  ``execution.workers`` (default 2) worker processes started for the experiment.
* ``slurm``: job arrays on a Slurm cluster (:mod:`experiments.slurm`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from tqdm.auto import tqdm  # a widget in notebooks, a text bar in terminals

from sim.parameters import ConfigError
from sim.results import process_alive
from sim.world import built_worlds, keep_worlds

from .plan import RunTask
from .spec import BACKENDS, ExecutionConfig
from .store import ExperimentStore

Evaluate = Callable[[Any, int], dict]
IN_FLIGHT_PER_WORKER = 4  # enough queued work to keep a worker busy, little memory
SCHEDULER_CHECK_SECONDS = 5  # how long a Dask scheduler's address may take to accept a connection
PARENT_CHECK_SECONDS = 0.5  # how soon a worker notices that the experiment process is gone
PROJECT_PACKAGES = ("experiments", "sim")  # preloaded by the worker server, see _preloaded_modules


@dataclass
class RunRecord:
    """What one run gave: its outputs, or the type and message of the error it raised."""

    key: str
    labels: dict[str, Any]
    seed: int
    outputs: dict[str, Any] | None = None
    error_type: str | None = None
    error_message: str | None = None


def run_one(evaluate: Evaluate, task: RunTask) -> RunRecord:
    """Evaluate one task; an exception from the run becomes an error record, not a crash."""
    try:
        outputs = evaluate(task.config, task.seed)
    except Exception as error:  # noqa: BLE001 - any failure of one run is recorded, see module doc
        return RunRecord(task.key, task.labels, task.seed, error_type=type(error).__name__,
                         error_message=str(error))
    return RunRecord(task.key, task.labels, task.seed, outputs=outputs)


def check_execution(execution: ExecutionConfig) -> None:
    """Fail before any run on an unknown backend or bad setting, naming it."""
    if execution.backend not in BACKENDS:
        hint = " (Ray is not supported; use dask, see docs/EXPERIMENTS.md)" \
            if execution.backend == "ray" else ""
        raise ConfigError(f"execution.backend={execution.backend!r} is not one of "
                          f"{', '.join(BACKENDS)}{hint}")
    if execution.workers is not None and execution.workers < 1:
        raise ConfigError(f"execution.workers={execution.workers!r} must be >= 1")
    if execution.batch_size < 1:
        raise ConfigError(f"execution.batch_size={execution.batch_size!r} must be >= 1")
    if execution.backend == "slurm":
        from .slurm import check_slurm
        check_slurm(execution)


def _check_reachable(address: str) -> None:
    """Fail at once, before an experiment folder is made, when nothing listens at a Dask
    scheduler's ``host:port`` (Dask itself reports it only after its 30 s connect timeout)."""
    parsed = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host = port = None
    if not host or not port:
        return  # not host:port (e.g. inproc://): left to Dask
    try:
        socket.create_connection((host, port), timeout=SCHEDULER_CHECK_SECONDS).close()
    except OSError as error:
        raise ConnectionError(f"execution.address={address}: no Dask scheduler answered "
                              f"({error.strerror or error}); start it, or leave "
                              "execution.address unset for a local cluster") from None


def execute(tasks: Iterable[RunTask], evaluate: Evaluate, store: ExperimentStore,
            execution: ExecutionConfig, total: int, description: str = "runs",
            retry_failed: bool = False) -> dict:
    """Run every task whose key ``store`` has not recorded (or recorded as failed, with
    ``retry_failed``); stream results into ``store``.

    Returns a session record (runs done and failed in this session, wall time, backend).
    Finished runs are written even when the session is interrupted.
    """
    check_execution(execution)
    if execution.backend == "slurm":  # job arrays: see experiments/slurm.py
        from .slurm import execute_on_slurm
        session = execute_on_slurm(tasks, evaluate, store, execution, total, description,
                                   retry_failed)
    else:
        session = _execute_here(tasks, evaluate, store, execution, total, description,
                                retry_failed)
    store.merge_parts()  # so that the summaries read few parts
    return session


def _execute_here(tasks: Iterable[RunTask], evaluate: Evaluate, store: ExperimentStore,
                  execution: ExecutionConfig, total: int, description: str,
                  retry_failed: bool) -> dict:
    """:func:`execute` on this machine's processes, in this process or on Dask."""
    finished = store.finished_keys(retry_failed=retry_failed)
    todo = (task for task in tasks if task.key not in finished)
    batch: list[RunRecord] = []
    done = failed = 0
    start = last_flush = time.perf_counter()
    progress = _progress_bar(execution, total=total, initial=len(finished), description=description)
    try:
        with open_backend(execution) as imap_unordered:
            for record in imap_unordered(partial(run_one, evaluate), todo):
                batch.append(record)
                done += 1
                failed += record.error_type is not None
                progress.update()
                if failed:
                    progress.set_postfix(failed=failed, refresh=False)
                if len(batch) >= execution.batch_size or \
                        time.perf_counter() - last_flush >= execution.flush_seconds:
                    store.append(batch)
                    batch, last_flush = [], time.perf_counter()
    finally:
        if batch:
            store.append(batch)
        progress.close()
    return {"runs_done": done, "runs_failed": failed, "runs_skipped": len(finished),
            "wall_s": round(time.perf_counter() - start, 3), "backend": execution.backend,
            "workers": execution.workers}


def _progress_bar(execution: ExecutionConfig, total: int, initial: int, description: str) -> tqdm:
    """A tqdm bar of runs done, with rate and time left (silent when progress is off)."""
    return tqdm(total=total, initial=initial, desc=description, unit="run", smoothing=0.1,
                disable=not execution.progress, dynamic_ncols=True)


def start_workers(execution: ExecutionConfig) -> None:
    """Start the local backend's worker server now, in its own process; or check that the Dask
    scheduler at ``execution.address`` answers. Called when an experiment starts, before its
    checks and before its folder is made.

    The server imports the model and this project's modules (about 1.5 CPU-seconds, see
    :func:`_preloaded_modules`); started before the experiment's pre-flight checks, that
    import runs beside them on another core instead of delaying the first run (measured by
    bench/bench_slurm.py). Other backends start their workers when the runs are dispatched.
    """
    if execution.backend == "local":
        _worker_context()
        multiprocessing.forkserver.ensure_running()
    elif execution.backend == "dask" and execution.address:
        _check_reachable(execution.address)


@contextmanager
def open_backend(execution: ExecutionConfig) -> Iterator[Callable[[Callable, Iterable], Iterator]]:
    """Start the chosen backend; yield ``imap_unordered(fn, items)`` running on it."""
    if execution.backend == "serial":
        yield map
    elif execution.backend == "local":
        workers = execution.workers or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context(),
                                 initializer=_start_worker,
                                 initargs=(os.getpid(), built_worlds())) as pool:
            try:
                yield partial(_windowed_futures, pool.submit, window=workers * IN_FLIGHT_PER_WORKER)
            finally:
                # on interruption, drop queued runs instead of finishing them before exiting
                pool.shutdown(wait=True, cancel_futures=True)
    else:
        with _dask_client(execution) as client:
            window = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
            yield partial(_dask_as_completed, client, window=window)


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a fresh server process that has imported the model once.

    Safer than "fork" (this process has threads: pyarrow, tqdm) and much faster to start than
    "spawn", where every worker imports numpy, pandas and Mesa itself.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_preloaded_modules())
    return context


def _preloaded_modules() -> list[str]:
    """Modules the worker server imports once, so that no worker imports them itself.

    Python 3.12's forkserver silently skips its ``"__main__"`` preload (it looks for a key its
    own preparation data does not have), so each worker used to import what the command's main
    module imports (Hydra, scipy, pyarrow, matplotlib: 1.3-1.7 CPU seconds a worker, measured
    by bench/bench_slurm.py). Instead the server imports the model function and every module of
    this project the command has imported, which pull in the same libraries; a worker then only
    re-runs the main module's own lines.
    """
    ours = sorted(name for name, module in list(sys.modules.items())
                  if name.partition(".")[0] in PROJECT_PACKAGES and module is not None)
    return list(dict.fromkeys(["experiments.model_function", *ours]))


def _start_worker(parent_pid: int, worlds: list) -> None:
    """In a new worker: keep the ``worlds`` the experiment process built (copying one costs
    about a thousandth of building it), and exit when that process is gone."""
    keep_worlds(worlds)
    _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int) -> None:
    """In a worker: exit as soon as ``parent_pid`` (the experiment process) is gone.

    A SIGKILLed parent cannot stop its pool, and the workers, blocked on a queue that other
    workers also hold open, would otherwise wait for ever (holding their memory).
    """
    def watch() -> None:
        while process_alive(parent_pid):
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _windowed_futures(submit: Callable, fn: Callable, items: Iterable, window: int) -> Iterator:
    """Results of ``fn`` over ``items`` as they complete, with at most ``window`` submitted."""
    items = iter(items)
    pending = {submit(fn, item) for item in islice(items, window)}
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()
        pending.update(submit(fn, item) for item in islice(items, len(done)))


@contextmanager
def _dask_client(execution: ExecutionConfig):
    """A client of the scheduler at ``execution.address``, or of a new local cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise ConfigError("execution.backend=dask needs dask[distributed]: "
                          "pip install -e '.[distributed]'") from error
    if execution.address:
        try:
            client = Client(execution.address)
        except (OSError, TimeoutError) as error:
            raise ConnectionError(f"execution.address={execution.address}: no Dask scheduler "
                                  f"answered ({error}); start it, or leave execution.address "
                                  "unset for a local cluster") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=execution.workers or 2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _dask_as_completed(client, fn: Callable, items: Iterable, window: int) -> Iterator:
    """Like :func:`_windowed_futures`, on Dask futures."""
    from distributed import as_completed
    items = iter(items)
    running = as_completed([client.submit(fn, item, pure=False) for item in islice(items, window)])
    for future in running:
        yield future.result()
        future.release()
        for item in islice(items, 1):
            running.add(client.submit(fn, item, pure=False))
