"""The one function that links the model to experiments: run one configuration with one seed."""

from __future__ import annotations

import logging
import numbers
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

    def write(self, out_dir: str, overwrite: bool = False, figures: bool = True) -> None:
        """Write the results files to ``out_dir`` atomically (see :mod:`sim.results`)."""
        from .results import write_results
        write_results(self, out_dir, overwrite=overwrite, figures=figures)


RUN_STAGES = ("build_world", "initialise", "simulate", "collect")


def run(config: SimConfig, seed: int | None = None, progress: bool | None = None,
        on_progress: Callable[[str, int, int], None] | None = None) -> Results:
    """Run ``config`` for ``config.run.years`` years with ``seed`` (default ``config.run.seed``).

    Validates the whole configuration first, so a bad value fails before any work. Returns the
    results in memory; nothing is written (``Results.write`` does that).

    ``on_progress(stage, done, total)``, if given, is called as each stage of
    :data:`RUN_STAGES` starts (``done=0``) and after every simulated term (``stage="simulate"``,
    ``done`` terms of ``total``), for progress displays such as the explorer's. To cancel a run,
    raise from it: the exception propagates and nothing is returned. It only observes: results
    do not depend on it.
    """
    def report(stage: str, done: int = 0) -> None:
        if on_progress is not None:
            on_progress(stage, done, steps)

    validate(config)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2**32):
        raise ConfigError(f"seed={seed!r} must be a whole number in [0, 2**32)")
    seed = config.run.seed if seed is None else int(seed)
    if seed != config.run.seed:
        config = replace(config, run=replace(config.run, seed=seed))
    timings: dict[str, float] = {}
    steps = config.run.years * TERMS_PER_YEAR
    report("build_world")
    start = time.perf_counter()
    world = cached_world(config.world)  # built once per process, copied per run
    timings["build_world_s"] = time.perf_counter() - start
    log.debug("world %s: %d schools, built in %.1f s", world.name, world.n_schools,
              timings["build_world_s"])
    report_load(world)

    report("initialise")
    start = time.perf_counter()
    model = SchoolSystemModel(config, seed=seed, world=world)
    timings["initialise_s"] = time.perf_counter() - start

    report("simulate")
    start = time.perf_counter()
    show = config.run.progress if progress is None else progress
    terms = range(steps)
    if show:
        from tqdm.auto import tqdm  # a widget in notebooks, a text bar in terminals
        terms = tqdm(terms, desc=f"{world.name} seed {seed}", unit="term", leave=False)
    for done in terms:
        model.step()
        report("simulate", done + 1)
    timings["simulate_s"] = time.perf_counter() - start

    report("collect", steps)
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
    did not know, as counted in its ``load_report``."""
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
    source = str(report.get("file", world.name))
    if parts and source not in _reported_loads:
        _reported_loads.add(source)
        log.warning("%s: loading %s: %s", world.name, source, "; ".join(parts))
    if report:
        log.debug("world %s load report: %s", world.name, report)
