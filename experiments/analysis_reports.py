"""Reports of the experiments that are not sweeps: calibration, sensitivity analysis (Morris,
Sobol) and scenario discovery. Each writes ``report.md`` and a self-contained ``report.html``
(figures embedded) whose first paragraph answers the experiment's question with numbers:

* calibration: how many prior points fit every target, and for each target where the
  simulated values sit against it (best point, range over the prior, distance in tolerances);
* sensitivity: the most influential parameters of each outcome with their bootstrap
  intervals, and whether the indices converged;
* scenario discovery: the box of parameters where the condition holds, with its coverage
  and density.

Everything is read from the saved tables (the model is never run). Sweeps have their own
report (:mod:`experiments.report`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.figures import PNG_METADATA  # noqa: E402

from .report import _html, calendar, is_share, label  # noqa: E402
from .spec import ExperimentSpec, Target  # noqa: E402
from .store import FIGURES, SUMMARY, write_atomic  # noqa: E402

MEASURE_TEXT = {"end": "levels in the run's last year, rates and retention over the run",
                "change_over_run": "change from the run's first year to its last",
                "at_year": "at the source's calendar year"}


def _number(name: str, value: float, signed: bool = False, points: bool = False) -> str:
    """A target value in its natural unit: shares in percent, changes of shares and
    tolerances in percentage points."""
    if not np.isfinite(value):
        return "n/a"
    if is_share(name):
        return (f"{100 * value:+.1f} points" if signed else
                f"{100 * value:.1f} points" if points else f"{100 * value:.1f}%")
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _write(folder: Path, title: str, lines: list[str],
           figures: dict[str, plt.Figure]) -> Path:
    for name, figure in figures.items():
        write_atomic(folder / FIGURES / name, lambda tmp, f=figure: f.savefig(
            tmp, format="png", dpi=110, metadata=PNG_METADATA))
        plt.close(figure)
    markdown = "\n".join(lines)
    write_atomic(folder / "report.md", lambda tmp: tmp.write_text(markdown))
    write_atomic(folder / "report.html", lambda tmp: tmp.write_text(_html(folder, title, lines)))
    return folder / "report.md"


# --- calibration -----------------------------------------------------------------------------

def calibration_answer(points: pd.DataFrame, targets: dict[str, Target], replications: int,
                       horizon: int) -> str:
    """The first paragraph of a calibration report."""
    accepted = int(points["accepted"].sum())
    best = points.loc[points["max_distance"].idxmin()]
    text = [f"**{accepted} of {len(points)} prior points** (ABC rejection, {replications} "
            f"replication{'s' if replications > 1 else ''} per point, runs to {horizon}) are within "
            "the tolerance of every target."]
    parts = []
    for name, target in targets.items():
        simulated = points[f"simulated:{name}"]
        within = float((points[f"distance:{name}"] <= 1).mean())
        signed = target.measure == "change_over_run"
        parts.append(
            f"{label(name)} ({MEASURE_TEXT[target.measure]}"
            f"{f' {target.year:g}' if target.year is not None else ''}): target "
            f"{_number(name, target.value, signed)} +/- {_number(name, target.tolerance, points=True)}; simulated "
            f"{_number(name, simulated.min(), signed)} to {_number(name, simulated.max(), signed)} "
            f"over the prior, {100 * within:.0f}% of points within tolerance")
    text.append("Per target: " + "; ".join(parts) + ".")
    misses = [f"{label(name)} by {best[f'distance:{name}']:.2f} tolerances"
              for name in targets if best[f"distance:{name}"] > 1]
    if accepted:
        text.append(f"The closest point is {best['max_distance']:.2f} tolerances from its "
                    "furthest target.")
    else:
        text.append(f"The closest point (largest distance {best['max_distance']:.2f}) misses "
                    + ", ".join(misses) + ": the ensemble is empty and ensemble sweeps cannot "
                    "run until the priors, the targets or the model change.")
    return " ".join(text)


def calibration_figure(points: pd.DataFrame, targets: dict[str, Target],
                       parameters: list[str], horizon: int) -> plt.Figure:
    """Each target's simulated value against each parameter, with the target's band;
    accepted points in red."""
    rows, cols = len(targets), len(parameters)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols + 0.6, 2.5 * rows + 0.8),
                             squeeze=False)
    accepted = points["accepted"].to_numpy(dtype=bool)
    for r, (name, target) in enumerate(targets.items()):
        scale = 100 if is_share(name) else 1
        simulated = points[f"simulated:{name}"].to_numpy() * scale
        for c, parameter in enumerate(parameters):
            ax = axes[r][c]
            ax.axhspan((target.value - target.tolerance) * scale,
                       (target.value + target.tolerance) * scale, color="tab:green", alpha=0.2,
                       linewidth=0)
            ax.axhline(target.value * scale, color="tab:green", linewidth=1)
            x = points[parameter].to_numpy()
            ax.scatter(x[~accepted], simulated[~accepted], s=9, color="tab:grey")
            ax.scatter(x[accepted], simulated[accepted], s=14, color="tab:red")
            ax.grid(alpha=0.3)
            ax.locator_params(axis="x", nbins=4)
            if r == rows - 1:
                ax.set_xlabel(parameter, fontsize=8)
            if c == 0:
                unit = " (points)" if scale == 100 and target.measure == "change_over_run" else (
                    " (%)" if scale == 100 else "")
                ax.set_ylabel(f"{label(name)}{unit}", fontsize=8)
    fig.suptitle(f"Calibration to {horizon}: simulated value of each target against each "
                 f"parameter ({len(points)} prior points; band = target +/- tolerance; red = "
                 "accepted)", fontsize=9)
    fig.tight_layout()
    return fig


def write_calibration_report(folder: str | Path, spec: ExperimentSpec) -> Path:
    """``report.md`` / ``report.html`` of a calibration: the answer, targets, ensemble, figure."""
    from .calibrate import ENSEMBLE, targets_of
    folder = Path(folder)
    points = pd.read_csv(folder / SUMMARY / "calibration_points.csv")
    targets = targets_of(spec)
    parameters = [u.name for u in spec.uncertainties]
    start, horizon = calendar(spec)
    e = spec.experiment
    lines = [f"# {e.name}: calibration report", "",
             calibration_answer(points, targets, e.replications, horizon), "",
             f"*Method.* Approximate Bayesian computation by rejection: {len(points)} scrambled-"
             f"Sobol points from the priors (seed {e.seed}), each run {e.replications} time(s) "
             f"for {spec.base.run.years} years from {start:.1f}; distance = |simulated mean - "
             "target| / tolerance; a point is accepted when every distance is at most 1.", "",
             "![Targets against parameters](figures/calibration_targets.png)", "",
             "## Targets", "",
             "| target | measured | value | tolerance | best point | distance of best point | source |",
             "|---|---|---|---|---|---|---|"]
    best = points.loc[points["max_distance"].idxmin()]
    for name, target in targets.items():
        signed = target.measure == "change_over_run"
        lines.append(f"| {name} | {MEASURE_TEXT[target.measure]}"
                     f"{f' {target.year:g}' if target.year is not None else ''} | "
                     f"{_number(name, target.value, signed)} | {_number(name, target.tolerance, points=True)} | "
                     f"{_number(name, best[f'simulated:{name}'], signed)} | "
                     f"{best[f'distance:{name}']:.2f} | {target.source} |")
    lines += ["", "## Priors and ensemble", "",
              "| parameter | prior | ensemble min | ensemble mean | ensemble max |",
              "|---|---|---|---|---|"]
    ensemble = pd.read_csv(folder / ENSEMBLE)
    for u in spec.uncertainties:
        values = ensemble[u.name] if len(ensemble) else pd.Series(dtype=float)
        stats = ("n/a",) * 3 if values.empty else tuple(f"{v:.4g}" for v in (values.min(), values.mean(), values.max()))
        lines.append(f"| {u.name} | {u.distribution} {u.low:g} to {u.high:g} | {' | '.join(stats)} |")
    if len(ensemble):
        lines += ["", f"Use it in a sweep: `experiment.parameter_ensemble={folder / ENSEMBLE}`."]
    box_path = folder / SUMMARY / "non_implausible_box.csv"
    if box_path.exists():
        box = pd.read_csv(box_path)
        count = int(box["points"].iloc[0]) if len(box) else 0
        lines += ["", "## Next wave (history matching)", "",
                  f"{count} of {len(points)} points are within {box['cutoff'].iloc[0]:g} "
                  "tolerances of every target (not implausible)"
                  + (". Their box, the priors of a next wave that keeps every accepted point:"
                     if count else "; no next wave can be bounded from this one."), ""]
        if count:
            lines += ["| parameter | low | high |", "|---|---|---|"] + [
                f"| {r.parameter} | {r.low:.4g} | {r.high:.4g} |" for r in box.itertuples()]
    figures = {"calibration_targets.png": calibration_figure(points, targets, parameters, horizon)}
    return _write(folder, f"{e.name}: calibration report", lines, figures)


# --- sensitivity analysis --------------------------------------------------------------------

def sensitivity_answer(kind: str, indices: pd.DataFrame, convergence: pd.DataFrame,
                       tolerance: float, top: int = 3) -> str:
    """The first paragraph of a Morris or Sobol report: the leading parameters per outcome."""
    index, conf = ("mu_star", "mu_star_conf") if kind == "morris" else ("ST", "ST_conf")
    what = ("Morris mu* (mean absolute elementary effect)" if kind == "morris"
            else "Sobol total-order index ST")
    parts = []
    for outcome, rows in indices.groupby("outcome", sort=False):
        leading = rows.sort_values(index, ascending=False).head(top)
        parts.append(f"{label(outcome)}: " + ", ".join(
            f"{r.parameter} {getattr(r, index):.3g} (+/- {getattr(r, conf):.2g})"
            for r in leading.itertuples()))
    unconverged = convergence[~convergence["converged"]]
    tail = (f"All indices moved by at most {tolerance} between N/2 and N (converged)."
            if unconverged.empty else
            f"{len(unconverged)} of {len(convergence)} indices moved by more than {tolerance} "
            f"between N/2 and N (not converged; raise experiment.N): "
            + ", ".join(f"{r.index} of {r.parameter} for {r.outcome}"
                        for r in unconverged.head(5).itertuples())
            + (" ..." if len(unconverged) > 5 else "") + ".")
    return (f"**Most influential parameters by {what}, with 95% bootstrap half-widths:** "
            + "; ".join(parts) + ". " + tail)


def write_sensitivity_report(folder: str | Path, spec: ExperimentSpec) -> Path:
    """``report.md`` / ``report.html`` of a Morris or Sobol experiment."""
    folder = Path(folder)
    e = spec.experiment
    indices = pd.read_csv(folder / SUMMARY / f"{e.kind}_indices.csv")
    convergence = pd.read_csv(folder / SUMMARY / "convergence.csv")
    start, horizon = calendar(spec)
    figure = "morris_mu_star_sigma.png" if e.kind == "morris" else "sobol_indices.png"
    lines = [f"# {e.name}: {e.kind} sensitivity report", "",
             sensitivity_answer(e.kind, indices, convergence, e.convergence_tolerance), "",
             f"*Method.* {e.kind.capitalize()} analysis (SALib) of {len(spec.uncertainties)} "
             f"behavioural parameters, N = {e.N}, {e.replications} replication(s) per point "
             f"averaged, runs of {spec.base.run.years} years from {start:.1f} to {horizon}; "
             f"tables in `summary/{e.kind}_indices.csv` and `summary/convergence.csv`.", ""]
    if (folder / FIGURES / figure).exists():
        lines += [f"![{e.kind} indices]({FIGURES}/{figure})", ""]
    return _write(folder, f"{e.name}: sensitivity report", lines, {})


# --- scenario discovery ----------------------------------------------------------------------

def discovery_answer(boxes: pd.DataFrame, what: str, condition: str) -> str:
    """The first paragraph of a scenario-discovery report."""
    if boxes.empty:
        return f"PRIM found no box where {what} {condition}."
    first = boxes[boxes["box"] == 0]
    stats = first.iloc[0]
    limits = [f"{r.parameter} {r.low:.4g} to {r.high:.4g}" for r in first.itertuples() if r.restricted]
    text = (f"**{what} {condition} in {int(stats['cases'])} of {int(stats['rows'])} parameter "
            f"sets.** PRIM's first box ({', '.join(limits) or 'no restriction'}) holds "
            f"{100 * stats['coverage']:.0f}% of those sets (coverage), and "
            f"{100 * stats['density']:.0f}% of the sets in it meet the condition (density; the box "
            f"holds {100 * stats['mass']:.0f}% of all sets).")
    if boxes["box"].nunique() > 1:
        text += f" {boxes['box'].nunique() - 1} further box(es) in boxes.csv."
    return text


def write_discovery_report(target: Path, boxes: pd.DataFrame, what: str, condition: str,
                           source: Path) -> Path:
    """``report.md`` / ``report.html`` in the discovery folder, next to ``boxes.png``."""
    lines = [f"# Scenario discovery: where {what} {condition}", "",
             discovery_answer(boxes, what, condition), "",
             f"*Method.* PRIM (ema_workbench.analysis.prim) on the parameters of `{source}`; the "
             "box chosen on each peeling trajectory is the one with the highest coverage whose "
             "density reaches the minimum density, else the densest.", "",
             "![PRIM boxes](boxes.png)", "", "## Boxes", "",
             "| box | parameter | low | high | coverage | density | mass |", "|---|---|---|---|---|---|---|"]
    for r in boxes[boxes["restricted"]].itertuples():
        lines.append(f"| {r.box} | {r.parameter} | {r.low:.4g} | {r.high:.4g} | "
                     f"{100 * r.coverage:.0f}% | {100 * r.density:.0f}% | {100 * r.mass:.0f}% |")
    markdown = "\n".join(lines)
    write_atomic(target / "report.md", lambda tmp: tmp.write_text(markdown))
    write_atomic(target / "report.html",
                 lambda tmp: tmp.write_text(_html(target, f"Scenario discovery: {what}", lines)))
    return target / "report.md"


def print_reports(folder: Path) -> None:
    """Print the first paragraph of the experiment's report and of its scenario discovery."""
    for path in (folder / "report.md", folder / "discovery" / "report.md"):
        if path.exists():
            paragraphs = path.read_text().split("\n\n")
            print(f"\n{paragraphs[1] if len(paragraphs) > 1 else ''}\n(report: {path})")
