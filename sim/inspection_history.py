"""Grade dynamics in the real inspection history: calibration targets, not dice.

From the section 5 inspections of 2005-09 to 2018-03-12 (``data/england_2018/inspections.csv.gz``,
joined on URN to ``schools.csv`` for phase, region and FSM share), this module estimates

* **transitions**: the distribution of the next graded judgement given the previous one, by
  inspection regime (``REGIMES``), phase and FSM band, with 95 % Wilson intervals;
* **intervals**: the time in terms (three a year) from one inspection to the next, by the grade
  at the first and the regime it was given under: completed intervals (n, quantiles, mean) and
  the Kaplan-Meier share still uninspected after k years, censoring at the end of the file;
* a **region test**: whether region adds to phase and FSM band, a likelihood-ratio (G) test of
  next grade against region within each (phase, FSM band, previous grade) stratum, summed over
  strata, with the largest regional departure in points as the effect size.

The same functions compute the tables from a model run's event log
(:func:`simulated_transitions`, :func:`simulated_spells`), so observed and simulated can be
compared cell by cell (``scripts/calibration_report.py``). The model never draws grades from
these tables: its grades come from schools' latent effectiveness and leadership.

Biases to keep in mind (also in ``data/england_2018/INSPECTION_TABLES.md``):

* **Academy conversion splits histories.** A converting school gets a new URN and its
  predecessor's inspections stay under the old URN, which is not among the schools open in 2018.
  So the history holds no transition across a conversion (the predecessor's last grade to the
  academy's first), and the predecessor's own earlier transitions are lost with it. Sponsored
  conversions took mostly inadequate and weak schools, converter academies mostly good and
  outstanding ones: transitions out of grades 4 and 3 are missing exactly the schools that were
  taken over (what is left are schools that recovered or stayed maintained), and good and
  outstanding schools that converted contribute no pre-conversion history. Both make the older
  periods thinner and selected; the first inspection of an academy is not a transition.
* **Survivors only.** Schools closed before March 2018 (including those predecessors) are absent.
* **Selection after 2012 and 2015.** Outstanding schools were exempt from routine inspection
  from 2012, so their recorded re-inspections were triggered by concern; from September 2015
  most good schools had short (section 8) inspections that are not in the file when they
  confirmed the grade, so a good school's recorded next grade is conditional on a full
  inspection. Both make downgrades from grades 1 and 2 far commoner than in the population.
* **FSM of January 2019** is applied to every inspection since 2005 (the only vintage held).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .events import ACADEMY_OPENED, INSPECTION
from .state import TERMS_PER_YEAR
from .world import fsm_band

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "england_2018"
INSPECTIONS_FILE = DATA_DIR / "inspections.csv.gz"
SCHOOLS_FILE = DATA_DIR / "schools.csv"
TRANSITIONS_FILE = DATA_DIR / "inspection_transitions.csv"
INTERVALS_FILE = DATA_DIR / "inspection_intervals.csv"
REGION_TEST_FILE = DATA_DIR / "inspection_region_test.csv"
REGION_TRANSITIONS_FILE = DATA_DIR / "inspection_transitions_region.csv"
TABLE_FILES = {"transitions": TRANSITIONS_FILE.name, "intervals": INTERVALS_FILE.name,
               "region_test": REGION_TEST_FILE.name,
               "region_transitions": REGION_TRANSITIONS_FILE.name}

HISTORY_END = date(2018, 3, 12)   # last day covered by the inspection file (and the GIAS extract)
DAYS_PER_TERM = 365.25 / TERMS_PER_YEAR
GRADES = (1, 2, 3, 4)
ALL = "all"                        # the margin over phases or FSM bands in the tables
CONFIDENCE_METHOD = "wilson"       # statsmodels proportion_confint method, 95 %
KM_YEARS = (1, 2, 3, 4, 5, 6)      # years at which the share still uninspected is reported
INTERVAL_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
REGION_TEST_ALPHA = 0.001          # region "adds" when p < this and the effect is at least ...
REGION_EFFECT_POINTS = 3.0         # ... this many points of next grade good or better
CLOSING_EVENTS = (ACADEMY_OPENED,)  # simulated events that end a school's old URN


@dataclass(frozen=True)
class Regime:
    """One Ofsted inspection framework period: from ``start`` until the next one starts."""

    name: str
    start: date
    grade_3: str
    note: str


# Framework dates are public facts (Ofsted school inspection handbooks / frameworks of September
# 2005, September 2012 and September 2015; the end of the outstanding exemption). What the file
# itself shows is in ``note``. The history ends on 2018-03-12, inside ``2015-``.
REGIMES = (
    Regime("2005-2012", date(2005, 9, 1), "satisfactory",
           "section 5 framework of September 2005: grade 3 is 'satisfactory'; every school on a "
           "cycle of up to about 5 years (about 4,000-5,000 graded inspections a year in the file)"),
    Regime("2012-2015", date(2012, 9, 1), "requires improvement",
           "framework of September 2012: 'satisfactory' replaced by 'requires improvement'; "
           "outstanding schools exempt from routine inspection (re-inspected on concern); "
           "the file peaks at about 6,200 inspections in 2013"),
    Regime("2015-", date(2015, 9, 1), "requires improvement",
           "common inspection framework of September 2015: most good schools get short section 8 "
           "inspections that are not in the file when they confirm 'good', so a recorded good "
           "school's next grade is conditional on a full inspection; yearly counts in the file "
           "fall from about 5,000 (2006-2014) to about 3,000 (2015-2017)"),
    Regime("2021-", date(2021, 9, 1), "requires improvement",
           "outstanding schools' exemption removed (regulations of 2020; routine inspections "
           "resumed in September 2021), as in the model's calendar regime "
           "(sim/processes/inspection.py CALENDAR); after the file ends, so no observed rows: "
           "simulated transitions of this period have no target"),
)
PERIODS = tuple(r.name for r in REGIMES)


class HistoryFileError(ValueError):
    """A vendored inspection-history file is missing or malformed (the message names it)."""


def period_of(dates) -> np.ndarray:
    """Regime name for each date (datetime-like); dates before September 2005 get ''."""
    days = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]")
    starts = np.array([np.datetime64(r.start, "D") for r in REGIMES])
    index = np.searchsorted(starts, days, side="right") - 1
    names = np.array(("",) + PERIODS, dtype=object)
    return names[index + 1]


def decimal_year(day: date) -> float:
    """``day`` as a decimal calendar year (1 September 2012 = 2012.668)."""
    return day.year + (day.timetuple().tm_yday - 1) / 365.25


def period_bounds(period: str) -> tuple[float, float]:
    """First and end decimal year of a regime period (the last one is open: infinity)."""
    index = PERIODS.index(period)
    start = decimal_year(REGIMES[index].start)
    stop = decimal_year(REGIMES[index + 1].start) if index + 1 < len(REGIMES) else np.inf
    return start, stop


def observed_years(period: str, end: date = HISTORY_END) -> float:
    """Years of ``period`` that the history covers (0 for a regime after it ends)."""
    start, stop = period_bounds(period)
    return float(max(0.0, min(stop, decimal_year(end)) - start))


def period_of_year(years) -> np.ndarray:
    """Regime name for each decimal calendar year (2018.2 = early March 2018)."""
    years = np.asarray(years, dtype=float)
    starts = np.array([decimal_year(r.start) for r in REGIMES])
    index = np.searchsorted(starts, years, side="right") - 1
    return np.array(("",) + PERIODS, dtype=object)[index + 1]


def _read_csv(path: Path, columns: tuple[str, ...], **kwargs) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise HistoryFileError(f"{path}: file not found (build it with scripts/build_england_data.py)")
    try:
        frame = pd.read_csv(path, **kwargs)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise HistoryFileError(f"{path}: cannot be read as CSV ({err})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise HistoryFileError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def load_history(inspections_path: Path = INSPECTIONS_FILE,
                 schools_path: Path = SCHOOLS_FILE) -> pd.DataFrame:
    """Inspections of the schools in ``schools_path``, one row each, sorted by school and date.

    Columns: urn, date, grade (1-4), phase, region, fsm_band (1-4; <NA> without an FSM share or
    where ``fsm_imputed`` flags it as imputed).
    Inspections of URNs not in the schools table (special schools, closed schools) are dropped.
    Two inspections of one school on one day are one judgement: the worse grade is kept.
    """
    inspections = _read_csv(inspections_path, ("urn", "inspection_date", "grade"),
                            dtype={"urn": "int64"})
    schools = _read_csv(schools_path, ("urn", "phase", "region", "fsm_share"),
                        dtype={"urn": "int64"})
    dates = pd.to_datetime(inspections["inspection_date"], format="%Y-%m-%d", errors="coerce")
    grades = pd.to_numeric(inspections["grade"], errors="coerce")
    bad = dates.isna() | ~grades.isin(GRADES)
    if bad.any():
        row = int(np.argmax(bad.to_numpy())) + 2
        raise HistoryFileError(f"{inspections_path}: line {row}: inspection_date must be YYYY-MM-DD "
                               f"and grade 1-4 ({bad.sum()} bad rows)")
    history = pd.DataFrame({"urn": inspections["urn"], "date": dates, "grade": grades.astype("int8")})
    history = (history.sort_values(["urn", "date", "grade"], kind="stable")
               .drop_duplicates(["urn", "date"], keep="last"))
    share = pd.to_numeric(schools["fsm_share"], errors="coerce")
    if "fsm_imputed" in schools.columns:  # an LA median says nothing about the school's band
        share = share.mask(schools["fsm_imputed"].astype(str).str.lower() == "true")
    band = pd.array(fsm_band(share.fillna(0).to_numpy()), dtype="Int8")
    band[share.isna().to_numpy()] = pd.NA
    keys = pd.DataFrame({"urn": schools["urn"], "phase": schools["phase"].astype(str),
                         "region": schools["region"].astype(str), "fsm_band": band})
    return history.merge(keys, on="urn", how="inner").reset_index(drop=True)


def observed_transitions(history: pd.DataFrame) -> pd.DataFrame:
    """Consecutive pairs of one school's inspections as transitions.

    Columns: period (the regime of the *later* inspection, the judgement being made), phase,
    region, fsm_band, previous_grade, next_grade, interval_terms. A school's first inspection in
    the file is not a transition.
    """
    h = history.sort_values(["urn", "date"], kind="stable")
    same = h["urn"].to_numpy()[1:] == h["urn"].to_numpy()[:-1]
    prev, nxt = h.iloc[:-1][same], h.iloc[1:][same]
    return pd.DataFrame({
        "period": period_of(nxt["date"]),
        "phase": nxt["phase"].to_numpy(), "region": nxt["region"].to_numpy(),
        "fsm_band": nxt["fsm_band"].to_numpy(),
        "previous_grade": prev["grade"].to_numpy(), "next_grade": nxt["grade"].to_numpy(),
        "interval_terms": (nxt["date"].to_numpy() - prev["date"].to_numpy())
        / np.timedelta64(1, "D") / DAYS_PER_TERM,
    })


def observed_spells(history: pd.DataFrame, end: date = HISTORY_END) -> pd.DataFrame:
    """Time from each inspection to the next (completed) or to ``end`` (censored), in terms.

    Columns: period (regime of the inspection that starts the spell), grade (given at its
    start), duration_terms, completed (bool).
    """
    h = history.sort_values(["urn", "date"], kind="stable")
    urn, dates = h["urn"].to_numpy(), h["date"].to_numpy()
    has_next = np.append(urn[1:] == urn[:-1], False)
    following = np.append(dates[1:], np.datetime64(end, "ns"))
    stop = np.where(has_next, following, np.datetime64(end, "ns"))
    return pd.DataFrame({
        "period": period_of(h["date"]), "grade": h["grade"].to_numpy(),
        "duration_terms": (stop - dates) / np.timedelta64(1, "D") / DAYS_PER_TERM,
        "completed": has_next,
    })


def _event_years(events: pd.DataFrame, start_year: float) -> np.ndarray:
    if "calendar_year" in events.columns:
        return events["calendar_year"].to_numpy(dtype=float)
    return start_year + events["step"].to_numpy(dtype=float) / TERMS_PER_YEAR


def simulated_transitions(events: pd.DataFrame, start_year: float) -> pd.DataFrame:
    """The transitions of a model run, in the columns of :func:`observed_transitions`.

    Every logged inspection of a school that already had a grade 1-4 is a transition (the
    event carries the previous grade, phase, region and FSM band). ``start_year`` is the
    calendar year at step 0, used when the log has no ``calendar_year`` column.
    ``interval_terms`` is missing for a school's first inspection in the run.
    """
    ins = events[events["event"] == INSPECTION].sort_values(["school_id", "step"], kind="stable")
    previous = ins["previous_grade"].to_numpy(dtype=float, na_value=np.nan)
    school, step = ins["school_id"].to_numpy(), ins["step"].to_numpy(dtype=float)
    same = np.insert(school[1:] == school[:-1], 0, False)
    interval = np.where(same, step - np.insert(step[:-1], 0, np.nan), np.nan)
    keep = np.isin(previous, GRADES)
    return pd.DataFrame({
        "period": period_of_year(_event_years(ins, start_year))[keep],
        "phase": ins["phase"].to_numpy(dtype=object)[keep],
        "region": ins["region"].to_numpy(dtype=object)[keep],
        "fsm_band": pd.array(ins["fsm_band"].to_numpy()[keep], dtype="Int8"),
        "previous_grade": previous[keep].astype(np.int8),
        "next_grade": ins["grade"].to_numpy(dtype=np.int64)[keep].astype(np.int8),
        "interval_terms": interval[keep],
    })


def simulated_spells(events: pd.DataFrame, start_year: float, end_step: int) -> pd.DataFrame:
    """Spells between a run's inspections, in the columns of :func:`observed_spells`.

    A spell starts at each logged inspection and ends at the school's next one, or is censored
    at a ``CLOSING_EVENTS`` event (sponsored academy conversion: a new URN) or at ``end_step``
    (the run's last step). Time before a school's first inspection in the run
    is not a spell (its start is unknown).
    """
    ins = events[events["event"] == INSPECTION].sort_values(["school_id", "step"], kind="stable")
    school, step = ins["school_id"].to_numpy(), ins["step"].to_numpy(dtype=float)
    has_next = np.append(school[1:] == school[:-1], False)
    stop = np.where(has_next, np.append(step[1:], end_step), float(end_step))
    # A school reopened under a new URN closes its old one: the spell is censored there, as the
    # history file (which keys on URN) loses the predecessor.
    closed = events[events["event"].isin(CLOSING_EVENTS)]
    if len(closed):
        spells = pd.DataFrame({"school_id": school, "start": step, "order": np.arange(len(step))})
        found = pd.merge_asof(spells.sort_values("start"),
                              closed[["school_id", "step"]].astype({"step": float}).sort_values("step"),
                              left_on="start", right_on="step", by="school_id",
                              direction="forward", allow_exact_matches=False).sort_values("order")
        closing = found["step"].to_numpy()
        cut = closing <= stop
        stop = np.where(cut, closing, stop)
        has_next = has_next & ~cut
    return pd.DataFrame({
        "period": period_of_year(_event_years(ins, start_year)),
        "grade": ins["grade"].to_numpy(dtype=np.int64).astype(np.int8),
        "duration_terms": stop - step, "completed": has_next,
    })


def _with_margins(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus copies with phase, FSM band or both replaced by ``ALL``."""
    frame = frame.assign(phase=frame["phase"].astype(object),
                         fsm_band=frame["fsm_band"].astype(object))
    banded = frame[frame["fsm_band"].notna()]
    copies = [banded, frame.assign(fsm_band=ALL), banded.assign(phase=ALL),
              frame.assign(phase=ALL, fsm_band=ALL)]
    out = pd.concat(copies, ignore_index=True)
    out["fsm_band"] = out["fsm_band"].map(lambda b: b if b == ALL else str(int(b)))
    return out


def transition_table(transitions: pd.DataFrame, by: tuple[str, ...] = ("period", "phase", "fsm_band"),
                     margins: bool = True) -> pd.DataFrame:
    """Next-grade distribution given the previous grade, by ``by``, with 95 % Wilson intervals.

    One row per cell (every next grade listed, zero counts included): ``by`` columns,
    previous_grade, next_grade, count, share, share_low, share_high. With ``margins`` (and
    ``by`` holding phase and fsm_band) rows with phase and/or fsm_band ``"all"`` are added;
    schools without an FSM band count only in the fsm_band ``"all"`` rows.
    """
    from statsmodels.stats.proportion import proportion_confint
    frame = _with_margins(transitions) if margins else transitions
    keys = list(by) + ["previous_grade"]
    counts = (frame.groupby(keys + ["next_grade"], observed=True).size()
              .unstack("next_grade").reindex(columns=list(GRADES)).fillna(0).astype(np.int64))
    table = counts.stack().rename("count").reset_index()
    totals = table.groupby(keys)["count"].transform("sum").to_numpy()
    table["share"] = table["count"] / totals
    low, high = proportion_confint(table["count"].to_numpy(), totals, alpha=0.05,
                                   method=CONFIDENCE_METHOD)
    table["share_low"], table["share_high"] = low, high
    table["previous_grade"] = table["previous_grade"].astype(int)
    table["next_grade"] = table["next_grade"].astype(int)
    if "period" in by:
        table["period"] = pd.Categorical(table["period"], PERIODS + ("",))
    table = table.sort_values(keys + ["next_grade"], kind="stable").reset_index(drop=True)
    if "period" in by:
        table["period"] = table["period"].astype(str)
    return table


def interval_table(spells: pd.DataFrame, years: tuple[int, ...] = KM_YEARS) -> pd.DataFrame:
    """Intervals between inspections by starting regime and grade.

    Columns: period, grade, n (spells), n_completed, mean_terms and q10/q25/q50/q75/q90 _terms
    of completed intervals (short ones are over-represented where follow-up is short: read the
    Kaplan-Meier columns for those), km_median_terms (the first time the share still uninspected
    falls below one half) and uninspected_after_<k>y: the share still
    uninspected k years on (Kaplan-Meier, statsmodels ``SurvfuncRight``; NaN beyond the longest
    follow-up unless everyone had been re-inspected by then).
    """
    from statsmodels.duration.survfunc import SurvfuncRight
    rows = []
    for (period, grade), group in spells.groupby(["period", "grade"], observed=True, sort=False):
        time = group["duration_terms"].to_numpy(dtype=float)
        status = group["completed"].to_numpy(dtype=bool)
        done = time[status]
        row = {"period": period, "grade": int(grade), "n": len(group), "n_completed": len(done),
               "mean_terms": done.mean() if len(done) else np.nan}
        for q in INTERVAL_QUANTILES:
            row[f"q{round(100 * q)}_terms"] = np.quantile(done, q) if len(done) else np.nan
        row["km_median_terms"] = np.nan
        row.update({f"uninspected_after_{k}y": np.nan for k in years})
        km = SurvfuncRight(time, status.astype(int)) if status.any() else None
        if km is not None:
            median = km.quantile(0.5)
            row["km_median_terms"] = float(median) if np.isfinite(median) else np.nan
        for k in years:
            t = k * TERMS_PER_YEAR
            i = np.searchsorted(km.surv_times, t, side="right") - 1 if km is not None else -1
            share = float(km.surv_prob[i]) if i >= 0 else 1.0
            if len(time) and (t <= time.max() or share == 0.0):
                row[f"uninspected_after_{k}y"] = share
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["period"] = pd.Categorical(table["period"], PERIODS + ("",))
    table = table.sort_values(["period", "grade"]).reset_index(drop=True)
    table["period"] = table["period"].astype(str)
    return table


def region_test(transitions: pd.DataFrame) -> pd.DataFrame:
    """Does region add to phase and FSM band? One row per period (and one over all periods).

    Within each (period, phase, FSM band, previous grade) stratum, a likelihood-ratio (G) test of
    next grade against region (scipy ``chi2_contingency``, ``lambda_="log-likelihood"``); the
    statistics and degrees of freedom are summed over strata (strata are independent). The
    effect size is the largest regional departure, in points, of the share whose next grade is
    good or better from what the region's mix of strata predicts (indirect standardisation).
    Region ``adds`` when p < ``REGION_TEST_ALPHA`` and the effect reaches
    ``REGION_EFFECT_POINTS``. Sparse strata make the p-value approximate.
    """
    from scipy.stats import chi2, chi2_contingency
    data = transitions.dropna(subset=["fsm_band"])
    rows = []
    for period in PERIODS + (ALL,):
        part = data if period == ALL else data[data["period"] == period]
        if part.empty:
            continue
        strata = ["period", "phase", "fsm_band", "previous_grade"]
        g_total, dof_total = 0.0, 0
        for _, stratum in part.groupby(strata, observed=True):
            table = pd.crosstab(stratum["region"], stratum["next_grade"]).to_numpy()
            table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
            if min(table.shape) < 2:
                continue
            g, _, dof, _ = chi2_contingency(table, lambda_="log-likelihood", correction=False)
            g_total, dof_total = g_total + g, dof_total + dof
        good = (part["next_grade"] <= 2).astype(float)
        expected = good.groupby([part[s] for s in strata]).transform("mean")
        by_region = pd.DataFrame({"region": part["region"], "good": good, "expected": expected}
                                 ).groupby("region")[["good", "expected"]].mean()
        departure = 100 * (by_region["good"] - by_region["expected"])
        p = float(chi2.sf(g_total, dof_total)) if dof_total else np.nan
        worst = departure.abs().idxmax() if len(departure) else ""
        effect = float(departure.abs().max()) if len(departure) else np.nan
        rows.append({"period": period, "n": len(part), "g_statistic": g_total, "dof": dof_total,
                     "p_value": p, "max_region_departure_points": effect,
                     "region_of_max_departure": worst,
                     "adds": bool(p < REGION_TEST_ALPHA and effect >= REGION_EFFECT_POINTS)})
    return pd.DataFrame(rows)


def estimate(inspections_path: Path = INSPECTIONS_FILE,
             schools_path: Path = SCHOOLS_FILE) -> dict[str, pd.DataFrame]:
    """All committed tables from the vendored history: transitions, intervals, region_test,
    and region_transitions (by period, region and previous grade; region_test says where
    region adds to phase and FSM band)."""
    history = load_history(inspections_path, schools_path)
    transitions = observed_transitions(history)
    tables = {"transitions": transition_table(transitions),
              "intervals": interval_table(observed_spells(history)),
              "region_test": region_test(transitions)}
    tables["region_transitions"] = transition_table(transitions, by=("period", "region"),
                                                    margins=False)
    return tables


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path = DATA_DIR) -> list[Path]:
    """Write the tables of :func:`estimate` as CSV with fixed float formatting (same bytes for
    the same input); return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, name in TABLE_FILES.items():
        path = out_dir / name
        tables[key].to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
        paths.append(path)
    return paths
