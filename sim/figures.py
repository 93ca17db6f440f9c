"""Figures drawn from results tables (figures never run the model)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from .outcomes import good_share  # noqa: E402

PNG_METADATA = {"Software": None}  # keep files free of version strings


def core_figures(timeseries: pd.DataFrame, events: pd.DataFrame, out: Path) -> list[str]:
    """Grade shares by region, vacancies and acting heads, head retention; returns file names."""
    names = []
    for name, draw in (("grade_shares_by_region.png", grade_shares_by_region),
                       ("vacancies_and_acting_heads.png", vacancies_and_acting_heads),
                       ("head_retention.png", head_retention)):
        fig = draw(timeseries, events)
        fig.savefig(Path(out) / name, dpi=110, metadata=PNG_METADATA)
        plt.close(fig)
        names.append(name)
    return names


def grade_shares_by_region(ts: pd.DataFrame, events: pd.DataFrame) -> plt.Figure:
    """Share of schools good or outstanding over time, one line per region."""
    fig, ax = plt.subplots(figsize=(8, 5))
    by = ts.groupby(["region", "time_years"])[["n_outstanding", "n_good", "n_inspected"]].sum()
    share = good_share(by)
    for region, series in share.groupby(level="region"):
        ax.plot(series.index.get_level_values("time_years"), 100 * series.to_numpy(), label=region)
    total = ts.groupby("time_years")[["n_outstanding", "n_good", "n_inspected"]].sum()
    ax.plot(total.index, 100 * good_share(total),
            color="black", linewidth=2.5, label="all")
    ax.set_xlabel("years from start")
    ax.set_ylabel("schools good or outstanding (%)")
    ax.set_title("Ofsted grade: share good or outstanding by region")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def vacancies_and_acting_heads(ts: pd.DataFrame, events: pd.DataFrame) -> plt.Figure:
    """Schools led by acting heads, and headships falling vacant per year, by phase."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for phase, frame in ts.groupby("phase"):
        per_step = frame.groupby("time_years")[["acting_heads", "n_schools", "vacancies_opened"]].sum()
        left.plot(per_step.index, 100 * per_step["acting_heads"] / per_step["n_schools"], label=phase)
        yearly = per_step["vacancies_opened"].iloc[1:].groupby(np.ceil(per_step.index[1:] - 1e-9)).sum()
        right.bar(yearly.index + (0.2 if phase == "secondary" else -0.2),
                  100 * yearly / per_step["n_schools"].iloc[0], width=0.4, label=phase)
    left.set_title("Schools led by an acting head")
    left.set_ylabel("% of schools")
    right.set_title("Headships falling vacant (retirements and early exits)")
    right.set_ylabel("% of schools per year")
    for ax in (left, right):
        ax.set_xlabel("years from start")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def head_retention(ts: pd.DataFrame, events: pd.DataFrame) -> plt.Figure:
    """Annual retention of heads under 55 by phase, and survival in post of newly appointed heads."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    yearly = ts.dropna(subset=["head_retention_annual"])
    for phase, frame in yearly.groupby("phase"):
        kept = frame.assign(kept=frame["head_retention_annual"] * frame["heads_retention_cohort"])
        per_year = kept.groupby("time_years")[["kept", "heads_retention_cohort"]].sum()
        left.plot(per_year.index, 100 * per_year["kept"] / per_year["heads_retention_cohort"],
                  marker="o", label=phase)
    left.axhspan(92, 94, color="tab:blue", alpha=0.1, label="NFER primary 92-94%")
    left.axhspan(87, 91, color="tab:orange", alpha=0.1, label="NFER secondary 87-91%")
    left.set_title("Heads under 55 still in post a year later")
    left.set_xlabel("years from start")
    left.set_ylabel("%")
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    for phase, (years, surviving) in survival_in_post(events).items():
        right.step(years, 100 * surviving, where="post", label=phase)
    right.set_title("Heads appointed during the run: still in post")
    right.set_xlabel("years since appointment")
    right.set_ylabel("%")
    right.legend()
    right.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def survival_in_post(events: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Kaplan-Meier survival in post of substantive heads appointed during the run, by phase."""
    appointed = events[(events["event"] == "head_appointed") & (events["kind"] == "substantive")]
    left = events[events["event"] == "head_left"][["school_id", "person_id", "time_years"]]
    spells = appointed[["school_id", "person_id", "time_years", "phase"]].merge(
        left, on=["school_id", "person_id"], how="left", suffixes=("", "_left"))
    spells = spells[~(spells["time_years_left"] < spells["time_years"])]
    end = events["time_years"].max() if len(events) else 0.0
    result = {}
    for phase, frame in spells.groupby("phase"):
        ended = frame["time_years_left"].notna().to_numpy()
        duration = np.where(ended, frame["time_years_left"].fillna(0), end) - frame["time_years"].to_numpy()
        times = np.unique(duration[ended])
        surviving, s = [1.0], 1.0
        for t in times:
            at_risk = (duration >= t).sum()
            s *= 1 - ((duration == t) & ended).sum() / max(at_risk, 1)
            surviving.append(s)
        result[str(phase)] = (np.concatenate([[0.0], times]), np.array(surviving))
    return result


def system_leadership_figures(results, out: Path) -> list[str]:
    """Map of supply, need and support links; supply / need by region and setting; support outcomes."""
    names = []
    for name, draw in (("supply_need_map.png", supply_need_map),
                       ("supply_need_by_area.png", supply_need_by_area),
                       ("support_outcomes.png", support_outcome_chart)):
        fig = draw(results)
        fig.savefig(Path(out) / name, dpi=110, metadata=PNG_METADATA)
        plt.close(fig)
        names.append(name)
    return names


def active_links(events: pd.DataFrame) -> pd.DataFrame:
    """Support links (supporter, client) still active at the end of the run."""
    started = events[events["event"] == "support_started"]
    ended = events[events["event"] == "support_ended"]
    key = ["supporter_school_id", "client_school_id"]
    n_started = started.groupby(key).size()
    n_ended = ended.groupby(key).size().reindex(n_started.index, fill_value=0)
    return (n_started - n_ended)[lambda v: v > 0].reset_index()[key]


def supply_need_map(results) -> plt.Figure:
    """Schools on the world's coordinates: system leaders, schools in need and support links."""
    schools = results.schools
    fig, ax = plt.subplots(figsize=(8, 9))
    ax.scatter(schools["x_km"], schools["y_km"], s=1, color="0.8", label="school", rasterized=True)
    need = schools[schools["in_need"]]
    ax.scatter(need["x_km"], need["y_km"], s=4, color="tab:red", label="in need of support")
    xy = schools.set_index("school_id")[["x_km", "y_km"]]
    links = active_links(results.events)
    if len(links):
        a = xy.loc[links["supporter_school_id"].astype("int64")].to_numpy()
        b = xy.loc[links["client_school_id"].astype("int64")].to_numpy()
        from matplotlib.collections import LineCollection
        ax.add_collection(LineCollection(np.stack([a, b], axis=1), colors="tab:green", linewidths=0.6,
                                         label="active support"))
    for role, marker, colour in (("LLE", "^", "tab:cyan"), ("NLE", "*", "tab:blue")):
        leaders = schools[schools["system_leader_role"] == role]
        ax.scatter(leaders["x_km"], leaders["y_km"], s=14 if role == "NLE" else 6, marker=marker,
                   color=colour, label=role)
    ax.set_aspect("equal")
    ax.set_xlabel("easting (km)")
    ax.set_ylabel("northing (km)")
    ax.set_title("System leaders, schools in need and support links at the end of the run")
    ax.legend(loc="upper left", fontsize=8, markerscale=2)
    fig.tight_layout()
    return fig


def supply_need_by_area(results) -> plt.Figure:
    """System leaders per school in need, and schools per NLE, by region and by setting."""
    geo = results.geography
    last = geo[geo["step"] == geo["step"].max()]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for column, level in enumerate(("region", "setting")):
        rows = last[last["level"] == level].sort_values("supply_need_ratio")
        axes[0, column].barh(rows["area"], rows["supply_need_ratio"], color="tab:blue")
        axes[0, column].axvline(1.0, color="black", linewidth=0.8)
        axes[0, column].set_title(f"NLEs + LLEs per school in need, by {level}")
        axes[1, column].barh(rows["area"], rows["schools_per_nle"], color="tab:orange")
        axes[1, column].set_title(f"Schools per NLE, by {level}")
    for ax in axes.ravel():
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def support_outcome_chart(results) -> plt.Figure:
    """Share improving at the next inspection, supported clients against comparable schools;
    share of home schools declining while supporting."""
    from .outcomes import home_school_outcomes, support_outcomes
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    table = support_outcomes(results.events)
    for offset, group in ((-0.2, "supported"), (0.2, "not_supported")):
        rows = table[table["group"] == group]
        left.bar(rows["previous_grade"] + offset, 100 * rows["share_improved"], width=0.4,
                 label=group.replace("_", " "))
    left.set_xticks([1, 2, 3, 4], ["outstanding", "good", "RI", "inadequate"])
    left.set_xlabel("grade at the previous inspection")
    left.set_ylabel("% improving at the next inspection")
    left.set_title("Clients against schools of the same previous grade")
    left.legend()
    home = home_school_outcomes(results.events)
    for offset, group in ((-0.2, "supporting"), (0.2, "not_supporting")):
        rows = home[home["group"] == group]
        right.bar(rows["previous_grade"] + offset, 100 * rows["share_declined"], width=0.4,
                  label=group.replace("_", " "))
    right.set_xticks([1, 2], ["outstanding", "good"])
    right.set_ylabel("% graded lower at the next inspection")
    right.set_title("Home schools while supporting (selected for strength:\n"
                    "compare policy arms for the causal effect)", fontsize=10)
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
