"""Read the ablation experiment (``experiment=mechanisms``) and say, for each mechanism, whether
switching it off moves the outcome its source speaks about, in the published direction, with a
95 % interval that excludes zero.

    python -m experiments.sweep experiment=mechanisms
    python scripts/mechanisms_report.py results/experiments/mechanisms

``EXPECTED`` lists, for each arm, the outcome the mechanism's source speaks about (``outcome`` for
the whole world, ``outcome@subgroup`` for a subgroup) and the sign of (mechanism off - all on)
that the source implies. The paired differences come from the sweep's
own summary (``summary/paired_differences.csv``: same seeds in every arm).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

# arm -> ([(outcome, expected sign of off - on), ...], what the source says). The first outcome is
# the one the source speaks about most directly; the others are further outcomes it implies.
EXPECTED = {
    "no_home_capacity_at_risk": ([("supporting_school_decline_share", -1), ("mean_effectiveness", +1),
                                  ("nle_dedesignations_per_year", -1)],
                                 "time away puts the home school at risk (seed 002 L2724-2728, L6360-6376)"),
    "no_executive_home_cost": ([("executive_home_decline_share", -1), ("mean_effectiveness", +1),
                                ("nle_dedesignations_per_year", -1)],
                               "an executive headship puts two schools at risk (seed 002 L6360-6376)"),
    "no_status_review": ([("nle_dedesignations_per_year", -1), ("teaching_school_dedesignations_per_year", -1)],
                         "NLE and teaching-school status depend on staying outstanding (seed 002 L2575-2579, "
                         "L1000-1004, L6672-6678)"),
    "no_travel_cost": ([("improved_share_supported", +1), ("mean_effectiveness", +1)],
                       "distant support is costly and time-consuming (seed 003 L1354-1356)"),
    "no_deployment_limits": ([("deployments_started_per_year", +1)],
                             "time and home capacity limit what system leaders take on (seed 002 L2724-2728, L6338-6344)"),
    "no_cva_ranking": ([("nle_designations_fsm_band_3_4_share", -1)],
                       "CVA criterion (seed 004 L647) lets the FSM relaxation (L646) act"),
    "no_phase_mix": ([("nle_primary_share", +1)],
                     "secondary heads take system roles more often (seed 002 L772-774)"),
    "no_client_readiness": ([("deployments_started_per_year@coastal", +1),
                             ("deployments_started_per_year@rural", +1), ("improved_share_supported", +1)],
                            "trusts' own support and remoteness are barriers to taking up support, cover "
                            "costs and weak leadership to engaging with it (seed 003 L1277-1362)"),
    "no_secondment_vacancy_chain": ([("supporting_school_step_ups_per_year", -1),
                                     ("senior_leader_appointments_per_year", -1)],
                                    "a seconded deputy's post gave eight staff step-up roles (seed 004 L495)"),
    "no_new_head_support": ([("schools_in_need", -1)],
                            "partnerships were brokered to support new headteachers (seed 004 L435)"),
    "no_nle_executive_headship": ([("nle_executive_share", -1)],
                                  "over a third of NLEs were executive heads (seed 002 L935-937)"),
    "no_domain_heterogeneity": ([("share_good_or_outstanding", +1), ("share_good_or_outstanding@fsm_band_4", +1),
                                 ("mean_effectiveness@fsm_band_4", +1)],
                                "in challenging schools the weakest area holds results back (seed 000 L1580-1582)"),
    "no_starting_system_leaders": ([("deployments_started_per_year", -1)],
                                   "about 1,000 NLEs and 2,000 LLEs were in post in 2018 (seed 002 Appendix 1)"),
}


def verdicts(differences: pd.DataFrame, reference: str = "all_on") -> pd.DataFrame:
    """One row per arm and expected outcome: paired difference, interval, and the arm's verdict
    (acts when at least one expected outcome moves the published way with an interval excluding
    zero, and none moves the other way)."""
    d = differences[differences["versus"] == reference]
    rows = []
    for arm, (expected, reason) in EXPECTED.items():
        arm_rows = []
        for output, sign in expected:
            outcome, _, subgroup = output.partition("@")
            subgroup = subgroup or "all"
            chosen = (d["arm"] == arm) & (d["outcome"] == outcome)
            if "subgroup" in d:
                chosen &= d["subgroup"] == subgroup
            row = d[chosen]
            if row.empty:
                continue
            r = row.iloc[0]
            resolved = r["ci_low"] > 0 or r["ci_high"] < 0
            right_way = (r["mean_difference"] > 0) == (sign > 0)
            arm_rows.append({"arm": arm, "outcome": output, "expected": "+" if sign > 0 else "-",
                             "difference": r["mean_difference"], "ci_low": r["ci_low"],
                             "ci_high": r["ci_high"], "n": int(r["n"]), "source": reason,
                             "result": ("published direction" if resolved and right_way else
                                        "OPPOSITE direction" if resolved else "not resolved")})
        if not arm_rows:
            rows.append({"arm": arm, "outcome": expected[0][0], "verdict": "not in this experiment"})
            continue
        results = {r["result"] for r in arm_rows}
        verdict = ("acts, OPPOSITE direction" if "OPPOSITE direction" in results else
                   "acts, published direction" if "published direction" in results else "NOT RESOLVED")
        rows += [{**r, "verdict": verdict} for r in arm_rows]
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The verdict table as Markdown."""
    lines = ["| mechanism switched off | outcome | expected sign (off - on) | paired difference [95 % CI] | "
             "this outcome | verdict for the mechanism | source |", "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        if pd.isna(getattr(r, "difference", float("nan"))):
            lines.append(f"| `{r.arm}` | `{r.outcome}` | | | | {r.verdict} | |")
            continue
        lines.append(f"| `{r.arm}` | `{r.outcome}` | {r.expected} | {r.difference:+.4g} "
                     f"[{r.ci_low:+.3g}, {r.ci_high:+.3g}] | {r.result} | {r.verdict} | {r.source} |")
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the sweep's output folder")
    args = parser.parse_args()
    path = args.folder / "summary" / "paired_differences.csv"
    if not path.exists():
        sys.exit(f"error: {path} not found: run python -m experiments.sweep experiment=mechanisms first")
    table = verdicts(pd.read_csv(path))
    print(markdown(table))


if __name__ == "__main__":
    main()
