"""Figures drawn from results tables (figures never run the model)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .world import UNINSPECTED  # noqa: E402
from .events import HEAD_APPOINTED, HEAD_LEFT, SUPPORT_ENDED, SUPPORT_STARTED  # noqa: E402
from .recorder import good_share  # noqa: E402

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
    appointed = events[(events["event"] == HEAD_APPOINTED) & (events["kind"] == "substantive")]
    left = events[events["event"] == HEAD_LEFT][["school_id", "person_id", "time_years"]]
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
    """Maps of grades and of supply against need; supply / need by region and setting; support outcomes."""
    names = []
    for name, draw in (("grade_map.png", grade_map),
                       ("supply_need_map.png", supply_need_map),
                       ("supply_need_by_area.png", supply_need_by_area),
                       ("support_outcomes.png", support_outcome_chart)):
        fig = draw(results)
        fig.savefig(Path(out) / name, dpi=110, metadata=PNG_METADATA)
        plt.close(fig)
        names.append(name)
    return names


# --------------------------------------------------------------------------------------------------
# Maps. A world on real coordinates (British National Grid km: the real England world and GIAS
# worlds) is drawn over the real region and local-authority boundaries (sim/maps.py); the synthetic
# and toy worlds live on an invented plane and are drawn without boundaries.

SYNTHETIC_SOURCES = ("synthetic", "toy")
GRADE_COLOURS = {UNINSPECTED: ("not yet inspected", "0.6"), 1: ("outstanding", "#1a7837"),
                 2: ("good", "#7fbf7b"), 3: ("requires improvement", "#f4a582"),
                 4: ("inadequate", "#b2182b")}


def _world_config(results) -> dict:
    return (getattr(results, "manifest", None) or {}).get("config", {}).get("world", {})


def on_real_map(results) -> bool:
    """True when the world's schools sit on real British National Grid coordinates."""
    source = _world_config(results).get("source")
    return source is not None and source not in SYNTHETIC_SOURCES


def check_map_inputs(config) -> None:
    """Before a run that will draw maps of a real world: fail now, naming the file, if a boundary
    file is missing or malformed (rather than after the run, losing its results)."""
    from . import maps
    if config.run.figures and config.world.source not in SYNTHETIC_SOURCES:
        maps.check_boundaries(config.world.data_dir if config.world.source == "england" else None)


def _whole_country(schools: pd.DataFrame) -> bool:
    """More than one region: draw England; else zoom in on the region or authority."""
    return schools["region"].nunique() > 1 if "region" in schools else True


def _boundary_dir(results) -> str | None:
    """The real-England data folder the world was loaded from (None: the vendored one)."""
    world = _world_config(results)
    return world.get("data_dir") if world.get("source") == "england" else None


def world_and_year(results) -> str:
    """'<world> world, <calendar year>' for the end of the run (years from start without a start year)."""
    manifest = getattr(results, "manifest", None) or {}
    world = manifest.get("world") or _world_config(results).get("name") or "unnamed"
    ts = results.timeseries
    elapsed = float(ts["time_years"].max()) if len(ts) else 0.0
    if "calendar_year" in ts.columns and len(ts):
        year = float(ts["calendar_year"].max())
    elif _world_config(results).get("start_year") is not None:
        year = float(_world_config(results)["start_year"]) + elapsed
    else:
        return f"{world} world, {elapsed:g} years from the start"
    return f"{world} world, {year:.0f}" if abs(year - round(year)) < 1e-6 else f"{world} world, {year:.1f}"


def _map_frame(ax, results, schools: pd.DataFrame) -> None:
    """Boundaries under the schools (real worlds), equal axes zoomed on the schools."""
    from . import maps
    real = on_real_map(results)
    x, y = schools["x_km"].to_numpy(float), schools["y_km"].to_numpy(float)
    if real:
        whole_country = _whole_country(schools)
        folder = _boundary_dir(results)
        maps.draw_boundaries(ax, "local_authority", folder, colors="0.55" if whole_country else "0.35",
                             linewidths=0.25 if whole_country else 0.6, zorder=1.2)
        if not whole_country:
            maps.draw_boundaries(ax, "district", folder, colors="0.7", linewidths=0.3, zorder=1.1,
                                 linestyles="dotted")
        maps.draw_boundaries(ax, "region", folder, colors="0.15", linewidths=0.9, zorder=1.3)
    if len(x):
        pad = max(10.0, 0.06 * max(np.ptp(x), np.ptp(y)))
        ax.set_xlim(x.min() - pad, x.max() + pad)
        ax.set_ylim(y.min() - pad, y.max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("easting (km, British National Grid)" if real else "easting (km, synthetic plane)")
    ax.set_ylabel("northing (km)")


def grade_map(results) -> plt.Figure:
    """Schools by Ofsted grade at the end of the run, over the real boundaries when there are any."""
    schools = results.schools
    fig, ax = plt.subplots(figsize=(8, 9))
    _map_frame(ax, results, schools)
    size = 2.0 if _whole_country(schools) else 7.0
    handles = {}
    # Weaker grades drawn last so the rarer schools of concern are not hidden under good ones.
    for grade in (2, 1, UNINSPECTED, 3, 4):
        label, colour = GRADE_COLOURS[grade]
        rows = schools[schools["grade"] == grade]
        if len(rows):
            handles[grade] = ax.scatter(rows["x_km"], rows["y_km"], s=size * (1.6 if grade >= 3 else 1.0),
                                        color=colour, label=f"{label} ({len(rows):,})", linewidths=0,
                                        zorder=2, rasterized=True)
    ax.set_title(f"Schools by Ofsted grade\n{world_and_year(results)}")
    ax.legend(handles=[handles[g] for g in sorted(handles, key=lambda g: (g == UNINSPECTED, g))],
              loc="upper left", fontsize=8, markerscale=3, framealpha=0.9)
    fig.tight_layout()
    return fig


def active_links(events: pd.DataFrame) -> pd.DataFrame:
    """Support links (supporter, client) still active at the end of the run."""
    started = events[events["event"] == SUPPORT_STARTED]
    ended = events[events["event"] == SUPPORT_ENDED]
    key = ["supporter_school_id", "client_school_id"]
    n_started = started.groupby(key).size()
    n_ended = ended.groupby(key).size().reindex(n_started.index, fill_value=0)
    return (n_started - n_ended)[lambda v: v > 0].reset_index()[key]


def supply_need_map(results) -> plt.Figure:
    """System leaders, schools in need and active support links at the end of the run.

    On real worlds each local authority is shaded by its supply against need (NLEs + LLEs per
    school in need, from the geography table) under region boundaries.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import TwoSlopeNorm

    from . import maps
    schools = results.schools
    fig, ax = plt.subplots(figsize=(8, 9))
    if on_real_map(results):
        geo = results.geography
        last = geo[(geo["step"] == geo["step"].max()) & (geo["level"] == "local_authority")]
        ratio = dict(zip(last["area"].astype(str), last["supply_need_ratio"].astype(float)))
        top = max(2.0, float(np.nanquantile(list(ratio.values()), 0.95))) if ratio else 2.0
        shading = maps.choropleth(ax, "local_authority", ratio, cmap="BrBG", data_dir=_boundary_dir(results),
                                  norm=TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=top),
                                  label="NLEs + LLEs per school in need, by local authority")
        shading.set_alpha(0.8)
    if not on_real_map(results) or len(schools) <= 3000:  # England's 20,000 would hide the shading
        ax.scatter(schools["x_km"], schools["y_km"], s=1 if len(schools) > 3000 else 3, color="0.4",
                   linewidths=0, label="school", rasterized=True, zorder=2)
    _map_frame(ax, results, schools)
    need = schools[schools["in_need"]]
    ax.scatter(need["x_km"], need["y_km"], s=7, color="red", edgecolors="0.1", linewidths=0.2,
               zorder=3, label=f"in need of support ({len(need):,})")
    xy = schools.set_index("school_id")[["x_km", "y_km"]]
    links = active_links(results.events)
    links = links[links["supporter_school_id"].isin(xy.index) & links["client_school_id"].isin(xy.index)]
    if len(links):
        a = xy.loc[links["supporter_school_id"].astype("int64")].to_numpy()
        b = xy.loc[links["client_school_id"].astype("int64")].to_numpy()
        ax.add_collection(LineCollection(np.stack([a, b], axis=1), colors="black", linewidths=0.5,
                                         alpha=0.7, zorder=3.5, label=f"active support ({len(links):,})"))
    for role, marker, colour in (("LLE", "^", "white"), ("NLE", "*", "gold")):
        leaders = schools[schools["system_leader_role"] == role]
        ax.scatter(leaders["x_km"], leaders["y_km"], s=16 if role == "NLE" else 6, marker=marker,
                   color=colour, edgecolors="black", linewidths=0.25, zorder=4,
                   label=f"{role} ({len(leaders):,})")
    ax.set_title(f"System leaders, schools in need and support links\n{world_and_year(results)}")
    ax.legend(loc="upper left", fontsize=8, markerscale=2, framealpha=0.9)
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
