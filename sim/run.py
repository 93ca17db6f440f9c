"""The one function that links the model to experiments: run one configuration with one seed."""

from __future__ import annotations

import logging
import numbers
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from . import outcomes
from .fingerprint import world_inputs
from .model import SchoolSystemModel
from .state import TERMS_PER_YEAR
from .parameters import ConfigError, SimConfig, to_dict, validate
from .world import World, cached_world

log = logging.getLogger(__name__)
_reported_loads: set[str] = set()  # input files whose imputations this process has reported


@dataclass
class Results:
    """What one run produces: time series, event log, final school state and a manifest."""

    timeseries: pd.DataFrame
    events: pd.DataFrame
    schools: pd.DataFrame
    geography: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    subgroups: pd.DataFrame | None = None  # scalar outcomes per subgroup unit (sim.subgroups)
    # every inspection classified as supported or not (outcomes.classified_inspections), kept
    # so scalar and subgroup outcomes classify once
    inspections: pd.DataFrame | None = field(default=None, repr=False)

    def scalar_outcomes(self) -> dict[str, float]:
        """Headline scalar measures (see :func:`sim.outcomes.scalar_outcomes`)."""
        return outcomes.scalar_outcomes(self.timeseries, self.events, self.inspections)

    def write(self, out_dir: str, overwrite: bool = False, figures: bool = True,
              more_figures: Callable | None = None) -> None:
        """Write the results files to ``out_dir`` atomically (see :mod:`sim.results`;
        ``more_figures`` draws further figures into the folder being written)."""
        from .results import write_results
        write_results(self, out_dir, overwrite=overwrite, figures=figures,
                      more_figures=more_figures)


RUN_STAGES = ("build_world", "initialise", "simulate", "collect")
HEARTBEAT_S = 0.25  # the longest a progress display waits to hear from a run (a quarter of
# the issue-10 target of one update a second: a loaded machine can hold the watchdog back)


class _Progress:
    """``run``'s progress reports to an ``on_progress(stage, done, total)`` callback.

    The run reports as it goes (:meth:`__call__`); a watchdog thread repeats the latest report
    whenever the run has said nothing for :data:`HEARTBEAT_S`, so a stage that is one long call
    (loading a 20,000-school world, creating its agents) still reports at least that often. An
    exception the callback raises on the watchdog thread (a cancel) is raised by the run's next
    report. Reports never touch the model, so results do not depend on them.
    """

    def __init__(self, on_progress: Callable[[str, int, int], None]) -> None:
        self.on_progress = on_progress
        self.latest: tuple[str, int, int] | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()  # one call at a time; `latest` and its time change together
        self._last_s = time.perf_counter()
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="run progress", daemon=True)

    def __enter__(self) -> "_Progress":
        self._watchdog.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._watchdog.join()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.error is not None:
            raise self.error
        with self._lock:
            self.latest, self._last_s = (stage, done, total), time.perf_counter()
            self.on_progress(stage, done, total)

    def _watch(self) -> None:
        while not self._stop.wait(HEARTBEAT_S / 5):
            with self._lock:
                if self.latest is None or time.perf_counter() - self._last_s < HEARTBEAT_S:
                    continue
                self._last_s = time.perf_counter()
                try:
                    self.on_progress(*self.latest)
                except BaseException as error:  # e.g. a cancel: raised by the run's next report
                    self.error = error
                    return


def run(config: SimConfig, seed: int | None = None, progress: bool | None = None,
        on_progress: Callable[[str, int, int], None] | None = None) -> Results:
    """Run ``config`` for ``config.run.years`` years with ``seed`` (default ``config.run.seed``).

    Validates the whole configuration first, so a bad value fails before any work. Returns the
    results in memory; nothing is written (``Results.write`` does that).

    ``on_progress(stage, done, total)``, if given, hears how the run is going, for progress
    displays such as the explorer's: ``done`` of ``total`` units of a stage of
    :data:`RUN_STAGES`: terms while simulating (0 as it starts, then after every term), 0 of 1
    as each of the other stages (one long call each) starts. When the run has said nothing for
    :data:`HEARTBEAT_S` seconds the latest report is repeated from a watchdog thread, so it is
    called at least that often. To cancel a run, raise from it: the exception propagates (from
    the next report, if raised on the watchdog thread) and nothing is returned. It only
    observes: results do not depend on it.
    """
    if on_progress is None:
        return _run(config, seed, progress, lambda stage, done, total: None)
    with _Progress(on_progress) as report:
        return _run(config, seed, progress, report)


def _run(config: SimConfig, seed: int | None, progress: bool | None,
         report: Callable[[str, int, int], None]) -> Results:
    validate(config)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2**32):
        raise ConfigError(f"seed={seed!r} must be a whole number in [0, 2**32)")
    seed = config.run.seed if seed is None else int(seed)
    if seed != config.run.seed:
        config = replace(config, run=replace(config.run, seed=seed))
    timings: dict[str, float] = {}
    steps = config.run.years * TERMS_PER_YEAR
    report("build_world", 0, 1)
    start = time.perf_counter()
    world = cached_world(config.world)  # built once per process, copied per run
    timings["build_world_s"] = time.perf_counter() - start
    log.debug("world %s: %d schools, built in %.1f s", world.name, world.n_schools,
              timings["build_world_s"])
    report_load(world)

    report("initialise", 0, 1)
    start = time.perf_counter()
    model = SchoolSystemModel(config, seed=seed, world=world)
    timings["initialise_s"] = time.perf_counter() - start

    report("simulate", 0, steps)
    start = time.perf_counter()
    show = config.run.progress if progress is None else progress
    terms = range(steps)
    if show:
        from tqdm.auto import tqdm  # a widget in notebooks, a text bar in terminals
        terms = tqdm(terms, desc=f"{world.name} seed {seed}", unit="term", leave=False)
    for done in terms:
        model.step()
        report("simulate", done + 1, steps)
    timings["simulate_s"] = time.perf_counter() - start

    report("collect", 0, 1)
    start = time.perf_counter()
    events = model.events.frame()
    inspections = outcomes.classified_inspections(events)
    results = Results(timeseries=model.recorder.frame(events), events=events,
                      schools=outcomes.schools_frame(model),
                      geography=pd.concat(model.recorder.geography, ignore_index=True),
                      subgroups=outcomes.subgroup_outcomes(model.recorder, events, inspections),
                      inspections=inspections)
    timings["collect_s"] = time.perf_counter() - start
    results.manifest = {"seed": seed, "config": to_dict(config), "world": world.name,
                        "n_schools": world.n_schools, "steps": steps, "timings_s": timings,
                        "input_files": world_inputs(world),
                        "load_report": getattr(world, "load_report", None)}
    return results


def report_load(world: World) -> None:
    """Warn (once per process and input file) about what loading the world imputed, dropped or
    did not know, as counted in its ``load_report``: its one-paragraph ``summary`` (rows read,
    kept, dropped by reason, imputed by column) when it has one."""
    report = world.load_report or {}
    parts = []
    for key, value in report.items():
        if not any(word in key for word in ("imputed", "dropped", "unknown", "skipped")):
            continue
        if isinstance(value, dict):
            counts = ", ".join(f"{name} {n}" for name, n in value.items() if n)
            parts += [f"{key}: {counts}"] if counts else []
        elif value:
            parts.append(f"{key} {value}")
    source = str(report.get("file") or report.get("path") or world.name)
    if parts and source not in _reported_loads:
        _reported_loads.add(source)
        log.warning("%s: loading %s: %s", world.name, source,
                    report.get("summary") or "; ".join(parts))
    if report:
        log.debug("world %s load report: %s", world.name, report)
