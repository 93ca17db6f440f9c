"""Which runs an experiment is made of: stable run keys, configurations and seeds.

Replication seeds come from the experiment seed alone
(``numpy.random.SeedSequence(seed).spawn(n)``), and every arm or sample point uses the same
seeds: common random numbers, so differences between arms are not drowned by seed noise.
A run key (``<arm>/r<replication>`` or ``s<sample>/r<replication>``) identifies a run for ever,
so an interrupted experiment can skip the runs it has finished.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.parameters import SimConfig

from .spec import ExperimentSpec, with_behaviour_values, with_overrides


@dataclass(frozen=True)
class RunTask:
    """One run: its key, the labels stored with its outputs, its configuration and seed."""

    key: str
    labels: dict[str, Any]  # e.g. {"arm": "nearest", "replication": 2}
    config: Any  # a SimConfig for the model; anything the evaluate function accepts
    seed: int


def replication_seeds(experiment_seed: int, replications: int) -> list[int]:
    """Independent, reproducible seeds for replications 0..n-1 (a prefix of a longer list)."""
    children = np.random.SeedSequence(experiment_seed).spawn(replications)
    return [int(child.generate_state(1)[0]) for child in children]


def run_config(config: SimConfig) -> SimConfig:
    """A configuration as a worker runs it: quiet, with no per-run files or invariant checks."""
    return replace(config, run=replace(config.run, progress=False, figures=False))


def sweep_tasks(spec: ExperimentSpec) -> Iterator[RunTask]:
    """Every arm x replication, all arms sharing the replication seeds.

    Labels carry the arm, the replication and the arm's value of every lever any arm sets
    (column = the lever's dotted path), so the run table says what each run changed.
    With a parameter ensemble, replication ``r`` runs ensemble member ``r mod K`` (label
    ``member``) in every arm: replications then sample parameter uncertainty as well as seed
    noise, and arms stay paired (same member, same seed).
    """
    seeds = replication_seeds(spec.experiment.seed, spec.experiment.replications)
    levers = list(dict.fromkeys(path for overrides in spec.arms.values() for path in overrides))
    for arm, overrides in spec.arms.items():
        config = run_config(with_overrides(spec.base, overrides))
        values = {path: lever_value(config, path) for path in levers}
        members = [with_behaviour_values(config, member) for member in spec.ensemble]
        for replication, seed in enumerate(seeds):
            labels = {"arm": arm, "replication": replication, **values}
            run = config
            if members:
                labels["member"] = replication % len(members)
                run = members[labels["member"]]
            yield RunTask(key=f"{arm}/r{replication:04d}", labels=labels, config=run, seed=seed)


def lever_value(config: SimConfig, path: str) -> bool | int | float | str:
    """The value of a dotted configuration path; lists and tuples as JSON text (one type per
    column, and never mistaken for a per-step series)."""
    value: Any = config
    for key in path.split("."):
        value = getattr(value, key)
    return json.dumps(list(value)) if isinstance(value, (list, tuple)) else value


def sample_tasks(spec: ExperimentSpec, sample: pd.DataFrame,
                 make_config: Callable[[dict[str, float]], Any]) -> Iterator[RunTask]:
    """Every sample point x replication; ``make_config`` turns a point's values into a config.

    Replications use the same seeds at every point, so differences between points come from
    the parameters, not from the seeds.
    """
    seeds = replication_seeds(spec.experiment.seed, spec.experiment.replications)
    names = [u.name for u in spec.uncertainties]
    for index, row in enumerate(sample[names].itertuples(index=False, name=None)):
        config = make_config(dict(zip(names, map(float, row))))
        for replication, seed in enumerate(seeds):
            yield RunTask(key=f"s{index:06d}/r{replication:04d}",
                          labels={"sample": index, "replication": replication},
                          config=config, seed=seed)
