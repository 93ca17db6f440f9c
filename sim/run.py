"""The one function that links the model to experiments: run one configuration with one seed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import pandas as pd

from . import outcomes
from .model import SchoolSystemModel
from .state import TERMS_PER_YEAR
from .parameters import SimConfig, to_dict, validate
from .world import World, build_world

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

    def scalar_outcomes(self) -> dict[str, float]:
        """Headline scalar measures (see :func:`sim.outcomes.scalar_outcomes`)."""
        return outcomes.scalar_outcomes(self.timeseries, self.events)

    def write(self, out_dir: str, overwrite: bool = False, figures: bool = True) -> None:
        """Write the results files to ``out_dir`` atomically (see :mod:`sim.results`)."""
        from .results import write_results
        write_results(self, out_dir, overwrite=overwrite, figures=figures)


def run(config: SimConfig, seed: int | None = None, progress: bool | None = None) -> Results:
    """Run ``config`` for ``config.run.years`` years with ``seed`` (default ``config.run.seed``).

    Validates the whole configuration first, so a bad value fails before any work. Returns the
    results in memory; nothing is written (``Results.write`` does that).
    """
    validate(config)
    seed = config.run.seed if seed is None else int(seed)
    if seed != config.run.seed:
        config = replace(config, run=replace(config.run, seed=seed))
    timings: dict[str, float] = {}
    start = time.perf_counter()
    world = build_world(config.world)
    timings["build_world_s"] = time.perf_counter() - start
    log.debug("world %s: %d schools, built in %.1f s", world.name, world.n_schools,
              timings["build_world_s"])
    _report_load(world)

    start = time.perf_counter()
    model = SchoolSystemModel(config, seed=seed, world=world)
    timings["initialise_s"] = time.perf_counter() - start

    start = time.perf_counter()
    steps = config.run.years * TERMS_PER_YEAR
    show = config.run.progress if progress is None else progress
    if show:
        from tqdm.auto import tqdm  # a widget in notebooks, a text bar in terminals
        for _ in tqdm(range(steps), desc=f"{world.name} seed {seed}", unit="term", leave=False):
            model.step()
    else:
        for _ in range(steps):
            model.step()
    timings["simulate_s"] = time.perf_counter() - start

    start = time.perf_counter()
    events = model.events.frame()
    results = Results(timeseries=model.recorder.frame(events), events=events,
                      schools=outcomes.schools_frame(model),
                      geography=pd.concat(model.recorder.geography, ignore_index=True))
    timings["collect_s"] = time.perf_counter() - start
    results.manifest = {"seed": seed, "config": to_dict(config), "world": world.name,
                        "n_schools": world.n_schools, "steps": steps, "timings_s": timings}
    return results


def _report_load(world: World) -> None:
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
