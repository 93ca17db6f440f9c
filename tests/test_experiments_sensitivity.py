"""Sensitivity analysis: the pipeline recovers the published Sobol indices of the Ishigami
function, and runs Morris screening of the model end to end."""

from __future__ import annotations

import json
from dataclasses import replace
from math import pi
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import reproduce
from experiments.compose import compose_spec
from experiments.sensitivity import design, run_sensitivity
from experiments.spec import ExecutionConfig, ExperimentConfig, ExperimentSpec, Uncertainty
from experiments.store import ExperimentStore
from sim.parameters import SimConfig

# Ishigami & Homma (1990) with a = 7, b = 0.1; analytic indices as published (e.g. Saltelli
# et al. 2008, Global Sensitivity Analysis: The Primer, and SALib's test suite).
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
TOLERANCE = 0.05


def ishigami(config: dict[str, float], seed: int) -> dict[str, float]:
    """The Ishigami function of one sample point (deterministic: the seed is not used)."""
    x1, x2, x3 = config["x1"], config["x2"], config["x3"]
    return {"y": np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3 ** 4 * np.sin(x1)}


def identity(values: dict[str, float]) -> dict[str, float]:
    """The Ishigami 'configuration' of a sample point is its values."""
    return values


def test_sobol_indices_of_ishigami_match_the_published_values(tmp_path):
    experiment = ExperimentConfig(name="ishigami", kind="sobol", outcomes=["y"], N=1024,
                                  bootstrap_resamples=200, out=str(tmp_path / "ishigami"),
                                  figures=False)
    uncertainties = tuple(Uncertainty(name, -pi, pi) for name in ("x1", "x2", "x3"))
    spec = ExperimentSpec(experiment, SimConfig(), {"ishigami": {}}, uncertainties)
    execution = ExecutionConfig(backend="serial", batch_size=4096, progress=False)

    folder = run_sensitivity(spec, execution, evaluate=ishigami, make_config=identity)

    indices = pd.read_csv(folder / "summary" / "sobol_indices.csv")
    np.testing.assert_allclose(indices["S1"], ISHIGAMI_S1, atol=TOLERANCE)
    np.testing.assert_allclose(indices["ST"], ISHIGAMI_ST, atol=TOLERANCE)
    assert (indices["S1_conf"] > 0).all() and (indices["S1_conf"] < 0.1).all()
    convergence = pd.read_csv(folder / "summary" / "convergence.csv").set_index("index")
    np.testing.assert_array_equal(convergence.loc["ST", "at_N"], indices["ST"])
    assert (convergence["converged"] == (convergence["change"] <= TOLERANCE)).all()
    assert convergence.loc["S1", "converged"].all()  # ST of x1 still moves between 512 and 1024
    sample = pd.read_parquet(folder / "sample.parquet")
    assert len(sample) == 1024 * (3 + 2) == len(ExperimentStore(folder).read_runs())


@pytest.fixture(scope="module")
def morris_folder(tmp_path_factory) -> Path:
    """Morris screening of three parameters on a one-year toy world, 2 replications."""
    out = tmp_path_factory.mktemp("morris") / "morris"
    spec, execution = compose_spec([
        "experiment=morris", "world=toy", "run.years=1", "experiment.N=4",
        "experiment.replications=2", "experiment.bootstrap_resamples=50",
        "experiment.outcomes=[share_good_or_outstanding,acting_head_share]",
        f"experiment.out={out}", "execution=serial", "execution.progress=false"])
    return run_sensitivity(replace(spec, uncertainties=spec.uncertainties[:3]), execution)


def test_morris_writes_sample_outcomes_indices_and_figure(morris_folder):
    manifest = json.loads((morris_folder / "manifest.json").read_text())
    spec = reproduce.spec_from_dict(manifest["spec"])
    parameters = [u.name for u in spec.uncertainties]
    sample = pd.read_parquet(morris_folder / "sample.parquet")
    pd.testing.assert_frame_equal(sample, design(spec)[1])
    assert len(sample) == 4 * (len(parameters) + 1)
    means = pd.read_parquet(morris_folder / "summary" / "sample_outcomes.parquet")
    assert (means["n_replications"] == 2).all()
    runs = ExperimentStore(morris_folder).read_runs()
    first_point = runs[runs["sample"] == 0]["acting_head_share"].mean()
    assert means.loc[0, "acting_head_share"] == pytest.approx(first_point)
    indices = pd.read_csv(morris_folder / "summary" / "morris_indices.csv")
    assert list(indices["parameter"][:len(parameters)]) == parameters
    assert {"mu", "mu_star", "mu_star_conf", "sigma"} <= set(indices.columns)
    assert set(pd.read_csv(morris_folder / "summary" / "convergence.csv")["index"]) == {"mu_star"}
    assert (morris_folder / "figures" / "morris_mu_star_sigma.png").exists()


def test_replications_share_seeds_across_sample_points(morris_folder):
    runs = ExperimentStore(morris_folder).read_runs()
    seeds = runs.groupby("replication")["seed"].nunique()
    assert (seeds == 1).all() and runs["seed"].nunique() == 2


def test_reproduce_a_sample_of_sensitivity_runs(morris_folder):
    table = reproduce.reproduce(morris_folder, sample=3,
                                execution=ExecutionConfig(backend="serial", progress=False))
    assert len(table) == 3 and table["identical"].all()


def test_morris_report_names_the_leading_parameters_first(morris_folder):
    indices = pd.read_csv(morris_folder / "summary" / "morris_indices.csv")
    first = (morris_folder / "report.md").read_text().split("\n\n")[1]
    assert first.startswith("**Most influential parameters by Morris mu*")
    for outcome, rows in indices.groupby("outcome"):
        leader = rows.sort_values("mu_star", ascending=False).iloc[0]
        assert f"{outcome.replace('_', ' ')}: {leader['parameter']} {leader['mu_star']:.3g}" in first
    assert "data:image/png;base64," in (morris_folder / "report.html").read_text()


def test_sensitivity_folder_holds_its_log(morris_folder):
    """The folder's run.log records the analysis (README: a log in every results folder)."""
    log = (morris_folder / "run.log").read_text()
    points = len(pd.read_parquet(morris_folder / "sample.parquet"))
    assert f"INFO experiments.sensitivity: morris morris: {points} sample points x 2 " \
           "replications" in log
    assert f"INFO experiments: {2 * points} run(s) done" in log
