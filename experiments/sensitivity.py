"""Global sensitivity analysis: Morris screening and Sobol indices over declared uncertainties.

::

    python -m experiments.sensitivity experiment=morris
    python -m experiments.sensitivity experiment=sobol execution.workers=8

The pipeline: draw the SALib sample from the experiment seed and write it (``sample.parquet``);
run every sample point with every replication seed (the same seeds at every point), streaming
outcomes to ``runs/``; average replications per point (``summary/sample_outcomes.parquet``);
compute indices with bootstrap intervals and the N/2-versus-N convergence check
(``summary/*.csv``); then, last, draw figures. Any ``evaluate(config, seed)`` function can be
analysed: the Ishigami test function goes through this same path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.parameters import ConfigError, SimConfig, validate

from .cli import Incomplete
from .entry import experiment_main
from .execution import Evaluate, execute, start_workers
from .logs import experiment_log, log_session
from .manifest import open_experiment
from .model_function import evaluate_model
from .plan import run_config, sample_tasks
from .preflight import preflight
from .salib_analysis import (analyse, block_rows, convergence_table, draw_sample, indices_table,
                             salib_problem, second_order_table)
from .spec import ExecutionConfig, ExperimentSpec, with_behaviour_values, with_overrides
from .store import ExperimentStore, failed_runs_message

RUN_KEY_COLUMNS = ["sample", "replication"]
log = logging.getLogger("experiments.sensitivity")  # not __name__: "__main__" under -m


def analysis_base(spec: ExperimentSpec) -> SimConfig:
    """The configuration every sample point starts from: the base with the policy arm applied."""
    (overrides,) = spec.arms.values()
    return with_overrides(spec.base, overrides)


def model_config(base: SimConfig, values: dict[str, float]) -> SimConfig:
    """The model configuration of one sample point: ``base`` with its behavioural values."""
    return run_config(with_behaviour_values(base, values))


def design(spec: ExperimentSpec) -> tuple[dict, pd.DataFrame]:
    """The SALib problem and the sample (one row per sample point, a ``sample`` index first)."""
    problem = salib_problem(spec.uncertainties)
    e = spec.experiment
    X = draw_sample(problem, e.kind, e.N, e.second_order, e.morris_levels, e.seed)
    sample = pd.DataFrame(X, columns=problem["names"])
    sample.insert(0, "sample", np.arange(len(sample), dtype=np.int64))
    return problem, sample


def checked_model(spec: ExperimentSpec, sample: pd.DataFrame) -> tuple[dict, Callable]:
    """Check the sample and, once, the configuration every point starts from (pre-flight:
    its world built and its inputs fingerprinted); return the pre-flight record for the
    manifest and the function making each sample point's model configuration."""
    check_sample(spec, sample)
    base = analysis_base(spec)
    checked = preflight({f"experiment.arms.{arm}": run_config(base) for arm in spec.arms})
    return checked, partial(model_config, base)


def check_sample(spec: ExperimentSpec, sample: pd.DataFrame) -> None:
    """Every sample point must be a valid behaviour configuration; fail before any run if not
    (e.g. thresholds whose ranges overlap can be sampled out of order)."""
    names = [u.name for u in spec.uncertainties]
    behaviour = analysis_base(spec).behaviour
    for index, row in zip(sample["sample"], sample[names].itertuples(index=False, name=None)):
        try:
            validate(replace(behaviour, **dict(zip(names, row))), "behaviour.")
        except ConfigError as error:
            raise ConfigError(f"sample point {index} is not a valid configuration: {error}; "
                              "narrow the uncertainty ranges so they cannot conflict") from None


def run_sensitivity(spec: ExperimentSpec, execution: ExecutionConfig,
                    evaluate: Evaluate = evaluate_model,
                    make_config: Callable[[dict[str, float]], Any] | None = None) -> Path:
    """Run (or resume) the sensitivity analysis ``spec``; return its folder.

    ``make_config`` turns a sample point's values into what ``evaluate`` takes (default: the
    base model configuration with those behavioural values).
    """
    start_workers(execution)  # their start-up overlaps the design and the checks
    problem, sample = design(spec)
    total = len(sample) * spec.experiment.replications
    with experiment_log() as log_to:
        checked = None
        if make_config is None:
            checked, make_config = checked_model(spec, sample)
        with open_experiment(spec, RUN_KEY_COLUMNS, total, checked) as store:
            log_to(store.root)
            log.info("%s %s: %d sample points x %d replications -> %s", spec.experiment.kind,
                     spec.experiment.name, len(sample), spec.experiment.replications, store.root)
            store.write_parquet("sample.parquet", sample)
            session = execute(sample_tasks(spec, sample, make_config), evaluate, store,
                              execution, total, description=spec.experiment.name,
                              retry_failed=spec.experiment.retry_failed)
            store.log_session(session)
            log_session(session, store.root)
            analyse_outcomes(store, spec, problem, sample)
            if spec.experiment.figures:
                from .analysis_reports import write_sensitivity_report  # matplotlib: see entry
                from .figures import sensitivity_figures
                sensitivity_figures(store.root, spec.experiment.kind)
                write_sensitivity_report(store.root, spec)
    from .discover import discover_after
    discover_after(store.root, spec)
    return store.root


def analyse_outcomes(store: ExperimentStore, spec: ExperimentSpec, problem: dict,
                     sample: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Average replications per sample point, compute indices and convergence, write them."""
    e = spec.experiment
    outcomes = list(e.outcomes)
    runs = store.read_runs(columns=["run_key", "sample", *outcomes])  # sorted: stable sums
    if not len(runs):
        raise Incomplete(failed_runs_message(store, e.name) or f"no run of {e.name} finished")
    means = runs.groupby("sample")[outcomes].mean().reindex(sample["sample"])
    counts = runs.groupby("sample").size().reindex(sample["sample"], fill_value=0)
    sample_outcomes = sample.assign(n_replications=counts.to_numpy(),
                                    **{name: means[name].to_numpy() for name in outcomes})
    store.write_parquet("summary/sample_outcomes.parquet", sample_outcomes)

    X = sample[problem["names"]].to_numpy()
    half_rows = (e.N // 2) * block_rows(e.kind, problem["num_vars"], e.second_order)
    analysis = partial(analyse, problem, e.kind, second_order=e.second_order,
                       levels=e.morris_levels, resamples=e.bootstrap_resamples,
                       confidence_level=e.confidence_level, seed=e.seed)
    indices, halves, second_order = [], [], []
    for outcome in outcomes:
        Y = means[outcome].to_numpy()
        if np.isnan(Y).any():
            log.warning("%d sample point(s) have no value of %s (failed runs or undefined "
                        "outcome); its indices are undefined", int(np.isnan(Y).sum()), outcome)
        full = analysis(X=X, Y=Y)
        indices.append(indices_table(e.kind, problem, full, outcome))
        halves.append(indices_table(e.kind, problem, analysis(X=X[:half_rows], Y=Y[:half_rows]),
                                    outcome))
        if e.kind == "sobol" and e.second_order:
            second_order.append(second_order_table(problem, full, outcome))
    tables = {f"{e.kind}_indices": pd.concat(indices, ignore_index=True)}
    tables["convergence"] = convergence_table(e.kind, pd.concat(halves, ignore_index=True),
                                              tables[f"{e.kind}_indices"], e.convergence_tolerance)
    if second_order:
        tables["sobol_second_order"] = pd.concat(second_order, ignore_index=True)
    for name, table in tables.items():
        store.write_csv(f"summary/{name}.csv", table)
    return tables


def report(folder: Path, spec: ExperimentSpec) -> None:
    """Print the indices of each outcome and whether they converged."""
    kind = spec.experiment.kind
    indices = pd.read_csv(folder / "summary" / f"{kind}_indices.csv")
    convergence = pd.read_csv(folder / "summary" / "convergence.csv")
    rank_by = "mu_star" if kind == "morris" else "ST"
    with pd.option_context("display.width", 160, "display.max_rows", 1000,
                           "display.float_format", "{:.3f}".format):
        for outcome, rows in indices.groupby("outcome", sort=False):
            print(f"\n{outcome}:")
            print(rows.drop(columns="outcome").sort_values(rank_by, ascending=False)
                  .to_string(index=False))
    unconverged = convergence[~convergence["converged"]]
    if len(unconverged):
        print(f"\nNot converged (index moved by more than {spec.experiment.convergence_tolerance} "
              f"between N/2 and N; increase experiment.N):")
        print(unconverged.to_string(index=False))
    else:
        print(f"\nAll indices converged (within {spec.experiment.convergence_tolerance} "
              "between N/2 and N).")
    from .analysis_reports import print_reports
    print_reports(folder)
    print(f"\nResults in {folder}")


def _run_and_report(spec: ExperimentSpec, execution: ExecutionConfig) -> None:
    folder = run_sensitivity(spec, execution)
    report(folder, spec)
    failed = failed_runs_message(ExperimentStore(folder), spec.experiment.name)
    if failed:
        raise Incomplete(failed)


main = experiment_main(_run_and_report, kinds=("morris", "sobol"),
                       command="experiments.sensitivity")

if __name__ == "__main__":
    main()
