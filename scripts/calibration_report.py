"""Calibration: compare the default run with the targets in ../shared/data/england_reference.md.

    python scripts/calibration_report.py            # report target vs simulated (default run)
    python scripts/calibration_report.py --fit 4    # also iterate the calibrated parameters

Targets (England, from the reference file):
* Ofsted grades at the most recent inspection, Aug 2018: 21 / 65 / 11 / 4 % (the default world
  starts from this mix, so the target is that the model *holds* it: measured over years 8-10);
* annual head retention (heads under 55): primary 92-94 %, secondary 87-91 % (NFER 2017);
* its drivers: lower in secondary, after an inadequate grade, with more disadvantage.

``--fit`` re-estimates the calibrated parameters (the capacity new heads bring, which sets the
long-run grade mix; heads' early-exit base hazards, by the ratio of log-retention) and prints
the values to put in ``sim/parameters.py``. The share good or outstanding rising from 68 % (2010)
to 86 % (2019) is reported for the ``starting_grades=2010`` world but is not a fitted target.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import SimConfig, run  # noqa: E402

GRADE_TARGET = np.array([0.21, 0.65, 0.11, 0.04]) / 1.01
RETENTION_TARGET = {"primary": (0.92, 0.94), "secondary": (0.87, 0.91)}
GOOD_OR_BETTER_2010_2019 = (0.68, 0.86)


def simulate(config: SimConfig, seeds: list[int]) -> list:
    """Run ``config`` once per seed, quietly."""
    config = replace(config, run=replace(config.run, progress=False))
    return [run(config, seed=s) for s in seeds]


def grade_shares(results: list, years: tuple[float, float] = (8.0, 10.0)) -> np.ndarray:
    """Mean share of each grade over ``years`` and seeds."""
    shares = []
    for r in results:
        ts = r.timeseries[(r.timeseries["time_years"] >= years[0]) & (r.timeseries["time_years"] <= years[1])]
        counts = ts[["n_outstanding", "n_good", "n_requires_improvement", "n_inadequate"]].sum()
        shares.append(counts.to_numpy() / counts.sum())
    return np.mean(shares, axis=0)


def retention(results: list, by: str = "phase") -> pd.Series:
    """Annual retention of heads under 55, pooled over years and seeds, by ``by``."""
    frames = []
    for r in results:
        ts = r.timeseries.dropna(subset=["head_retention_annual"])
        frames.append(ts.assign(kept=ts["head_retention_annual"] * ts["heads_retention_cohort"]))
    pooled = pd.concat(frames).groupby(by)[["kept", "heads_retention_cohort"]].sum()
    return pooled["kept"] / pooled["heads_retention_cohort"]


def exit_rates_by(results: list, column: str) -> pd.Series:
    """Early exits per head-year by a school attribute, from the event log (drivers check)."""
    exits, exposure = [], []
    for r in results:
        ev = r.events
        left = ev[(ev["event"] == "head_left") & (ev["reason"] == "left_early")]
        exits.append(left.groupby(column).size())
        exposure.append(r.schools.groupby(column).size() * r.manifest["steps"] / 3)
    return (sum(exits) / sum(exposure)).rename("early exits per head-year")


def exit_by_grade(results: list) -> pd.Series:
    """Early exits per head-year by the grade at the most recent inspection (event-based)."""
    rates = []
    for r in results:
        ev = r.events.sort_values(["step"], kind="stable")
        insp = ev[ev["event"] == "inspection"][["step", "school_id", "grade"]]
        left = ev[(ev["event"] == "head_left") & (ev["reason"] == "left_early")][["step", "school_id"]]
        merged = pd.merge_asof(left.sort_values("step"), insp.sort_values("step"), on="step",
                               by="school_id", direction="backward")
        # Exposure approximated by the time series' grade counts (school-terms per grade).
        ts = r.timeseries
        exposure = pd.Series({g + 1: ts[c].sum() / 3 for g, c in enumerate(
            ["n_outstanding", "n_good", "n_requires_improvement", "n_inadequate"])})
        rates.append(merged.dropna(subset=["grade"]).groupby("grade").size() / exposure)
    return (sum(rates) / len(rates)).rename("early exits per head-year")


def report(config: SimConfig, seeds: list[int]) -> dict:
    """Print target against simulated value for every calibration target; return the figures."""
    results = simulate(config, seeds)
    shares = grade_shares(results)
    ret = retention(results)
    print(f"Calibration report: default England world, {len(seeds)} seeds, "
          f"{config.run.years} years\n")
    print("Ofsted grade mix (years 8-10)      target   simulated")
    for name, t, s in zip(["outstanding", "good", "requires improvement", "inadequate"],
                          GRADE_TARGET, shares):
        print(f"  {name:<32} {100 * t:5.1f}%   {100 * s:5.1f}%")
    print(f"  {'good or outstanding':<32} {100 * GRADE_TARGET[:2].sum():5.1f}%   {100 * shares[:2].sum():5.1f}%")
    print("\nAnnual head retention (under 55)    target     simulated")
    for phase, (lo, hi) in RETENTION_TARGET.items():
        value = ret.get(phase, np.nan)
        verdict = "within" if lo <= value <= hi else "OUTSIDE"
        print(f"  {phase:<32} {100 * lo:.0f}-{100 * hi:.0f}%   {100 * value:5.1f}%  ({verdict} target)")
    print("\nDrivers of early exit (per head-year)")
    print("  by phase:   " + ", ".join(f"{k} {v:.3f}" for k, v in exit_rates_by(results, "phase").items()))
    print("  by FSM band: " + ", ".join(f"{k} {v:.3f}" for k, v in exit_rates_by(results, "fsm_band").items()))
    print("  by grade at last inspection: " + ", ".join(
        f"{int(k)} {v:.3f}" for k, v in exit_by_grade(results).items()))
    return {"grade_shares": shares, "retention": ret, "results": results}


def fit(config: SimConfig, seeds: list[int], iterations: int) -> SimConfig:
    """Iterate the calibrated parameters towards the targets; print the fitted values.

    Initial effectiveness is drawn inside the grade cuts, so the start reproduces the published
    grade mix whatever the thresholds; the long-run mix is set by the capacity new heads bring,
    ``new_head_capacity_per_readiness``, fitted by the secant method on the share good or
    outstanding. Early-exit base hazards are rescaled by the ratio of log-retention.
    """
    b = config.behaviour
    target = GRADE_TARGET[:2].sum()
    previous: tuple[float, float] | None = None
    for it in range(iterations):
        results = simulate(replace(config, behaviour=b), seeds)
        shares, ret = grade_shares(results), retention(results)
        error = shares[:2].sum() - target
        factor = b.new_head_capacity_per_readiness
        if previous is None or previous[1] == error:
            step = -0.3 * error  # about 0.03 of capacity factor per 10 points of share
        else:
            step = -error * (factor - previous[0]) / (error - previous[1])
        previous = (factor, error)
        primary = b.head_exit_primary_per_year * np.log(np.mean(RETENTION_TARGET["primary"])) / np.log(ret["primary"])
        secondary = b.head_exit_secondary_per_year * np.log(np.mean(RETENTION_TARGET["secondary"])) / np.log(ret["secondary"])
        print(f"iteration {it + 1}: factor {factor:.4f} -> shares {np.round(shares, 3)}, "
              f"retention {ret.round(3).to_dict()}")
        b = replace(b, new_head_capacity_per_readiness=round(float(np.clip(factor + step, 0.5, 1.0)), 4),
                    head_exit_primary_per_year=round(float(primary), 4),
                    head_exit_secondary_per_year=round(float(secondary), 4))
    print("\nFitted values for sim/parameters.py:")
    for name in ("new_head_capacity_per_readiness", "head_exit_primary_per_year",
                 "head_exit_secondary_per_year"):
        print(f"  {name} = {getattr(b, name)}")
    return replace(config, behaviour=b)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit", type=int, default=0, help="calibration iterations before the report")
    parser.add_argument("--seeds", type=int, default=2, help="replications per evaluation")
    parser.add_argument("--write", metavar="PATH", help="also write the report as Markdown to PATH")
    args = parser.parse_args()
    if args.write:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(Tee(sys.stdout, buffer)):
            run_report(args)
        from sim.results import source_revision
        Path(args.write).write_text(
            "# Calibration report\n\nWritten by `python scripts/calibration_report.py --seeds "
            f"{args.seeds} --write {args.write}` at source revision `{source_revision()}`.\n"
            "Targets from `../shared/data/england_reference.md`; see docs/ODD.md section 7.\n\n"
            "```\n" + buffer.getvalue() + "```\n")
    else:
        run_report(args)


class Tee(io.TextIOBase):
    """Write to several streams at once."""

    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        """Write ``text`` to every stream."""
        for stream in self.streams:
            stream.write(text)
        return len(text)


# ------------------------------------------------------------------------------------------
# Seed checks of system leadership (issue 8): the seeds' own figures against the model
# ------------------------------------------------------------------------------------------

# seed 002 Table 1.1 (L281-300): primary schools and primary NLEs in 11 rural LAs, Aug 2013.
TABLE_1_1 = {"A": (236, 4), "B": (309, 8), "C": (130, 2), "D": (245, 4), "E": (80, 2), "F": (275, 6),
             "G": (361, 2), "H": (129, 1), "I": (212, 3), "J": (254, 1), "K": (199, 4)}
NLE_PRIMARY_SHARE = (0.53, 0.54)          # seed 002 Appendix 1 (465/878 in 2013, 504/941 in 2014)
NLE_EXECUTIVE_SHARE_MIN = 1 / 3           # seed 002 L935-937: over a third of 200 NLEs in 2008
CLIENT_GOOD_LEADERSHIP = 7 / 20           # seed 004 L524: 1 outstanding + 6 good of 20 clients
DEPLOYMENT_YEARS = (1.0, 3.0)             # seed 004 L135: one to three years
LLE_PUBLISHED = {2013: 1959, 2014: 1617}  # seed 002 Appendix 1 L8304-8315


def primary_schools_per_primary_nle(result, rural_las: int = 11) -> pd.DataFrame:
    """Primary schools per primary NLE at the end, for the ``rural_las`` most rural LAs."""
    schools = result.schools[result.schools["phase"] == "primary"]
    by_la = schools.groupby("local_authority").agg(
        primaries=("school_id", "size"), nles=("system_leader_role", lambda r: (r == "NLE").sum()),
        rural=("setting", lambda s: (s == "rural").mean()))
    by_la["per_nle"] = by_la["primaries"] / by_la["nles"].where(by_la["nles"] > 0)
    return by_la.sort_values("rural", ascending=False).head(rural_las)


def nle_executive_share(result) -> float:
    """Share of NLEs at the end who are also executive heads of another school."""
    schools = result.schools
    homes = set(schools["executive_home_school_id"].dropna().astype("int64"))
    nles = schools[schools["system_leader_role"] == "NLE"]["school_id"]
    return float(nles.isin(homes).mean()) if len(nles) else float("nan")


def client_good_share(result) -> float:
    """Share of deployments whose client was graded good or better when support started."""
    started = result.events[result.events["event"] == "support_started"]
    return float(started["grade"].between(1, 2).mean()) if len(started) else float("nan")


def deployment_years(result) -> pd.Series:
    """Length in years of every deployment that ended (completed, or ended early)."""
    from sim.outcomes import support_spells
    spells = support_spells(result.events).dropna(subset=["end_step"])
    return (spells["end_step"] - spells["start_step"]) / 3.0


def lle_by_year(result) -> pd.Series:
    """LLEs in post at each year end, by calendar year."""
    ts = result.timeseries
    year_ends = ts[ts["step"] % 3 == 0]
    if "calendar_year" in ts:
        return year_ends.groupby("calendar_year")["lle_count"].sum().rename(index=lambda y: round(y, 1))
    start = result.manifest["config"]["world"]["start_year"]
    return year_ends.groupby("time_years")["lle_count"].sum().rename(index=lambda y: round(start + y, 1))


def seed_checks(results: list) -> dict:
    """Print the seeds' figures on system leadership against the model; return the figures."""
    print("\nSeed checks: system leadership (seed 002, seed 004)")
    table = [(name, s / n) for name, (s, n) in TABLE_1_1.items()]
    lo, hi = min(v for _, v in table), max(v for _, v in table)
    ratios = pd.concat([primary_schools_per_primary_nle(r)["per_nle"] for r in results])
    none = int(ratios.isna().sum())
    finite = ratios.dropna()
    print(f"  primary schools per primary NLE, 11 most rural LAs: seed 002 Table 1.1 {lo:.0f}-{hi:.0f} "
          f"(median {np.median([v for _, v in table]):.0f}); simulated {finite.min():.0f}-{finite.max():.0f} "
          f"(median {finite.median():.0f}), {none} of {len(ratios)} LA-runs with no primary NLE")
    share = np.mean([r.scalar_outcomes()["nle_primary_share"] for r in results])
    miss = 100 * (share - NLE_PRIMARY_SHARE[1]) if share > NLE_PRIMARY_SHARE[1] else 100 * (share - NLE_PRIMARY_SHARE[0])
    print(f"  NLEs leading primaries: seed 002 Appendix 1 53-54 %; simulated {100 * share:.1f} % "
          f"({'within' if NLE_PRIMARY_SHARE[0] <= share <= NLE_PRIMARY_SHARE[1] else f'misses by {miss:+.1f} points'})")
    executive = np.mean([nle_executive_share(r) for r in results])
    print(f"  NLEs who are also executive heads: seed 002 L935-937 over 33 %; simulated {100 * executive:.1f} % "
          f"({'met' if executive > NLE_EXECUTIVE_SHARE_MIN else f'misses by {100 * (executive - NLE_EXECUTIVE_SHARE_MIN):+.1f} points'})")
    good = np.mean([client_good_share(r) for r in results])
    print(f"  clients good or better when support started: seed 004 L524 7 of 20 (35 %) had good or "
          f"outstanding leadership; simulated {100 * good:.1f} % ({100 * (good - CLIENT_GOOD_LEADERSHIP):+.1f} points)")
    lengths = pd.concat([deployment_years(r) for r in results])
    within = ((lengths >= DEPLOYMENT_YEARS[0]) & (lengths <= DEPLOYMENT_YEARS[1])).mean()
    print(f"  deployment lengths (ended deployments): seed 004 L135 one to three years; simulated "
          f"{100 * within:.0f} % within 1-3 years, {100 * (lengths < 1).mean():.0f} % under a year "
          f"(ended early: client improved or supporter left), {100 * (lengths >= 3).mean():.0f} % of three years")
    lle = pd.concat([lle_by_year(r) for r in results], axis=1).mean(axis=1)
    print("  LLEs in post: published " + ", ".join(f"{y}: {v:,}" for y, v in LLE_PUBLISHED.items())
          + " (seed 002 Appendix 1; nothing later at hand); simulated " + ", ".join(
              f"{y}: {v:,.0f}" for k, (y, v) in enumerate(lle.items()) if k % 2 == 0)
          + f"; the model holds the lle_quota ({100 * (lle.mean() / np.mean(list(LLE_PUBLISHED.values())) - 1):+.0f} % "
            "against the published mean)")
    return {"primary_per_nle": ratios, "nle_primary_share": share, "nle_executive_share": executive,
            "client_good_share": good, "deployment_years": lengths, "lle_by_year": lle}


def run_report(args: argparse.Namespace) -> None:
    """Fit (if asked) and print the report."""
    config = SimConfig()
    seeds = list(range(args.seeds))
    if args.fit:
        config = fit(config, seeds, args.fit)
    figures = report(config, seeds)
    seed_checks(figures["results"])
    hist = simulate(replace(config, world=replace(config.world, starting_grades="2010")), seeds[:1])
    ts = hist[0].timeseries
    by_year = ts.groupby("time_years")[["n_outstanding", "n_good", "n_schools"]].sum()
    good = (by_year["n_outstanding"] + by_year["n_good"]) / by_year["n_schools"]
    print(f"\nShare good or outstanding from the 2010 grade mix (not fitted): target "
          f"{100 * GOOD_OR_BETTER_2010_2019[0]:.0f}% -> {100 * GOOD_OR_BETTER_2010_2019[1]:.0f}% over 9 years; "
          f"simulated {100 * good.iloc[0]:.1f}% -> {100 * good.loc[9.0]:.1f}% at year 9")


if __name__ == "__main__":
    main()
