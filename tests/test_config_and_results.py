"""Bad input fails early and names the culprit; results are written whole or not at all; Hydra.

* configuration: unknown keys, out-of-range values, wrong types, unknown regions, threshold order;
* writing: an existing results folder is refused before anything changes; a failure while
  writing leaves no manifest, no partial files and no hidden temporary folder;
* Hydra: every option of the world / policy / run / behaviour groups composes and converts to a
  ``SimConfig`` carrying the option's values; typos fail at composition; the command line entry
  point writes its files and rejects bad values with a message naming them.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import sim.results
from conftest import CONF_DIR, REPO, make_config
from sim.parameters import (BehaviourParams, ConfigError, SimConfig, WorldConfig, from_dict,
                            validate)
from sim.results import MANIFEST, RESULT_FILES
from sim.run import run
from sim.world import build_world

# ------------------------------------------------------------------------------------------
# configuration errors
# ------------------------------------------------------------------------------------------


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"run\.sed"):
        from_dict(SimConfig, {"run": {"sed": 1}})


def test_unknown_nested_key_is_named_with_its_full_path():
    with pytest.raises(ConfigError, match=r"policy\.recruitment_incentive\.multiplier"):
        from_dict(SimConfig, {"policy": {"recruitment_incentive": {"multiplier": 2}}})
    with pytest.raises(ConfigError, match=r"\bwrld\b"):
        from_dict(SimConfig, {"wrld": {}})


@pytest.mark.parametrize("section, key, value", [
    ("behaviour", "transition_dip", 0.5),            # range [0, 0.08]
    ("behaviour", "internal_preference", 0.1),       # range [0.3, 1]
    ("run", "years", 0),                             # range [1, 60]
    ("run", "seed", -1),
    ("world", "scale", 50.0),
])
def test_out_of_range_value_is_named(section, key, value):
    with pytest.raises(ConfigError, match=rf"{section}\.{key}=.*out of range"):
        from_dict(SimConfig, {section: {key: value}})


def test_out_of_range_lever_is_named():
    with pytest.raises(ConfigError, match=r"policy\.development_programme\.duration_terms"):
        from_dict(SimConfig, {"policy": {"development_programme": {"duration_terms": 12}}})


def test_value_not_among_choices_is_named():
    with pytest.raises(ConfigError, match=r"world\.source='csv'"):
        from_dict(SimConfig, {"world": {"source": "csv"}})
    with pytest.raises(ConfigError, match=r"policy\.development_programme\.targeting"):
        from_dict(SimConfig, {"policy": {"development_programme": {"targeting": "urban"}}})


@pytest.mark.parametrize("section, key, value, words", [
    ("run", "years", "ten", "number"),
    ("run", "years", 2.5, "whole number"),
    ("run", "overwrite", "yes", "true or false"),
    ("behaviour", "transition_dip", None, "number"),
    ("behaviour", "transition_dip", True, "number"),   # a bool is not a number here
])
def test_wrong_type_is_named(section, key, value, words):
    with pytest.raises(ConfigError, match=rf"{section}\.{key} must be a {words}|{section}\.{key} must be {words}"):
        from_dict(SimConfig, {section: {key: value}})


def test_unknown_hard_to_staff_criterion_is_named():
    with pytest.raises(ConfigError, match=r"targets.*remote"):
        from_dict(SimConfig, {"policy": {"recruitment_incentive": {"targets": ["rural", "remote"]}}})


def test_bad_inspection_intervals_are_named():
    with pytest.raises(ConfigError, match=r"policy\.inspection\.interval_terms"):
        from_dict(SimConfig, {"policy": {"inspection": {"interval_terms": [15, 12, 7]}}})
    with pytest.raises(ConfigError, match=r"policy\.inspection\.interval_terms"):
        from_dict(SimConfig, {"policy": {"inspection": {"interval_terms": [15, 12, 0, 5]}}})


def test_threshold_order_is_enforced():
    # each value inside its own range, but good below inadequate
    with pytest.raises(ConfigError, match=r"behaviour\.threshold_inadequate < threshold_good"):
        from_dict(SimConfig, {"behaviour": {"threshold_good": -1.5, "threshold_inadequate": -1.2}})
    with pytest.raises(ConfigError, match="threshold"):
        validate(replace(BehaviourParams(), threshold_good=-1.5, threshold_inadequate=-1.2))


def test_valid_values_pass_and_are_kept():
    config = from_dict(SimConfig, {"run": {"years": 3, "seed": 9},
                                   "behaviour": {"transition_dip": 0.08},
                                   "policy": {"inspection": {"interval_terms": [10, 10, 5, 4]}}})
    assert config.run.years == 3 and config.run.seed == 9
    assert config.behaviour.transition_dip == 0.08
    assert config.policy.inspection.interval_terms == (10, 10, 5, 4)
    assert config.world == WorldConfig()


def test_every_behaviour_default_is_inside_its_declared_range():
    from sim.parameters import parameter_table
    rows = parameter_table()
    assert len(rows) >= 30
    for row in rows:
        assert row["low"] <= row["default"] <= row["high"], row["name"]
        assert row["source"], f"{row['name']} has no evidence or 'assumption' note"


def test_nan_is_rejected_naming_the_field():
    with pytest.raises(ConfigError, match=r"behaviour\.transition_dip"):
        from_dict(SimConfig, {"behaviour": {"transition_dip": math.nan}})


def test_scalar_given_for_a_section_is_named():
    with pytest.raises(ConfigError, match=r"\brun\b"):
        from_dict(SimConfig, {"run": 5})


def test_non_numeric_interval_is_named():
    with pytest.raises(ConfigError, match=r"interval_terms"):
        from_dict(SimConfig, {"policy": {"inspection": {"interval_terms": [15, 12, "x", 5]}}})


def test_unknown_region_is_named():
    with pytest.raises(ConfigError, match=r"world\.region='Narnia'"):
        build_world(WorldConfig(region="Narnia"))
    # on a toy world too (it sits in the first region), before any run
    with pytest.raises(ConfigError, match=r"world\.region='North-East'"):
        run(make_config(source="toy", region="North-East", years=1))


def test_unknown_local_authority_is_named():
    with pytest.raises(ConfigError, match=r"world\.local_authority='Atlantis'"):
        build_world(WorldConfig(region="North East", local_authority="Atlantis"))


def test_known_local_authority_is_kept():
    world = build_world(WorldConfig(source="synthetic", region="North East",
                                    local_authority="North East LA 01"))
    assert 0 < world.n_schools < 300
    assert set(world.la_names[i] for i in set(world.local_authority.tolist())) == {"North East LA 01"}


def test_run_validates_before_any_work(monkeypatch):
    sim_run = sys.modules["sim.run"]   # `sim.run` the attribute is the function, not the module

    def no_world(*args, **kwargs):
        raise AssertionError("the world was built before the configuration was validated")

    monkeypatch.setattr(sim_run, "cached_world", no_world)
    bad = make_config(years=1)
    bad = replace(bad, behaviour=replace(bad.behaviour, transition_dip=0.5))
    with pytest.raises(ConfigError, match=r"behaviour\.transition_dip"):
        run(bad)


# ------------------------------------------------------------------------------------------
# writing results
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toy_results():
    return run(make_config(source="toy", toy_schools=12, years=1, check_invariants=False), seed=4)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` with its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_write_creates_all_files(toy_results, tmp_path):
    out = tmp_path / "a" / "b"
    toy_results.write(str(out), figures=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, MANIFEST])
    assert sorted(os.listdir(tmp_path / "a")) == ["b"]   # no temporary folder left beside it


def test_existing_results_are_not_overwritten(toy_results, tmp_path):
    out = tmp_path / "out"
    toy_results.write(str(out), figures=False)
    before = snapshot(out)
    siblings = sorted(os.listdir(tmp_path))
    with pytest.raises(ConfigError, match=r"already holds results.*overwrite"):
        toy_results.write(str(out), figures=False)
    assert snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == siblings


def test_overwrite_replaces_results(toy_results, tmp_path):
    out = tmp_path / "out"
    toy_results.write(str(out), figures=False)
    other = run(make_config(source="toy", toy_schools=12, years=1, check_invariants=False), seed=5)
    other.write(str(out), overwrite=True, figures=False)
    assert json.loads((out / MANIFEST).read_text())["seed"] == 5
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_out_dir_that_is_a_file_is_refused(toy_results, tmp_path):
    target = tmp_path / "results"
    target.write_text("not a folder")
    with pytest.raises(ConfigError, match="not a folder"):
        toy_results.write(str(target), figures=False)
    assert target.read_text() == "not a folder"


def failing_on_call(monkeypatch, number: int):
    """Make ``sim.results.write_table`` fail on its ``number``-th call."""
    real, calls = sim.results.write_table, []

    def flaky(frame, path):
        calls.append(path)
        if len(calls) == number:
            raise OSError("disk full (simulated)")
        real(frame, path)

    monkeypatch.setattr(sim.results, "write_table", flaky)
    return calls


def test_failure_while_writing_leaves_nothing_behind(toy_results, tmp_path, monkeypatch):
    out = tmp_path / "out"
    calls = failing_on_call(monkeypatch, 2)
    with pytest.raises(OSError, match="disk full"):
        toy_results.write(str(out), figures=False)
    assert len(calls) == 2   # the first table was written (to the temporary folder)
    assert not (out / MANIFEST).exists()
    assert not out.exists() or list(out.iterdir()) == []
    assert [p for p in tmp_path.iterdir() if p.name != "out"] == []   # no hidden partial folder


def test_failure_while_overwriting_keeps_the_old_results(toy_results, tmp_path, monkeypatch):
    out = tmp_path / "out"
    toy_results.write(str(out), figures=False)
    before = snapshot(out)
    failing_on_call(monkeypatch, 3)
    with pytest.raises(OSError):
        toy_results.write(str(out), overwrite=True, figures=False)
    assert snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_failure_while_drawing_figures_leaves_nothing_behind(toy_results, tmp_path, monkeypatch):
    import sim.figures

    def broken(*args, **kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(sim.figures, "core_figures", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="figure failed"):
        toy_results.write(str(out), figures=True)
    assert not out.exists() or list(out.iterdir()) == []
    assert [p for p in tmp_path.iterdir() if p.name != "out"] == []


# ------------------------------------------------------------------------------------------
# Hydra
# ------------------------------------------------------------------------------------------

def _schema_error() -> str | None:
    """Why OmegaConf cannot take ``SimConfig`` as a structured schema (None when it can)."""
    from omegaconf import OmegaConf
    try:
        OmegaConf.structured(SimConfig)
    except Exception as error:  # noqa: BLE001 - any failure here breaks every Hydra entry point
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


SCHEMA_ERROR = _schema_error()
SCHEMA_BUG = (
    "BUG: sim/parameters.py SystemLeadershipConfig.nle_quota_by_year is annotated "
    "tuple[tuple[int, int], ...], which OmegaConf cannot type ('Unsupported value type: "
    "Tuple[int, int]'), so experiments/config.py register_schema() raises at import and every "
    "Hydra entry point (python -m experiments.run) crashes; annotate it list[list[int]] or "
    "tuple[Any, ...] (from_dict already turns lists into tuples)")
needs_schema = pytest.mark.xfail(condition=SCHEMA_ERROR is not None, strict=True, reason=SCHEMA_BUG)


@pytest.mark.xfail(condition=SCHEMA_ERROR is not None, strict=True, reason=SCHEMA_BUG)
def test_sim_config_is_a_valid_structured_schema():
    assert _schema_error() is None


GROUPS = ("world", "policy", "run", "behaviour")
OPTIONS = [(group, path.stem) for group in GROUPS
           for path in sorted((CONF_DIR / group).glob("*.yaml"))]


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose, initialize_config_dir
    import experiments.config  # noqa: F401  registers the schema
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return hydra_compose(config_name="config", overrides=overrides)


def _leaves(data, prefix=""):
    """Flattened ``{dotted.key: value}`` of a nested dict."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], data


def test_every_group_has_options():
    groups = {group for group, _ in OPTIONS}
    assert groups == set(GROUPS)
    assert ("world", "toy") in OPTIONS and ("policy", "baseline") in OPTIONS


@needs_schema
@pytest.mark.parametrize("group, option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_and_converts(group, option):
    from omegaconf import OmegaConf
    from experiments.config import to_sim_config

    overrides = [f"{group}={option}"]
    if (group, option) == ("world", "gias"):
        overrides.append("world.gias_path=/nonexistent/edubasealldata.csv")   # never read here
    config = to_sim_config(compose(overrides))
    assert isinstance(config, SimConfig)
    # every value the option file sets reaches the typed configuration
    values = OmegaConf.to_container(OmegaConf.load(CONF_DIR / group / f"{option}.yaml")) or {}
    section = getattr(config, group)
    for key, expected in _leaves(values):
        actual = section
        for part in key.split("."):
            actual = getattr(actual, part)
        if isinstance(expected, list):
            expected = tuple(expected)
        if (group, key) == ("world", "gias_path"):
            expected = "/nonexistent/edubasealldata.csv"
        assert actual == expected, f"{group}={option}: {key}"


@needs_schema
def test_defaults_compose_to_the_typed_defaults():
    from experiments.config import to_sim_config
    config = to_sim_config(compose([]))
    assert config.behaviour == BehaviourParams()
    assert config.world.name == "england" and config.run.years == 10


@needs_schema
def test_gias_world_needs_a_path():
    from experiments.config import to_sim_config
    # `gias_path: ???` does not survive the merge onto the typed default (None), so the missing
    # path is caught when the world is built, still before any simulation, naming the key
    config = to_sim_config(compose(["world=gias"]))
    with pytest.raises(ConfigError, match=r"world\.gias_path"):
        build_world(config.world)


@needs_schema
@pytest.mark.parametrize("override, name", [
    ("run.sed=1", "sed"),
    ("behaviour.transition_dipp=0.05", "transition_dipp"),
    ("world=narnia", "narnia"),
    ("run.years=ten", "years"),
])
def test_typo_fails_at_composition_naming_it(override, name):
    with pytest.raises(Exception, match=name):
        compose([override])


@needs_schema
def test_out_of_range_override_fails_at_conversion_naming_it():
    from experiments.config import to_sim_config
    cfg = compose(["behaviour.transition_dip=0.5"])
    with pytest.raises(ConfigError, match=r"behaviour\.transition_dip"):
        to_sim_config(cfg)


def run_cli(*overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.run", *overrides], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@needs_schema
def test_command_line_run_writes_results(tmp_path):
    out = tmp_path / "toy"
    done = run_cli("world=toy", "run.years=1", f"run.out={out}", "run.progress=false")
    assert done.returncode == 0, done.stderr
    for name in (*RESULT_FILES, MANIFEST):
        assert (out / name).is_file(), name
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["config"]["world"]["source"] == "toy" and manifest["config"]["run"]["years"] == 1
    assert str(out) in done.stdout
    # a second run into the same folder is refused, naming the folder and the way out
    again = run_cli("world=toy", "run.years=1", f"run.out={out}", "run.progress=false")
    assert again.returncode != 0 and "run.overwrite" in again.stderr


@needs_schema
def test_command_line_rejects_bad_value_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    done = run_cli("world=toy", "run.years=0", f"run.out={out}", "run.progress=false")
    assert done.returncode != 0
    assert "run.years" in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


@needs_schema
def test_command_line_names_an_unknown_region(tmp_path):
    out = tmp_path / "never"
    done = run_cli("world=toy", "world.region=Narnia", "run.years=1", f"run.out={out}",
                   "run.progress=false")
    assert done.returncode != 0
    assert "world.region='Narnia'" in done.stderr
    assert not out.exists()
