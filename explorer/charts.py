"""The explorer's figures, drawn from results tables (figures never run the model).

Each function takes one scenario's results (a list of ``sim.run.Results``, one per seed) or
two scenarios', and returns a matplotlib ``Figure`` built without pyplot, so figures can be
drawn on any thread and are freed with their last reference. The notebook
``examples/explore.ipynb`` draws the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim.figures import active_links
from sim.run import Results

# Ofsted grade colours (0 = not yet inspected, used by the real England world)
GRADE_COLOURS = {1: "#1a9850", 2: "#91cf60", 3: "#fdae61", 4: "#d73027", 0: "#bdbdbd"}
GRADE_LABELS = {1: "outstanding", 2: "good", 3: "requires improvement", 4: "inadequate",
                0: "not yet inspected"}
SCENARIO_COLOURS = ("#1f77b4", "#d62728")

# The national series shown over time: name -> (title, unit, how it is computed)
SERIES = {
    "good_or_outstanding_pct": ("Good or outstanding", "% of schools"),
    "acting_heads": ("Acting heads", "schools"),
    "vacancies_opened": ("Headships falling vacant", "per term"),
    "nle_count": ("NLEs", "designated"),
    "lle_count": ("LLEs", "designated"),
    "deployments_active": ("Support deployments", "active"),
}


def national_series(results: Results) -> pd.DataFrame:
    """One row per term of the national totals of :data:`SERIES` for one run, with its
    calendar year (``calendar_year`` in results of this version; years from the start in
    older results)."""
    ts = results.timeseries
    year = "calendar_year" if "calendar_year" in ts.columns else "time_years"
    sums = ts.groupby(year)[["n_outstanding", "n_good", "n_schools", "acting_heads",
                             "vacancies_opened", "nle_count", "lle_count",
                             "deployments_active"]].sum()
    sums["good_or_outstanding_pct"] = 100 * (sums["n_outstanding"] + sums["n_good"]) / sums["n_schools"]
    frame = sums[list(SERIES)].reset_index().rename(columns={year: "year"})
    return frame


def series_across_seeds(runs: Sequence[Results]) -> dict[str, pd.DataFrame]:
    """Per series: mean, lowest and highest across seeds at each term (columns of a frame)."""
    frames = [national_series(r) for r in runs]
    year = frames[0]["year"]
    out = {}
    for name in SERIES:
        values = np.vstack([f[name].to_numpy(dtype=float) for f in frames])
        out[name] = pd.DataFrame({"year": year, "mean": values.mean(axis=0),
                                  "low": values.min(axis=0), "high": values.max(axis=0)})
    return out


def time_series(scenarios: dict[str, Sequence[Results]]) -> Figure:
    """Six series over time, summed over every school in the world; a line per scenario (mean of seeds), a band from the
    lowest to the highest seed."""
    fig = Figure(figsize=(11, 5.6), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for colour, (label, runs) in zip(SCENARIO_COLOURS, scenarios.items()):
        if not runs:
            continue
        summary = series_across_seeds(runs)
        for ax, (name, (title, unit)) in zip(axes, SERIES.items()):
            s = summary[name]
            ax.plot(s["year"], s["mean"], color=colour, linewidth=2,
                    label=f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
            if len(runs) > 1:
                ax.fill_between(s["year"], s["low"], s["high"], color=colour, alpha=0.2,
                                linewidth=0)
            ax.set_title(title, fontsize=11)
            ax.set_ylabel(unit, fontsize=9)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[3:]:
        ax.set_xlabel("year", fontsize=9)
    axes[0].legend(fontsize=8, loc="best")
    bands = any(len(r) > 1 for r in scenarios.values())
    fig.suptitle("All schools in the world over time" + (": line = mean of seeds, band = lowest to "
                                                "highest seed" if bands else ""), fontsize=12)
    return fig


def real_world(results: Results) -> dict | None:
    """The world settings if the schools sit at their real places (``source=england``)."""
    world = results.manifest.get("config", {}).get("world", {})
    return world if world.get("source") == "england" else None


def _maps():
    """``sim.maps`` (real boundaries), or None in a version without it."""
    try:
        from sim import maps
    except ImportError:
        return None
    return maps


def _boundaries(ax, results: Results, levels: tuple[tuple[str, dict], ...]) -> bool:
    """Outline real boundaries under the schools when the world is the real England."""
    world, maps = real_world(results), _maps()
    if world is None or maps is None:
        return False
    try:
        for level, style in levels:
            maps.draw_boundaries(ax, level, data_dir=world.get("data_dir"), **style)
    except (OSError, ValueError) as error:  # boundary files missing: points only
        ax.text(0.01, 0.01, f"no boundaries: {error}", transform=ax.transAxes, fontsize=7)
        return False
    return True


def _zoom_to(ax, schools: pd.DataFrame) -> None:
    """Axis limits around the schools (a region or authority fills the panel)."""
    if len(schools):
        pad = 0.04 * max(np.ptp(schools["x_km"]), np.ptp(schools["y_km"]), 1.0)
        ax.set_xlim(schools["x_km"].min() - pad, schools["x_km"].max() + pad)
        ax.set_ylim(schools["y_km"].min() - pad, schools["y_km"].max() + pad)


def _on_map(results: Results, region: str | None, local_authority: str | None):
    """The schools of the area a map shows (a region, a local authority, or all) and the
    active support links into it, as segments from supporter to client (km)."""
    schools = results.schools
    if region:
        schools = schools[schools["region"] == region]
    if local_authority:
        schools = schools[schools["local_authority"] == local_authority]
    xy = results.schools.set_index("school_id")[["x_km", "y_km"]]
    links = active_links(results.events)
    if not len(links):
        return schools, np.empty((0, 2, 2))
    a = xy.reindex(links["supporter_school_id"].astype("int64")).to_numpy()
    b = xy.reindex(links["client_school_id"].astype("int64")).to_numpy()
    keep = ~(np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1))
    if region or local_authority:  # links to the clients in the area, from wherever
        keep &= links["client_school_id"].astype("int64").isin(set(schools["school_id"])).to_numpy()
    return schools, np.stack([a[keep], b[keep]], axis=1)


def map_caption(results: Results, region: str | None = None,
                local_authority: str | None = None) -> str:
    """What :func:`school_map` shows for an area, in words (its title, and the page's caption)."""
    schools, segments = _on_map(results, region, local_authority)
    roles = schools["system_leader_role"]
    text = (f"{local_authority or region or 'All schools'} at the end: {len(schools):,} schools, "
            f"{int((roles == 'NLE').sum())} NLEs, {int((roles == 'LLE').sum())} LLEs, "
            f"{len(segments)} support links")
    if real_world(results) is not None and _maps() is not None:
        text += "; local authority and region boundaries"
    return text


def school_map(results: Results, region: str | None = None, ax=None,
               title: str | None = None, local_authority: str | None = None) -> Figure:
    """Schools coloured by their last Ofsted grade, NLEs and LLEs, and active support links at
    the end of the run; ``region`` or ``local_authority`` zooms to one area (with the links
    into it)."""
    schools, segments = _on_map(results, region, local_authority)
    own_figure = ax is None
    if own_figure:  # as wide as the area is, plus the legend, so the map fills its panel
        aspect = np.ptp(schools["x_km"]) / max(np.ptp(schools["y_km"]), 1.0) if len(schools) else 1
        fig = Figure(figsize=(float(np.clip(6.2 * aspect + 2.4, 6.0, 11.0)), 7),
                     layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    has_boundaries = _boundaries(ax, results, (
        ("local_authority", {"colors": "0.7", "linewidths": 0.4}),
        ("region", {"colors": "0.3", "linewidths": 0.8})))
    size = float(np.clip(12000 / max(len(schools), 1), 2, 60))
    for grade in (0, 4, 3, 2, 1):
        rows = schools[schools["grade"] == grade]
        if len(rows):
            ax.scatter(rows["x_km"], rows["y_km"], s=size, color=GRADE_COLOURS[grade],
                       linewidths=0, rasterized=True)
    if len(segments):
        ax.add_collection(LineCollection(segments, colors="#6a3d9a", linewidths=0.8, alpha=0.7))
    for role, marker, colour, scale in (("LLE", "^", "#1f78b4", 2.0), ("NLE", "*", "#08306b", 5.0)):
        leaders = schools[schools["system_leader_role"] == role]
        ax.scatter(leaders["x_km"], leaders["y_km"], s=size * scale, marker=marker, color=colour,
                   edgecolors="white", linewidths=0.3)
    _zoom_to(ax, schools)
    ax.set_aspect("equal")
    ax.set_xlabel("easting (km)", fontsize=9)
    ax.set_ylabel("northing (km)", fontsize=9)
    ax.tick_params(labelsize=8)
    if not has_boundaries:
        ax.grid(alpha=0.2)
    handles = [Line2D([], [], marker="o", linestyle="", color=GRADE_COLOURS[g], label=GRADE_LABELS[g])
               for g in (1, 2, 3, 4) + ((0,) if (schools["grade"] == 0).any() else ())]
    handles += [Line2D([], [], marker="*", linestyle="", color="#08306b", markersize=10, label="NLE"),
                Line2D([], [], marker="^", linestyle="", color="#1f78b4", label="LLE"),
                Line2D([], [], color="#6a3d9a", label="support link")]
    if own_figure:
        fig.legend(handles=handles, fontsize=8, loc="outside right upper", frameon=False)
    else:
        ax.legend(handles=handles, fontsize=8, loc="upper left", framealpha=0.85)
    ax.set_title(title or map_caption(results, region, local_authority).split(";")[0], fontsize=10)
    return fig


def area_table(runs: Sequence[Results], level: str) -> pd.DataFrame:
    """Per area at the end, mean over seeds: schools, NLEs, LLEs, schools in need, share good
    or outstanding (%). ``level`` is ``region`` or ``local_authority``."""
    frames = []
    for r in runs:
        geo = r.geography
        last = geo[(geo["step"] == geo["step"].max()) & (geo["level"] == level)]
        last = last.set_index("area")[["schools", "nle", "lle", "in_need"]].astype(float)
        good = r.schools.assign(good=r.schools["grade"].isin([1, 2])).groupby(level)["good"].mean()
        last["good_or_outstanding_pct"] = 100 * good.reindex(last.index)
        x = r.schools.groupby(level)[["x_km", "y_km"]].mean()
        frames.append(last.join(x))
    table = pd.concat(frames).groupby(level="area").mean()
    table["supply"] = table["nle"] + table["lle"]
    return table


def supply_need(runs: Sequence[Results], level: str = "local_authority", top: int = 15) -> Figure:
    """System leaders (NLEs + LLEs) against schools in need by area at the end of the run:
    the areas furthest short of support, and every area as a point against the line of one
    leader per school in need."""
    table = area_table(runs, level)
    table["shortfall"] = table["in_need"] - table["supply"]
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1.2, 1))
    short = table.sort_values("shortfall", ascending=False).head(top).iloc[::-1]
    y = np.arange(len(short))
    left.barh(y + 0.2, short["in_need"], height=0.4, color="#d73027", label="schools in need")
    left.barh(y - 0.2, short["supply"], height=0.4, color="#08306b", label="NLEs + LLEs")
    left.set_yticks(y, [name if len(name) < 28 else name[:26] + "…" for name in short.index],
                    fontsize=8)
    left.set_title(f"{len(short)} {level.replace('_', ' ')}s furthest short of support", fontsize=11)
    left.legend(fontsize=8, loc="lower right")
    left.grid(alpha=0.3, axis="x")
    right.scatter(table["in_need"], table["supply"], s=14, color="#6a3d9a", alpha=0.8)
    top_value = max(float(table[["in_need", "supply"]].to_numpy().max()), 1.0)
    right.plot([0, top_value], [0, top_value], color="0.4", linewidth=0.8, linestyle="--",
               label="one leader per school in need")
    right.set_xlabel("schools in need (grade 3 or 4)", fontsize=9)
    right.set_ylabel("NLEs + LLEs", fontsize=9)
    right.set_title(f"Supply against need, every {level.replace('_', ' ')}", fontsize=11)
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    seeds = f" (mean of {len(runs)} seeds)" if len(runs) > 1 else ""
    fig.suptitle(f"Supply of system leaders against need at the end{seeds}", fontsize=12)
    return fig


AREA_LEVELS = {"local_authority": "local authority", "region": "region"}


def difference_by_area(a: Sequence[Results], b: Sequence[Results], labels=("A", "B"),
                       map_level: str = "local_authority") -> Figure:
    """Scenario B minus scenario A at the end: share good or outstanding by region (bars) and
    on the map by ``map_level`` (local authority or region), means over each scenario's seeds."""
    if map_level not in AREA_LEVELS:
        raise ValueError(f"map_level={map_level!r} is not one of {', '.join(AREA_LEVELS)}")
    fig = Figure(figsize=(12, 5.6), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.1))
    regions = difference_table(a, b, "region").sort_values()
    left.barh(regions.index, regions.to_numpy(), height=0.6,
              color=np.where(regions.to_numpy() >= 0, "#1a9850", "#d73027"))
    left.set_ylim(-0.8, max(len(regions), 2) - 0.2)
    left.axvline(0, color="black", linewidth=0.8)
    left.set_xlabel(f"percentage points ({labels[1]} minus {labels[0]})", fontsize=9)
    left.set_title("Good or outstanding at the end, by region", fontsize=11)
    left.tick_params(axis="y", labelsize=8)
    left.grid(alpha=0.3, axis="x")
    diff = difference_table(a, b, map_level)
    where = area_table(a, map_level).loc[diff.index]
    limit = max(float(np.abs(diff).max()) if len(diff) else 1.0, 0.5)
    norm = TwoSlopeNorm(0, -limit, limit)
    name = AREA_LEVELS[map_level]
    world, maps = real_world(a[0]), _maps()
    if world is not None and maps is not None:
        filled = maps.choropleth(right, map_level, diff.to_dict(), cmap="RdYlGn",
                                 norm=norm, data_dir=world.get("data_dir"), colorbar=False)
        maps.draw_boundaries(right, "region", data_dir=world.get("data_dir"), colors="0.3",
                             linewidths=0.6)
        fig.colorbar(filled, ax=right, shrink=0.8, label="percentage points")
        right.set_title(f"By {name} (grey: no schools in the world)", fontsize=11)
        _zoom_to(right, a[0].schools)
    else:
        points = right.scatter(where["x_km"], where["y_km"], c=diff.to_numpy(), cmap="RdYlGn",
                               norm=norm, s=np.clip(where["schools"].to_numpy() / 2, 20, 200),
                               edgecolors="0.3", linewidths=0.4)
        fig.colorbar(points, ax=right, shrink=0.8, label="percentage points")
        right.set_title(f"By {name} (a dot per {name}, sized by schools)", fontsize=11)
        right.grid(alpha=0.2)
    right.set_aspect("equal")
    right.set_xlabel("easting (km)", fontsize=9)
    right.set_ylabel("northing (km)", fontsize=9)
    right.tick_params(labelsize=8)
    fig.suptitle(f"Difference between scenarios: {labels[1]} minus {labels[0]}", fontsize=12)
    return fig


def difference_table(a: Sequence[Results], b: Sequence[Results], level: str) -> pd.Series:
    """B minus A at the end, per area of ``level``: share good or outstanding (percentage
    points, means over each scenario's seeds); areas in only one scenario are left out."""
    return (area_table(b, level)["good_or_outstanding_pct"]
            - area_table(a, level)["good_or_outstanding_pct"]).dropna()


def scalar_table(scenarios: dict[str, Sequence[Results]]) -> pd.DataFrame:
    """Headline outcomes per scenario: mean and range across seeds (see ``sim.outcomes``)."""
    rows = []
    for label, runs in scenarios.items():
        if not runs:
            continue
        values = pd.DataFrame([r.scalar_outcomes() for r in runs])
        for name in values.columns:
            column = values[name].astype(float)
            rows.append({"scenario": label, "outcome": name, "mean": column.mean(),
                         "low": column.min(), "high": column.max()})
    table = pd.DataFrame(rows)
    if not len(table):
        return table
    return table.pivot(index="outcome", columns="scenario", values="mean")
