"""Scenario discovery (experiments/discover.py): PRIM finds a planted box."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.calibrate import run_calibration
from experiments.compose import compose_spec
from experiments.discover import discover, find_boxes
from sim.parameters import ConfigError

PLANTED = {"a": (0.2, 0.5), "b": (0.6, 0.9)}


def planted_cases(x: pd.DataFrame, rng: np.random.Generator, flip: float = 0.01) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for name, (low, high) in PLANTED.items():
        inside &= (x[name] >= low) & (x[name] <= high)
    return inside ^ (rng.random(len(x)) < flip)  # a little label noise


def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.random((2000, 4)), columns=["a", "b", "c", "d"])
    discovery = find_boxes(x, planted_cases(x, rng), min_density=0.8)
    box = discovery.boxes.set_index("parameter")
    for name, (low, high) in PLANTED.items():
        assert box.loc[name, "restricted"]
        assert box.loc[name, "low"] == pytest.approx(low, abs=0.05)
        assert box.loc[name, "high"] == pytest.approx(high, abs=0.05)
    assert not box.loc["c", "restricted"] and not box.loc["d", "restricted"]
    assert box["coverage"].iloc[0] > 0.8 and box["density"].iloc[0] > 0.8


def planted_model(values: dict[str, float], seed: int) -> dict[str, float]:
    """An analytic stand-in for the model: outcome low inside a planted box of two parameters."""
    a = (values["head_exit_primary_per_year"] - 0.02) / 0.06
    b = (values["head_exit_secondary_per_year"] - 0.03) / 0.09
    inside = PLANTED["a"][0] <= a <= PLANTED["a"][1] and PLANTED["b"][0] <= b <= PLANTED["b"][1]
    noise = np.random.default_rng(seed).normal(0, 0.002)
    share = (0.80 if inside else 0.86) + noise
    return {"share_good_or_outstanding": share, "share_inadequate": 0.04,
            "head_retention_primary": 0.93, "head_retention_secondary": 0.89,
            # the preset's grade-mix targets are changes over the run, read from the series
            "share_good_or_outstanding_by_step": np.r_[np.full(4, 0.86), np.full(27, share)],
            "share_inadequate_by_step": np.full(31, 0.04)}


def test_discovery_chained_after_an_experiment_writes_boxes_a_figure_and_a_report(tmp_path):
    spec, execution = compose_spec([
        "experiment=calibration", "experiment.N=512", "experiment.replications=1",
        "execution=serial", "execution.progress=false", f"experiment.out={tmp_path / 'cal'}",
        "experiment.discovery.outcome=share_good_or_outstanding", "experiment.discovery.below=0.83"])
    folder = run_calibration(spec, execution, evaluate=planted_model, make_config=lambda v: v)
    out = folder / "discovery"  # experiment.discovery ran PRIM after the runs
    first = (out / "report.md").read_text().split("\n\n")[1]
    assert first.startswith("**share_good_or_outstanding < 0.83 in ")
    assert "head_exit_primary_per_year" in first and "coverage" in first
    assert (out / "boxes.csv").read_text() == discover(folder, "share_good_or_outstanding",
                                                       below=0.83, out=tmp_path / "again").joinpath(
        "boxes.csv").read_text()  # the command gives the same boxes
    boxes = pd.read_csv(out / "boxes.csv").set_index("parameter")
    assert boxes.loc["head_exit_primary_per_year", "low"] == pytest.approx(0.02 + 0.06 * 0.2, abs=0.006)
    assert boxes.loc["head_exit_secondary_per_year", "high"] == pytest.approx(0.03 + 0.09 * 0.9, abs=0.009)
    assert not boxes.loc["new_head_capacity_per_readiness", "restricted"]
    assert (out / "boxes.png").stat().st_size > 0 and (out / "trajectory.csv").exists()
    with pytest.raises(ConfigError, match="no case of interest"):
        discover(folder, "share_good_or_outstanding", below=0.1)
    with pytest.raises(ConfigError, match="no output"):
        discover(folder, "share_good_or_outstanding", subgroup="rural", below=0.8)
