"""scripts/mechanisms_report.py: verdicts from a paired-differences table (made up, worked)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from mechanisms_report import EXPECTED, verdicts  # noqa: E402


def test_verdicts_need_an_interval_excluding_zero_in_the_expected_direction():
    rows = [  # arm, outcome, difference, ci
        ("no_status_review", "nle_dedesignations_per_year", -7.0, -8.0, -6.0),   # acts, right way
        ("no_phase_mix", "nle_primary_share", -0.1, -0.2, -0.05),                 # acts, wrong way
        ("no_travel_cost", "mean_effectiveness", 0.001, -0.001, 0.003),           # not resolved
        ("no_travel_cost", "nle_count", 5.0, 1.0, 9.0),                           # other outcome: ignored
        ("no_status_review", "nle_dedesignations_per_year", 9.0, 8.0, 10.0),      # other reference
    ]
    frame = pd.DataFrame(rows, columns=["arm", "outcome", "mean_difference", "ci_low", "ci_high"])
    frame["versus"] = ["all_on"] * 4 + ["no_phase_mix"]
    frame["n"] = 20
    table = verdicts(frame).groupby("arm")["verdict"].first()
    assert table["no_status_review"] == "acts, published direction"
    assert table["no_phase_mix"] == "acts, OPPOSITE direction"
    assert table["no_travel_cost"] == "NOT RESOLVED"
    assert table["no_cva_ranking"] == "not in this experiment"
    assert len(table) == len(EXPECTED)


def test_one_resolved_outcome_in_the_published_direction_is_enough_unless_another_opposes():
    rows = [("no_travel_cost", "improved_share_supported", 0.01, 0.001, 0.02),   # acts
            ("no_travel_cost", "mean_effectiveness", 0.001, -0.001, 0.003),        # not resolved
            ("no_home_capacity_at_risk", "mean_effectiveness", 0.01, 0.005, 0.02),  # right way
            ("no_home_capacity_at_risk", "nle_dedesignations_per_year", 1.0, 0.5, 1.5)]  # wrong way
    frame = pd.DataFrame(rows, columns=["arm", "outcome", "mean_difference", "ci_low", "ci_high"])
    frame["versus"], frame["n"] = "all_on", 20
    table = verdicts(frame).groupby("arm")["verdict"].first()
    assert table["no_travel_cost"] == "acts, published direction"
    assert table["no_home_capacity_at_risk"] == "acts, OPPOSITE direction"


def test_every_arm_of_the_preset_has_an_expected_outcome():
    import yaml
    preset = yaml.safe_load((Path(__file__).resolve().parents[1] / "conf" / "experiment"
                             / "mechanisms.yaml").read_text())
    arms = set(preset["experiment"]["arms"]) - {"all_on"}
    assert arms == set(EXPECTED)
    expected = [output.partition("@") for outcomes, _ in EXPECTED.values() for output, _ in outcomes]
    assert {outcome for outcome, _, _ in expected} <= set(preset["experiment"]["outcomes"])
    assert {subgroup or "all" for _, _, subgroup in expected} <= set(preset["experiment"]["subgroups"])


def test_an_expected_subgroup_outcome_is_read_from_its_own_rows():
    rows = [("no_client_readiness", "all", "deployments_started_per_year", 0.1, -1.0, 1.2),
            ("no_client_readiness", "coastal", "deployments_started_per_year", 2.0, 1.0, 3.0)]
    frame = pd.DataFrame(rows, columns=["arm", "subgroup", "outcome", "mean_difference", "ci_low", "ci_high"])
    frame["versus"], frame["n"] = "all_on", 20
    table = verdicts(frame)
    row = table[table["outcome"] == "deployments_started_per_year@coastal"].iloc[0]
    assert row["difference"] == 2.0 and row["verdict"] == "acts, published direction"
