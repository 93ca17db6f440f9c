"""What an experiment computes, as plain dataclasses: the experiment settings, its policy arms
(levers) and its uncertainties, checked in full before any run.

The Hydra schema (``experiments/compose.py``) is built from the dataclasses here, and a recorded
experiment is rebuilt from its manifest with :func:`spec_from_dict`, so the same checks guard
the command line, presets and reproduction. Levers and uncertainties are kept apart: arms
override any ``SimConfig`` field by its dotted path; uncertainties name ``BehaviourParams``
fields only, within their declared ranges.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sim.parameters import BehaviourParams, ConfigError, SimConfig, from_dict, to_dict

from .model_function import SCALAR_OUTCOMES

KINDS = ("sweep", "morris", "sobol")
DISTRIBUTIONS = ("uniform", "triangular", "truncnorm")
BACKENDS = ("local", "serial", "dask")


@dataclass
class ExperimentConfig:
    """Settings of one experiment (the ``experiment`` key of a preset).

    ``N`` is SALib's sample size: Sobol base samples (runs = N x (D + 2), or N x (2D + 2) with
    second-order indices, times ``replications``) or Morris trajectories (N x (D + 1) runs).
    """

    name: str = "???"  # "???" is Hydra's "must be given"
    kind: str = "sweep"  # sweep | morris | sobol
    seed: int = 0  # experiment seed: replication seeds, the SA sample and the bootstrap
    replications: int = 1  # seeds per arm (sweep) or per sample point (SA), averaged in SA
    outcomes: list[str] = field(default_factory=lambda: list(SCALAR_OUTCOMES))
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)  # arm -> {dotted path: value}
    reference_arm: str | None = None  # arm the others are compared with (default: the first)
    N: int = 64
    second_order: bool = False  # Sobol second-order indices (costs N x D more runs)
    morris_levels: int = 4
    bootstrap_resamples: int = 1000
    confidence_level: float = 0.95
    convergence_tolerance: float = 0.05  # largest change of an index between N/2 and N
    out: str = "results/experiments/${experiment.name}"
    overwrite: bool = False  # delete an existing, different experiment in ``out``
    figures: bool = True


@dataclass
class UncertaintyConfig:
    """The sampled range and distribution of one behavioural parameter, with its evidence.

    ``low`` / ``high`` default to the range declared in ``BehaviourParams`` and must lie inside
    it; ``source`` defaults to the declared evidence. ``mode`` is the peak of a triangular
    distribution; ``mean`` / ``sd`` shape a normal truncated to [low, high].
    """

    low: float | None = None
    high: float | None = None
    distribution: str = "uniform"  # uniform | triangular | truncnorm
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    source: str | None = None


@dataclass
class ExecutionConfig:
    """Where runs execute; not part of what an experiment computes (changing it never changes
    results, so an experiment may resume on another backend)."""

    backend: str = "local"  # local processes | serial (in this process) | dask
    workers: int | None = None  # local: all cores when unset; dask local cluster: 2 when unset
    address: str | None = None  # dask scheduler address; unset starts a local cluster
    batch_size: int = 64  # finished runs per Parquet file, at most (the most lost to a kill)
    flush_seconds: float = 30.0  # write finished runs at least this often (bounds the loss too)
    progress: bool = True
    log_level: str = "INFO"  # console logging: DEBUG | INFO | WARNING | ERROR (-v / -q)


@dataclass(frozen=True)
class Uncertainty:
    """A resolved uncertainty: a ``BehaviourParams`` field with its range, distribution, unit
    and evidence."""

    name: str
    low: float
    high: float
    distribution: str = "uniform"
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    unit: str = ""
    source: str = ""


@dataclass
class ExperimentSpec:
    """Everything that determines an experiment's results (recorded in its manifest).

    ``base`` is the configuration every run starts from (its ``run.seed`` is replaced by the
    replication seeds); ``arms`` maps arm names to flat ``{dotted SimConfig path: value}``.
    """

    experiment: ExperimentConfig
    base: SimConfig
    arms: dict[str, dict[str, Any]]
    uncertainties: tuple[Uncertainty, ...] = ()

    @property
    def reference_arm(self) -> str:
        """The arm the others are compared with."""
        return self.experiment.reference_arm or next(iter(self.arms))


def build_spec(experiment: ExperimentConfig, base: SimConfig,
               uncertainties: dict[str, UncertaintyConfig | dict]) -> ExperimentSpec:
    """Resolve and check a whole experiment: every error names the setting at fault."""
    check_experiment(experiment)
    raw_arms = experiment.arms or {"baseline": {}}
    arms = {name: flatten_overrides(overrides or {}) for name, overrides in raw_arms.items()}
    for name, overrides in arms.items():
        try:
            with_overrides(base, overrides)
        except ConfigError as error:
            raise ConfigError(f"experiment.arms.{name}: {error}") from None
    if experiment.reference_arm is not None and experiment.reference_arm not in arms:
        raise ConfigError(f"experiment.reference_arm={experiment.reference_arm!r} is not an arm; "
                          f"arms: {', '.join(arms)}")
    resolved = resolve_uncertainties(uncertainties)
    if experiment.kind != "sweep":
        if not resolved:
            raise ConfigError(f"experiment.kind={experiment.kind} needs uncertainties: choose a "
                              "set with uncertainties=<file in conf/uncertainties>")
        if len(arms) > 1:
            raise ConfigError(f"experiment.kind={experiment.kind} analyses one policy; "
                              f"give at most one arm, got {', '.join(arms)}")
    return ExperimentSpec(experiment=experiment, base=base, arms=arms, uncertainties=resolved)


def check_experiment(experiment: ExperimentConfig) -> None:
    """Check the experiment settings that do not depend on the model configuration."""
    if not experiment.name or experiment.name == "???":
        raise ConfigError("experiment.name must be given")
    if experiment.kind not in KINDS:
        raise ConfigError(f"experiment.kind={experiment.kind!r} is not one of {', '.join(KINDS)}")
    for name, low in (("replications", 1), ("N", 2), ("morris_levels", 2),
                      ("bootstrap_resamples", 1)):
        if getattr(experiment, name) < low:
            raise ConfigError(f"experiment.{name}={getattr(experiment, name)!r} must be >= {low}")
    if not 0 < experiment.confidence_level < 1:
        raise ConfigError(f"experiment.confidence_level={experiment.confidence_level!r} "
                          "must be between 0 and 1")
    unknown = [name for name in experiment.outcomes if name not in SCALAR_OUTCOMES]
    if unknown or not experiment.outcomes:
        raise ConfigError(f"experiment.outcomes has unknown outcome(s) {unknown}; "
                          f"choose from {', '.join(SCALAR_OUTCOMES)}")


def flatten_overrides(overrides: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"policy": {"x": 1}}`` and ``{"policy.x": 1}`` both become ``{"policy.x": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_overrides(value, path + "."))
        else:
            flat[path] = value
    return flat


def with_overrides(base: SimConfig, overrides: dict[str, Any]) -> SimConfig:
    """``base`` with each dotted path set to its value, validated (unknown paths are named)."""
    data = to_dict(base)
    for path, value in overrides.items():
        node = data
        *parents, leaf = path.split(".")
        for depth, key in enumerate(parents):
            if not isinstance(node.get(key), dict):
                raise ConfigError(f"unknown configuration key: {'.'.join(parents[:depth + 1])} "
                                  f"(in {path})")
            node = node[key]
        if leaf not in node:
            raise ConfigError(f"unknown configuration key: {path}")
        node[leaf] = value
    return from_dict(SimConfig, data)


def with_behaviour_values(base: SimConfig, values: dict[str, float]) -> SimConfig:
    """``base`` with behavioural parameters set to one sample point's values, validated."""
    behaviour = dataclasses.replace(base.behaviour, **values)
    return from_dict(SimConfig, {**to_dict(base), "behaviour": to_dict(behaviour)})


def resolve_uncertainties(declared: dict[str, UncertaintyConfig | dict]) -> tuple[Uncertainty, ...]:
    """Check each uncertainty names a ``BehaviourParams`` field and stays inside its declared
    range, and fill in ranges, units and evidence from the declaration."""
    fields = {f.name: f for f in dataclasses.fields(BehaviourParams)}
    resolved = []
    for name, given in declared.items():
        if isinstance(given, dict):
            given = from_dict(UncertaintyConfig, given, f"uncertainties.{name}.")
        if name not in fields:
            raise ConfigError(f"uncertainties.{name} is not a behavioural parameter; "
                              f"known: {', '.join(fields)}")
        meta = fields[name].metadata
        low = meta["low"] if given.low is None else float(given.low)
        high = meta["high"] if given.high is None else float(given.high)
        if not meta["low"] <= low < high <= meta["high"]:
            raise ConfigError(f"uncertainties.{name} range [{low}, {high}] must be non-empty and "
                              f"inside the declared range [{meta['low']}, {meta['high']}]")
        uncertainty = Uncertainty(name=name, low=low, high=high, distribution=given.distribution,
                                  mode=given.mode, mean=given.mean, sd=given.sd, unit=meta["unit"],
                                  source=given.source or meta["source"])
        check_distribution(uncertainty)
        resolved.append(uncertainty)
    return tuple(resolved)


def check_distribution(u: Uncertainty) -> None:
    """A distribution's shape parameters must be given and make sense for its range."""
    where = f"uncertainties.{u.name}"
    if u.distribution not in DISTRIBUTIONS:
        raise ConfigError(f"{where}.distribution={u.distribution!r} is not one of "
                          f"{', '.join(DISTRIBUTIONS)}")
    if u.distribution == "triangular" and (u.mode is None or not u.low <= u.mode < u.high):
        raise ConfigError(f"{where}: a triangular distribution needs low <= mode < high, "
                          f"got mode={u.mode!r}")
    if u.distribution == "truncnorm" and (u.mean is None or u.sd is None or u.sd <= 0):
        raise ConfigError(f"{where}: a truncated normal needs a mean and an sd > 0")


def spec_to_dict(spec: ExperimentSpec) -> dict:
    """The spec as plain data (for the manifest)."""
    return dataclasses.asdict(spec)


def spec_from_dict(data: dict) -> ExperimentSpec:
    """Rebuild a spec recorded by :func:`spec_to_dict`, re-checking everything."""
    experiment = from_dict(ExperimentConfig, {**data["experiment"], "arms": data["arms"]},
                           "experiment.")
    uncertainties = {u["name"]: {k: v for k, v in u.items() if k in UNCERTAINTY_KEYS}
                     for u in data["uncertainties"]}
    return build_spec(experiment, from_dict(SimConfig, data["base"]), uncertainties)


UNCERTAINTY_KEYS = tuple(f.name for f in dataclasses.fields(UncertaintyConfig))
