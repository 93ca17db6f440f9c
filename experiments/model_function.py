"""The model as experiments see it: a function from (configuration, seed) to named outputs.

An evaluate function returns a mapping of output names to values: a float is a scalar outcome
(summarised across replications, analysed for sensitivity), a 1-D array is a per-step series
(index = step) kept for figures over time. Sweeps and sensitivity analysis take any such
function, so an analytic test function goes through the same pipeline as the model.

The model's outputs: every scalar outcome for the whole world (``share_good_or_outstanding``),
for every subgroup (``share_good_or_outstanding@rural``, ``...@North East``; see
``sim.subgroups``), ``LA_OUTCOMES`` per local authority (``...@la:<name>``), and the national
series (``..._by_step``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import outcomes
from sim.outcomes import SCALAR_OUTCOMES  # noqa: F401  (re-exported: the names experiments accept)
from sim.parameters import SimConfig
from sim.run import run
from sim.subgroups import LA_OUTCOMES, LA_PREFIX, output_name

SERIES_SUFFIX = "_by_step"  # names of per-step series end with this
# the outcomes sim.outcomes.national_series records per step (tests check the two agree)
NATIONAL_SERIES = ("share_good_or_outstanding", "share_inadequate", "acting_head_share",
                   "mean_effectiveness", "mean_gap")


EXTRA_OUTCOMES: list[str] = []  # outcome names added by user evaluate functions (register_outcome)


def register_outcome(*names: str) -> None:
    """Let experiments name outcomes that a custom evaluate function adds (see the
    ``evaluate=`` hook in docs/EXPERIMENTS.md); call before composing the experiment."""
    EXTRA_OUTCOMES.extend(name for name in names if name not in EXTRA_OUTCOMES)


def evaluate_model(config: SimConfig, seed: int) -> dict[str, float | np.ndarray]:
    """Run the model once; return its scalar outcomes and national per-step series."""
    return model_outputs(run(config, seed=seed, progress=False))


def model_outputs(results) -> dict[str, float | np.ndarray]:
    """The standard outputs of one run's results: scalar outcomes for the world, for each
    subgroup and local authority, and the national series (for custom evaluate functions to
    extend)."""
    outputs: dict[str, float | np.ndarray] = dict(results.scalar_outcomes())
    outputs.update(subgroup_outputs(results.subgroups))
    outputs.update(national_series(results.timeseries))
    return outputs


def subgroup_outputs(table: pd.DataFrame) -> dict[str, float]:
    """Flatten ``Results.subgroups`` into named scalars: every outcome per subgroup,
    ``LA_OUTCOMES`` per local authority."""
    outputs = {}
    for unit, row in table.iterrows():
        names = LA_OUTCOMES if unit.startswith(LA_PREFIX) else table.columns
        outputs.update({output_name(name, unit): float(row[name]) for name in names})
    return outputs


def national_series(timeseries: pd.DataFrame) -> dict[str, np.ndarray]:
    """England-wide headline measures per step (see ``sim.outcomes.national_series``), named
    with ``SERIES_SUFFIX`` so experiments can tell series from scalars."""
    return {f"{name}{SERIES_SUFFIX}": values for name, values in outcomes.national_series(timeseries).items()}
