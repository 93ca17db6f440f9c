"""Honest comparisons (experiments/summary.py): paired tests and multiple-comparison
adjustment against scipy and statsmodels, and the replications needed to resolve a difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from experiments.summary import adjust_for_multiple_comparisons, paired_differences


def test_holm_adjustment_matches_the_textbook_and_the_library():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    table = pd.DataFrame({"p_value": p, "n": 20, "sd": 1.0, "mean_difference": 0.5,
                          "outcome": "x"})
    adjusted = adjust_for_multiple_comparisons(table.copy(), 0.95, "holm", {}, 0.8)
    # Holm by hand: sorted p x (m, m-1, ...), made monotone: 0.02, 0.03, 0.06, 0.06
    assert adjusted["p_adjusted"].tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    for method in ("bonferroni", "fdr_bh", "holm"):
        ours = adjust_for_multiple_comparisons(table.copy(), 0.95, method, {}, 0.8)
        assert ours["p_adjusted"].to_numpy() == pytest.approx(multipletests(p, 0.05, method)[1])
    assert adjusted["resolved"].tolist() == [True, False, False, True]


@pytest.fixture
def runs():
    """Three arms x 12 replications x two outcomes with known paired structure."""
    rng = np.random.default_rng(3)
    seed_effect = rng.normal(0, 1, 12)  # shared by arms: common random numbers
    rows = []
    for arm, shift in (("base", 0.0), ("better", 0.8), ("same", 0.0)):
        for r in range(12):
            rows.append({"arm": arm, "replication": r,
                         "a": seed_effect[r] + shift + rng.normal(0, 0.3),
                         "b": 2 * seed_effect[r] + rng.normal(0, 0.3)})
    return pd.DataFrame(rows)


def test_paired_differences_use_paired_t_tests_and_bonferroni_intervals(runs):
    columns = {("all", "a"): "a", ("all", "b"): "b"}
    pairs = [("better", "base"), ("same", "base")]
    table = paired_differences(runs, pairs, columns, 0.95, "holm")
    wide = runs.pivot(index="replication", columns="arm")
    expected_p = [stats.ttest_rel(wide[(o, arm)], wide[(o, versus)]).pvalue
                  for o in ("a", "b") for arm, versus in pairs]
    assert table["p_value"].to_numpy() == pytest.approx(expected_p)
    assert table["p_adjusted"].to_numpy() == pytest.approx(multipletests(expected_p, 0.05, "holm")[1])
    row = table.iloc[0]  # better - base on a: resolved, no replications needed
    assert row["resolved"] and np.isnan(row["replications_needed"])
    diff = wide[("a", "better")] - wide[("a", "base")]
    half = stats.t.ppf(1 - 0.05 / 4 / 2, 11) * diff.std(ddof=1) / np.sqrt(12)
    assert row["ci_low_adjusted"] == pytest.approx(diff.mean() - half)
    assert row["ci_high_adjusted"] == pytest.approx(diff.mean() + half)
    # an adjusted interval is wider than the unadjusted one
    assert row["ci_high_adjusted"] - row["ci_low_adjusted"] > row["ci_high"] - row["ci_low"]


def test_replications_needed_is_statsmodels_power_for_an_unresolved_difference(runs):
    columns = {("all", "a"): "a"}
    table = paired_differences(runs, [("same", "base")], columns, 0.95, "holm",
                               differences_of_interest={"a": 0.2})
    row = table.iloc[0]
    assert row["ci_low_adjusted"] < 0 < row["ci_high_adjusted"]
    expected = TTestPower().solve_power(effect_size=0.2 / row["sd"], alpha=0.05, power=0.8,
                                        alternative="two-sided")
    assert row["replications_needed"] == np.ceil(expected)
    assert row["replications_needed"] > 12
