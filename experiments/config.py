"""Hydra glue: register the typed schema once and convert composed configs to plain dataclasses."""

from __future__ import annotations

from pathlib import Path

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


register_schema()
