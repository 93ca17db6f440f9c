"""Sweep statistics: each arm's mean and confidence interval, and paired differences between arms.

Replications are independent draws of the model's randomness, so each arm's outcome is
summarised by its mean with a Student-t interval over replications. Arms share replication
seeds (common random numbers), so arm differences are computed per replication and summarised
the same way: a paired comparison, much sharper than comparing two independent intervals.
Every outcome is summarised for the whole world and for each subgroup (``sim.subgroups``), and
paired differences are adjusted for the number of comparisons made (arms x outcomes x
subgroups): see :func:`paired_differences`.
"""

from __future__ import annotations

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


Columns = dict[tuple[str, str], str]  # (subgroup, outcome) -> run-table column


def arm_summary(runs: pd.DataFrame, arms: list[str], columns: Columns,
                level: float) -> pd.DataFrame:
    """One row per arm x subgroup x outcome: n, mean, sd and interval over replications."""
    rows = [{"arm": arm, "subgroup": subgroup, "outcome": outcome,
             **t_interval(runs.loc[runs["arm"] == arm, column].to_numpy(), level)}
            for arm in arms for (subgroup, outcome), column in columns.items()]
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, pairs: list[tuple[str, str]], columns: Columns,
                       level: float, method: str = "holm",
                       differences_of_interest: dict[str, float] | None = None,
                       power: float = 0.8) -> pd.DataFrame:
    """One row per (arm, versus) pair x subgroup x outcome: mean of (arm - versus) over shared
    replications, its interval, and the same adjusted for multiple comparisons.

    The family is every row of the table. ``p_value`` is the paired t-test of a zero mean
    difference; ``p_adjusted`` adjusts it with statsmodels' ``multipletests(method=...)`` and
    ``resolved`` says whether it is below 1 - ``level``. ``ci_low_adjusted`` /
    ``ci_high_adjusted`` are Bonferroni simultaneous intervals (level 1 - (1 - level) / m for
    m comparisons), valid for the whole family whatever the dependence between comparisons.
    Where that interval contains zero, ``replications_needed`` is the number of paired
    replications a paired t-test at the Bonferroni level needs to detect, with ``power``, the
    difference of interest for that outcome (``differences_of_interest``) or else the observed
    mean difference (statsmodels ``TTestPower``).
    """
    rows = []
    for (subgroup, outcome), column in columns.items():
        by_replication = runs.pivot(index="replication", columns="arm", values=column)
        for arm, versus in pairs:
            if arm not in by_replication or versus not in by_replication:  # an arm's runs all failed
                difference = pd.Series(dtype=float)
            else:
                difference = (by_replication[arm] - by_replication[versus]).dropna()
            summary = t_interval(difference.to_numpy(), level)
            rows.append({"arm": arm, "versus": versus, "subgroup": subgroup, "outcome": outcome,
                         **summary, "p_value": paired_p_value(difference.to_numpy())})
    table = pd.DataFrame(rows).rename(columns={"mean": "mean_difference"})
    return adjust_for_multiple_comparisons(table, level, method, differences_of_interest or {},
                                           power)


def paired_p_value(difference: np.ndarray) -> float:
    """Two-sided p-value of a paired t-test that the mean difference is zero (NaN when n < 2;
    0 or 1 when every difference is the same)."""
    difference = difference[~np.isnan(difference)]
    if len(difference) < 2:
        return float("nan")
    if np.ptp(difference) == 0:
        return 1.0 if difference[0] == 0 else 0.0
    return float(stats.ttest_1samp(difference, 0.0).pvalue)


def adjust_for_multiple_comparisons(table: pd.DataFrame, level: float, method: str,
                                    differences_of_interest: dict[str, float],
                                    power: float) -> pd.DataFrame:
    """Add ``p_adjusted``, ``resolved``, Bonferroni intervals and ``replications_needed``."""
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.power import TTestPower
    alpha = 1 - level
    tested = table["p_value"].notna().to_numpy()
    m = int(tested.sum())
    table["p_adjusted"] = np.nan
    if m:
        table.loc[tested, "p_adjusted"] = multipletests(table.loc[tested, "p_value"], alpha=alpha,
                                                        method=method)[1]
    table["resolved"] = table["p_adjusted"] < alpha
    bonferroni_level = 1 - alpha / max(m, 1)
    n, sd = table["n"].to_numpy(dtype=float), table["sd"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.5 + bonferroni_level / 2, n - 1) * sd / np.sqrt(n)
    table["ci_low_adjusted"] = table["mean_difference"] - half
    table["ci_high_adjusted"] = table["mean_difference"] + half
    straddles = (table["ci_low_adjusted"] <= 0) & (table["ci_high_adjusted"] >= 0)
    needed = []
    for row, straddling in zip(table.itertuples(), straddles):
        target = abs(differences_of_interest.get(row.outcome, row.mean_difference))
        if not straddling or not target > 0 or not row.sd > 0:
            needed.append(np.nan)
            continue
        try:
            nobs = TTestPower().solve_power(effect_size=target / row.sd, alpha=alpha / max(m, 1),
                                            power=power, alternative="two-sided")
        except (ValueError, RuntimeError):  # no solution in statsmodels' search range
            nobs = np.nan
        needed.append(float(np.ceil(max(float(nobs), 2.0))) if np.isfinite(nobs) else np.nan)
    table["replications_needed"] = needed
    table.attrs["comparisons"] = m
    return table


def la_differences(runs: pd.DataFrame, pairs: list[tuple[str, str]],
                   columns: dict[tuple[str, str], str], level: float) -> pd.DataFrame:
    """Paired differences per local authority (for maps): one row per pair x authority x
    outcome, with unadjusted Student-t intervals (a map shows many authorities at once; read
    single authorities with care)."""
    rows = []
    for (authority, outcome), column in columns.items():
        by_replication = runs.pivot(index="replication", columns="arm", values=column)
        for arm, versus in pairs:
            if arm in by_replication and versus in by_replication:
                difference = (by_replication[arm] - by_replication[versus]).dropna()
                rows.append({"arm": arm, "versus": versus, "local_authority": authority,
                             "outcome": outcome, **t_interval(difference.to_numpy(), level)})
    return pd.DataFrame(rows).rename(columns={"mean": "mean_difference"})


def costs_per_extra_school(runs: pd.DataFrame, pairs: list[tuple[str, str]],
                           columns: Columns, years: float, level: float,
                           seed: int, resamples: int = 2000) -> pd.DataFrame:
    """What each extra school good or outstanding costs, per (arm, versus) pair and subgroup.

    Per replication (same seeds): extra spend over the run = (spend per year of ``arm`` -
    ``versus``) x ``years``, extra schools = difference in schools good or outstanding at the
    end. Cost = mean extra spend / mean extra schools, with a paired percentile bootstrap
    interval over replications (scipy.stats.bootstrap). Where the extra schools' interval
    contains zero, the cost is not resolved (``resolved`` false) and its interval is left out:
    the ratio is unbounded.
    """
    rows = []
    subgroups = dict.fromkeys(subgroup for subgroup, _ in columns)
    for subgroup in subgroups:
        spend_column = columns.get((subgroup, "spend_gbp_per_year"))
        schools_column = columns.get((subgroup, "schools_good_or_outstanding"))
        if spend_column is None or schools_column is None:
            continue
        spend = runs.pivot(index="replication", columns="arm", values=spend_column)
        schools = runs.pivot(index="replication", columns="arm", values=schools_column)
        for arm, versus in pairs:
            if arm not in spend or versus not in spend:
                continue
            extra = pd.DataFrame({"spend": (spend[arm] - spend[versus]) * years,
                                  "schools": schools[arm] - schools[versus]}).dropna()
            schools_interval = t_interval(extra["schools"].to_numpy(), level)
            resolved = schools_interval["ci_low"] > 0 or schools_interval["ci_high"] < 0
            cost = extra["spend"].mean() / extra["schools"].mean() if extra["schools"].mean() else np.nan
            low = high = np.nan
            if resolved and len(extra) > 2 and extra["spend"].abs().sum() > 0:
                interval = stats.bootstrap(
                    (extra["spend"].to_numpy(), extra["schools"].to_numpy()),
                    lambda a, b, axis=-1: a.mean(axis=axis) / b.mean(axis=axis), paired=True,
                    vectorized=True, confidence_level=level, n_resamples=resamples,
                    method="percentile", rng=np.random.default_rng(seed)).confidence_interval
                low, high = float(interval.low), float(interval.high)
            rows.append({"arm": arm, "versus": versus, "subgroup": subgroup, "n": len(extra),
                         "extra_spend_gbp": float(extra["spend"].mean()),
                         "extra_schools_good_or_outstanding": schools_interval["mean"],
                         "extra_schools_ci_low": schools_interval["ci_low"],
                         "extra_schools_ci_high": schools_interval["ci_high"],
                         "cost_per_extra_school_gbp": float(cost), "cost_ci_low": low,
                         "cost_ci_high": high, "resolved": bool(resolved)})
    return pd.DataFrame(rows)


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
