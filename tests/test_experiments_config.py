"""Experiment configuration: every option and preset composes; bad input fails before any run,
naming the setting at fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from experiments.compose import compose_spec
from experiments.calibrate import prior_sample
from experiments.model_function import SCALAR_OUTCOMES, evaluate_model
from sim.outcomes import NATIONAL_ONLY_OUTCOMES
from sim.subgroups import LA_OUTCOMES, NAMED_SUBGROUPS
from experiments.plan import replication_seeds, sweep_tasks
from experiments.sensitivity import check_sample, design
from experiments.spec import UncertaintyConfig, resolve_uncertainties
from sim.parameters import ConfigError

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "conf"
GROUPS = ("world", "behaviour", "policy", "run", "uncertainties", "execution")
PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
NEEDS_VALUE = {"world=gias": ["world.gias_path=edubasealldata.csv"]}


def test_the_required_presets_exist():
    assert {"smoke", "nle_targeting", "funding_incentives", "morris", "sobol"} <= set(PRESETS)


@pytest.mark.parametrize("option", [f"{group}={path.stem}" for group in GROUPS
                                    for path in sorted((CONF / group).glob("*.yaml"))
                                    # execution=slurm asks the cluster: tests/test_experiments_slurm.py
                                    if f"{group}={path.stem}" != "execution=slurm"])
def test_every_config_option_composes(option):
    # a sweep samples no uncertainties, a Sobol analysis needs some
    preset = "sobol" if option.startswith("uncertainties=") and option != "uncertainties=none" \
        else "smoke"
    spec, execution = compose_spec([f"experiment={preset}", option, *NEEDS_VALUE.get(option, [])])
    assert spec.experiment.name == preset


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_composes_with_all_its_runs_valid(preset):
    spec, _ = compose_spec([f"experiment={preset}"])
    assert spec.experiment.name == preset
    if spec.experiment.kind == "sweep":
        tasks = list(sweep_tasks(spec))
        assert len(tasks) == len(spec.arms) * spec.experiment.replications
    elif spec.experiment.kind == "calibration":
        sample = prior_sample(spec.uncertainties, spec.experiment.N, spec.experiment.seed)
        check_sample(spec, sample)  # every prior point is a valid configuration
    else:
        _, sample = design(spec)
        check_sample(spec, sample)  # every sample point is a valid configuration


def test_outcome_names_are_the_models():
    spec, _ = compose_spec(["experiment=smoke", "run.years=1"])
    task = next(sweep_tasks(spec))
    outputs = evaluate_model(task.config, task.seed)
    scalars = [name for name, value in outputs.items() if not hasattr(value, "__len__")]
    assert tuple(name for name in scalars if "@" not in name) == SCALAR_OUTCOMES
    # every outcome for every named subgroup and the world's region; a few per local authority
    for subgroup in NAMED_SUBGROUPS + ("North East",):
        assert [name for name in scalars if name.endswith(f"@{subgroup}")] == \
            [f"{outcome}@{subgroup}" for outcome in SCALAR_OUTCOMES
             if outcome not in NATIONAL_ONLY_OUTCOMES]
    assert {name.split("@")[0] for name in scalars if "@la:" in name} == set(LA_OUTCOMES)


def test_arms_share_replication_seeds_which_are_independent():
    spec, _ = compose_spec(["experiment=smoke"])
    seeds: dict[str, list[int]] = {}
    for task in sweep_tasks(spec):
        seeds.setdefault(task.labels["arm"], []).append(task.seed)
    first, *others = seeds.values()
    assert all(other == first for other in others)  # common random numbers
    assert len(set(first)) == len(first) == spec.experiment.replications
    assert replication_seeds(0, 5)[:3] == replication_seeds(0, 3)  # stable as replications grow


@pytest.mark.parametrize("overrides, named", [
    (["+experiment.arms.typo={policy.system_leadership.targetting: nearest}"],
     "policy.system_leadership.targetting"),
    (["+experiment.arms.typo={policy: {nonsense: 1}}"], "policy.nonsense"),
    (["+experiment.arms.bad={policy.system_leadership.targeting: everywhere}"],
     "policy.system_leadership.targeting"),
    (["experiment.outcomes=[share_good,mean_gap]"], "share_good"),
    (["experiment.reference_arm=nobody"], "nobody"),
    (["experiment=sobol", "uncertainties.transition_dip.high=0.5"], "transition_dip"),
    (["experiment=sobol", "uncertainties.transition_dip.distribution=lognormal"], "transition_dip"),
    (["execution.backend=ray"], "ray"),
    (["uncertainties=core10"], "a sweep varies levers"),  # sis-sweep takes no uncertainties
])
def test_bad_settings_fail_naming_them(overrides, named):
    base = [] if any(o.startswith("experiment=") for o in overrides) else ["experiment=smoke"]
    with pytest.raises(ConfigError, match=named):
        compose_spec(base + overrides)


@pytest.mark.parametrize("overrides, named", [
    (["experiment=no_such_preset"], "no_such_preset"),
    (["experiment=smoke", "experiment.replicatons=3"], "replicatons"),
    (["experiment=sobol", "uncertainties.transition_dip.lo=0.1"], "lo"),
    (["experiment=sobol", "+uncertainties.not_a_parameter.low=0.1"], "not_a_parameter"),
])
def test_unknown_presets_and_keys_fail_at_composition(overrides, named):
    with pytest.raises((HydraException, OmegaConfBaseException), match=named):
        compose_spec(overrides)


def test_an_uncertainty_must_be_a_behavioural_parameter():
    with pytest.raises(ConfigError, match="uncertainties.policy_budget is not a behavioural"):
        resolve_uncertainties({"policy_budget": UncertaintyConfig(low=0.0, high=1.0)})


def test_command_line_refuses_a_bad_arm_before_any_run(tmp_path):
    out = tmp_path / "never_written"
    result = subprocess.run(
        [sys.executable, "-m", "experiments.sweep", "experiment=smoke", f"experiment.out={out}",
         "+experiment.arms.typo={policy.recruitment_incentive.enabeld: true}"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "experiment.arms.typo" in result.stderr
    assert "policy.recruitment_incentive.enabeld" in result.stderr
    assert not out.exists()


def test_morris_screening_covers_every_behavioural_parameter():
    """The screening set says "every behavioural parameter": a parameter added to
    BehaviourParams must be added to it, or Morris never weighs it."""
    import dataclasses

    from sim.parameters import BehaviourParams
    spec, _ = compose_spec(["experiment=morris"])
    screened = {u.name for u in spec.uncertainties}
    assert screened == {f.name for f in dataclasses.fields(BehaviourParams)}
