"""Scenario sweeps: policy arms x replications with common random numbers.

::

    python -m experiments.sweep experiment=nle_targeting
    python -m experiments.sweep experiment=smoke execution=dask execution.address=tcp://host:8786

Every arm runs with the same replication seeds; the sweep reports each outcome's mean and
confidence interval per arm and the paired differences between arms (``summary/``), with
figures (``figures/``). An interrupted sweep resumes where it stopped when run again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from .compose import experiment_main
from .execution import Evaluate, execute
from .figures import sweep_figures
from .logs import log_file, log_session
from .manifest import open_experiment
from .model_function import evaluate_model
from .plan import sweep_tasks
from .spec import ExecutionConfig, ExperimentSpec
from .store import ExperimentStore
from .summary import arm_summary, paired_differences, series_summary

RUN_KEY_COLUMNS = ["arm", "replication"]
log = logging.getLogger("experiments.sweep")  # not __name__: "__main__" under python -m


def run_sweep(spec: ExperimentSpec, execution: ExecutionConfig,
              evaluate: Evaluate = evaluate_model) -> Path:
    """Run (or resume) the sweep ``spec``; write runs, summaries and figures; return the folder."""
    total = len(spec.arms) * spec.experiment.replications
    with open_experiment(spec, RUN_KEY_COLUMNS, total) as store, log_file(store.root):
        log.info("sweep %s: %d arms x %d replications -> %s", spec.experiment.name,
                 len(spec.arms), spec.experiment.replications, store.root)
        session = execute(sweep_tasks(spec), evaluate, store, execution, total,
                          description=spec.experiment.name)
        store.log_session(session)
        log_session(session, store.root)
        summarise_sweep(store, spec)
        if spec.experiment.figures:
            sweep_figures(store.root, spec.reference_arm)
    return store.root


def summarise_sweep(store: ExperimentStore, spec: ExperimentSpec) -> dict[str, pd.DataFrame]:
    """Compute and write the sweep's summary tables from its recorded runs."""
    arms, outcomes = list(spec.arms), list(spec.experiment.outcomes)
    runs = store.read_runs(columns=["run_key", *RUN_KEY_COLUMNS, *outcomes])
    if not len(runs):
        raise RuntimeError(f"no run of {spec.experiment.name} finished; "
                           f"see {store.root / 'errors'}")
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
    errors = ExperimentStore(folder).read_errors()
    if len(errors):
        print(f"\n{len(errors)} run(s) failed; see {folder / 'errors'}")
    print(f"\nResults in {folder}")


def _run_and_report(spec: ExperimentSpec, execution: ExecutionConfig) -> None:
    report(run_sweep(spec, execution), spec)


main = experiment_main(_run_and_report, kinds=("sweep",), command="experiments.sweep")

if __name__ == "__main__":
    main()
