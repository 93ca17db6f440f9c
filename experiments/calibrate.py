"""Calibration with uncertainty: an ensemble of behavioural parameter sets consistent with the
calibration targets.

::

    python -m experiments.calibrate experiment=calibration
    python -m experiments.sweep experiment=nle_targeting \\
        experiment.parameter_ensemble=results/experiments/calibration/ensemble.csv

Method: approximate Bayesian computation by rejection, which is also one wave of history
matching with a maximum-implausibility cut-off:

1. Draw ``experiment.N`` points from the prior, the declared uncertainties (their ranges and
   distributions), with a scrambled Sobol sequence (``scipy.stats.qmc``, seeded with
   ``experiment.seed``; mapped through each distribution's inverse CDF): quasi-random points
   cover the box more evenly than random draws for the same small budget.
2. Run every point with the same ``replications`` seeds and average each targeted output over
   them (the model is stochastic; the tolerance covers the remaining seed noise).
3. Distance to each target = |simulated mean - target value| / target tolerance. What is
   simulated is the target's ``measure``: the scalar outcome of the run's last year (``end``),
   the change of its national series from the run's first year to its last
   (``change_over_run``: "the level held", measured on the model's own schools, so a published
   figure for a wider population does not bias it), or the series at the source's own calendar
   year (``at_year``).
4. Accept the points whose every distance is at most 1 (ABC tolerance epsilon = 1 in the
   max-norm). The accepted points are the ensemble, equally weighted draws from the
   approximate posterior.

Why rejection ABC and not pyabc's sequential Monte Carlo: the budget here is hundreds of runs
of a model that takes a second or more, the runs go through the same resumable, parallel
pipeline as every other experiment (``execute``, the store, any backend), and the result does
not depend on the order runs finish in. SMC would spend fewer runs for tight tolerances but
adds a dependency with its own scheduler and database.

Writes, besides the runs: ``sample.parquet`` (the prior points), ``summary/calibration_points.csv``
(every point: parameters, simulated means, distance to each target, largest distance,
accepted) and ``ensemble.csv`` (accepted points only, ``member`` first): give its path to any
sweep as ``experiment.parameter_ensemble``. When no point is accepted the command says so and
prints the closest points with their distances.

As for sweeps: the world and model are built and checked once before any run
(:mod:`experiments.preflight`; the input files' sha256 go in the manifest), failed runs are run
again with ``experiment.retry_failed=true``, and the command exits 4 when runs failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from sim.state import TERMS_PER_YEAR

from .analysis_reports import print_reports, write_calibration_report
from .cli import Incomplete
from .entry import experiment_main
from .discover import discover_after
from .execution import Evaluate, execute, start_workers
from .logs import experiment_log, log_session
from .manifest import open_experiment
from .model_function import SERIES_SUFFIX, evaluate_model
from .plan import sample_tasks
from .sensitivity import checked_model
from .spec import ExecutionConfig, ExperimentSpec, Target, Uncertainty
from .store import ExperimentStore, failed_runs_message

RUN_KEY_COLUMNS = ["sample", "replication"]
ENSEMBLE = "ensemble.csv"
log = logging.getLogger("experiments.calibrate")  # not __name__: "__main__" under python -m


@dataclass(frozen=True)
class CalibrationResult:
    """Every prior point with its distances, and the accepted ensemble."""

    points: pd.DataFrame
    ensemble: pd.DataFrame


def targets_of(spec: ExperimentSpec) -> dict[str, Target]:
    """The experiment's targets as :class:`Target` objects."""
    return {name: target if isinstance(target, Target) else Target(**target)
            for name, target in spec.experiment.targets.items()}


def prior_sample(uncertainties: tuple[Uncertainty, ...], n: int, seed: int) -> pd.DataFrame:
    """``n`` scrambled-Sobol points mapped through each uncertainty's distribution."""
    sobol = qmc.Sobol(d=len(uncertainties), scramble=True, rng=np.random.default_rng(seed))
    unit = sobol.random_base2(int(np.log2(n))) if n & (n - 1) == 0 else sobol.random(n)
    columns = {u.name: inverse_cdf(u, unit[:, k]) for k, u in enumerate(uncertainties)}
    sample = pd.DataFrame(columns)
    sample.insert(0, "sample", np.arange(n, dtype=np.int64))
    return sample


def inverse_cdf(u: Uncertainty, p: np.ndarray) -> np.ndarray:
    """Map uniform ``p`` in [0, 1) to the uncertainty's distribution on [low, high]."""
    width = u.high - u.low
    if u.distribution == "triangular":
        return stats.triang(c=(u.mode - u.low) / width, loc=u.low, scale=width).ppf(p)
    if u.distribution == "truncnorm":
        return stats.truncnorm((u.low - u.mean) / u.sd, (u.high - u.mean) / u.sd,
                               loc=u.mean, scale=u.sd).ppf(p)
    return u.low + p * width


def run_calibration(spec: ExperimentSpec, execution: ExecutionConfig,
                    evaluate: Evaluate = evaluate_model, make_config=None) -> Path:
    """Run (or resume) the calibration ``spec``; write the points and the ensemble."""
    start_workers(execution)  # their start-up overlaps the checks, as in sensitivity analysis
    sample = prior_sample(spec.uncertainties, spec.experiment.N, spec.experiment.seed)
    total = len(sample) * spec.experiment.replications
    with experiment_log() as log_to:
        checked = None
        if make_config is None:  # what its world's load imputed is logged (and in run.log)
            checked, make_config = checked_model(spec, sample)
        start_year = world_start_year(spec) if any(
            t.measure == "at_year" for t in targets_of(spec).values()) else None
        with open_experiment(spec, RUN_KEY_COLUMNS, total, checked) as store:
            log_to(store.root)
            log.info("calibration %s: %d prior points x %d replications, %d targets -> %s",
                     spec.experiment.name, len(sample), spec.experiment.replications,
                     len(spec.experiment.targets), store.root)
            store.write_parquet("sample.parquet", sample)
            session = execute(sample_tasks(spec, sample, make_config), evaluate, store,
                              execution, total, description=spec.experiment.name,
                              retry_failed=spec.experiment.retry_failed)
            store.log_session(session)
            log_session(session, store.root)
            summarise_calibration(store, spec, sample, start_year)
            if spec.experiment.figures:
                write_calibration_report(store.root, spec)
    discover_after(store.root, spec)
    return store.root


def world_start_year(spec: ExperimentSpec) -> float:
    """Calendar year of the world's step 0 (for targets dated by calendar year)."""
    from sim.world import build_world
    return float(build_world(spec.base.world).start_year)


def summarise_calibration(store: ExperimentStore, spec: ExperimentSpec,
                          sample: pd.DataFrame, start_year: float | None = None) -> CalibrationResult:
    """Average replications per point, measure distances, accept, and write both tables."""
    targets = targets_of(spec)
    columns = [name if t.measure == "end" else name + SERIES_SUFFIX for name, t in targets.items()]
    runs = store.read_runs(columns=["run_key", "sample", *dict.fromkeys(columns)])
    if not len(runs):
        raise Incomplete(failed_runs_message(store, spec.experiment.name)
                         or f"no run of {spec.experiment.name} finished")
    result = accept(sample, simulated_targets(runs, targets, start_year), targets)
    store.write_csv("summary/calibration_points.csv", result.points)
    store.write_csv("summary/non_implausible_box.csv", non_implausible_box(
        result.points, [u.name for u in spec.uncertainties]))
    store.write_csv(ENSEMBLE, result.ensemble)
    return result


def simulated_targets(runs: pd.DataFrame, targets: dict[str, Target],
                      start_year: float | None = None) -> pd.DataFrame:
    """One value per run and target, as the target's ``measure`` defines it."""
    out = runs[["sample"]].copy()
    for name, target in targets.items():
        if target.measure == "end":
            out[name] = runs[name].to_numpy(dtype=float)
            continue
        series = [np.asarray(s, dtype=float) for s in runs[name + SERIES_SUFFIX]]
        if target.measure == "change_over_run":
            # the same window as the scalar outcomes' "end": a year of terms, first against last
            out[name] = [s[-TERMS_PER_YEAR:].mean() - s[1:TERMS_PER_YEAR + 1].mean() for s in series]
        else:
            if start_year is None:
                raise ValueError(f"target {name} is dated (measure=at_year): give the world's start year")
            step = int(round((target.year - start_year) * TERMS_PER_YEAR))
            out[name] = [s[step] if 0 <= step < len(s) else np.nan for s in series]
    return out


def accept(sample: pd.DataFrame, runs: pd.DataFrame, targets: dict[str, Target]) -> CalibrationResult:
    """Distances of every point's replication means to each target; points within every
    tolerance form the ensemble. ``runs`` holds ``sample`` and one simulated value per target
    (see :func:`simulated_targets`)."""
    means = runs.groupby("sample")[list(targets)].mean().reindex(sample["sample"])
    points = sample.copy()
    points["n_replications"] = runs.groupby("sample").size().reindex(sample["sample"], fill_value=0).to_numpy()
    distance_columns = []
    for name, target in targets.items():
        simulated = means[name].to_numpy()
        points[f"simulated:{name}"] = simulated
        points[f"distance:{name}"] = np.abs(simulated - target.value) / target.tolerance
        distance_columns.append(f"distance:{name}")
    points["max_distance"] = points[distance_columns].max(axis=1, skipna=False)
    points["accepted"] = points["max_distance"] <= 1.0
    ensemble = points[points["accepted"]].drop(columns="accepted").reset_index(drop=True)
    ensemble.insert(0, "member", np.arange(len(ensemble), dtype=np.int64))
    return CalibrationResult(points=points, ensemble=ensemble)


# History matching's usual cut-off (Pukelsheim's three-sigma rule): a point further than this
# from any target, in tolerances, is implausible; the rest bound the next wave's priors.
IMPLAUSIBILITY_CUTOFF = 3.0


def non_implausible_box(points: pd.DataFrame, parameters: list[str],
                        cutoff: float = IMPLAUSIBILITY_CUTOFF) -> pd.DataFrame:
    """The smallest box of parameters holding every point within ``cutoff`` tolerances of
    every target: the priors of a next wave (history matching), which keeps every accepted
    point (distance <= 1) and drops the space the targets have ruled out.
    Empty when no point is that close."""
    plausible = points[points["max_distance"] <= cutoff]
    return pd.DataFrame({"parameter": parameters,
                         "low": [plausible[name].min() for name in parameters],
                         "high": [plausible[name].max() for name in parameters],
                         "points": len(plausible), "of": len(points), "cutoff": cutoff})


def report(folder: Path, spec: ExperimentSpec) -> None:
    """Print the targets, how many points were accepted, and the ensemble's parameter ranges."""
    points = pd.read_csv(folder / "summary" / "calibration_points.csv")
    ensemble = pd.read_csv(folder / ENSEMBLE)
    names = [u.name for u in spec.uncertainties]
    print(f"\nABC rejection: {len(ensemble)} of {len(points)} prior points within every "
          f"target's tolerance ({spec.experiment.replications} replications per point)")
    for name, target in targets_of(spec).items():
        print(f"  {name}: target {target.value:.4g} +/- {target.tolerance:.3g}  "
              f"(best point {points[f'simulated:{name}'].iloc[points['max_distance'].idxmin()]:.4g})")
    with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
        if len(ensemble):
            print("\nEnsemble (accepted parameter sets): range of each parameter")
            print(ensemble[names].describe().loc[["min", "mean", "max"]].T.to_string())
            print(f"\nUse it in a sweep: experiment.parameter_ensemble={folder / ENSEMBLE}")
        else:
            print("\nNo point is consistent with every target. Closest points:")
            print(points.nsmallest(5, "max_distance")[
                names + [c for c in points.columns if c.startswith("distance:")]
                + ["max_distance"]].to_string(index=False))
    print_reports(folder)
    print(f"\nResults in {folder}")


def _run_and_report(spec: ExperimentSpec, execution: ExecutionConfig) -> None:
    folder = run_calibration(spec, execution)
    report(folder, spec)
    failed = failed_runs_message(ExperimentStore(folder), spec.experiment.name)
    if failed:  # exit 4, as sweeps and sensitivity analyses do (experiments/cli.py)
        raise Incomplete(failed)


main = experiment_main(_run_and_report, kinds=("calibration",), command="experiments.calibrate")

if __name__ == "__main__":
    main()
