"""Calibration with uncertainty (experiments/calibrate.py): ABC rejection recovers the model's
own parameters from synthetic targets, and ensembles feed sweeps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from experiments.calibrate import ENSEMBLE, run_calibration, targets_of
from experiments.compose import compose_spec
from experiments.model_function import evaluate_model
from experiments.plan import replication_seeds, sweep_tasks
from experiments.spec import Target, with_behaviour_values
from sim.parameters import ConfigError

TRUTH = {"head_exit_primary_per_year": 0.065, "head_exit_secondary_per_year": 0.08}
# Stated tolerance of recovery: the ensemble mean is within a quarter of the prior's width of
# the true value, and the ensemble is narrower than the prior (the targets inform it).
RECOVERY_SHARE_OF_PRIOR = 0.25


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    spec, execution = compose_spec([
        "experiment=calibration", "world=toy", "world.toy_schools=400", "run.years=5",
        "experiment.N=32", "experiment.replications=2", "execution=serial",
        "execution.progress=false", f"experiment.out={folder}"])
    priors = tuple(u for u in spec.uncertainties if u.name in TRUTH)
    truth_config = with_behaviour_values(spec.base, TRUTH)
    seeds = replication_seeds(spec.experiment.seed, spec.experiment.replications)
    outputs = [evaluate_model(truth_config, seed) for seed in seeds]
    targets = {f"head_retention_{phase}": Target(
                   float(np.mean([o[f"head_retention_{phase}"] for o in outputs])), tolerance)
               for phase, tolerance in (("primary", 0.015), ("secondary", 0.03))}
    spec = replace(spec, uncertainties=priors,
                   experiment=replace(spec.experiment, targets=targets))
    return spec, run_calibration(spec, execution)


def test_abc_recovers_known_parameters_from_synthetic_targets(calibrated):
    spec, folder = calibrated
    ensemble = pd.read_csv(folder / ENSEMBLE)
    points = pd.read_csv(folder / "summary" / "calibration_points.csv")
    assert 0 < len(ensemble) < len(points)  # the targets rule out part of the prior
    for u in spec.uncertainties:
        values = ensemble[u.name]
        assert values.std() < (u.high - u.low) / np.sqrt(12), u.name  # sd of the uniform prior
        assert abs(values.mean() - TRUTH[u.name]) <= RECOVERY_SHARE_OF_PRIOR * (u.high - u.low), u.name
    assert (ensemble[[f"distance:{name}" for name in targets_of(spec)]] <= 1).all().all()


def test_a_sweep_runs_across_the_ensemble(calibrated, tmp_path):
    _, folder = calibrated
    spec, _ = compose_spec(["experiment=smoke", "experiment.replications=4",
                            f"experiment.parameter_ensemble={folder / ENSEMBLE}"])
    ensemble = pd.read_csv(folder / ENSEMBLE)
    tasks = list(sweep_tasks(spec))
    assert [t.labels["member"] for t in tasks[:4]] == [r % len(ensemble) for r in range(4)]
    first = tasks[0]
    assert first.config.behaviour.head_exit_primary_per_year == \
        ensemble.loc[0, "head_exit_primary_per_year"]
    assert len(spec.ensemble) == len(ensemble)  # recorded in the spec (and so the manifest)


@pytest.mark.parametrize("content, named", [
    (None, "no such file"),
    ("member,not_a_parameter\n0,1.0\n", "no column names a behavioural parameter"),
    ("member,head_exit_primary_per_year\n", "no members"),
    ("member,head_exit_primary_per_year\n0,7.5\n", "member 0"),
])
def test_bad_ensemble_file_fails_before_any_run_naming_it(tmp_path, content, named):
    path = tmp_path / "ensemble.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=named):
        compose_spec(["experiment=smoke", f"experiment.parameter_ensemble={path}"])


def test_the_calibration_writes_a_report_that_answers_first(calibrated):
    spec, folder = calibrated
    text = (folder / "report.md").read_text()
    points = pd.read_csv(folder / "summary" / "calibration_points.csv")
    first = text.split("\n\n")[1]
    assert first.startswith(f"**{int(points['accepted'].sum())} of {len(points)} prior points**")
    assert "head retention primary" in first and "within tolerance" in first
    assert (folder / "figures" / "calibration_targets.png").exists()
    assert "data:image/png;base64," in (folder / "report.html").read_text()


def test_series_measures_read_the_first_and_last_year_or_the_calendar_year():
    from experiments.calibrate import simulated_targets
    series = np.array([0.90, 0.80, 0.82, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.90])
    runs = pd.DataFrame({"sample": [0], "share_good_or_outstanding_by_step": [series],
                         "share_inadequate": [0.04],
                         "share_inadequate_by_step": [np.linspace(0.0, 0.09, 10)]})
    targets = {"share_good_or_outstanding": Target(0.0, 0.01, measure="change_over_run"),
               "share_inadequate": Target(0.04, 0.01)}
    out = simulated_targets(runs, targets)
    # last year (steps 7-9) minus first year (steps 1-3): step 0 is the data, not the model
    assert out.loc[0, "share_good_or_outstanding"] == pytest.approx(0.89 - 0.82)
    assert out.loc[0, "share_inadequate"] == 0.04
    dated = {"share_inadequate": Target(0.04, 0.01, measure="at_year", year=2019.6)}
    # 2018.19 + 4 terms = 2019.52, the nearest step to Aug 2019
    assert simulated_targets(runs, dated, start_year=2018.19).loc[0, "share_inadequate"] == \
        pytest.approx(0.04)


@pytest.mark.parametrize("override, named", [
    ("+experiment.targets.share_good_or_outstanding.measure=latest", "is not one of"),
    ("+experiment.targets.head_retention_primary.measure=change_over_run", "needs a national series"),
    ("+experiment.targets.share_inadequate.measure=at_year", "year must be given"),
])
def test_a_bad_target_measure_fails_before_any_run_naming_it(override, named):
    with pytest.raises(ConfigError, match=named):
        compose_spec(["experiment=calibration", override.replace("+", "")])


def test_national_series_names_are_the_models():
    from experiments.model_function import NATIONAL_SERIES, SERIES_SUFFIX, evaluate_model
    spec, _ = compose_spec(["experiment=smoke"])
    outputs = evaluate_model(spec.base, 1)
    assert sorted(NATIONAL_SERIES) == sorted(
        name.removesuffix(SERIES_SUFFIX) for name in outputs if name.endswith(SERIES_SUFFIX))
