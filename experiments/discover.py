"""Scenario discovery: boxes of uncertain parameters where a policy fails or wins (PRIM).

::

    python -m experiments.discover results/experiments/morris \\
        --outcome share_good_or_outstanding --below 0.84
    python -m experiments.discover results/experiments/nle_targeting_ensemble \\
        --outcome share_good_or_outstanding --subgroup rural --arm cold_spots_first \\
        --versus nearest --above 0

Takes a recorded experiment whose runs vary behavioural parameters: a sensitivity analysis or
calibration (one row per sample point: replications averaged) or a sweep run across a
parameter ensemble (one row per replication, with its member's parameters; with ``--versus``
the outcome is the paired difference ``arm - versus`` on the same seed). A case of interest is
a row whose outcome is ``--below`` or ``--above`` a threshold (a policy failing, or winning).

PRIM (Friedman and Fisher 1999) peels the parameter box towards the cases of interest; the
implementation is EMA Workbench's ``ema_workbench.analysis.prim`` (kept, widely used in
scenario discovery), not our own. From each peeling trajectory the box chosen is the one with
the highest coverage whose density reaches ``--min-density`` (else the densest); up to
``--boxes`` boxes are found in turn, each on the rows the earlier ones left.

Writes to ``<folder>/discovery/`` (or ``--out``): ``boxes.csv`` (box, parameter, low, high,
restricted, and each box's coverage, density, mass and cases), ``trajectory.csv`` (every
peeling step of every box) and ``boxes.png`` (the trade-off of coverage against density, and
the cases over the two most restricted parameters with the first box drawn).

* coverage: the share of all cases of interest that fall in the box;
* density: the share of the rows in the box that are cases of interest;
* mass: the share of all rows in the box.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.parameters import ConfigError
from sim.subgroups import output_name

from .analysis_reports import write_discovery_report
from .cli import run_command
from .entry import add_verbosity_options
from .logs import configure, log_capture, log_file, write_log
from .spec import spec_from_dict
from .store import ExperimentStore, read_manifest, write_atomic

DISCOVERY = "discovery"
log = logging.getLogger("experiments.discover")  # not __name__: "__main__" under python -m


@dataclass(frozen=True)
class Discovery:
    """PRIM's boxes (one row per box x parameter) and peeling trajectories."""

    boxes: pd.DataFrame
    trajectory: pd.DataFrame


def find_boxes(x: pd.DataFrame, interesting: np.ndarray, min_density: float = 0.8,
               boxes: int = 1, peel_alpha: float = 0.05, mass_min: float = 0.05) -> Discovery:
    """Run PRIM on parameters ``x`` (one column each) and cases of interest ``interesting``."""
    with warnings.catch_warnings():  # ema_workbench warns about optional parallel back-ends
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    interesting = np.asarray(interesting, dtype=bool)
    if not interesting.any():
        raise ConfigError("no case of interest: no row meets the condition; change the threshold")
    finder = prim.Prim(x.reset_index(drop=True).astype(float), interesting,
                       peel_alpha=peel_alpha, mass_min=mass_min)
    box_rows, trajectories = [], []
    for number in range(boxes):
        box = finder.find_box()
        if box is None:
            break
        trajectory = box.peeling_trajectory.reset_index(drop=True)
        dense = trajectory[trajectory["density"] >= min_density]
        # highest coverage, and among equal coverage the densest box
        chosen = (int(dense.sort_values(["coverage", "density"], kind="stable").index[-1])
                  if len(dense) else int(trajectory["density"].idxmax()))
        box.select(chosen)
        trajectories.append(trajectory.assign(box=number, chosen=trajectory.index == chosen))
        limits = box.box_lims[chosen]
        stats = trajectory.loc[chosen]
        for parameter in x.columns:
            low, high = float(limits.loc[0, parameter]), float(limits.loc[1, parameter])
            box_rows.append({
                "box": number, "parameter": parameter, "low": low, "high": high,
                "restricted": bool(low > x[parameter].min() or high < x[parameter].max()),
                "coverage": float(stats["coverage"]), "density": float(stats["density"]),
                "mass": float(stats["mass"]), "cases_in_box": int(round(stats["density"] * stats["mass"] * len(x))),
                "rows": len(x), "cases": int(interesting.sum())})
        if number + 1 < boxes and interesting[box.yi].all() and len(box.yi) == interesting.sum():
            break  # every case is covered
    return Discovery(boxes=pd.DataFrame(box_rows),
                     trajectory=pd.concat(trajectories, ignore_index=True))


def experiment_rows(folder: Path, outcome: str, subgroup: str, arm: str | None,
                    versus: str | None) -> tuple[pd.DataFrame, pd.Series]:
    """Parameters (one row per sample point or replication) and the outcome to classify."""
    manifest = read_manifest(folder)
    spec = spec_from_dict(manifest["spec"])
    store = ExperimentStore(folder)
    column = output_name(outcome, subgroup)
    if column not in store.output_columns():
        raise ConfigError(f"{folder}: the runs have no output {column!r}")
    kind = spec.experiment.kind
    if kind != "sweep":
        sample = pd.read_parquet(folder / "sample.parquet")
        runs = store.read_runs(columns=["run_key", "sample", column])
        y = runs.groupby("sample")[column].mean().reindex(sample["sample"])
        return _recorded(sample.drop(columns="sample").set_index(y.index), y, folder, "sample points")
    if not spec.ensemble:
        raise ConfigError(f"{folder} is a sweep at one parameter set: scenario discovery needs "
                          "parameters that vary (a sensitivity analysis, a calibration, or a "
                          "sweep with experiment.parameter_ensemble)")
    arm = arm or spec.reference_arm
    for name in (arm, versus):
        if name is not None and name not in spec.arms:
            raise ConfigError(f"--arm/--versus {name!r} is not an arm of {folder}; "
                              f"arms: {', '.join(spec.arms)}")
    runs = store.read_runs(columns=["run_key", "arm", "replication", "member", column])
    wide = runs.pivot(index="replication", columns="arm", values=column)
    y = wide[arm] - wide[versus] if versus else wide[arm]
    members = runs.drop_duplicates("replication").set_index("replication")["member"].reindex(wide.index)
    x = pd.DataFrame([spec.ensemble[int(m)] for m in members], index=wide.index)
    return _recorded(x, y, folder, "replications")


def _recorded(x: pd.DataFrame, y: pd.Series, folder: Path,
              rows: str) -> tuple[pd.DataFrame, pd.Series]:
    """The rows with an outcome; rows without one (every run of the point failed, or one arm of
    a paired difference did) are left out, with a warning, rather than counted as no case."""
    keep = y.notna().to_numpy()
    if not keep.all():
        log.warning("%s: %d of %d %s have no recorded outcome (failed runs, see errors/) and are "
                    "left out of scenario discovery", folder, int((~keep).sum()), len(keep), rows)
    return x[keep].reset_index(drop=True), y[keep].reset_index(drop=True)


def boxes_figure(x: pd.DataFrame, interesting: np.ndarray, discovery: Discovery, title: str):
    """Coverage against density along each peeling trajectory, and the cases over the two
    most restricted parameters of the first box with that box drawn."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4.3))
    for number, rows in discovery.trajectory.groupby("box"):
        left.plot(rows["coverage"], rows["density"], marker=".", label=f"box {number}")
        chosen = rows[rows["chosen"]]
        left.scatter(chosen["coverage"], chosen["density"], s=80, facecolors="none",
                     edgecolors="black", zorder=3)
    left.set_xlabel("coverage (share of cases in the box)")
    left.set_ylabel("density (share of the box that are cases)")
    left.set_title("PRIM peeling trajectory (circled: chosen)", fontsize=9)
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    first = discovery.boxes[discovery.boxes["box"] == 0].copy()
    first["shrink"] = (first["high"] - first["low"]) / (
        x[first["parameter"]].max().to_numpy() - x[first["parameter"]].min().to_numpy())
    shown = first.sort_values("shrink")["parameter"].tolist()[:2]
    if len(shown) == 2:
        a, b = shown
        right.scatter(x.loc[~interesting, a], x.loc[~interesting, b], s=10, c="lightgrey",
                      label="other")
        right.scatter(x.loc[interesting, a], x.loc[interesting, b], s=10, c="tab:red",
                      label="case of interest")
        limits = first.set_index("parameter")
        right.add_patch(Rectangle((limits.loc[a, "low"], limits.loc[b, "low"]),
                                  limits.loc[a, "high"] - limits.loc[a, "low"],
                                  limits.loc[b, "high"] - limits.loc[b, "low"],
                                  fill=False, linewidth=2, edgecolor="black"))
        right.set_xlabel(a, fontsize=8)
        right.set_ylabel(b, fontsize=8)
        right.legend(fontsize=7)
        stats = first.iloc[0]
        right.set_title(f"box 0: coverage {stats['coverage']:.0%}, density {stats['density']:.0%}",
                        fontsize=9)
    else:
        right.set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def discover(folder: str | Path, outcome: str, below: float | None = None,
             above: float | None = None, subgroup: str = "all", arm: str | None = None,
             versus: str | None = None, min_density: float = 0.8, boxes: int = 1,
             out: str | Path | None = None) -> Path:
    """Scenario discovery on a recorded experiment; write boxes, trajectories, the figure, the
    report and ``run.log`` (this discovery's log, written once the rest is)."""
    if (below is None) == (above is None):
        raise ConfigError("give exactly one of --below or --above")
    with log_capture() as captured:
        target = _discover(Path(folder), outcome, below, above, subgroup, arm, versus,
                           min_density, boxes, out)
    write_log(target, captured.getvalue())
    return target


def _discover(folder: Path, outcome: str, below: float | None, above: float | None,
              subgroup: str, arm: str | None, versus: str | None, min_density: float,
              boxes: int, out: str | Path | None) -> Path:
    from sim.figures import PNG_METADATA
    x, y = experiment_rows(folder, outcome, subgroup, arm, versus)
    interesting = (y < below).to_numpy() if below is not None else (y > above).to_numpy()
    discovery = find_boxes(x, interesting, min_density=min_density, boxes=boxes)
    target = Path(out) if out else folder / DISCOVERY
    what = f"{outcome}" + (f" ({subgroup})" if subgroup != "all" else "")
    if versus:
        what = f"{arm} - {versus}: {what}"
    condition = f"< {below:g}" if below is not None else f"> {above:g}"
    target.mkdir(parents=True, exist_ok=True)
    for name, table in (("boxes.csv", discovery.boxes), ("trajectory.csv", discovery.trajectory)):
        write_atomic(target / name, lambda tmp, t=table: t.to_csv(tmp, index=False))
    figure = boxes_figure(x, interesting, discovery,
                          f"Where {what} {condition}: {int(interesting.sum())} of {len(x)} cases")
    write_atomic(target / "boxes.png", lambda tmp: figure.savefig(tmp, format="png", dpi=110,
                                                                  metadata=PNG_METADATA))
    write_discovery_report(target, discovery.boxes, what, condition, folder)
    first = discovery.boxes[discovery.boxes["box"] == 0].iloc[0]
    log.info("scenario discovery on %s: %s %s in %d of %d cases; %d box(es), the first with "
             "coverage %.2f and density %.2f -> %s", folder, what, condition,
             int(interesting.sum()), len(x), discovery.boxes["box"].nunique(),
             first["coverage"], first["density"], target)
    return target


def discover_after(folder: str | Path, spec) -> Path | None:
    """The scenario discovery an experiment asks for in ``experiment.discovery`` (checked
    before its runs), on its own folder; ``None`` when it asks for none."""
    d = spec.experiment.discovery
    if not d.outcome:
        return None
    with log_file(folder):  # the experiment's log records its discovery too
        return discover(folder, d.outcome, d.below, d.above, d.subgroup,
                        min_density=d.min_density, boxes=d.boxes)


HELP = """\
sis-discover (python -m experiments.discover): scenario discovery (PRIM) on a finished experiment

Takes a recorded experiment whose runs vary behavioural parameters (a sensitivity analysis, a
calibration, or a sweep run across a parameter ensemble) and a condition on one outcome (a
policy failing: --below; or winning: --above), and finds the boxes of parameter values that
hold the cases meeting it, with PRIM (EMA Workbench): each box with its coverage (share of the
cases inside it) and density (share of the box that are cases). Writes boxes.csv,
trajectory.csv, boxes.png, report.md and run.log to <folder>/discovery/ (or --out). Nothing is
rerun."""

EXAMPLES = """\
examples:
  sis-discover results/experiments/morris --outcome share_good_or_outstanding --below 0.84
      Where, across the Morris sample, does the share good or outstanding end below 84 %?
  sis-discover results/experiments/discovery --outcome share_good_or_outstanding --below 0.80 --boxes 2
      The North East's scenarios below 80 % (experiment=discovery), two boxes in turn.
  sis-discover results/experiments/nle_targeting_ensemble --outcome share_good_or_outstanding \\
      --subgroup rural --arm cold_spots_first --versus nearest --above 0
      Across a calibration ensemble: where does cold_spots_first beat nearest in rural schools?

Documentation: docs/EXPERIMENTS.md ("Scenario discovery"), README.md"""


def build_parser() -> argparse.ArgumentParser:
    """The command line (``--help`` shows it, with examples)."""
    parser = argparse.ArgumentParser(prog="sis-discover", description=HELP, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a recorded experiment (sensitivity, calibration, or a sweep across an ensemble)")
    parser.add_argument("--outcome", required=True, help="scalar outcome, e.g. share_good_or_outstanding")
    parser.add_argument("--subgroup", default="all", help="subgroup of the outcome (default: all)")
    condition = parser.add_mutually_exclusive_group(required=True)
    condition.add_argument("--below", type=float, help="cases of interest: outcome below this")
    condition.add_argument("--above", type=float, help="cases of interest: outcome above this")
    parser.add_argument("--arm", help="sweep: the arm (default: the reference arm)")
    parser.add_argument("--versus", help="sweep: classify the paired difference arm - versus")
    parser.add_argument("--min-density", type=float, default=0.8,
                        help="the box chosen is the widest whose density reaches this (default 0.8)")
    parser.add_argument("--boxes", type=int, default=1, help="boxes to find in turn")
    parser.add_argument("--out", help="output folder (default: <folder>/discovery)")
    add_verbosity_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: scenario discovery on a recorded experiment (exit codes: experiments/cli.py)."""
    args = build_parser().parse_args(argv)
    configure(args.log_level)
    return run_command(lambda: _discover_and_report(args))


def _discover_and_report(args: argparse.Namespace) -> None:
    """Find the boxes and print the restricted parameters of each."""
    target = discover(args.folder, args.outcome, args.below, args.above, args.subgroup,
                      args.arm, args.versus, args.min_density, args.boxes, args.out)
    boxes = pd.read_csv(target / "boxes.csv")
    with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
        print(boxes[boxes["restricted"]].to_string(index=False))
    print(f"\nBoxes, trajectories and figure in {target}")


if __name__ == "__main__":
    sys.exit(main())
