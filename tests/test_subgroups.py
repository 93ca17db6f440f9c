"""Subgroup outcomes (sim/subgroups.py, sim/outcomes.subgroup_outcomes) against hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.compose import compose_spec
from sim import outcomes
from sim.model import SchoolSystemModel
from sim.parameters import ConfigError
from sim.processes.brokerage import schools_in_need
from sim.outcomes import SCALAR_OUTCOMES
from sim.run import run
from sim.state import ACTING, SUBSTANTIVE
from sim.subgroups import NAMED_SUBGROUPS


@pytest.fixture(scope="module")
def north_east_config():
    spec, _ = compose_spec(["experiment=smoke", "world=synthetic", "world.region=North East",
                            "run.years=1"])
    return spec.base


@pytest.fixture(scope="module")
def stepped(north_east_config):
    """A one-year North East run stepped by hand, keeping each term's grades and leaders."""
    model = SchoolSystemModel(north_east_config, seed=5)
    start = {"grade": model.state.grade.copy(), "kind": model.state.leader_kind.copy(),
             "need": schools_in_need(model)}
    terms = []
    for _ in range(3):
        model.step()
        terms.append({"grade": model.state.grade.copy(), "kind": model.state.leader_kind.copy()})
    events = model.events.frame()
    table = outcomes.subgroup_outcomes(model.recorder, events)
    return model, start, terms, events, table


def test_cold_spots_are_the_bottom_third_of_supply_against_need_by_hand(stepped):
    model, start, _, _, table = stepped
    w = model.world
    by_la = pd.DataFrame({
        "la": w.local_authority,
        "supply": np.isin(start["grade"], (1, 2)) & (start["kind"] == SUBSTANTIVE),
        "need": start["need"]}).groupby("la").sum()
    by_la = by_la[by_la["need"] > 0]
    ratio = by_la["supply"] / by_la["need"]
    cold_las = set(ratio.index[ratio <= ratio.quantile(1 / 3)])
    assert 0 < len(cold_las) < len(ratio)
    cold_schools = np.isin(w.local_authority, list(cold_las))
    recorder = model.recorder  # membership fixed at the start of the run
    column = recorder.unit_membership[:, recorder.unit_names.index("cold_spots")]
    assert np.array_equal(column.toarray().ravel() > 0, cold_schools)
    rural_column = recorder.unit_membership[:, recorder.unit_names.index("rural_cold_spots")]
    assert np.array_equal(rural_column.toarray().ravel() > 0, cold_schools & w.rural)
    assert table.loc["cold_spots"].notna().any()


def test_subgroup_shares_equal_hand_counts(stepped):
    model, _, terms, events, table = stepped
    w = model.world
    groups = {"rural": np.isin(w.setting, (1, 2)), "town": w.setting == 1,
              "fsm_band_4": model.fsm_band == 4}
    for name, mask in groups.items():
        good = np.mean([np.isin(t["grade"][mask], (1, 2)).sum() / (t["grade"][mask] > 0).sum()
                        for t in terms])  # of the inspected schools, as Ofsted reports it
        acting = np.mean([(t["kind"][mask] == ACTING).mean() for t in terms])
        assert table.loc[name, "share_good_or_outstanding"] == pytest.approx(good, rel=1e-12)
        assert table.loc[name, "acting_head_share"] == pytest.approx(acting, rel=1e-12)
        ids = set(w.school_id[mask])
        left = events[(events["event"] == "head_left") & events["school_id"].isin(ids)
                      & events["reason"].isin(["retired", "left_early", "executive_left",
                                               "own_head_to_be_appointed"])]
        assert table.loc[name, "vacancies_per_100_schools_per_year"] == \
            pytest.approx(100 * len(left) / mask.sum(), rel=1e-12)  # one year


def test_the_whole_region_as_a_subgroup_equals_the_world_outcomes(north_east_config):
    results = run(north_east_config, seed=8, progress=False)
    world = results.scalar_outcomes()
    region = results.subgroups.loc["North East"]
    assert len(results.subgroups.columns) >= 20  # the NLE-mix outcomes are national only
    for name in results.subgroups.columns:
        assert region[name] == pytest.approx(world[name], rel=1e-9, nan_ok=True), name
    assert set(NAMED_SUBGROUPS) <= set(results.subgroups.index)


@pytest.mark.parametrize("override, named", [
    ("experiment.subgroups=[all,nowhere]", "nowhere"),
    ("experiment.outcomes=[share_good_or_outstanding,happiness]", "happiness"),
    ("+experiment.differences_of_interest.happiness=0.01", "happiness"),
    ("experiment.multiple_comparisons=guesswork", "guesswork"),
])
def test_unknown_subgroup_or_outcome_fails_before_any_run_naming_it(override, named):
    with pytest.raises(ConfigError, match=named):
        compose_spec(["experiment=smoke", override])


@pytest.mark.parametrize("override, named", [
    ("experiment.headline.subgroup=nowhere", "nowhere"),
    ("experiment.headline.outcome=happiness", "happiness"),
])
def test_unknown_headline_fails_before_any_run_naming_it(override, named):
    with pytest.raises(ConfigError, match=named):
        compose_spec(["experiment=smoke", override])


@pytest.mark.parametrize("preset, override, named", [
    ("discovery", "experiment.discovery.outcome=happiness", "happiness"),
    ("discovery", "experiment.discovery.subgroup=nowhere", "nowhere"),
    ("discovery", "experiment.discovery.above=0.9", "exactly one of below or above"),
])
def test_unknown_target_or_discovery_fails_before_any_run_naming_it(preset, override, named):
    with pytest.raises(ConfigError, match=named):
        compose_spec([f"experiment={preset}", override])


@pytest.mark.parametrize("name", ["happiness", "share_inadequate@nowhere"])
def test_unknown_calibration_target_fails_naming_it(name):
    from dataclasses import replace

    from experiments.spec import Target, check_experiment
    spec, _ = compose_spec(["experiment=calibration"])
    with pytest.raises(ConfigError, match=name):
        check_experiment(replace(spec.experiment, targets={name: Target(0.5, 0.1)}))


@pytest.mark.parametrize("command, override, named", [
    ("experiments.sweep", "experiment.subgroups=[all,nowhere]", "nowhere"),
    ("experiments.sweep", "experiment.outcomes=[happiness]", "happiness"),
    ("experiments.sweep", "experiment.parameter_ensemble=no/such/ensemble.csv", "no/such/ensemble.csv"),
    ("experiments.sensitivity", "experiment.discovery.outcome=happiness", "happiness"),
])
def test_the_commands_refuse_bad_input_in_one_line_before_any_run(tmp_path, command, override, named):
    import os
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "never_written"
    preset = "experiment=discovery" if command == "experiments.sensitivity" else "experiment=smoke"
    result = subprocess.run([sys.executable, "-m", command, preset, override,
                             f"experiment.out={out}"], cwd=repo, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(repo)})
    assert result.returncode == 2, result.stderr
    assert named in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not out.exists()  # nothing written: no run started
