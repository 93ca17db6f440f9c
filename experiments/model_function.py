"""The model as experiments see it: a function from (configuration, seed) to named outputs.

An evaluate function returns a mapping of output names to values: a float is a scalar outcome
(summarised across replications, analysed for sensitivity), a 1-D array is a per-step series
(index = step) kept for figures over time. Sweeps and sensitivity analysis take any such
function, so an analytic test function goes through the same pipeline as the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.parameters import SimConfig
from sim.run import run

# The keys of sim.outcomes.scalar_outcomes, listed so experiments can check outcome names
# before any run; tests/test_experiments_config.py checks the two agree.
SCALAR_OUTCOMES = (
    "share_good_or_outstanding", "share_inadequate", "mean_effectiveness", "mean_gap",
    "acting_head_share", "vacancies_per_100_schools_per_year", "internal_appointment_share",
    "head_retention_primary", "head_retention_secondary", "spend_gbp_per_year",
    "nle_count", "lle_count", "schools_in_need", "supply_need_ratio",
    "deployments_started_per_year", "executive_led_share", "improved_share_supported",
    "improved_share_not_supported", "support_cost_per_extra_improved_school_gbp",
)
SERIES_SUFFIX = "_by_step"  # names of per-step series end with this


def evaluate_model(config: SimConfig, seed: int) -> dict[str, float | np.ndarray]:
    """Run the model once; return its scalar outcomes and national per-step series."""
    results = run(config, seed=seed, progress=False)
    outputs: dict[str, float | np.ndarray] = dict(results.scalar_outcomes())
    outputs.update(national_series(results.timeseries))
    return outputs


def national_series(timeseries: pd.DataFrame) -> dict[str, np.ndarray]:
    """England-wide (all rows summed) headline measures per step, from a run's time series."""
    per_step = timeseries.groupby("step").sum(numeric_only=True).sort_index()
    schools = per_step["n_schools"].to_numpy(dtype=float)
    weighted = timeseries.assign(
        effectiveness_total=timeseries["mean_effectiveness"] * timeseries["n_schools"],
        gap_total=timeseries["mean_gap"] * timeseries["n_schools"],
    ).groupby("step")[["effectiveness_total", "gap_total"]].sum().sort_index()
    series = {
        "share_good_or_outstanding": (per_step["n_outstanding"] + per_step["n_good"]) / schools,
        "share_inadequate": per_step["n_inadequate"] / schools,
        "acting_head_share": per_step["acting_heads"] / schools,
        "mean_effectiveness": weighted["effectiveness_total"] / schools,
        "mean_gap": weighted["gap_total"] / schools,
    }
    return {f"{name}{SERIES_SUFFIX}": np.asarray(values, dtype=float)
            for name, values in series.items()}
