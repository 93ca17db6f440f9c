"""Hydra glue: register the typed schema once and convert composed configs to plain dataclasses."""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from sim.parameters import SimConfig, from_dict

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def register_schema() -> None:
    """Register ``SimConfig`` as the schema every composed run configuration is checked against."""
    ConfigStore.instance().store(name="schema", node=SimConfig)


def to_sim_config(cfg: DictConfig) -> SimConfig:
    """Convert a composed Hydra config (run keys only) to a validated ``SimConfig``."""
    data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    data = {k: v for k, v in data.items() if k in ("world", "behaviour", "policy", "run", "mechanisms")}
    return from_dict(SimConfig, data)


def compose_config(overrides: list[str] | tuple[str, ...] = ()) -> SimConfig:
    """The configuration the command line ``sis-run <overrides>`` would run, from Python::

        compose_config(["world=north_east", "policy=recruitment_incentive", "run.years=5"])

    Presets and settings use the command line's names, and fail the same way on a bad one.
    To change single settings of a configuration afterwards, use
    :func:`experiments.spec.with_overrides` (dotted paths) or ``dataclasses.replace``.
    """
    with hydra.initialize_config_dir(config_dir=CONF_DIR, version_base=None):
        return to_sim_config(hydra.compose("config", overrides=list(overrides)))


register_schema()
