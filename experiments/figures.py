"""Experiment figures, drawn from the saved summary tables (figures never run the model).

Sweeps: policy arms over time and at the horizon with confidence intervals, and paired
differences from the reference arm. Sensitivity: Morris mu*-sigma and Sobol first and total
order indices with their bootstrap intervals.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.events import HEAD_APPOINTED, HEAD_LEFT  # noqa: E402
from sim.figures import PNG_METADATA  # noqa: E402

from .model_function import SERIES_SUFFIX  # noqa: E402
from .store import FIGURES, SUMMARY, write_atomic  # noqa: E402


def sweep_figures(folder: str | Path, reference_arm: str) -> list[str]:
    """Draw every sweep figure from ``<folder>/summary``; return the files written."""
    summary = Path(folder) / SUMMARY
    arms = _whole_world(pd.read_csv(summary / "arms.csv"))
    drawn = {"arms_at_horizon.png": arms_at_horizon(arms),
             "paired_differences.png": paired_differences(
                 _whole_world(pd.read_csv(summary / "paired_differences.csv")), reference_arm)}
    if (summary / "series.csv").exists():
        drawn["arms_over_time.png"] = arms_over_time(pd.read_csv(summary / "series.csv"))
    return save_all(drawn, Path(folder) / FIGURES)


def _whole_world(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a summary table for the whole world (subgroup ``all``)."""
    return table[table["subgroup"] == "all"] if "subgroup" in table else table


def sensitivity_figures(folder: str | Path, kind: str) -> list[str]:
    """Draw the Morris or Sobol figure from ``<folder>/summary``; return the files written."""
    summary = Path(folder) / SUMMARY
    if kind == "morris":
        drawn = {"morris_mu_star_sigma.png": morris_mu_star_sigma(
            pd.read_csv(summary / "morris_indices.csv"))}
    else:
        drawn = {"sobol_indices.png": sobol_indices(pd.read_csv(summary / "sobol_indices.csv"))}
    return save_all(drawn, Path(folder) / FIGURES)


def save_all(figures: dict[str, plt.Figure], out: Path) -> list[str]:
    """Save each figure atomically as PNG without version metadata (stable bytes)."""
    for name, fig in figures.items():
        write_atomic(out / name, partial(fig.savefig, format="png", dpi=110,
                                         metadata=PNG_METADATA))
        plt.close(fig)
    return sorted(figures)


def _panels(count: int, ncols: int = 3, size: tuple[float, float] = (4.3, 3.3)):
    """A grid of ``count`` axes (unused ones hidden)."""
    ncols = min(ncols, count)
    nrows = math.ceil(count / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows),
                             squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes.flat[:count]


def _label(name: str) -> str:
    return name.removesuffix(SERIES_SUFFIX).replace("_", " ")


def arms_over_time(series: pd.DataFrame) -> plt.Figure:
    """One panel per national series: each arm's mean over replications with its interval."""
    names = list(dict.fromkeys(series["series"]))
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names):
        for arm, rows in series[series["series"] == name].groupby("arm", sort=False):
            line, = ax.plot(rows["time_years"], rows["mean"], label=arm)
            ax.fill_between(rows["time_years"], rows["ci_low"], rows["ci_high"],
                            color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(_label(name))
        ax.set_xlabel("years from start")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Policy arms over time (mean and confidence interval over replications)")
    fig.tight_layout()
    return fig


def arms_at_horizon(arms: pd.DataFrame) -> plt.Figure:
    """One panel per outcome: each arm's mean with its confidence interval."""
    outcomes = list(dict.fromkeys(arms["outcome"]))
    fig, axes = _panels(len(outcomes))
    for ax, outcome in zip(axes, outcomes):
        rows = arms[arms["outcome"] == outcome]
        y = np.arange(len(rows))
        ax.errorbar(rows["mean"], y, xerr=_half_widths(rows), fmt="o", capsize=3)
        ax.set_yticks(y, rows["arm"], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(_label(outcome), fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle("Outcomes by policy arm (mean and confidence interval over replications)")
    fig.tight_layout()
    return fig


def paired_differences(differences: pd.DataFrame, reference_arm: str) -> plt.Figure:
    """One panel per outcome: each arm minus the reference arm, paired by replication seed."""
    rows_vs_reference = differences[differences["versus"] == reference_arm]
    outcomes = list(dict.fromkeys(differences["outcome"]))
    fig, axes = _panels(len(outcomes))
    for ax, outcome in zip(axes, outcomes):
        rows = rows_vs_reference[rows_vs_reference["outcome"] == outcome]
        y = np.arange(len(rows))
        ax.axvline(0.0, color="grey", linewidth=1)
        ax.errorbar(rows["mean_difference"], y, xerr=_half_widths(rows, "mean_difference"),
                    fmt="o", capsize=3, color="tab:red")
        ax.set_yticks(y, rows["arm"], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(_label(outcome), fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Paired differences from '{reference_arm}' (same seeds; mean and interval)")
    fig.tight_layout()
    return fig


def _half_widths(rows: pd.DataFrame, centre: str = "mean") -> np.ndarray:
    """Asymmetric error-bar lengths; zero where an interval is missing (one replication)."""
    lower = (rows[centre] - rows["ci_low"]).fillna(0.0).to_numpy()
    upper = (rows["ci_high"] - rows[centre]).fillna(0.0).to_numpy()
    return np.vstack([lower, upper])


def morris_mu_star_sigma(indices: pd.DataFrame) -> plt.Figure:
    """One panel per outcome: mu* (with bootstrap interval) against sigma for every parameter."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    fig, axes = _panels(len(outcomes), size=(5.0, 4.0))
    for ax, outcome in zip(axes, outcomes):
        rows = indices[indices["outcome"] == outcome]
        ax.errorbar(rows["mu_star"], rows["sigma"], xerr=rows["mu_star_conf"], fmt="o",
                    markersize=4, capsize=2, alpha=0.8)
        for _, row in rows.nlargest(6, "mu_star").iterrows():  # label the most influential only
            ax.annotate(row["parameter"], (row["mu_star"], row["sigma"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("mu* (mean absolute elementary effect)")
        ax.set_ylabel("sigma")
        ax.set_title(_label(outcome), fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle("Morris screening")
    fig.tight_layout()
    return fig


def sobol_indices(indices: pd.DataFrame) -> plt.Figure:
    """One panel per outcome: first-order and total-order indices with bootstrap intervals."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    parameters = list(dict.fromkeys(indices["parameter"]))
    fig, axes = _panels(len(outcomes), size=(4.5, 0.35 * len(parameters) + 1.5))
    y = np.arange(len(parameters))
    for ax, outcome in zip(axes, outcomes):
        rows = indices[indices["outcome"] == outcome].set_index("parameter").loc[parameters]
        ax.barh(y - 0.2, rows["S1"], height=0.4, xerr=rows["S1_conf"], label="first order S1",
                capsize=2)
        ax.barh(y + 0.2, rows["ST"], height=0.4, xerr=rows["ST_conf"], label="total order ST",
                capsize=2)
        ax.set_yticks(y, parameters, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(_label(outcome), fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    axes[0].legend(fontsize=7)
    fig.suptitle("Sobol indices (bootstrap confidence intervals)")
    fig.tight_layout()
    return fig


def seed_bands(series_by_seed: list[dict[str, np.ndarray]], start_year: float,
               level: float = 0.95) -> plt.Figure:
    """One configuration run with several seeds: each national series' mean over seeds with a
    Student-t band, against calendar years."""
    from scipy import stats
    names = list(series_by_seed[0])
    fig, axes = _panels(len(names))
    n = len(series_by_seed)
    for ax, name in zip(axes, names):
        values = np.vstack([s[name] for s in series_by_seed])  # seeds x steps
        scale = 100 if name.startswith("share") or name.endswith("_share") else 1
        mean = values.mean(axis=0) * scale
        half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(axis=0, ddof=1) / np.sqrt(n) * scale
        years = start_year + np.arange(values.shape[1]) / 3
        ax.plot(years, mean, color="tab:blue")
        ax.fill_between(years, mean - half, mean + half, color="tab:blue", alpha=0.25, linewidth=0)
        ax.set_title(_label(name) + (" (%)" if scale == 100 else ""), fontsize=9)
        ax.set_xlabel("calendar year")
        ax.locator_params(axis="x", nbins=5)
        ax.grid(alpha=0.3)
    end = int(start_year + (len(series_by_seed[0][names[0]]) - 1) / 3)
    fig.suptitle(f"One configuration to {end}: mean and {round(100 * level)}% band over {n} seeds")
    fig.tight_layout()
    return fig


def headship_spells(events: pd.DataFrame, steps: int) -> pd.DataFrame:
    """Substantive headships started after the start: phase, years in post and whether the
    head left (else still in post at step ``steps``: censored)."""
    starts = events[(events["event"] == HEAD_APPOINTED) & (events["route"] != "acting")
                    & (events["step"] > 0)][["step", "school_id", "person_id", "phase"]]
    ends = events[events["event"] == HEAD_LEFT][["step", "school_id", "person_id"]]
    merged = starts.merge(ends, on=["school_id", "person_id"], how="left", suffixes=("", "_end"))
    merged = merged[~(merged["step_end"] < merged["step"])]  # an earlier headship's end
    merged = merged.sort_values(["step_end", "step"]).drop_duplicates(["school_id", "person_id", "step"])
    return pd.DataFrame({"phase": merged["phase"].to_numpy(dtype=object),
                         "years": ((merged["step_end"].fillna(steps) - merged["step"]) / 3).to_numpy(dtype=float),
                         "ended": merged["step_end"].notna().to_numpy()})


def head_survival(events_by_seed: list[pd.DataFrame], steps: int, start_year: float,
                  level: float = 0.95) -> plt.Figure:
    """Kaplan-Meier survival of headships started during the runs (pooled over seeds), by
    phase, with scipy's confidence band; headships still running at the end are censored."""
    from scipy import stats
    fig, ax = plt.subplots(figsize=(7, 4.2))
    spells = pd.concat([headship_spells(events, steps) for events in events_by_seed],
                       ignore_index=True)
    for phase, rows in spells.groupby("phase"):
        ended = rows["ended"].to_numpy()
        years = rows["years"].to_numpy()
        data = stats.CensoredData(uncensored=years[ended], right=years[~ended])
        result = stats.ecdf(data).sf
        band = result.confidence_interval(level)
        line, = ax.step(result.quantiles, result.probabilities, where="post",
                        label=f"{phase} (n={len(rows)})")
        ax.fill_between(result.quantiles, band.low.probabilities, band.high.probabilities,
                        step="post", color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("years in post")
    ax.set_ylabel("share of heads still in post")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    end = int(start_year + steps / 3)
    ax.set_title(f"Survival of headships started {start_year:.0f}-{end} "
                 f"(Kaplan-Meier, {round(100 * level)}% band; {len(events_by_seed)} seeds)", fontsize=9)
    fig.tight_layout()
    return fig
