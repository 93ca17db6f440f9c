"""The real England of 12 March 2018: every open state-funded mainstream school.

The data are vendored in ``data/england_2018/`` by ``scripts/build_england_data.py`` from the
public files described in that folder's README (GIAS extract of 12 March 2018, January 2019
census, 2017-18 school spine, Ofsted inspection history, 2018 teaching-school list, ONS
boundaries; Open Government Licence v3.0). This module only reads ``schools.csv`` and turns it
into a :class:`~sim.world.World`:

* ``phase``: the build maps middle-deemed-primary schools to primary and middle-deemed-secondary
  and all-through schools to secondary.
* ``grade``: the latest graded (section 5) inspection; a school never graded starts
  **uninspected** (grade 0) and is inspected on the new-school schedule of the inspection
  regime; it is never imputed as good.
* ``terms_since_inspection``: from the date of the last inspection to the data date (three
  terms a year; GIAS's date, which may be a short inspection that kept the grade). Where it is
  unknown it is drawn from the world seed: uniformly within the regime's first-inspection
  interval for an uninspected school (its opening date is not in the data), and uniformly
  within the grade's usual interval for a graded school without a date (127 recently converted
  academies carrying their predecessor's grade; counted in the load report).
* ``setting`` (urban / town / rural) and ``coastal``: derived by the build from local school
  density and the distance to the coast (the source files have neither flag).

Every problem with the file is a :class:`~sim.parameters.ConfigError` naming the file and, for
a bad value, its line and column, raised before any run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .parameters import ConfigError
from .parameters import FIRST_INSPECTION_TERMS
from .world import (GOVERNANCE, PHASES, REGION_NAMES, SETTINGS, START_INSPECTION_AGE_TERMS,
                    UNINSPECTED, World)

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "england_2018"
SCHOOLS_FILE = "schools.csv"
DATA_DATE = dt.date(2018, 3, 12)  # the GIAS extract: the world's step 0
START_YEAR = round(DATA_DATE.year + (DATA_DATE.timetuple().tm_yday - 1) / 365.25, 2)  # 2018.19
DAYS_PER_TERM = 365.25 / 3
# Time since a never-inspected school opened, in terms: new schools are normally first inspected
# within three years of opening (Ofsted school inspection handbook), an approximation.
NEW_SCHOOL_MAX_AGE_TERMS = FIRST_INSPECTION_TERMS

COLUMNS = ("urn", "phase", "la_name", "region", "easting_m", "northing_m", "pupils", "fsm_share",
           "grade", "grade_date", "academy", "governance", "teaching_school", "setting", "coastal")
# Plausible values; anything outside is a broken build, refused naming the row.
EASTING_M = (80_000, 660_000)    # England on the British National Grid, with a margin
NORTHING_M = (0, 660_000)
PUPILS = (1, 5_000)
IMPUTED_FLAGS = ("fsm_imputed", "governance_imputed", "grade_date_imputed")


def load_england(data_dir: str | Path | None = None,
                 rng: np.random.Generator | None = None) -> World:
    """The world of England's 20,153 open state-funded mainstream schools in March 2018.

    ``data_dir`` defaults to the vendored ``data/england_2018``; ``rng`` draws the time since
    opening of never-inspected schools. The world's ``load_report`` counts what the build
    imputed and how many schools start uninspected.
    """
    folder = Path(data_dir) if data_dir else DATA_DIR
    path = folder / SCHOOLS_FILE
    rng = rng if rng is not None else np.random.default_rng(0)
    df = _read(path)
    check = _Checker(path, df)

    urn = check.integers("urn", low=1)
    if urn.duplicated().any():
        raise ConfigError(f"{path}, line {urn[urn.duplicated()].index[0]}: duplicate urn "
                          f"{int(urn[urn.duplicated()].iloc[0])}")
    phase = check.codes("phase", PHASES)
    region = check.codes("region", REGION_NAMES)
    setting = check.codes("setting", SETTINGS)
    governance = check.codes("governance", GOVERNANCE)
    check.require("la_name")
    easting = check.numbers("easting_m", *EASTING_M)
    northing = check.numbers("northing_m", *NORTHING_M)
    pupils = check.integers("pupils", *PUPILS)
    fsm = check.numbers("fsm_share", 0.0, 1.0)
    academy, teaching, coastal = (check.booleans(c) for c in ("academy", "teaching_school", "coastal"))

    graded = df["grade"].notna()
    grade = check.integers("grade", 1, 4, allow_blank=True).fillna(UNINSPECTED)
    dates = pd.to_datetime(df["grade_date"], format="%Y-%m-%d", errors="coerce")
    check.fail_where(dates.isna() & df["grade_date"].notna(), "grade_date", "is not a YYYY-MM-DD date")
    check.fail_where(dates > pd.Timestamp(DATA_DATE), "grade_date", f"is after the data date {DATA_DATE}")
    age_days = (pd.Timestamp(DATA_DATE) - dates).dt.days
    since = np.floor(age_days.fillna(0).to_numpy() / DAYS_PER_TERM)
    new = ~graded.to_numpy()
    undated = graded.to_numpy() & dates.isna().to_numpy()
    usual = np.array((NEW_SCHOOL_MAX_AGE_TERMS,) + START_INSPECTION_AGE_TERMS)[grade.to_numpy(int)]
    draw = new | undated
    since[draw] = np.floor(rng.random(int(draw.sum())) * usual[draw])

    la_names = tuple(sorted(df["la_name"].unique()))
    report = {"file": str(path), "schools": len(df),
              "by_phase": {p: int((phase == i).sum()) for i, p in enumerate(PHASES)},
              "uninspected": int(new.sum()), "grade_date_unknown": int(undated.sum()),
              "imputed": {flag: int(check.booleans(flag).sum()) for flag in IMPUTED_FLAGS if flag in df},
              "pupils_imputed": int((df.get("pupils_source", pd.Series(dtype=str)) == "imputed").sum())}
    report["summary"] = (
        f"real England {path}: {report['schools']:,} schools ("
        + ", ".join(f"{k} {v:,}" for k, v in report["by_phase"].items()) + f"); "
        f"{report['uninspected']:,} not yet inspected (start ungraded, never imputed); "
        f"{report['grade_date_unknown']} graded without a date (time since inspection drawn); "
        "imputed by the build: " + ", ".join(f"{k} {v:,}" for k, v in report["imputed"].items())
        + f", pupils {report['pupils_imputed']} (see data/england_2018/README.md)")
    return World(
        school_id=urn.to_numpy(np.int64), phase=phase.astype(np.int8), pupils=pupils.to_numpy(np.int32),
        region=region.astype(np.int8),
        local_authority=df["la_name"].map({n: i for i, n in enumerate(la_names)}).to_numpy(np.int16),
        la_names=la_names, x_km=easting.to_numpy(float) / 1000, y_km=northing.to_numpy(float) / 1000,
        setting=setting.astype(np.int8), coastal=coastal, fsm_share=fsm.to_numpy(float),
        academy=academy, grade=grade.to_numpy(np.int8),
        terms_since_inspection=np.minimum(since, np.iinfo(np.int16).max).astype(np.int16),
        name="england", teaching_school=teaching, governance=governance.astype(np.int8),
        start_year=START_YEAR, input_files=(str(path),), load_report=report)


def _read(path: Path) -> pd.DataFrame:
    """The CSV as strings (blank -> NaN), indexed by line number, with every needed column."""
    if not path.is_file():
        raise ConfigError(f"real-England data file missing: {path} (rebuild it with "
                          "scripts/build_england_data.py, or set world.data_dir)")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"{path} is not a readable UTF-8 CSV: {str(exc).splitlines()[0]}") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(f"{path} is missing column(s): {', '.join(missing)}")
    if df.empty:
        raise ConfigError(f"{path} holds no schools")
    df = df.replace("", np.nan)
    df.index = pd.RangeIndex(2, len(df) + 2)  # the line in the file (header = line 1)
    return df


class _Checker:
    """Parses columns, raising a ConfigError that names the first bad line."""

    def __init__(self, path: Path, df: pd.DataFrame) -> None:
        self.path, self.df = path, df

    def fail_where(self, bad: pd.Series, column: str, problem: str) -> None:
        bad = pd.Series(bad, index=self.df.index).fillna(False).astype(bool)
        if bad.any():
            line = bad[bad].index[0]
            value = self.df.at[line, column]
            more = f" ({int(bad.sum())} rows)" if bad.sum() > 1 else ""
            raise ConfigError(f"{self.path}, line {line}: {column}="
                              f"{'' if pd.isna(value) else value!r} {problem}{more}; the file "
                              "is damaged: restore it (git checkout data/england_2018) or "
                              "rebuild it with scripts/build_england_data.py")

    def require(self, column: str) -> None:
        self.fail_where(self.df[column].isna(), column, "is blank")

    def numbers(self, column: str, low: float, high: float, allow_blank: bool = False) -> pd.Series:
        text = self.df[column]
        if not allow_blank:
            self.require(column)
        values = pd.to_numeric(text, errors="coerce")
        self.fail_where(values.isna() & text.notna(), column, "is not a number")
        self.fail_where((values < low) | (values > high), column, f"is outside {low:g}-{high:g}")
        return values

    def integers(self, column: str, low: float = -np.inf, high: float = np.inf,
                 allow_blank: bool = False) -> pd.Series:
        values = self.numbers(column, low, high, allow_blank)
        self.fail_where(values.notna() & (values != values.round()), column, "is not a whole number")
        return values

    def codes(self, column: str, names: tuple[str, ...]) -> np.ndarray:
        self.require(column)
        codes = self.df[column].map({n: i for i, n in enumerate(names)})
        self.fail_where(codes.isna(), column, f"is not one of: {', '.join(names)}")
        return codes.to_numpy(np.int64)

    def booleans(self, column: str) -> np.ndarray:
        values = self.df[column].str.lower().map({"true": True, "false": False, "1": True, "0": False})
        self.fail_where(values.isna(), column, "is not true or false")
        return values.to_numpy(bool)
