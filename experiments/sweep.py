"""Scenario sweeps: policy arms x replications with common random numbers.

::

    python -m experiments.sweep experiment=nle_targeting
    python -m experiments.sweep experiment=smoke execution=dask execution.address=tcp://host:8786

Every arm runs with the same replication seeds; the sweep reports each outcome's mean and
confidence interval per arm and the paired differences between arms (``summary/``), with
figures (``figures/``). Before any run, every arm's configuration, world and model are built
and checked once (:mod:`experiments.preflight`). An interrupted sweep resumes where it stopped
when run again; failed runs are run again with ``experiment.retry_failed=true``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .cli import Incomplete
from .compose import experiment_main
from .execution import Evaluate, execute
from .figures import sweep_figures
from .manifest import open_experiment
from .model_function import evaluate_model
from .plan import run_config, sweep_tasks
from .preflight import preflight
from .spec import ExecutionConfig, ExperimentSpec, with_overrides
from .store import ExperimentStore, failed_runs_message
from .summary import arm_summary, paired_differences, series_summary

RUN_KEY_COLUMNS = ["arm", "replication"]


def run_sweep(spec: ExperimentSpec, execution: ExecutionConfig,
              evaluate: Evaluate = evaluate_model) -> Path:
    """Run (or resume) the sweep ``spec``; write runs, summaries and figures; return the folder."""
    total = len(spec.arms) * spec.experiment.replications
    checked = preflight({f"experiment.arms.{arm}": run_config(with_overrides(spec.base, overrides))
                         for arm, overrides in spec.arms.items()})
    with open_experiment(spec, RUN_KEY_COLUMNS, total, checked) as store:
        session = execute(sweep_tasks(spec), evaluate, store, execution, total,
                          description=spec.experiment.name,
                          retry_failed=spec.experiment.retry_failed)
        store.log_session(session)
        summarise_sweep(store, spec)
        if spec.experiment.figures:
            sweep_figures(store.root, spec.reference_arm)
    return store.root


def summarise_sweep(store: ExperimentStore, spec: ExperimentSpec) -> dict[str, pd.DataFrame]:
    """Compute and write the sweep's summary tables from its recorded runs."""
    arms, outcomes = list(spec.arms), list(spec.experiment.outcomes)
    runs = store.read_runs(columns=["run_key", *RUN_KEY_COLUMNS, *outcomes])
    if not len(runs):
        raise Incomplete(failed_runs_message(store, spec.experiment.name)
                         or f"no run of {spec.experiment.name} finished")
    level = spec.experiment.confidence_level
    tables = {"arms": arm_summary(runs, arms, outcomes, level),
              "paired_differences": paired_differences(runs, arms, outcomes, level)}
    series = store.series_columns()
    if series:  # one arm's series in memory at a time
        tables["series"] = pd.concat(
            [series_summary(store.read_runs(["run_key", *series], where=("arm", arm)), arm,
                            series, level) for arm in arms], ignore_index=True)
    for name, table in tables.items():
        store.write_csv(f"summary/{name}.csv", table)
    return tables


def report(folder: Path, spec: ExperimentSpec) -> None:
    """Print each outcome's mean and interval per arm, and differences from the reference arm."""
    summary = folder / "summary"
    arms = pd.read_csv(summary / "arms.csv")
    differences = pd.read_csv(summary / "paired_differences.csv")
    differences = differences[differences["versus"] == spec.reference_arm]
    level = round(100 * spec.experiment.confidence_level)
    with pd.option_context("display.width", 160, "display.max_rows", 500,
                           "display.float_format", "{:.4g}".format):
        print(f"\nMean and {level}% interval per arm "
              f"({spec.experiment.replications} replications):")
        print(arms.pivot(index="outcome", columns="arm", values="mean").to_string())
        print(arms[["arm", "outcome", "n", "mean", "ci_low", "ci_high"]].to_string(index=False))
        if len(differences):
            print(f"\nPaired differences from '{spec.reference_arm}' (same seeds):")
            print(differences[["arm", "outcome", "n", "mean_difference", "ci_low", "ci_high"]]
                  .to_string(index=False))
    print(f"\nResults in {folder}")


def _run_and_report(spec: ExperimentSpec, execution: ExecutionConfig) -> None:
    folder = run_sweep(spec, execution)
    report(folder, spec)
    failed = failed_runs_message(ExperimentStore(folder), spec.experiment.name)
    if failed:
        raise Incomplete(failed)


main = experiment_main(_run_and_report, kinds=("sweep",), command="experiments.sweep")

if __name__ == "__main__":
    main()
