"""A policy-ready report of a sweep: ``report.md`` and a self-contained ``report.html``.

The first paragraph answers the experiment's question (``experiment.question``) on its
headline outcome and subgroup (``experiment.headline``) with numbers and intervals: which arm
does best, by how much against the reference arm (paired, with the interval adjusted for every
comparison the sweep makes), whether that is resolved, how many replications would resolve it,
and in what share of the paired replications the arm came out best. Figures follow (written to
``figures/``): the headline by arm, the paired differences by subgroup, the arms over calendar
time, and a map of the paired difference by local authority. Shares are shown as percentages
and differences as percentage points; every bar carries its n and interval; titles name the
horizon year (the world's start year plus the run length).

Everything is read from the saved summaries and runs; the model is never run.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from sim.figures import PNG_METADATA  # noqa: E402
from sim.outcomes import LOWER_IS_BETTER  # noqa: E402
from sim.subgroups import output_name  # noqa: E402

from .model_function import SERIES_SUFFIX  # noqa: E402
from .spec import ExperimentSpec  # noqa: E402
from .store import FIGURES, SUMMARY, ExperimentStore, write_atomic  # noqa: E402

SUBGROUP_LABELS = {"all": "all schools", "rural": "rural schools", "town": "town schools",
                   "coastal": "coastal schools", "fsm_band_4": "the most deprived schools (FSM band 4)",
                   "cold_spots": "cold-spot local authorities",
                   "rural_cold_spots": "rural schools in cold-spot local authorities"}


def is_share(outcome: str) -> bool:
    """Outcomes that are shares (shown as percentages, differences in percentage points)."""
    return outcome.startswith(("share_", "improved_share")) or outcome.endswith("_share") \
        or outcome.startswith("head_retention")


def value_text(outcome: str, value: float) -> str:
    """A value in the outcome's natural unit."""
    if not np.isfinite(value):
        return "n/a"
    if is_share(outcome):
        return f"{100 * value:.1f}%"
    if outcome.endswith("_gbp") or "_gbp_" in outcome:
        return f"£{value:,.0f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def difference_text(outcome: str, value: float) -> str:
    """A difference in percentage points for shares, else in the outcome's unit."""
    if not np.isfinite(value):
        return "n/a"
    if is_share(outcome):
        return f"{100 * value:+.2f} percentage points"
    if outcome.endswith("_gbp") or "_gbp_" in outcome:
        return f"{'+' if value >= 0 else '-'}£{abs(value):,.0f}"
    return f"{value:+,.3g}"


def label(outcome: str) -> str:
    return outcome.removesuffix(SERIES_SUFFIX).replace("_", " ")


def calendar(spec: ExperimentSpec) -> tuple[float, int]:
    """The world's start (calendar year) and the horizon year of the runs."""
    from sim.world import build_world
    start = float(getattr(build_world(spec.base.world), "start_year", 0.0) or 0.0)
    return start, int(start + spec.base.run.years)


def answer(spec: ExperimentSpec, arms: pd.DataFrame, differences: pd.DataFrame,
           runs: pd.DataFrame, horizon: int) -> str:
    """The first paragraph: the question answered with numbers and intervals."""
    e = spec.experiment
    outcome, subgroup = e.headline.outcome, e.headline.subgroup
    reference = spec.reference_arm
    level = round(100 * e.confidence_level)
    rows = arms[(arms["outcome"] == outcome) & (arms["subgroup"] == subgroup)].set_index("arm")
    if rows.empty:
        return (f"The headline ({outcome} in {subgroup}) is not in this sweep's summaries "
                "(a subgroup without schools in this world, or not among the outcomes).")
    sign = -1 if outcome in LOWER_IS_BETTER else 1
    ranked = (sign * rows["mean"]).sort_values(ascending=False).index.tolist()
    best = ranked[0]
    other = best if best != reference else (ranked[1] if len(ranked) > 1 else best)
    where = SUBGROUP_LABELS.get(subgroup, subgroup)
    n = int(rows.loc[best, "n"])
    question = f"**{e.question.strip()[:1].upper()}{e.question.strip()[1:]}** " if e.question else ""
    text = [question + f"In {where}, by {horizon} ({spec.base.run.years} years, {n} paired "
            f"replications per arm, every arm on the same seeds), the highest "
            f"{label(outcome)} comes with **{best}**" if sign > 0 else
            question + f"In {where}, by {horizon} ({spec.base.run.years} years, {n} paired "
            f"replications per arm, every arm on the same seeds), the lowest {label(outcome)} "
            f"comes with **{best}**"]
    text[0] += (f": {value_text(outcome, rows.loc[best, 'mean'])} ({level}% interval "
                f"{value_text(outcome, rows.loc[best, 'ci_low'])} to "
                f"{value_text(outcome, rows.loc[best, 'ci_high'])})")
    pair = differences[(differences["outcome"] == outcome) & (differences["subgroup"] == subgroup)
                       & (differences["arm"] == other) & (differences["versus"] == reference)]
    if best == reference:
        text[0] += "."
        text.append(f"No arm beats the reference **{reference}**; the closest, **{other}**, "
                    f"scores {value_text(outcome, rows.loc[other, 'mean'])}.")
    else:
        text[0] += (f", against {value_text(outcome, rows.loc[reference, 'mean'])} with the "
                    f"reference **{reference}**.")
    if len(pair):
        row = pair.iloc[0]
        m = int(differences["p_value"].notna().sum())
        text.append(f"The paired difference {other} - {reference} is "
                    f"{difference_text(outcome, row['mean_difference'])} ({level}% interval "
                    f"adjusted for {m} comparisons: {difference_text(outcome, row['ci_low_adjusted'])} "
                    f"to {difference_text(outcome, row['ci_high_adjusted'])}; "
                    f"{spec.experiment.multiple_comparisons} p = {row['p_adjusted']:.2g}).")
        if row["resolved"]:
            text.append("That difference is resolved at the adjusted level.")
        else:
            needed = row["replications_needed"]
            more = ""
            if np.isfinite(needed) and needed > n:
                more = (f" Resolving a difference of this size would need about {int(needed):,} "
                        "replications per arm (80% power at the adjusted level).")
            elif np.isfinite(needed):
                more = (f" A true difference of this size would be resolved in 80% of experiments "
                        f"with {int(needed)} replications; this one was not: add replications.")
            text.append(f"The interval includes zero: at {n} replications this experiment cannot "
                        f"tell {other} from {reference} on this measure.{more}")
    column = output_name(outcome, subgroup)
    if column in runs:
        wide = runs.pivot(index="replication", columns="arm", values=column).dropna()
        if len(wide):
            winners = (wide * sign).idxmax(axis=1).value_counts(normalize=True)
            shares = ", ".join(f"{arm} {100 * share:.0f}%" for arm, share in winners.items())
            text.append(f"Share of the {len(wide)} paired replications in which each arm came "
                        f"out best: {shares}.")
    return " ".join(text)


def headline_figure(arms: pd.DataFrame, outcome: str, subgroup: str, horizon: int,
                    level: float) -> plt.Figure:
    """Each arm's headline value with its interval, n and value written on the bar."""
    rows = arms[(arms["outcome"] == outcome) & (arms["subgroup"] == subgroup)]
    scale = 100 if is_share(outcome) else 1
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.6))
    y = np.arange(len(rows))
    means = rows["mean"].to_numpy() * scale
    errors = np.vstack([(rows["mean"] - rows["ci_low"]).fillna(0), (rows["ci_high"] - rows["mean"]).fillna(0)]) * scale
    # points, not bars: the axis does not start at zero, and a bar's length would mislead
    ax.errorbar(means, y, xerr=errors, fmt="o", color="tab:blue", capsize=4)
    ax.set_yticks(y, rows["arm"])
    ax.invert_yaxis()
    low = np.nanmin(rows["ci_low"].to_numpy() * scale)
    high = np.nanmax(rows["ci_high"].to_numpy() * scale)
    pad = (high - low) * 0.6 + 1e-9
    ax.set_xlim(low - pad, high + pad * 1.8)
    for k, row in enumerate(rows.itertuples()):
        ax.text(row.ci_high * scale + pad * 0.08, k,
                f"{value_text(outcome, row.mean)} ({value_text(outcome, row.ci_low)} to "
                f"{value_text(outcome, row.ci_high)}), n={row.n}", va="center", fontsize=8)
    unit = " (%)" if is_share(outcome) else ""
    ax.set_xlabel(f"{label(outcome)}{unit}")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(f"{label(outcome).capitalize()} by {horizon}, {SUBGROUP_LABELS.get(subgroup, subgroup)}\n"
                 f"mean and {round(100 * level)}% interval over replications", fontsize=10)
    fig.tight_layout()
    return fig


def differences_figure(differences: pd.DataFrame, outcome: str, reference: str,
                       horizon: int, level: float) -> plt.Figure:
    """Paired differences from the reference arm in every subgroup, adjusted intervals, n."""
    rows = differences[(differences["outcome"] == outcome) & (differences["versus"] == reference)]
    subgroups = list(dict.fromkeys(rows["subgroup"]))
    scale = 100 if is_share(outcome) else 1
    fig, axes = plt.subplots(1, len(subgroups), figsize=(3.3 * len(subgroups) + 1.2, 0.5 * rows["arm"].nunique() + 2.2),
                             sharey=True, squeeze=False)
    for ax, subgroup in zip(axes[0], subgroups):
        part = rows[rows["subgroup"] == subgroup]
        y = np.arange(len(part))
        mean = part["mean_difference"].to_numpy() * scale
        err = np.vstack([(part["mean_difference"] - part["ci_low_adjusted"]).fillna(0),
                         (part["ci_high_adjusted"] - part["mean_difference"]).fillna(0)]) * scale
        colours = np.where(part["resolved"], "tab:red", "tab:grey")
        ax.barh(y, mean, xerr=err, color=colours, alpha=0.8, capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, part["arm"])
        for k, row in enumerate(part.itertuples()):
            ax.annotate(f"n={row.n}", (0, k), xytext=(2, 9), textcoords="offset points", fontsize=7)
        ax.set_title(SUBGROUP_LABELS.get(subgroup, subgroup), fontsize=8, wrap=True)
        ax.grid(alpha=0.3, axis="x")
        ax.locator_params(axis="x", nbins=4)
        ax.set_xlabel("percentage points" if is_share(outcome) else label(outcome), fontsize=8)
    axes[0][0].invert_yaxis()
    m = int(differences["p_value"].notna().sum())
    fig.suptitle(f"{label(outcome).capitalize()} by {horizon}: difference from '{reference}' "
                 f"(paired; {round(100 * level)}% intervals adjusted for {m} comparisons; "
                 f"red = resolved)", fontsize=9)
    fig.tight_layout()
    return fig


def over_time_figure(series: pd.DataFrame, name: str, start_year: float, level: float) -> plt.Figure:
    """One series per arm over calendar years, with its band over replications."""
    rows = series[series["series"] == name]
    scale = 100 if is_share(name.removesuffix(SERIES_SUFFIX)) else 1
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for arm, part in rows.groupby("arm", sort=False):
        years = start_year + part["time_years"]
        line, = ax.plot(years, part["mean"] * scale, label=arm)
        ax.fill_between(years, part["ci_low"] * scale, part["ci_high"] * scale,
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("calendar year")
    ax.set_ylabel(label(name) + (" (%)" if scale == 100 else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    end = int(start_year + rows["time_years"].max())
    ax.set_title(f"{label(name).capitalize()} to {end}, all schools "
                 f"(mean and {round(100 * level)}% band over replications)", fontsize=10)
    fig.tight_layout()
    return fig


def la_map_figure(la: pd.DataFrame, spec: ExperimentSpec, arm: str, outcome: str,
                  horizon: int) -> plt.Figure | None:
    """The paired difference ``arm - reference`` by local authority, on a map."""
    rows = la[(la["arm"] == arm) & (la["versus"] == spec.reference_arm) & (la["outcome"] == outcome)]
    if rows.empty:
        return None
    scale = 100 if is_share(outcome) else 1
    values = dict(zip(rows["local_authority"], rows["mean_difference"] * scale))
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    extreme = max(abs(v) for v in values.values()) or 1.0
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-extreme, vmax=extreme)
    try:
        from sim.maps import choropleth  # real boundaries, when available
        mappable = choropleth(ax, "local_authority", values, cmap="RdBu", norm=norm)
    except (ImportError, TypeError, ValueError):  # no boundaries module, or it cannot draw these
        ax.clear()
        mappable = _la_dot_map(ax, spec, values, norm)
    fig.colorbar(mappable, ax=ax, shrink=0.7,
                 label=("percentage points" if scale == 100 else label(outcome)))
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{label(outcome).capitalize()} by {horizon}: {arm} - {spec.reference_arm}\n"
                 f"paired mean difference by local authority ({int(rows['n'].max())} replications; "
                 "unadjusted)", fontsize=9)
    fig.tight_layout()
    return fig


def _la_dot_map(ax, spec: ExperimentSpec, values: dict[str, float], norm):
    """Without boundary files: one dot per authority at its schools' centre, sized by schools."""
    from sim.world import build_world
    w = build_world(spec.base.world)
    frame = pd.DataFrame({"la": np.array(w.la_names, dtype=object)[w.local_authority],
                          "x": w.x_km, "y": w.y_km}).groupby("la").agg(
        x=("x", "mean"), y=("y", "mean"), schools=("x", "size"))
    frame = frame.loc[[name for name in values if name in frame.index]]
    return ax.scatter(frame["x"], frame["y"], c=[values[name] for name in frame.index],
                      s=20 + frame["schools"] / frame["schools"].max() * 300, cmap="RdBu",
                      norm=norm, edgecolors="black", linewidths=0.4)


def write_report(folder: str | Path, spec: ExperimentSpec) -> Path:
    """Write ``report.md``, ``report.html`` and the report's figures; return the Markdown path."""
    folder = Path(folder)
    summary = folder / SUMMARY
    arms = pd.read_csv(summary / "arms.csv")
    differences = pd.read_csv(summary / "paired_differences.csv")
    e = spec.experiment
    start, horizon = calendar(spec)
    headline = output_name(e.headline.outcome, e.headline.subgroup)
    store = ExperimentStore(folder)
    columns = [c for c in [headline] if c in store.output_columns()]
    runs = store.read_runs(columns=["run_key", "arm", "replication", *columns])
    figures: list[tuple[str, plt.Figure, str]] = [
        ("report_headline.png", headline_figure(arms, e.headline.outcome, e.headline.subgroup,
                                                horizon, e.confidence_level),
         "Headline outcome by arm"),
        ("report_differences.png", differences_figure(differences, e.headline.outcome,
                                                      spec.reference_arm, horizon,
                                                      e.confidence_level),
         "Paired differences from the reference arm, by subgroup")]
    if (summary / "series.csv").exists():
        series = pd.read_csv(summary / "series.csv")
        name = f"{e.headline.outcome}{SERIES_SUFFIX}"
        if name not in set(series["series"]):
            name = series["series"].iloc[0]
        figures.append(("report_over_time.png", over_time_figure(series, name, start,
                                                                 e.confidence_level),
                        "Arms over calendar time"))
    if (summary / "la_differences.csv").exists():
        la = pd.read_csv(summary / "la_differences.csv")
        outcome = e.headline.outcome if e.headline.outcome in set(la["outcome"]) else la["outcome"].iloc[0]
        best = _best_arm(arms, spec, outcome)
        if best is not None:
            figure = la_map_figure(la, spec, best, outcome, horizon)
            if figure is not None:
                figures.append(("report_la_map.png", figure,
                                f"Map: {best} - {spec.reference_arm} by local authority"))
    for name, figure, _ in figures:
        write_atomic(folder / FIGURES / name, lambda tmp, f=figure: f.savefig(
            tmp, format="png", dpi=110, metadata=PNG_METADATA))
        plt.close(figure)
    first = answer(spec, arms, differences, runs, horizon)
    level = round(100 * e.confidence_level)
    table = differences[differences["versus"] == spec.reference_arm]
    table = table[table["outcome"] == e.headline.outcome]
    lines = [f"# {e.name}: report", "", first, "",
             f"*Method.* {len(spec.arms)} arms, {e.replications} replications each on shared "
             f"seeds (experiment seed {e.seed}), {spec.base.run.years} years from {start:.1f} to "
             f"{horizon}. Paired differences are per replication; intervals are Student-t at "
             f"{level}%, adjusted (Bonferroni) for the {int(differences['p_value'].notna().sum())} "
             f"comparisons of the sweep; p-values adjusted with {e.multiple_comparisons}. "
             "Subgroups are defined in sim/subgroups.py (cold spots: local authorities in the "
             "bottom third of potential system-leader supply against need at the start).", ""]
    for name, _, caption in figures:
        lines += [f"![{caption}]({FIGURES}/{name})", ""]
    lines += [f"## {label(e.headline.outcome).capitalize()}: differences from {spec.reference_arm}", "",
              _markdown_table(table, e.headline.outcome), ""]
    if (summary / "costs.csv").exists():
        costs = pd.read_csv(summary / "costs.csv")
        lines += ["## Cost per extra school good or outstanding", "", _costs_table(costs), ""]
    markdown = "\n".join(lines)
    write_atomic(folder / "report.md", lambda tmp: tmp.write_text(markdown))
    write_atomic(folder / "report.html", lambda tmp: tmp.write_text(_html(folder, e.name, lines)))
    return folder / "report.md"


def _best_arm(arms: pd.DataFrame, spec: ExperimentSpec, outcome: str) -> str | None:
    rows = arms[(arms["outcome"] == outcome) & (arms["subgroup"] == spec.experiment.headline.subgroup)
                & (arms["arm"] != spec.reference_arm)]
    if rows.empty:
        return None
    sign = -1 if outcome in LOWER_IS_BETTER else 1
    return rows.loc[(sign * rows["mean"]).idxmax(), "arm"]


def _markdown_table(rows: pd.DataFrame, outcome: str) -> str:
    header = "| arm | subgroup | n | difference | adjusted interval | p (adjusted) | replications to resolve |\n|---|---|---|---|---|---|---|"
    body = [f"| {r.arm} | {r.subgroup} | {r.n} | {difference_text(outcome, r.mean_difference)} | "
            f"{difference_text(outcome, r.ci_low_adjusted)} to {difference_text(outcome, r.ci_high_adjusted)} | "
            f"{r.p_adjusted:.2g} | {'' if not np.isfinite(r.replications_needed) else f'{int(r.replications_needed):,}'} |"
            for r in rows.itertuples()]
    return "\n".join([header, *body])


def _costs_table(costs: pd.DataFrame) -> str:
    header = "| arm | versus | subgroup | extra schools good or outstanding | extra spend over the run | cost per extra school |\n|---|---|---|---|---|---|"
    body = []
    for r in costs.itertuples():
        cost = (f"£{r.cost_per_extra_school_gbp:,.0f} (£{r.cost_ci_low:,.0f} to £{r.cost_ci_high:,.0f})"
                if r.resolved else "not resolved (extra schools' interval includes zero)")
        body.append(f"| {r.arm} | {r.versus} | {r.subgroup} | {r.extra_schools_good_or_outstanding:+.1f} "
                    f"({r.extra_schools_ci_low:+.1f} to {r.extra_schools_ci_high:+.1f}) | "
                    f"£{r.extra_spend_gbp:,.0f} | {cost} |")
    return "\n".join([header, *body])


def _html(folder: Path, title: str, lines: list[str]) -> str:
    """The Markdown lines as one HTML file with every figure embedded (base64)."""
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
           "table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;"
           "padding:0.2em 0.5em}img{max-width:100%}</style></head><body>"]
    table: list[str] = []
    for line in lines + [""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            cells = [row.strip("|").split("|") for row in table if not set(row) <= set("|-")]
            out.append("<table>" + "".join(
                "<tr>" + "".join(f"<{'th' if k == 0 else 'td'}>{html.escape(c.strip())}</{'th' if k == 0 else 'td'}>"
                                 for c in row) + "</tr>" for k, row in enumerate(cells)) + "</table>")
            table = []
        if line.startswith("!["):
            caption, path = line[2:].split("](")
            data = base64.b64encode((folder / path.rstrip(")")).read_bytes()).decode()
            out.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                       f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        elif line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line:
            text = html.escape(line)
            while "**" in text:
                text = text.replace("**", "<b>", 1).replace("**", "</b>", 1)
            while text.count("*") >= 2:
                text = text.replace("*", "<i>", 1).replace("*", "</i>", 1)
            out.append(f"<p>{text}</p>")
    out.append("</body></html>")
    return "\n".join(out)
