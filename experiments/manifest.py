"""The experiment manifest: what was computed, with which seeds, code and libraries.

Written before any run, it is all :mod:`experiments.reproduce` needs to re-run the experiment.
An experiment resumes in a folder only when the recorded spec equals the requested one;
settings that cannot change results (where results go, figures on or off) are left out of
that comparison.
"""

from __future__ import annotations

import json
import sys

from sim.results import package_versions, source_revision

from .plan import replication_seeds
from .spec import ExperimentSpec, spec_to_dict
from .store import ExperimentStore

FORMAT_VERSION = 1
RESULT_NEUTRAL_SETTINGS = ("out", "overwrite", "figures", "question", "headline")


def experiment_manifest(spec: ExperimentSpec, run_key_columns: list[str], total_runs: int) -> dict:
    """The manifest of ``spec`` (deterministic: no clock times; those go to sessions.json)."""
    return {
        "format_version": FORMAT_VERSION,
        "name": spec.experiment.name,
        "kind": spec.experiment.kind,
        "spec": spec_to_dict(spec),
        "replication_seeds": replication_seeds(spec.experiment.seed, spec.experiment.replications),
        "run_key_columns": run_key_columns,
        "total_runs": total_runs,
        "package_versions": package_versions(),
        "source_revision": source_revision(),
    }


def comparable_spec(spec_data: dict) -> dict:
    """The parts of a recorded spec that determine results, as JSON-normalised plain data."""
    data = json.loads(json.dumps(spec_data, default=str))
    for name in RESULT_NEUTRAL_SETTINGS:
        data.get("experiment", {}).pop(name, None)
    return data


def open_experiment(spec: ExperimentSpec, run_key_columns: list[str],
                    total_runs: int) -> ExperimentStore:
    """Create the experiment's folder, or resume it if it holds the same experiment."""
    manifest = experiment_manifest(spec, run_key_columns, total_runs)
    wanted = comparable_spec(manifest["spec"])

    def same_experiment(recorded: dict) -> bool:
        same = comparable_spec(recorded.get("spec", {})) == wanted
        if same and recorded.get("source_revision") != manifest["source_revision"]:
            print(f"warning: resuming {spec.experiment.out} recorded at source revision "
                  f"{recorded.get('source_revision')}, now at {manifest['source_revision']}; "
                  "runs from the two may differ", file=sys.stderr)
        return same

    return ExperimentStore.open(spec.experiment.out, manifest, same_experiment,
                                overwrite=spec.experiment.overwrite)
