"""Sweep statistics: each arm's mean and confidence interval, and paired differences between arms.

Replications are independent draws of the model's randomness, so each arm's outcome is
summarised by its mean with a Student-t interval over replications. Arms share replication
seeds (common random numbers), so arm differences are computed per replication and summarised
the same way: a paired comparison, much sharper than comparing two independent intervals.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from sim.state import TERMS_PER_YEAR


def t_interval(values: np.ndarray, level: float) -> dict[str, float]:
    """Mean, sd and two-sided Student-t interval of the non-missing values (NaN when n < 2)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
    return {"n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}


def arm_summary(runs: pd.DataFrame, arms: list[str], outcomes: list[str],
                level: float) -> pd.DataFrame:
    """One row per arm x outcome: n, mean, sd and confidence interval over replications."""
    rows = [{"arm": arm, "outcome": outcome,
             **t_interval(runs.loc[runs["arm"] == arm, outcome].to_numpy(), level)}
            for arm in arms for outcome in outcomes]
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, arms: list[str], outcomes: list[str],
                       level: float) -> pd.DataFrame:
    """One row per pair of arms x outcome: mean of (arm - versus) over shared replications."""
    rows = []
    for outcome in outcomes:
        by_replication = runs.pivot(index="replication", columns="arm", values=outcome)
        by_replication = by_replication.reindex(columns=arms)  # an arm whose runs all failed: NaN
        for versus, arm in combinations(arms, 2):
            difference = (by_replication[arm] - by_replication[versus]).dropna()
            rows.append({"arm": arm, "versus": versus, "outcome": outcome,
                         **t_interval(difference.to_numpy(), level)})
    return pd.DataFrame(rows).rename(columns={"mean": "mean_difference"})


def series_summary(arm_runs: pd.DataFrame, arm: str, series: list[str],
                   level: float) -> pd.DataFrame:
    """One row per series x step of one arm: mean and confidence interval over replications."""
    rows = []
    for name in series if len(arm_runs) else []:
        values = np.vstack(arm_runs[name].to_numpy())  # replications x steps
        for step in range(values.shape[1]):
            rows.append({"arm": arm, "series": name, "step": step,
                         "time_years": step / TERMS_PER_YEAR,
                         **t_interval(values[:, step], level)})
    return pd.DataFrame(rows)
