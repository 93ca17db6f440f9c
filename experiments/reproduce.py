"""Re-run a recorded experiment from its manifest and check the outputs are identical.

::

    python -m experiments.reproduce results/experiments/nle_targeting            # every run
    python -m experiments.reproduce results/experiments/sobol --sample 20        # 20 random runs
    python -m experiments.reproduce results/experiments/smoke --backend serial -q  # in this process

The experiment is rebuilt from ``manifest.json`` alone (not from ``conf/``), so it is the
recorded one even if presets have changed since. Every output of every chosen run (scalar
outcomes and per-step series; or the error type and message of a run that failed) is compared
exactly with the recorded value, and so is its seed. Input files must be those the experiment
was run with (their sha256 in the manifest); a changed or missing one is refused, naming it.

Prints a table and what could not be checked: runs of the plan that were never recorded, and
replication seeds in the manifest that are not those of its experiment seed. Exits 0 only if
every run it was asked to check is identical and nothing is missing; 4 otherwise (2 for a
mistake such as a folder that holds no experiment; see experiments/cli.py).
Installed as ``sis-reproduce``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.fingerprint import changed_inputs
from sim.parameters import ConfigError
from sim.results import package_versions, source_revision

from .cli import Incomplete, run_command
from .entry import add_verbosity_options
from .execution import RunRecord, open_backend, run_one
from .logs import configure
from .model_function import evaluate_model
from .plan import RunTask, replication_seeds, sample_tasks, sweep_tasks
from .sensitivity import analysis_base, design, model_config
from .spec import ExecutionConfig, ExperimentSpec, spec_from_dict
from .store import ExperimentStore, read_manifest

log = logging.getLogger("experiments.reproduce")  # not __name__: "__main__" under python -m


def recorded_tasks(spec: ExperimentSpec, folder: Path) -> list[RunTask]:
    """Every task of the recorded experiment, rebuilt from its spec.

    For sensitivity analyses and calibrations the sample is drawn again from the recorded seed
    and must equal the recorded ``sample.parquet``.
    """
    if spec.experiment.kind == "sweep":
        return list(sweep_tasks(spec))
    if spec.experiment.kind == "calibration":
        from .calibrate import prior_sample
        sample = prior_sample(spec.uncertainties, spec.experiment.N, spec.experiment.seed)
    else:
        _, sample = design(spec)
    recorded = pd.read_parquet(folder / "sample.parquet")
    if not sample.equals(recorded):
        raise ConfigError("the sample drawn from the manifest differs from "
                          f"{folder / 'sample.parquet'}")
    return list(sample_tasks(spec, sample, partial(model_config, analysis_base(spec))))


def choose(tasks: list[RunTask], recorded_keys: set[str], sample: int | None,
           seed: int) -> list[RunTask]:
    """The recorded tasks to re-run: all, or a seeded random ``sample`` of them."""
    tasks = [task for task in tasks if task.key in recorded_keys]
    if sample is None or sample >= len(tasks):
        return tasks
    chosen = np.random.default_rng(seed).choice(len(tasks), size=sample, replace=False)
    return [tasks[i] for i in sorted(chosen)]


def compare(record: RunRecord, runs: pd.DataFrame, errors: pd.DataFrame) -> tuple[int, list[str]]:
    """Count the outputs compared and name those that differ from the recorded run."""
    if record.key in errors.index:
        recorded = errors.loc[record.key]
        same = (record.error_type, record.error_message) == \
            (recorded["error_type"], recorded["error_message"])
        return 1, [] if same else [f"error ({record.error_type or 'finished'} vs "
                                   f"{recorded['error_type']})"]
    if record.outputs is None:
        return 1, [f"raised {record.error_type}: {record.error_message}"]
    recorded = runs.loc[record.key]
    if int(recorded["seed"]) != record.seed:
        return 1, [f"seed ({recorded['seed']} recorded, {record.seed} from the manifest)"]
    differing = [name for name, value in record.outputs.items()
                 if name not in recorded.index
                 or not np.array_equal(np.asarray(value, dtype=float),
                                       np.asarray(recorded[name], dtype=float), equal_nan=True)]
    differing += [name for name in recorded.index.drop(["run_key", "seed", *record.labels])
                  if name not in record.outputs]
    return len(record.outputs), differing


def reproduce(folder: Path, sample: int | None = None, seed: int = 0,
              execution: ExecutionConfig | None = None) -> pd.DataFrame:
    """Re-run the chosen runs of the experiment in ``folder``; one row per run compared."""
    manifest = read_manifest(folder)
    spec = recorded_spec(folder, manifest)
    changed = changed_inputs(manifest.get("input_files", {}))
    if changed:
        raise ConfigError(f"{'; '.join(changed)}: the experiment in {folder} cannot be "
                          "reproduced with other inputs; restore the file")
    _warn_if_environment_changed(manifest)
    store = ExperimentStore(folder)
    runs = store.read_runs().set_index("run_key", drop=False)
    errors = store.read_errors().set_index("run_key", drop=False)
    tasks = choose(recorded_tasks(spec, folder), set(runs.index) | set(errors.index), sample, seed)
    execution = execution or ExecutionConfig(backend="local")
    rows = []
    with open_backend(execution) as imap_unordered:
        for record in tqdm(imap_unordered(partial(run_one, evaluate_model), tasks),
                           total=len(tasks), desc="reproduce", unit="run",
                           disable=not execution.progress):
            compared, differing = compare(record, runs, errors)
            rows.append({"run_key": record.key, "outputs_compared": compared,
                         "identical": not differing, "differing": ", ".join(differing)})
    return pd.DataFrame(rows, columns=["run_key", "outputs_compared", "identical", "differing"]) \
        .sort_values("run_key", kind="stable").reset_index(drop=True)


def recorded_spec(folder: Path, manifest: dict) -> ExperimentSpec:
    """The experiment recorded in ``manifest``, re-checked; a damaged manifest is named."""
    try:
        return spec_from_dict(manifest["spec"])
    except (KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"{folder / 'manifest.json'} is damaged ({type(error).__name__}: "
                          f"{error}); it cannot say what the experiment was") from None


def not_checked(folder: Path) -> list[str]:
    """What a reproduction of ``folder`` cannot vouch for: runs of the plan never recorded,
    recorded runs that are not in the plan, replication seeds that are not the experiment's."""
    manifest = read_manifest(folder)
    spec = recorded_spec(folder, manifest)
    store = ExperimentStore(folder)
    recorded = store.finished_keys()
    planned = {task.key for task in recorded_tasks(spec, folder)}
    notes = []
    if planned - recorded:
        notes.append(f"{len(planned - recorded)} of {len(planned)} planned runs are not recorded "
                     "(resume the experiment to run them)")
    if recorded - planned:
        notes.append(f"{len(recorded - planned)} recorded runs are not in the manifest's plan")
    e = spec.experiment
    if manifest.get("replication_seeds") != replication_seeds(e.seed, e.replications):
        notes.append(f"the manifest's replication_seeds are not those of experiment.seed={e.seed} "
                     "(edited?)")
    return notes


def _warn_if_environment_changed(manifest: dict) -> None:
    """Say when code or library versions differ from the recorded ones (outputs may too)."""
    now = {"source_revision": source_revision(), **package_versions()}
    then = {"source_revision": manifest.get("source_revision"),
            **manifest.get("package_versions", {})}
    for name in sorted(set(now) | set(then)):
        if now.get(name) != then.get(name):
            log.warning("%s was %s when the experiment ran, is now %s (outputs may differ)",
                        name, then.get(name), now.get(name))


HELP = """\
sis-reproduce (python -m experiments.reproduce): re-run a recorded experiment and compare

Rebuilds the experiment in an experiment's results folder from its manifest.json alone (not
from conf/, so presets changed since do not matter), re-runs every recorded run (or a random
sample of them) and compares every output, and the seed, exactly with the recorded value.
Input files must be those the experiment was run with (their sha256 is in the manifest). Prints
one row per run and what could not be checked; exits 0 only if every run checked is identical
and nothing is missing, 4 otherwise, 2 for a folder that holds no experiment. Nothing is
written to the folder."""

EXAMPLES = """\
examples:
  sis-reproduce results/experiments/nle_targeting
      Re-run every recorded run of the NLE targeting sweep on local processes.
  sis-reproduce results/experiments/sobol --sample 20 --seed 1
      Re-run 20 randomly chosen runs of a Sobol analysis (the choice seeded).
  sis-reproduce results/experiments/smoke --backend serial -q
      Re-run the smoke sweep in this process, warnings only.

Documentation: docs/EXPERIMENTS.md ("Reproduce"), README.md"""


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line (``--help`` shows it, with examples)."""
    parser = argparse.ArgumentParser(prog="sis-reproduce", description=HELP, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="an experiment's results folder")
    parser.add_argument("--sample", type=positive_int, default=None, metavar="K",
                        help="re-run K randomly chosen runs instead of all")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random choice of runs")
    parser.add_argument("--backend", choices=("local", "serial"), default="local",
                        help="local processes (default) or this process, one run at a time")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="local processes (all cores)")
    add_verbosity_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: reproduce a results folder; exit 0 only if every output is identical and
    nothing is missing (exit codes: experiments/cli.py)."""
    args = build_parser().parse_args(argv)
    configure(args.log_level)
    return run_command(lambda: _reproduce_and_report(args))


def _reproduce_and_report(args: argparse.Namespace) -> None:
    """Re-run, print the table and what was not checked; Incomplete unless all is identical."""
    table = reproduce(args.folder, args.sample, args.seed,
                      ExecutionConfig(backend=args.backend, workers=args.workers))
    notes = not_checked(args.folder)
    with pd.option_context("display.width", 160, "display.max_rows", 10_000):
        print(table.to_string(index=False))
    same = int(table["identical"].sum())
    print(f"\n{same} of {len(table)} runs identical"
          + ("" if same == len(table) else f"; {len(table) - same} differ"))
    for note in notes:
        print(f"not checked: {note}")
    if same < len(table) or notes or not len(table):
        problems = ([f"{len(table) - same} of {len(table)} runs differ"] if same < len(table)
                    else []) + notes + (["no recorded run to check"] if not len(table) else [])
        raise Incomplete(f"{args.folder} is not reproduced: {'; '.join(problems)}")


if __name__ == "__main__":
    sys.exit(main())
