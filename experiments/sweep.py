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

import logging
from itertools import combinations
from pathlib import Path

import pandas as pd

from sim.subgroups import LA_PREFIX, OUTPUT_SEPARATOR, output_name
from sim.world import REGION_NAMES

from .cli import Incomplete
from .entry import experiment_main
from .execution import Evaluate, execute, start_workers
from .logs import experiment_log, log_session
from .manifest import open_experiment
from .model_function import evaluate_model
from .plan import run_config, sweep_tasks
from .preflight import preflight
from .spec import ExecutionConfig, ExperimentSpec, with_overrides
from .store import ExperimentStore, failed_runs_message

RUN_KEY_COLUMNS = ["arm", "replication"]
COST_OUTCOMES = ("spend_gbp_per_year", "schools_good_or_outstanding")  # for summary/costs.csv
log = logging.getLogger("experiments.sweep")  # not __name__: "__main__" under python -m


def run_sweep(spec: ExperimentSpec, execution: ExecutionConfig,
              evaluate: Evaluate = evaluate_model) -> Path:
    """Run (or resume) the sweep ``spec``; write runs, summaries and figures; return the folder."""
    total = len(spec.arms) * spec.experiment.replications
    start_workers(execution)  # their start-up overlaps the checks
    with experiment_log() as log_to:
        checked = preflight({f"experiment.arms.{arm}": run_config(with_overrides(spec.base, overrides))
                             for arm, overrides in spec.arms.items()})
        with open_experiment(spec, RUN_KEY_COLUMNS, total, checked) as store:
            log_to(store.root)
            log.info("sweep %s: %d arms x %d replications -> %s", spec.experiment.name,
                     len(spec.arms), spec.experiment.replications, store.root)
            session = execute(sweep_tasks(spec), evaluate, store, execution, total,
                              description=spec.experiment.name,
                              retry_failed=spec.experiment.retry_failed)
            store.log_session(session)
            log_session(session, store.root)
            summarise_sweep(store, spec)
            if spec.experiment.figures:
                from .figures import sweep_figures  # matplotlib: see experiments.entry
                from .report import write_report
                sweep_figures(store.root, spec.reference_arm)
                write_report(store.root, spec)
    return store.root


def summarise_sweep(store: ExperimentStore, spec: ExperimentSpec) -> dict[str, pd.DataFrame]:
    """Compute and write the sweep's summary tables from its recorded runs."""
    from .summary import (arm_summary, costs_per_extra_school, la_differences,  # scipy.stats
                          paired_differences, series_summary)
    arms = list(spec.arms)
    recorded = store.output_columns()
    columns = summary_columns(spec, recorded, spec.experiment.outcomes)
    cost_columns = summary_columns(spec, recorded, COST_OUTCOMES)
    authorities = {(name.partition(LA_PREFIX)[2], name.split(OUTPUT_SEPARATOR)[0]): name
                   for name in recorded if OUTPUT_SEPARATOR + LA_PREFIX in name
                   and name.split(OUTPUT_SEPARATOR)[0] in spec.experiment.outcomes}
    runs = store.read_runs(columns=["run_key", *RUN_KEY_COLUMNS, *dict.fromkeys(
        [*columns.values(), *cost_columns.values(), *authorities.values()])])
    if not len(runs):
        raise Incomplete(failed_runs_message(store, spec.experiment.name)
                         or f"no run of {spec.experiment.name} finished")
    empty = {subgroup for (subgroup, _), column in columns.items()} - {
        subgroup for (subgroup, _), column in columns.items() if runs[column].notna().any()}
    columns = {key: column for key, column in columns.items() if key[0] not in empty}
    e = spec.experiment
    level = e.confidence_level
    tables = {"arms": arm_summary(runs, arms, columns, level),
              "paired_differences": paired_differences(
                  runs, comparison_pairs(spec), columns, level, e.multiple_comparisons,
                  e.differences_of_interest)}
    cost_columns = {key: column for key, column in cost_columns.items() if key[0] not in empty}
    costs = costs_per_extra_school(runs, comparison_pairs(spec), cost_columns, spec.base.run.years,
                                   level, e.seed, e.bootstrap_resamples)
    if len(costs):
        tables["costs"] = costs
    if authorities:
        tables["la_differences"] = la_differences(runs, comparison_pairs(spec), authorities, level)
    series = store.series_columns()
    if series:  # one arm's series in memory at a time
        tables["series"] = pd.concat(
            [series_summary(store.read_runs(["run_key", *series], where=("arm", arm)), arm,
                            series, level) for arm in arms], ignore_index=True)
    for name, table in tables.items():
        store.write_csv(f"summary/{name}.csv", table)
    return tables


def summary_columns(spec: ExperimentSpec, recorded: list[str],
                    outcomes: list[str] | tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(subgroup, outcome) -> run-table column for the subgroups the runs recorded.

    A pair is left out when the runs lack its column (a region outside the world, or an
    outcome of a custom evaluate function, which has no subgroups); a lone region is left out too (it is ``all``), and
    so is a subgroup without schools in this world (all its outcomes missing in every run).
    """
    present = set(recorded)
    chosen = [subgroup for subgroup in spec.experiment.subgroups
              if any(output_name(o, subgroup) in present for o in outcomes)]
    regions = [subgroup for subgroup in chosen if subgroup in REGION_NAMES]
    if len(regions) == 1:
        chosen.remove(regions[0])
    return {(subgroup, outcome): output_name(outcome, subgroup)
            for subgroup in chosen for outcome in outcomes
            if output_name(outcome, subgroup) in present}


def comparison_pairs(spec: ExperimentSpec) -> list[tuple[str, str]]:
    """(arm, versus) pairs compared: every arm against the reference, or every pair."""
    arms = list(spec.arms)
    if spec.experiment.comparisons == "all_pairs":
        return [(arm, versus) for versus, arm in combinations(arms, 2)]
    return [(arm, spec.reference_arm) for arm in arms if arm != spec.reference_arm]


def report(folder: Path, spec: ExperimentSpec) -> None:
    """Print each outcome's mean and interval per arm, and differences from the reference arm."""
    summary = folder / "summary"
    arms = pd.read_csv(summary / "arms.csv")
    differences = pd.read_csv(summary / "paired_differences.csv")
    differences = differences[differences["versus"] == spec.reference_arm]
    level = round(100 * spec.experiment.confidence_level)
    whole = arms[arms["subgroup"] == "all"]
    with pd.option_context("display.width", 160, "display.max_rows", 500,
                           "display.float_format", "{:.4g}".format):
        print(f"\nMean and {level}% interval per arm, whole world "
              f"({spec.experiment.replications} replications; subgroups in {summary / 'arms.csv'}):")
        print(whole.pivot(index="outcome", columns="arm", values="mean").to_string())
        if len(differences):
            m = int(differences["p_value"].notna().sum())
            print(f"\nPaired differences from '{spec.reference_arm}' (same seeds), every subgroup; "
                  f"p and intervals adjusted for {m} comparisons "
                  f"({spec.experiment.multiple_comparisons} p-values, Bonferroni intervals):")
            print(differences[["arm", "subgroup", "outcome", "n", "mean_difference",
                               "ci_low_adjusted", "ci_high_adjusted", "p_adjusted",
                               "replications_needed"]].to_string(index=False))
            unresolved = differences[differences["replications_needed"].notna()]
            for row in unresolved[unresolved["subgroup"] == "all"].itertuples():
                print(f"  unresolved: {row.arm} - {row.versus}, {row.outcome} ({row.subgroup}): "
                      f"{row.mean_difference:+.4g} needs about {int(row.replications_needed)} "
                      f"replications to resolve (80% power, adjusted level)")
            others = int((unresolved["subgroup"] != "all").sum())
            if others:
                print(f"  {others} unresolved comparison(s) in subgroups: "
                      f"replications_needed in {summary / 'paired_differences.csv'}")
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
