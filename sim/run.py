"""The one function that links the model to experiments: run one configuration with one seed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from . import outcomes
from .model import SchoolSystemModel
from .state import TERMS_PER_YEAR
from .parameters import SimConfig, to_dict, validate
from .world import build_world


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


def run(config: SimConfig, seed: int | None = None, progress: bool | None = None,
        on_step: Callable[[int, int], None] | None = None) -> Results:
    """Run ``config`` for ``config.run.years`` years with ``seed`` (default ``config.run.seed``).

    Validates the whole configuration first, so a bad value fails before any work. Returns the
    results in memory; nothing is written (``Results.write`` does that).

    ``on_step(done, total)``, if given, is called after the world is built (``done=0``) and after
    every simulated term, for progress displays (the explorer). To cancel a run, raise from it:
    the exception propagates and nothing is returned. It only observes; results do not depend
    on it.
    """
    validate(config)
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
    terms = range(steps)
    if show:
        from tqdm import tqdm
        terms = tqdm(terms, desc=f"{world.name} seed {seed}", unit="term", leave=False)
    if on_step is not None:
        on_step(0, steps)
    for done in terms:
        model.step()
        if on_step is not None:
            on_step(done + 1, steps)
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
