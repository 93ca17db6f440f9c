"""Hydra glue for experiments: the typed schema of ``conf/experiments.yaml`` and its conversion
to plain dataclasses, once, at the entry points.

The schema is ``SimConfig`` (world, behaviour, policy, run) plus ``experiment``,
``uncertainties`` and ``execution``, so a mistyped key anywhere fails at composition, naming
the key; everything else is checked by :func:`experiments.spec.build_spec` before any run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from sim.parameters import ConfigError, SimConfig, from_dict

from .cli import exit_with, hydra_exit_codes, run_command
from .config import CONF_DIR
from .entry import entry_point
from .execution import check_execution
from .spec import (COMMANDS, ExecutionConfig, ExperimentConfig, ExperimentSpec, UncertaintyConfig,
                   build_spec)
from .logs import configure

CONFIG_NAME = "experiments"
SIM_KEYS = ("world", "behaviour", "policy", "run", "mechanisms")


@dataclass
class ExperimentSchema(SimConfig):
    """Schema of a composed experiment configuration."""

    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    uncertainties: dict[str, UncertaintyConfig] = field(default_factory=dict)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)


ConfigStore.instance().store(name="experiment_schema", node=ExperimentSchema)


def spec_from_cfg(cfg: DictConfig) -> tuple[ExperimentSpec, ExecutionConfig]:
    """Convert a composed configuration to a checked experiment spec and execution settings."""
    data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    experiment = from_dict(ExperimentConfig, data["experiment"], "experiment.")
    base = from_dict(SimConfig, {key: data[key] for key in SIM_KEYS})
    execution = from_dict(ExecutionConfig, data["execution"], "execution.")
    check_execution(execution)
    return build_spec(experiment, base, data["uncertainties"] or {}), execution


def compose_spec(overrides: list[str]) -> tuple[ExperimentSpec, ExecutionConfig]:
    """Compose ``conf/experiments.yaml`` with command-line style overrides, from Python
    (notebooks, tests): ``compose_spec(["experiment=smoke", "execution=serial"])``."""
    with hydra.initialize_config_dir(config_dir=CONF_DIR, version_base=None):
        return spec_from_cfg(hydra.compose(CONFIG_NAME, overrides=overrides))


def experiment_main(run_experiment: Callable[[ExperimentSpec, ExecutionConfig], None],
                    kinds: tuple[str, ...], command: str) -> Callable[[], None]:
    """A Hydra entry point that checks the whole experiment, then calls ``run_experiment``.

    A configuration error, or a preset of another kind than ``kinds``, exits with status 2
    and a message naming the setting, before any run; other failures end as
    :mod:`experiments.cli` describes (one line, exit codes 3 and 4; 1 with a traceback for bugs).
    """
    def run_checked(cfg: DictConfig) -> None:
        spec, execution = spec_from_cfg(cfg)
        configure(execution.log_level, "execution.log_level")
        if spec.experiment.kind not in kinds:
            other = COMMANDS[spec.experiment.kind]
            raise ConfigError(f"experiment.kind={spec.experiment.kind} is not run by "
                              f"{command}; use python -m {other}")
        run_experiment(spec, execution)

    @hydra.main(version_base=None, config_path=CONF_DIR, config_name=CONFIG_NAME)
    def main(cfg: DictConfig) -> None:
        exit_with(run_command(lambda: run_checked(cfg)))

    return entry_point(hydra_exit_codes(main), help_name=command.rsplit(".", 1)[-1],
                       level_setting="execution.log_level", config_name=CONFIG_NAME,
                       required_groups=("experiment",))
