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
from sim.results import check_out_path

from sim.subgroups import SUBGROUPS

from .model_function import EXTRA_OUTCOMES, NATIONAL_SERIES, SCALAR_OUTCOMES

KINDS = ("sweep", "morris", "sobol", "calibration")
COMMANDS = {"sweep": "experiments.sweep", "morris": "experiments.sensitivity",
            "sobol": "experiments.sensitivity", "calibration": "experiments.calibrate"}
COMPARISONS = ("reference", "all_pairs")
# statsmodels.stats.multitest.multipletests methods
ADJUSTMENTS = ("bonferroni", "holm", "sidak", "holm-sidak", "simes-hochberg", "hommel",
               "fdr_bh", "fdr_by")
DISTRIBUTIONS = ("uniform", "triangular", "truncnorm")
BACKENDS = ("local", "serial", "dask", "slurm")


@dataclass
class Headline:
    """The outcome and subgroup an experiment's report leads with (and answers its question on)."""

    outcome: str = "share_good_or_outstanding"
    subgroup: str = "all"


@dataclass
class Target:
    """A calibration target: an output's observed value and how far a simulated mean may be
    from it and still count as consistent (its half-width: measurement uncertainty plus the
    seed noise of a mean over the replications)."""

    value: float = 0.0
    tolerance: float = 0.01
    source: str = ""
    # what of the run is compared (experiments.calibrate.MEASURES): "end", the scalar outcome
    # (the run's last year); "change_over_run", its national series' last-year mean minus its
    # first-year mean (a target that the level holds, on the model's own schools); "at_year",
    # the national series at the calendar year ``year`` (the source's own date)
    measure: str = "end"
    year: float | None = None


@dataclass
class DiscoveryConfig:
    """Scenario discovery chained after a sensitivity analysis or a calibration
    (:func:`experiments.discover.discover`): PRIM boxes of the sampled parameters where
    ``outcome`` (in ``subgroup``) is ``below`` or ``above`` a threshold. No outcome: none."""

    outcome: str = ""
    subgroup: str = "all"
    below: float | None = None
    above: float | None = None
    min_density: float = 0.8
    boxes: int = 1


@dataclass
class ExperimentConfig:
    """Settings of one experiment (the ``experiment`` key of a preset).

    ``N`` is SALib's sample size: Sobol base samples (runs = N x (D + 2), or N x (2D + 2) with
    second-order indices, times ``replications``) or Morris trajectories (N x (D + 1) runs).
    """

    name: str = "???"  # "???" is Hydra's "must be given"
    kind: str = "sweep"  # sweep | morris | sobol | calibration
    seed: int = 0  # experiment seed: replication seeds, the SA sample and the bootstrap
    replications: int = 1  # seeds per arm (sweep) or per sample point (SA), averaged in SA
    outcomes: list[str] = field(default_factory=lambda: list(SCALAR_OUTCOMES))
    # subgroups the sweep summaries report (sim/subgroups.py); regions absent from the world
    # are left out of the summaries
    subgroups: list[str] = field(default_factory=lambda: list(SUBGROUPS))
    comparisons: str = "reference"  # paired differences: each arm vs the reference, or all_pairs
    multiple_comparisons: str = "holm"  # statsmodels multipletests method over the whole family
    # outcome -> difference worth resolving (for replications_needed); default: the observed one
    differences_of_interest: dict[str, float] = field(default_factory=dict)
    question: str = ""  # the policy question the experiment answers (first line of its report)
    headline: Headline = field(default_factory=Headline)
    # a calibration ensemble (experiments.calibrate): every arm or sample point runs once per
    # member, so intervals include parameter uncertainty as well as seed noise
    parameter_ensemble: str | None = None
    # calibration: output name (outcome or outcome@subgroup) -> target; N prior points
    targets: dict[str, Target] = field(default_factory=dict)
    # scenario discovery on the sampled parameters once the runs are done (morris, sobol,
    # calibration)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)  # arm -> {dotted path: value}
    reference_arm: str | None = None  # arm the others are compared with (default: the first)
    N: int = 64
    second_order: bool = False  # Sobol second-order indices (costs N x D more runs)
    morris_levels: int = 4
    bootstrap_resamples: int = 1000
    confidence_level: float = 0.95
    convergence_tolerance: float = 0.05  # largest change of an index between N/2 and N
    out: str = "results/experiments/${experiment.name}"
    overwrite: bool = False  # replace a different experiment of this project in ``out``
    figures: bool = True
    retry_failed: bool = False  # run again the runs recorded as failed (after fixing the cause)


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
    # Slurm (experiments/slurm.py, docs/SLURM.md): job arrays of ``runs_per_job`` runs each
    partition: str | None = None  # unset: the cluster's default partition
    account: str | None = None  # charged account (sbatch --account); unset: the user's default
    time: str = "01:00:00"  # time limit of one job: minutes, or [D-]HH:MM:SS as sbatch takes it
    memory: str | None = "4G"  # memory of one job (sbatch --mem); unset: the partition default
    cpus_per_task: int = 1  # cores of one job; its runs share them as local processes
    runs_per_job: int = 400  # runs per array task: bigger amortises job start-up, loses more to a kill
    max_array_size: int = 1000  # array tasks per sbatch call (at most the cluster's MaxArraySize)
    array_parallelism: int | None = None  # array tasks running at once (%N); unset: no limit
    setup: list[str] = field(default_factory=list)  # shell lines run before each job (module load ...)
    poll_seconds: float = 10.0  # how often the submitting process asks squeue about its jobs
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
    # parameter ensemble members ({behavioural parameter: value}), read from
    # experiment.parameter_ensemble and recorded here so the spec does not depend on the file
    ensemble: tuple[dict[str, float], ...] = ()

    @property
    def reference_arm(self) -> str:
        """The arm the others are compared with."""
        return self.experiment.reference_arm or next(iter(self.arms))


def build_spec(experiment: ExperimentConfig, base: SimConfig,
               uncertainties: dict[str, UncertaintyConfig | dict],
               ensemble: list[dict[str, float]] | None = None) -> ExperimentSpec:
    """Resolve and check a whole experiment: every error names the setting at fault.

    ``ensemble`` (recorded members) replaces reading ``experiment.parameter_ensemble``.
    """
    check_experiment(experiment)
    if ensemble is None:
        ensemble = read_ensemble(experiment.parameter_ensemble) if experiment.parameter_ensemble else []
    members = tuple(check_member(member, base, experiment.parameter_ensemble or "ensemble", k)
                    for k, member in enumerate(ensemble))
    if members and experiment.kind != "sweep":
        raise ConfigError(f"experiment.parameter_ensemble is for sweeps; experiment.kind="
                          f"{experiment.kind} samples its own parameters")
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
    if experiment.kind == "sweep" and resolved:
        raise ConfigError("a sweep varies levers (its arms), not uncertainties: drop "
                          "uncertainties=...; to sweep across parameter uncertainty give a "
                          "calibration ensemble in experiment.parameter_ensemble, or sample "
                          "the uncertainties with sis-sensitivity or sis-calibrate")
    if experiment.kind != "sweep":
        if not resolved:
            raise ConfigError(f"experiment.kind={experiment.kind} needs uncertainties: choose a "
                              "set with uncertainties=<file in conf/uncertainties>")
        if len(arms) > 1:
            raise ConfigError(f"experiment.kind={experiment.kind} analyses one policy; "
                              f"give at most one arm, got {', '.join(arms)}")
    return ExperimentSpec(experiment=experiment, base=base, arms=arms, uncertainties=resolved,
                          ensemble=members)


def read_ensemble(path: str) -> list[dict[str, float]]:
    """The members of a parameter ensemble file (``ensemble.csv`` from experiments.calibrate):
    one row per member, one column per behavioural parameter; other columns (member, sample,
    simulated values, distances) are ignored. Fails naming the file and what is wrong."""
    import pandas as pd
    from pathlib import Path
    file = Path(path)
    where = f"experiment.parameter_ensemble={path!r}"
    if not file.is_file():
        raise ConfigError(f"{where}: no such file")
    try:
        table = pd.read_csv(file)
    except (ValueError, OSError) as error:
        raise ConfigError(f"{where}: not a readable CSV file ({error})") from None
    fields = {f.name for f in dataclasses.fields(BehaviourParams)}
    parameters = [c for c in table.columns if c in fields]
    if not parameters:
        raise ConfigError(f"{where}: no column names a behavioural parameter")
    if not len(table):
        raise ConfigError(f"{where}: the ensemble has no members (did the calibration accept "
                          "any parameter set?)")
    if table[parameters].isna().any().any():
        raise ConfigError(f"{where}: missing values in {', '.join(table[parameters].columns[table[parameters].isna().any()])}")
    return [{name: float(row[name]) for name in parameters} for _, row in table.iterrows()]


def check_member(member: dict[str, float], base: SimConfig, where: str, index: int) -> dict[str, float]:
    """An ensemble member must be a valid behaviour configuration (names and declared ranges)."""
    try:
        with_behaviour_values(base, member)
    except (ConfigError, TypeError) as error:
        raise ConfigError(f"experiment.parameter_ensemble={where!r}, member {index}: {error}") from None
    return dict(member)


def check_experiment(experiment: ExperimentConfig) -> None:
    """Check the experiment settings that do not depend on the model configuration."""
    if not experiment.name or experiment.name == "???":
        raise ConfigError("experiment.name must be given")
    check_name(experiment.name)
    check_out_path(experiment.out, "experiment.out")
    if experiment.kind not in KINDS:
        raise ConfigError(f"experiment.kind={experiment.kind!r} is not one of {', '.join(KINDS)}")
    for name, low in (("replications", 1), ("N", 2), ("morris_levels", 2),
                      ("bootstrap_resamples", 1)):
        if getattr(experiment, name) < low:
            raise ConfigError(f"experiment.{name}={getattr(experiment, name)!r} must be >= {low}")
    if not 0 < experiment.confidence_level < 1:
        raise ConfigError(f"experiment.confidence_level={experiment.confidence_level!r} "
                          "must be between 0 and 1")
    known = SCALAR_OUTCOMES + tuple(EXTRA_OUTCOMES)
    unknown = [name for name in experiment.outcomes if name not in known]
    if unknown or not experiment.outcomes:
        raise ConfigError(f"experiment.outcomes has unknown outcome(s) {unknown}; "
                          f"choose from {', '.join(known)}")
    if experiment.comparisons not in COMPARISONS:
        raise ConfigError(f"experiment.comparisons={experiment.comparisons!r} is not one of "
                          f"{', '.join(COMPARISONS)}")
    if experiment.multiple_comparisons not in ADJUSTMENTS:
        raise ConfigError(f"experiment.multiple_comparisons={experiment.multiple_comparisons!r} "
                          f"is not one of {', '.join(ADJUSTMENTS)}")
    unknown = [name for name in experiment.differences_of_interest if name not in SCALAR_OUTCOMES]
    if unknown:
        raise ConfigError(f"experiment.differences_of_interest has unknown outcome(s) {unknown}")
    if experiment.headline.outcome not in SCALAR_OUTCOMES:
        raise ConfigError(f"experiment.headline.outcome={experiment.headline.outcome!r} is not an "
                          f"outcome; choose from {', '.join(SCALAR_OUTCOMES)}")
    if experiment.headline.subgroup not in SUBGROUPS:
        raise ConfigError(f"experiment.headline.subgroup={experiment.headline.subgroup!r} is not "
                          f"a subgroup; choose from {', '.join(SUBGROUPS)}")
    for name, target in experiment.targets.items():
        outcome, _, subgroup = name.partition("@")
        if outcome not in SCALAR_OUTCOMES or (subgroup and subgroup not in SUBGROUPS):
            raise ConfigError(f"experiment.targets.{name} is not a model output (outcome or "
                              f"outcome@subgroup); outcomes: {', '.join(SCALAR_OUTCOMES)}")
        target = target if isinstance(target, Target) else Target(**target)
        if not target.tolerance > 0:
            raise ConfigError(f"experiment.targets.{name}.tolerance={target.tolerance!r} must be > 0")
        check_target_measure(name, target)
    check_discovery(experiment)
    if experiment.kind == "calibration" and not experiment.targets:
        raise ConfigError("experiment.kind=calibration needs experiment.targets")
    unknown = [name for name in experiment.subgroups if name not in SUBGROUPS]
    if unknown or not experiment.subgroups:
        raise ConfigError(f"experiment.subgroups has unknown subgroup(s) {unknown}; "
                          f"choose from {', '.join(SUBGROUPS)}")


def check_discovery(experiment: ExperimentConfig) -> None:
    """A chained scenario discovery names a known outcome and subgroup and one threshold."""
    d = experiment.discovery
    if not d.outcome:
        return
    if experiment.kind == "sweep":
        raise ConfigError("experiment.discovery runs after morris, sobol or calibration "
                          "experiments; for a sweep across an ensemble use python -m "
                          "experiments.discover FOLDER --arm A --versus B")
    known = SCALAR_OUTCOMES + tuple(EXTRA_OUTCOMES)
    if d.outcome not in known:
        raise ConfigError(f"experiment.discovery.outcome={d.outcome!r} is not an outcome; "
                          f"choose from {', '.join(known)}")
    if d.subgroup not in SUBGROUPS:
        raise ConfigError(f"experiment.discovery.subgroup={d.subgroup!r} is not a subgroup; "
                          f"choose from {', '.join(SUBGROUPS)}")
    if (d.below is None) == (d.above is None):
        raise ConfigError("experiment.discovery: give exactly one of below or above")
    if not 0 < d.min_density <= 1 or d.boxes < 1:
        raise ConfigError("experiment.discovery: min_density must be in (0, 1] and boxes >= 1")


def check_target_measure(name: str, target: Target) -> None:
    """A target measured on a series needs a whole-world outcome the model records per step,
    and ``at_year`` needs its calendar year."""
    measures = ("end", "change_over_run", "at_year")
    if target.measure not in measures:
        raise ConfigError(f"experiment.targets.{name}.measure={target.measure!r} is not one of "
                          f"{', '.join(measures)}")
    if target.measure != "end" and name not in NATIONAL_SERIES:
        raise ConfigError(f"experiment.targets.{name}.measure={target.measure} needs a national "
                          f"series; outcomes with one: {', '.join(NATIONAL_SERIES)}")
    if (target.measure == "at_year") != (target.year is not None):
        raise ConfigError(f"experiment.targets.{name}.year must be given with measure=at_year, "
                          "and only then")


def check_name(name: str) -> None:
    """An experiment name becomes a folder name: refuse one that could lead elsewhere."""
    if not isinstance(name, str) or not name.strip() or name.startswith(".") or ".." in name \
            or any(c in name for c in "/\\\0"):
        raise ConfigError(f"experiment.name={name!r} must be a plain folder name: not empty, "
                          "no '/', '\\' or '..', not starting with '.'")


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
    try:
        return from_dict(SimConfig, data)
    except ConfigError:
        raise
    except (TypeError, ValueError, AttributeError) as error:  # a value of a shape no check expects
        given = ", ".join(f"{path}={value!r}" for path, value in overrides.items())
        raise ConfigError(f"{given}: a value of the wrong type ({error})") from None


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
    return build_spec(experiment, from_dict(SimConfig, data["base"]), uncertainties,
                      ensemble=list(data.get("ensemble", ())))


UNCERTAINTY_KEYS = tuple(f.name for f in dataclasses.fields(UncertaintyConfig))
