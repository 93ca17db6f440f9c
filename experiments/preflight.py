"""Pre-flight: everything an experiment's runs need, built and checked once before any run is
dispatched, so a mistyped region, a missing input file or an arm with ``run.years: 2.0`` fails
in one line at the start instead of in every run.

For each distinct configuration (policy arm, or the base of a sensitivity analysis): the whole
configuration is validated (types included), its world is built (once per distinct world) and
the model is initialised on it. The worlds' input files are fingerprinted for the manifest
(:mod:`sim.fingerprint`) and their load reports printed once and recorded. The worlds are
built through the process's world cache (``sim.world.cached_world``), so runs in this process
and the local workers it starts (:mod:`experiments.execution`) copy them instead of building
them again.
"""

from __future__ import annotations

import json

from sim.fingerprint import world_inputs
from sim.model import SchoolSystemModel
from sim.parameters import ConfigError, SimConfig, to_dict, validate
from sim.run import report_load
from sim.world import cached_world


def preflight(configs: dict[str, SimConfig], quiet: bool = False) -> dict:
    """Check every configuration (``{label: config}``, the label naming it in errors, e.g.
    ``experiment.arms.nearest``); return ``{"input_files": {name: sha256}, "load_reports":
    [report, ...]}`` for the manifest."""
    worlds: dict[str, object] = {}
    inputs: dict[str, str] = {}
    reports: list[dict] = []
    checked: set[str] = set()
    for label, config in configs.items():
        key = json.dumps(to_dict(config), sort_keys=True, default=str)
        if key in checked:
            continue
        try:
            validate(config)
            world_key = json.dumps(to_dict(config.world), sort_keys=True, default=str)
            if world_key not in worlds:
                world = worlds[world_key] = cached_world(config.world)
                inputs.update(world_inputs(world))
                report = getattr(world, "load_report", None)
                if report:
                    reports.append(report)
                    if not quiet:
                        report_load(world)  # the same warning a run gives, once per file
            SchoolSystemModel(config, seed=0, world=worlds[world_key])
        except ConfigError as error:
            raise ConfigError(f"{label}: {error}") from None
        checked.add(key)
    return {"input_files": dict(sorted(inputs.items())), "load_reports": reports}

