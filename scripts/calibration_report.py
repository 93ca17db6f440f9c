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

Inspection-history targets (issue 7; tables from ``scripts/estimate_inspection_transitions.py``,
see ``data/england_2018/INSPECTION_TABLES.md``), simulated against observed:
(a) the next grade given the previous one by phase and FSM band, cell by cell, for the regime
period the run covers, with the observed 95 % interval and whether the simulated share is in
it; (b) the terms between inspections by grade; (c) the grade mix by phase, region and FSM band
at the start and at the end of the run against the real March 2018 schools, with the drift.
These are calibration targets, not dice: the model's grades come from its schools' state.
A section whose data the world or the project lacks says "n/a".
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
from sim import inspection_history as ih  # noqa: E402
from sim.events import HEAD_LEFT, INSPECTION, SUPPORT_STARTED  # noqa: E402
from sim.world import PHASES, REGION_NAMES, build_world, fsm_band  # noqa: E402

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
        left = ev[(ev["event"] == HEAD_LEFT) & (ev["reason"] == "left_early")]
        exits.append(left.groupby(column).size())
        exposure.append(r.schools.groupby(column).size() * r.manifest["steps"] / 3)
    return (sum(exits) / sum(exposure)).rename("early exits per head-year")


def exit_by_grade(results: list) -> pd.Series:
    """Early exits per head-year by the grade at the most recent inspection (event-based)."""
    rates = []
    for r in results:
        ev = r.events.sort_values(["step"], kind="stable")
        insp = ev[ev["event"] == INSPECTION][["step", "school_id", "grade"]]
        left = ev[(ev["event"] == HEAD_LEFT) & (ev["reason"] == "left_early")][["step", "school_id"]]
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


# --- Inspection-history targets (issue 7): transitions, intervals, heterogeneity ---------------

GRADE_SHORT = ("O", "G", "RI", "I")
MIN_OBSERVED_CELL_N = 20   # rows with fewer transitions (observed or simulated) are not scored


def _start_year(result) -> float:
    """Calendar year at step 0 of a run (used when its event log has no calendar_year)."""
    world = result.manifest.get("config", {}).get("world", {})
    return float(world.get("start_year") or 2018)


def simulated_history(results: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transitions and inspection spells of all runs, pooled over seeds."""
    transitions, spells = [], []
    for r in results:
        transitions.append(ih.simulated_transitions(r.events, _start_year(r)))
        spells.append(ih.simulated_spells(r.events, _start_year(r), int(r.manifest["steps"])))
    return pd.concat(transitions, ignore_index=True), pd.concat(spells, ignore_index=True)


def _observed_table(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, dtype={"fsm_band": str}) if path.is_file() else None


def compare_transitions(observed: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Observed and simulated next-grade shares side by side, one row per cell, for the
    periods the simulated transitions fall in; ``inside``: the simulated share lies within the
    observed 95 % interval (scored only where the observed and the simulated row each have
    ``MIN_OBSERVED_CELL_N`` transitions)."""
    keys = ["period", "phase", "fsm_band", "previous_grade", "next_grade"]
    sim = ih.transition_table(simulated)[keys + ["count", "share"]]
    obs = observed[observed["period"].isin(sim["period"].unique())]
    merged = obs.merge(sim, on=keys, how="left", suffixes=("", "_sim"))
    merged["count_sim"] = merged["count_sim"].fillna(0).astype(int)
    row_keys = keys[:-1]
    merged["n_obs"] = merged.groupby(row_keys)["count"].transform("sum")
    merged["n_sim"] = merged.groupby(row_keys)["count_sim"].transform("sum")
    merged["inside"] = ((merged["share_sim"] >= merged["share_low"])
                        & (merged["share_sim"] <= merged["share_high"]))
    merged["scored"] = (merged["n_obs"] >= MIN_OBSERVED_CELL_N) & (merged["n_sim"] >= MIN_OBSERVED_CELL_N)
    return merged


def _cell(row) -> str:
    sim = "  n/a" if pd.isna(row["share_sim"]) else f"{100 * row['share_sim']:5.1f}"
    mark = ("+" if row["inside"] else "x") if row["scored"] else " "
    return (f"{100 * row['share']:5.1f} [{100 * row['share_low']:4.1f}-{100 * row['share_high']:5.1f}]"
            f" {sim}{mark}")


def print_transitions(comparison: pd.DataFrame) -> None:
    """Section (a): next-grade shares, observed [95 % interval] against simulated."""
    print("  cell: observed % [95% interval] simulated %, + inside / x outside the interval "
          f"(scored where the observed and simulated rows have >= {MIN_OBSERVED_CELL_N} transitions)")
    for (period, phase, band), group in comparison.groupby(["period", "phase", "fsm_band"], sort=False):
        print(f"\n  {period}  phase {phase}, FSM band {band}")
        print("    from  n obs / n sim  " + "".join(f"{'to ' + g:<26}" for g in GRADE_SHORT))
        for previous, row_cells in group.groupby("previous_grade"):
            first = row_cells.iloc[0]
            print(f"    {GRADE_SHORT[previous - 1]:<4} {first['n_obs']:6d} / {first['n_sim']:<6d} "
                  + " ".join(_cell(c) for _, c in row_cells.iterrows()))
    scored = comparison[comparison["scored"]]
    print("\n  Cells inside the observed interval (scored cells):")
    for label, part in (("all rows", scored), ("from RI or inadequate", scored[scored["previous_grade"] >= 3]),
                        ("from outstanding or good", scored[scored["previous_grade"] <= 2])):
        gap = 100 * (part["share_sim"] - part["share"]).abs().mean() if len(part) else np.nan
        print(f"    {label:<26} {int(part['inside'].sum()):4d} of {len(part):4d}; "
              f"mean |simulated - observed| {gap:4.1f} points")


def _run_years(result) -> tuple[float, float]:
    """Calendar span of a run, as decimal years."""
    ev = result.events
    if "calendar_year" in ev.columns and len(ev):
        start = float((ev["calendar_year"] - ev["time_years"]).iloc[0])
    else:
        start = _start_year(result)
    return start, start + result.manifest["steps"] / 3


def print_transition_rates(observed: pd.DataFrame, results: list, observed_schools: int) -> None:
    """Graded re-inspections a year per 1,000 schools, by previous grade and period: how often
    each grade is re-graded, observed (schools open in March 2018) against simulated."""
    simulated = [(ih.simulated_transitions(r.events, _start_year(r)), _run_years(r),
                  r.manifest["n_schools"]) for r in results]
    every = observed[(observed["phase"] == ih.ALL) & (observed["fsm_band"] == ih.ALL)]
    print("\n  Graded re-inspections a year per 1,000 schools, by previous grade "
          f"(observed: {observed_schools:,} schools open in March 2018)")
    print("    period     from  observed  simulated")
    for period in sorted({p for t, _, _ in simulated for p in t["period"]} - {""}, key=ih.PERIODS.index):
        obs_years = ih.observed_years(period)
        lo, hi = ih.period_bounds(period)
        for grade in ih.GRADES:
            count = every[(every["period"] == period) & (every["previous_grade"] == grade)]["count"].sum()
            obs = 1000 * count / obs_years / observed_schools if obs_years else np.nan
            rates = []
            for t, (start, end), n in simulated:
                years = max(0.0, min(end, hi) - max(start, lo))
                if years:
                    k = ((t["period"] == period) & (t["previous_grade"] == grade)).sum()
                    rates.append(1000 * k / years / n)
            sim = np.mean(rates) if rates else np.nan
            obs_text = "      n/a" if np.isnan(obs) else f"{obs:9.1f}"
            print(f"    {period:<10} {GRADE_SHORT[grade - 1]:<4} {obs_text}  {sim:9.1f}")


def print_region_transitions(observed: pd.DataFrame, simulated: pd.DataFrame) -> None:
    """Section (a), by region: share whose next grade is good or better, by previous grade."""
    from statsmodels.stats.proportion import proportion_confint
    periods = simulated["period"].unique()
    obs = observed[observed["period"].isin(periods)].assign(good=lambda f: f["next_grade"] <= 2)
    counts = obs.groupby(["period", "region", "previous_grade"]).apply(
        lambda f: pd.Series({"good": f.loc[f["good"], "count"].sum(), "n": f["count"].sum()}),
        include_groups=False)
    sim = simulated.assign(good=simulated["next_grade"] <= 2).groupby(
        ["period", "region", "previous_grade"])["good"].agg(["mean", "size"])
    print("\n  By region (pooled over phase and FSM band; region adds to them from 2012, "
          "data/england_2018/inspection_region_test.csv): % next grade good or better")
    print("    period     region                     from  observed [95% interval]    n   simulated")
    for (period, region, previous), row in counts.iterrows():
        low, high = proportion_confint(row["good"], row["n"], alpha=0.05, method=ih.CONFIDENCE_METHOD)
        sim_share = sim["mean"].get((period, region, previous), np.nan)
        mark = "" if np.isnan(sim_share) else ("+" if low <= sim_share <= high else "x")
        sim_text = "  n/a" if np.isnan(sim_share) else f"{100 * sim_share:5.1f}{mark}"
        print(f"    {period:<10} {region:<26} {GRADE_SHORT[previous - 1]:<4} "
              f"{100 * row['good'] / row['n']:5.1f} [{100 * low:4.1f}-{100 * high:5.1f}] "
              f"{int(row['n']):6d}   {sim_text}")


def print_intervals(observed: pd.DataFrame, simulated: pd.DataFrame) -> None:
    """Section (b): terms between inspections by grade, observed (every regime) and simulated."""
    columns = ["n", "n_completed", "q25_terms", "q50_terms", "q75_terms", "km_median_terms",
               "uninspected_after_1y", "uninspected_after_2y", "uninspected_after_3y",
               "uninspected_after_5y"]
    print("  period / source     grade      n  compl.   q25   q50   q75  KM med  "
          "uninspected after 1y   2y   3y   5y")

    def line(label: str, row) -> str:
        def f(v, width=5, pct=False):
            return " " * (width - 3) + "n/a" if pd.isna(v) else (
                f"{100 * v:{width}.0f}" if pct else f"{v:{width}.1f}")
        return (f"  {label:<19} {GRADE_SHORT[int(row['grade']) - 1]:>5} {int(row['n']):6d} "
                f"{int(row['n_completed']):6d} {f(row['q25_terms'])} {f(row['q50_terms'])} "
                f"{f(row['q75_terms'])} {f(row['km_median_terms'], 7)}  "
                f"{' ' * 14}{f(row['uninspected_after_1y'], 4, True)} {f(row['uninspected_after_2y'], 4, True)} "
                f"{f(row['uninspected_after_3y'], 4, True)} {f(row['uninspected_after_5y'], 4, True)}")
    sim = ih.interval_table(simulated)
    for grade in ih.GRADES:
        for _, row in observed[observed["grade"] == grade].iterrows():
            print(line(f"observed {row['period']}", row))
        for _, row in sim[sim["grade"] == grade].iterrows():
            print(line(f"simulated {row['period']}", row))


def grade_mix(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share of each grade 1-4 among inspected schools, by ``by``, plus good or better and n."""
    graded = frame[frame["grade"].between(1, 4)]
    shares = pd.crosstab(graded[by].astype(str), graded["grade"].astype(int), normalize="index")
    shares = shares.reindex(columns=list(ih.GRADES), fill_value=0.0)
    shares["good_or_better"] = shares[1] + shares[2]
    shares["n"] = graded.groupby(graded[by].astype(str)).size()
    return shares


def _start_frame(config: SimConfig) -> pd.DataFrame:
    """The run's schools at step 0 (the world is built from the world seed, as in the run)."""
    world = build_world(config.world)
    return pd.DataFrame({"phase": np.array(PHASES, dtype=object)[world.phase],
                         "region": np.array(REGION_NAMES, dtype=object)[world.region],
                         "fsm_band": world.fsm_band.astype(int), "grade": world.grade})


def _observed_schools(path: Path) -> pd.DataFrame | None:
    """The real March 2018 schools (grade 1-4 or blank), or None when not vendored."""
    if not path.is_file():
        return None
    schools = pd.read_csv(path)
    if not {"phase", "region", "fsm_share", "grade"} <= set(schools.columns):
        return None
    share = pd.to_numeric(schools["fsm_share"], errors="coerce")
    if "fsm_imputed" in schools.columns:
        share = share.mask(schools["fsm_imputed"].astype(str).str.lower() == "true")
    return pd.DataFrame({"phase": schools["phase"], "region": schools["region"],
                         "fsm_band": np.where(share.isna(), "unknown",
                                              fsm_band(share.fillna(0).to_numpy()).astype(str)),
                         "grade": pd.to_numeric(schools["grade"], errors="coerce").fillna(0)})


HETEROGENEITY_BY = ("phase", "region", "fsm_band")


def grade_mix_all(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """:func:`grade_mix` by each of ``HETEROGENEITY_BY`` that ``frame`` has."""
    if frame is None:
        return {}
    return {by: grade_mix(frame, by) for by in HETEROGENEITY_BY if by in frame.columns}


def _mix_text(row: pd.Series | None) -> tuple[str, float]:
    """'O/G/RI/I (good or better)' in % for one group, and good or better in points."""
    if row is None:
        return "n/a", np.nan
    good = 100 * row["good_or_better"]
    return "/".join(f"{100 * row[g]:.0f}" for g in ih.GRADES) + f" ({good:.1f})", good


def print_heterogeneity(config: SimConfig, results: list, observed_schools: Path) -> None:
    """Section (c): grade mix by phase, region and FSM band: observed 2018, simulated at the
    start and at the end of the run (mean over seeds), and the drift in points good or better."""
    start = grade_mix_all(_start_frame(config))
    ends = [grade_mix_all(r.schools) for r in results]
    observed = grade_mix_all(_observed_schools(observed_schools))
    print("  grade mix O/G/RI/I % of inspected schools (good or better %)")
    print(f"  {'group':<26} {'observed 2018':<26} {'simulated start':<26} "
          f"{f'simulated year {config.run.years}':<26} drift  start-obs")
    for by in HETEROGENEITY_BY:
        print(f"  by {by}")
        if by not in start:
            print("    n/a: the world has no such field")
            continue
        for group, start_row in start[by].iterrows():
            def row_of(tables: dict) -> pd.Series | None:
                table = tables.get(by)
                return table.loc[group] if table is not None and group in table.index else None
            end_rows = [row for row in map(row_of, ends) if row is not None]
            o_text, o_good = _mix_text(row_of(observed))
            s_text, s_good = _mix_text(start_row)
            e_text, e_good = _mix_text(pd.concat(end_rows, axis=1).mean(axis=1) if end_rows else None)
            drift = "  n/a" if np.isnan(e_good) else f"{e_good - s_good:+5.1f}"
            gap = "  n/a" if np.isnan(o_good) else f"{s_good - o_good:+5.1f}"
            print(f"    {str(group):<24} {o_text:<26} {s_text:<26} {e_text:<26} {drift}  {gap}")


def inspection_history_report(config: SimConfig, results: list,
                              tables_dir: Path = ih.DATA_DIR,
                              observed_schools: Path = ih.SCHOOLS_FILE) -> None:
    """Sections (a)-(c): the model's grade dynamics against the real inspection history."""
    transitions, spells = simulated_history(results)
    periods = sorted(set(transitions["period"]) - {""})
    observed = _observed_table(tables_dir / ih.TRANSITIONS_FILE.name)
    print("\n(a) Grade transitions: next graded judgement given the previous one, observed "
          "2005-2018 (data/england_2018/inspection_transitions.csv) against simulated, for the "
          f"regime period(s) the run covers: {', '.join(periods) or 'none'}")
    if observed is None:
        print("  n/a: the observed table is missing (scripts/estimate_inspection_transitions.py)")
    elif transitions.empty:
        print("  n/a: the run logged no inspection of a graded school")
    else:
        without = [p for p in periods if p not in set(observed["period"])]
        for period in without:
            part = transitions[transitions["period"] == period]
            mix = part.groupby("previous_grade").size()
            print(f"  {period}: no observed counterpart (the history ends in March 2018); "
                  f"{len(part)} simulated transitions, from O/G/RI/I: "
                  + "/".join(str(int(mix.get(g, 0))) for g in ih.GRADES))
        print_transitions(compare_transitions(observed, transitions))
        schools = _observed_schools(observed_schools)
        if schools is not None:
            print_transition_rates(observed, results, len(schools))
        by_region = _observed_table(tables_dir / ih.REGION_TRANSITIONS_FILE.name)
        if by_region is not None:
            print_region_transitions(by_region, transitions)
    print("\n(b) Terms between inspections by grade at the first, observed by regime "
          "(data/england_2018/inspection_intervals.csv) and simulated")
    intervals = _observed_table(tables_dir / ih.INTERVALS_FILE.name)
    if intervals is None:
        print("  n/a: the observed table is missing (scripts/estimate_inspection_transitions.py)")
    else:
        print_intervals(intervals, spells)
    print("\n(c) Heterogeneity: grade mix by phase, region and FSM band; observed March 2018 "
          "(data/england_2018/schools.csv), simulated at the start and at the end; drift = "
          "end - start, start-obs = simulated start - observed (points good or better)")
    print_heterogeneity(config, results, observed_schools)


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


INSPECTION_HISTORY_NOTES = """
## Inspection-history targets: sections (a)-(c)

Calibration targets, not dice: the model never draws a grade from these tables; its grades come
from each school's latent effectiveness, read with noise at inspections that fall due. The
tables are estimated by `scripts/estimate_inspection_transitions.py` from the 54,461 section 5
inspections of 2005-09 to 2018-03-12 (data/england_2018/INSPECTION_TABLES.md explains them and
their biases). Regime periods (`sim/inspection_history.py` `REGIMES`): `2005-2012` (grade 3 is
"satisfactory"), `2012-2015` ("requires improvement"; outstanding schools exempt from routine
inspection) and `2015-` (short inspections of good schools, absent from the file when they
confirm "good"), plus `2021-` (the exemption ends, as in the model's calendar regime), which the
file does not reach. A simulated transition takes the period of its calendar date: the default
run (March 2018 on) is compared with `2015-` for its first three and a half years; its
transitions from September 2021 have no observed counterpart and are only counted.

* **(a)** Each cell is the share of next grades given the previous grade, by phase and FSM band
  (and both margins): observed with its 95 % Wilson interval, simulated pooled over seeds, `+`
  when the simulated share lies in the observed interval, `x` when not (scored only where the
  observed and the simulated row each have at least 20 transitions). From 2015, observed rows
  from outstanding and good are conditional on a full inspection having been triggered, and
  the history loses the transitions of schools that became academies (new URN). Below
  the cells, by region (region adds to phase and FSM band from 2012: a stratified
  likelihood-ratio test in data/england_2018/inspection_region_test.csv), the share whose next
  grade is good or better, by previous grade; and how often each grade is re-graded: graded
  re-inspections a year per 1,000 schools (observed: counts of the period over the years the
  file covers, divided by the 20,153 schools open in March 2018, an approximation since some
  opened during the period).
* **(b)** Terms between inspections by grade at the first: completed-interval quantiles and the
  Kaplan-Meier share still uninspected after 1, 2, 3 and 5 years (censored at the end of the
  file for the observed, at the end of the run for the simulated).
* **(c)** Grade mix (O/G/RI/I % of inspected schools, good or better in brackets) by phase,
  region and FSM band: the real schools of March 2018, the run's world at the start and at the
  end (mean over seeds); `drift` is end minus start, `start-obs` start minus observed, in points
  good or better. A world without a field, or a project without the vendored data, shows `n/a`.
"""


def hand_written_notes(path: Path) -> str:
    """The notes written by hand after the generated block of an earlier report at ``path``."""
    if not path.is_file():
        return ""
    text = path.read_text()
    start = text.find("\n```\n", text.find("```\n") + 4)
    if start < 0:
        return ""
    notes = text[start + len("\n```\n"):]
    kept = notes.split(INSPECTION_HISTORY_NOTES.strip().splitlines()[0])[0].strip("\n")
    return "\n" + kept + "\n" if kept else ""


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
        path = Path(args.write)
        path.write_text(
            "# Calibration report\n\nWritten by `python scripts/calibration_report.py --seeds "
            f"{args.seeds} --write {args.write}` at source revision `{source_revision()}`.\n"
            "Targets from `../shared/data/england_reference.md`; see docs/ODD.md section 7.\n\n"
            "```\n" + buffer.getvalue() + "```\n" + hand_written_notes(path)
            + INSPECTION_HISTORY_NOTES)
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

# seed 002 Table 1.1 (L245-285): primary schools and primary NLEs in 11 rural LAs, Aug 2013.
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
    started = result.events[result.events["event"] == SUPPORT_STARTED]
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
    inspection_history_report(config, figures["results"])


if __name__ == "__main__":
    main()
