"""Runs started from the explorer: ``sim.run.run`` for each seed, on a background thread.

A :class:`RunJob` owns one scenario's runs. The interface polls ``progress`` and ``results``
while the job works; a second job can run while the first one's results are on screen, and
``cancel`` stops a job at its next progress report (through ``run``'s ``on_progress`` hook,
which hears from the run at least every ``sim.run.HEARTBEAT_S`` seconds).
The job adds nothing to the model: it calls the same ``run`` as the command line.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field

from sim.parameters import ConfigError, SimConfig
from sim.run import Results, run
from sim.state import TERMS_PER_YEAR


STAGE_TEXT = {"build_world": "building the world", "initialise": "setting up",
              "simulate": "simulating", "collect": "collecting results"}


class RunCancelled(Exception):
    """Raised inside ``run`` (from its ``on_progress`` hook) when the user cancels."""


@dataclass
class RunJob:
    """Run ``config`` once per seed in ``seeds``, one after another, on a daemon thread."""

    config: SimConfig
    seeds: list[int]
    label: str = ""
    results: list[Results] = field(default_factory=list)
    status: str = "waiting"  # waiting | running | done | cancelled | failed
    error: str | None = None
    started_at: float | None = None
    first_result_s: float | None = None  # seconds from start to the first finished seed
    finished_s: float | None = None
    stage: str = ""  # stage of the seed being run (sim.run.RUN_STAGES)
    reports: int = 0  # progress reports heard from ``run`` so far
    last_report_s: float | None = None  # when the latest one came (time.perf_counter)
    stage_started_s: float | None = None  # when the current stage's first one came
    # set when a seed finishes or the job ends, so a watcher need not wait for its next poll
    changed: threading.Event = field(default_factory=threading.Event)
    _done_terms: int = 0
    _cancel: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "RunJob":
        """Start the runs on a background thread and return at once."""
        self.status = "running"
        self.started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name=f"explorer run {self.label}",
                                        daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at the end of the current term; seeds already run are kept."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> "RunJob":
        """Block until the job ends (for scripts and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self

    @property
    def running(self) -> bool:
        """True while the thread is working."""
        return self.status == "running"

    @property
    def progress(self) -> float:
        """Share of all terms of all seeds simulated so far, 0-1."""
        if self.status == "done":
            return 1.0
        seed_terms = self.config.run.years * TERMS_PER_YEAR
        total = seed_terms * len(self.seeds)
        finished = len(self.results) * seed_terms
        return min(1.0, (finished + self._done_terms) / max(total, 1))

    def describe(self) -> str:
        """Status line: seeds done, progress, time."""
        n = len(self.seeds)
        elapsed = (self.finished_s if self.finished_s is not None
                   else time.perf_counter() - (self.started_at or time.perf_counter()))
        if self.status == "running":
            stage = STAGE_TEXT.get(self.stage, self.stage)
            if self.stage == "simulate":
                stage += f" term {self._done_terms} of {self.config.run.years * TERMS_PER_YEAR}"
            elif self.stage_started_s is not None:  # one long call: how long, as last reported
                stage += f" for {max(self.last_report_s - self.stage_started_s, 0):.1f} s"
            return (f"running: seed {min(len(self.results) + 1, n)} of {n}, {stage}; "
                    f"{100 * self.progress:.0f}% ({elapsed:.1f} s)")
        if self.status == "done":
            return f"done: {n} seed{'s' if n > 1 else ''} in {elapsed:.1f} s"
        if self.status == "cancelled":
            return f"cancelled after {len(self.results)} of {n} seeds ({elapsed:.1f} s)"
        if self.status == "failed":
            return f"error: {self.error}"
        return self.status

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage != self.stage:
            self.stage_started_s = now
        self.stage, self.last_report_s, self.reports = stage, now, self.reports + 1
        if stage == "simulate":
            self._done_terms = done
        if self._cancel.is_set():
            raise RunCancelled()

    def _work(self) -> None:
        try:
            for seed in self.seeds:
                self._done_terms, self.stage = 0, ""
                result = run(self.config, seed=seed, progress=False, on_progress=self._on_progress)
                self.results = [*self.results, result]  # a new list: readers never see it change
                self.changed.set()
                self._done_terms = 0
                if self.first_result_s is None:
                    self.first_result_s = time.perf_counter() - self.started_at
            self.status = "done"
        except RunCancelled:
            self.status = "cancelled"
        except ConfigError as error:  # e.g. a local authority not in the world
            self.error, self.status = str(error), "failed"
        except Exception as error:  # shown in the page rather than lost in a thread
            self.error = f"{type(error).__name__}: {error}"
            self.status = "failed"
            traceback.print_exc()
        finally:
            self.finished_s = time.perf_counter() - self.started_at
            self.changed.set()
