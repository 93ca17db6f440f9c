"""The one function that links the model to experiments: run one configuration with one seed."""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field, replace

import pandas as pd

from . import outcomes
from .fingerprint import world_inputs
from .model import SchoolSystemModel
from .state import TERMS_PER_YEAR
from .parameters import ConfigError, SimConfig, to_dict, validate
from .world import build_world


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


def run(config: SimConfig, seed: int | None = None, progress: bool | None = None) -> Results:
    """Run ``config`` for ``config.run.years`` years with ``seed`` (default ``config.run.seed``).

    Validates the whole configuration first, so a bad value fails before any work. Returns the
    results in memory; nothing is written (``Results.write`` does that).
    """
    validate(config)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2**32):
        raise ConfigError(f"seed={seed!r} must be a whole number in [0, 2**32)")
    seed = config.run.seed if seed is None else int(seed)
    if seed != config.run.seed:
        config = replace(config, run=replace(config.run, seed=seed))
    timings: dict[str, float] = {}
    start = time.perf_counter()
    world = build_world(config.world)
    timings["build_world_s"] = time.perf_counter() - start

    start = time.perf_counter()
    model = SchoolSystemModel(config, seed=seed, world=world)
    timings["initialise_s"] = time.perf_counter() - start

    start = time.perf_counter()
    steps = config.run.years * TERMS_PER_YEAR
    show = config.run.progress if progress is None else progress
    if show:
        from tqdm import tqdm
        for _ in tqdm(range(steps), desc=f"{world.name} seed {seed}", unit="term", leave=False):
            model.step()
    else:
        for _ in range(steps):
            model.step()
    timings["simulate_s"] = time.perf_counter() - start

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
