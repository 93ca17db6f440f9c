"""The experiment manifest: what was computed, with which seeds, inputs, code and libraries.

Written before any run, it is all :mod:`experiments.reproduce` needs to re-run the experiment.
An experiment resumes in a folder only when the recorded spec equals the requested one and its
input files (``input_files``: sha256 of each, :mod:`sim.fingerprint`) are unchanged; settings
that cannot change results (where results go, figures on or off, overwrite, retrying failed
runs) are left out of that comparison. Raising ``experiment.replications`` grows a recorded
experiment in place (replication seeds are a prefix of a longer list,
:func:`experiments.plan.replication_seeds`); lowering it is refused.
"""

from __future__ import annotations

import json
import logging

from sim.fingerprint import fingerprint
from sim.results import EXPERIMENT_KIND, OUTPUT_KIND, package_versions, source_revision

from .plan import replication_seeds
from .spec import ExperimentSpec, spec_to_dict
from .store import DifferentExperiment, ExperimentStore

FORMAT_VERSION = 1
RESULT_NEUTRAL_SETTINGS = ("out", "overwrite", "figures", "retry_failed", "question", "headline")
DIFFERENCES_SHOWN = 3
log = logging.getLogger(__name__)


def experiment_manifest(spec: ExperimentSpec, run_key_columns: list[str], total_runs: int,
                        checked: dict | None = None) -> dict:
    """The manifest of ``spec`` (deterministic: no clock times; those go to sessions.json);
    ``checked`` is what :func:`experiments.preflight.preflight` found: input fingerprints and
    load reports."""
    checked = checked or {}
    return {
        OUTPUT_KIND: EXPERIMENT_KIND,
        "format_version": FORMAT_VERSION,
        "name": spec.experiment.name,
        "kind": spec.experiment.kind,
        "spec": spec_to_dict(spec),
        "replication_seeds": replication_seeds(spec.experiment.seed, spec.experiment.replications),
        "run_key_columns": run_key_columns,
        "total_runs": total_runs,
        "input_files": dict(sorted({**checked.get("input_files", {}),
                                    **ensemble_input(spec)}.items())),
        "load_reports": list(checked.get("load_reports", [])),
        "package_versions": package_versions(),
        "source_revision": source_revision(),
    }


def ensemble_input(spec: ExperimentSpec) -> dict[str, str]:
    """The fingerprint of the experiment's parameter ensemble file, if it reads one (its
    members are recorded in the spec too, so a changed file is also a different spec)."""
    path = spec.experiment.parameter_ensemble
    return fingerprint([path]) if path else {}


def comparable_spec(spec_data: dict, replications: bool = True) -> dict:
    """The parts of a recorded spec that determine results, as JSON-normalised plain data
    (without the number of replications when ``replications`` is False)."""
    data = json.loads(json.dumps(spec_data, default=str))
    experiment = data.get("experiment", {})
    for name in RESULT_NEUTRAL_SETTINGS + (() if replications else ("replications",)):
        experiment.pop(name, None)
    return data


def differences(recorded, wanted, path: str = "") -> list[str]:
    """Dotted paths whose values differ between two nested plain-data specs, with both values."""
    if isinstance(recorded, dict) and isinstance(wanted, dict):
        return [line for key in sorted(set(recorded) | set(wanted), key=str)
                for line in differences(recorded.get(key), wanted.get(key), f"{path}{key}.")]
    name = path.rstrip(".").removeprefix("base.")
    return [] if recorded == wanted else [f"{name}: {recorded!r} recorded, {wanted!r} now"]


def input_changes(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """One sentence per input file whose fingerprint differs between the two records."""
    lines = []
    for name in sorted(set(recorded) | set(current)):
        if name not in current:
            lines.append(f"input file {name} is no longer read")
        elif name not in recorded:
            lines.append(f"input file {name} was not read when the experiment started")
        elif recorded[name] != current[name]:
            lines.append(f"input file {name} has changed (sha256 {recorded[name][:12]}... "
                         f"recorded, {current[name][:12]}... now)")
    return lines


def reconcile(recorded: dict, manifest: dict) -> dict:
    """The manifest to keep when the recorded experiment is the requested one (grown by more
    replications, if asked); :class:`~experiments.store.DifferentExperiment` when it is not."""
    then, now = recorded.get("spec", {}), manifest["spec"]
    if recorded.get("input_files"):  # manifests before fingerprints have none to compare
        changes = input_changes(recorded["input_files"], manifest["input_files"])
        if changes:  # first: a changed file (an ensemble's too) is named, not its effects
            raise DifferentExperiment(f"runs made with other inputs ({'; '.join(changes)})")
    if comparable_spec(then, replications=False) != comparable_spec(now, replications=False):
        diff = differences(comparable_spec(then), comparable_spec(now))
        more = f", and {len(diff) - DIFFERENCES_SHOWN} more" if len(diff) > DIFFERENCES_SHOWN else ""
        raise DifferentExperiment(f"a different experiment ({'; '.join(diff[:DIFFERENCES_SHOWN])}"
                                  f"{more})")
    had, wants = then["experiment"]["replications"], now["experiment"]["replications"]
    seed = then["experiment"]["seed"]
    if recorded.get("replication_seeds") != replication_seeds(seed, had):
        raise DifferentExperiment(f"a manifest whose replication_seeds are not those of "
                                  f"experiment.seed={seed} (edited?)", suggest_overwrite=False)
    if wants < had:
        raise DifferentExperiment(
            f"this experiment with {had} replications; experiment.replications={wants} would "
            f"leave recorded runs out (give {had} or more to resume it)", suggest_overwrite=False)
    if wants == had:
        return recorded
    log.info("growing %s from %d to %d replications; recorded runs are kept", manifest["name"],
             had, wants)
    return {**recorded, "spec": now, "replication_seeds": manifest["replication_seeds"],
            "total_runs": manifest["total_runs"]}


def open_experiment(spec: ExperimentSpec, run_key_columns: list[str], total_runs: int,
                    checked: dict | None = None) -> ExperimentStore:
    """Create the experiment's folder, or resume (or grow) the experiment it holds."""
    manifest = experiment_manifest(spec, run_key_columns, total_runs, checked)

    def keep(recorded: dict) -> dict:
        kept = reconcile(recorded, manifest)
        if recorded.get("source_revision") != manifest["source_revision"]:
            log.warning("resuming %s recorded at source revision %s, now at %s; runs from the "
                        "two may differ", spec.experiment.out, recorded.get("source_revision"),
                        manifest["source_revision"])
        return kept

    return ExperimentStore.open(spec.experiment.out, manifest, keep,
                                overwrite=spec.experiment.overwrite)
