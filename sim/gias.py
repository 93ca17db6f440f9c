"""Build the model's world from the public GIAS "all establishments" CSV.

GIAS ("Get Information about Schools", https://get-information-schools.service.gov.uk) publishes
``edubasealldata<date>.csv``: one row per establishment, cp1252-encoded. :func:`load_gias` keeps
England's open state-funded mainstream schools and turns them into a :class:`~sim.world.World`.

Reading the file: a byte-order mark selects UTF-8 or UTF-16; otherwise the file is read as
UTF-8 if it decodes as such, else as cp1252 (GIAS's own encoding). The delimiter is the
commonest of ``,`` ``;`` tab and ``|`` in the header line (spreadsheets save "CSV" with
semicolons in some locales). A file in which no GIAS column is found is refused with what was
read (encoding, delimiter, first characters), so a wrong file or format is named, not listed
as a dozen missing columns. An empty file, a folder or a header with no rows is refused.

Which rows are kept (each dropped row is counted once, under the first reason that applies):

* ``EstablishmentStatus (name)`` starts with "Open" ("Open", "Open, but proposed to close");
  "Closed" and "Proposed to open" are dropped (``not_open``).
* ``PhaseOfEducation (name)`` (case-insensitive, "All through" = "All-through"):

  ==========================================  ===========================
  Primary, Middle deemed primary              PRIMARY
  Secondary, Middle deemed secondary,         SECONDARY
  All-through
  Nursery, 16 plus, Not applicable (special   dropped (``phase``)
  schools, PRUs, independent, ...)
  any other wording                           dropped (``unknown_phase``)
  ==========================================  ===========================

* ``GOR (name)`` "Wales (pseudo)" or "Not Applicable" is dropped (``outside_england``); any other
  value must be one of the nine regions (case-insensitive, so GIAS's "Yorkshire and the Humber"
  matches), else it is an error naming the row.
* If ``EstablishmentTypeGroup (name)`` is present, only "Local authority maintained schools",
  "Academies" and "Free Schools" are kept: independent and special schools, colleges etc. are
  outside the model even when they have a phase (``not_state_mainstream``).
* A school with no coordinates is placed at the mean of its LA's other schools; if none of them
  has coordinates it is dropped (``no_coordinates``).
* Rows dropped for want of data (``unknown_phase`` and ``no_coordinates``) may be at most
  ``max_dropped_share`` (default :data:`MAX_DROPPED_SHARE`, 1%; ``world.gias_max_dropped_share``)
  of the schools in scope (kept + those drops); more is refused, naming the counts, as a file
  the loader does not understand rather than a world that silently lacks schools.

Plausible ranges (a value outside is refused naming its row; none is clipped or imputed):

==========================  ==========================  =========================================
column                      accepted                    why
==========================  ==========================  =========================================
NumberOfPupils              0 (= no census yet) to      England's largest state school has about
                            :data:`PUPILS_MAX` (10,000)  4,000 pupils (GIAS March 2018: 3,826)
Easting                     :data:`EASTING_M`            metres on the British National Grid;
                            (60,000-700,000)             England's westernmost schools (Scilly)
                                                        lie at about 90,000; kilometres fail
Northing                    :data:`NORTHING_M`           the Grid's extent; England's southernmost
                            (1,000-1,300,000)            schools lie at about 10,000
PercentageFSM               0-100                       a percentage
==========================  ==========================  =========================================

Blank or 0 coordinates mean "unknown" (imputed as below); a negative one is an error.

How columns become the world's arrays:

* ``URN`` -> ``school_id``; ``LA (name)`` -> ``local_authority`` (index into the sorted LA names).
* ``Easting`` / ``Northing`` (metres, British National Grid) -> ``x_km`` / ``y_km``.
* ``UrbanRural (name)`` (ONS 2011 rural-urban classification; the "(England/Wales) " prefix and
  "in a sparse setting" suffix are ignored): "Urban ..." -> URBAN, "Rural town and fringe" ->
  TOWN, "Rural village" / "Rural hamlet and isolated dwellings" -> RURAL; missing -> URBAN.
* ``NumberOfPupils`` missing or 0 (new schools before their first census) -> median of the same
  phase and setting in the file, else of the phase.
* ``PercentageFSM`` (0-100) -> ``fsm_share`` (0-1); missing or "SUPP" (suppressed) -> median of
  the same LA and phase, else of the phase in the file.
* ``OfstedRating (name)``: Outstanding 1, Good 2, Requires improvement / Satisfactory 3,
  Inadequate / Special Measures / Serious Weaknesses 4; missing (never inspected, "Insufficient
  evidence", ...) -> drawn from ``STARTING_GRADE_SHARES[starting_grades]``. GIAS has no reliable
  date of the graded inspection, so ``terms_since_inspection`` is drawn uniformly within each
  grade's usual interval, as for the synthetic world.
* ``academy``: the school's ``EstablishmentTypeGroup (name)`` is "Academies" or "Free Schools",
  else (if that column is absent or blank) its ``TypeOfEstablishment (name)`` names an academy,
  free school, university technical college or studio school. With neither column, no school is
  an academy (the load report says so).
* ``coastal``: GIAS has no coastal flag and no simple rule on school coordinates alone is a
  fair stand-in, so every school is inland unless the file has an optional ``Coastal`` column
  (true/false, yes/no, 1/0; blank = false), which a user can add from the Plymouth University
  list of coastal schools (within 5.5 km of the coast, ``world.COASTAL_KM``).

Every imputation and drop is counted in a :class:`GiasReport` (:func:`load_gias_with_report`),
attached to the world (``world.load_report``, saved in run and experiment manifests and printed
by the command-line tools) with the file's name (``world.input_files``, fingerprinted).
Problems are :class:`~sim.parameters.ConfigError` naming the file and the missing columns, or
the row (its line in the file: header = line 1, assuming no line breaks inside quoted fields),
column and value.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .parameters import ConfigError
from .world import (PRIMARY, REGION_NAMES, RURAL, SECONDARY, START_INSPECTION_AGE_TERMS,
                    STARTING_GRADE_SHARES, TOWN, URBAN, World)

REQUIRED_COLUMNS = ("URN", "EstablishmentName", "PhaseOfEducation (name)",
                    "EstablishmentStatus (name)", "LA (name)", "GOR (name)", "NumberOfPupils",
                    "PercentageFSM", "UrbanRural (name)", "Easting", "Northing",
                    "OfstedRating (name)")
TYPE_COLUMN, GROUP_COLUMN, COASTAL_COLUMN = ("TypeOfEstablishment (name)",
                                             "EstablishmentTypeGroup (name)", "Coastal")

USED_COLUMNS = set(REQUIRED_COLUMNS) | {TYPE_COLUMN, GROUP_COLUMN, COASTAL_COLUMN}

PHASES_OUTSIDE_MODEL = {"nursery", "16 plus", "not applicable"}  # known wordings, dropped
PHASE_MAP = {"primary": PRIMARY, "middle deemed primary": PRIMARY, "secondary": SECONDARY,
             "middle deemed secondary": SECONDARY, "all through": SECONDARY}
STATE_MAINSTREAM_GROUPS = {"local authority maintained schools", "academies", "free schools"}
ACADEMY_GROUPS = {"academies", "free schools"}
ACADEMY_TYPE_PATTERN = r"academ|free school|university technical college|studio school"
OUTSIDE_ENGLAND = ("wales", "not applicable")
REGION_INDEX = {name.lower(): i for i, name in enumerate(REGION_NAMES)}
SETTING_PREFIXES = (("urban", URBAN), ("rural town", TOWN), ("rural village", RURAL),
                    ("rural hamlet", RURAL))
GRADE_MAP = {"outstanding": 1, "good": 2, "requires improvement": 3, "satisfactory": 3,
             "inadequate": 4, "special measures": 4, "serious weaknesses": 4}
# Values meaning "no graded judgement": imputed like a blank. Anything else is an error so a
# new GIAS wording is noticed rather than silently imputed.
UNGRADED = {"insufficient evidence", "not inspected", "no judgement", "not applicable", "null"}
PUPILS_MAX = 10_000
EASTING_M = (60_000, 700_000)
NORTHING_M = (1_000, 1_300_000)
MAX_DROPPED_SHARE = 0.01  # of in-scope schools dropped for want of data, before refusing
DELIMITERS = (",", ";", "\t", "|")
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
COASTAL_MAP = {"true": True, "yes": True, "1": True, "y": True,
               "false": False, "no": False, "0": False, "n": False, "": False}


@dataclass
class GiasReport:
    """What a GIAS load did: rows read and kept, drops by reason, imputations by column."""

    path: str
    rows_read: int = 0
    kept: int = 0
    kept_by_phase: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    imputed: dict[str, int] = field(default_factory=dict)
    academy_source: str | None = None   # the column academy status came from, if any
    coastal_source: str | None = None   # "Coastal" if the file had one, else None (all inland)
    encoding: str | None = None         # how the file was decoded
    delimiter: str | None = None

    @property
    def dropped_for_want_of_data(self) -> int:
        """In-scope schools dropped because the file lacked what the model needs."""
        return self.dropped.get("unknown_phase", 0) + self.dropped.get("no_coordinates", 0)

    def summary(self) -> str:
        """One readable paragraph for logs and manifests."""
        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in d.items() if v) or "none"
        return (f"GIAS {self.path}: {self.rows_read} rows read, {self.kept} kept "
                f"({fmt(self.kept_by_phase)}); dropped: {fmt(self.dropped)}; "
                f"imputed: {fmt(self.imputed)}; academy status from {self.academy_source or 'nowhere'}; "
                f"coastal from {self.coastal_source or 'nowhere (all inland)'}")

    def as_dict(self) -> dict:
        """Plain data for manifests, with the readable summary."""
        return {**asdict(self), "summary": self.summary()}


def load_gias(path: str | Path, rng: np.random.Generator | None = None,
              starting_grades: str = "2018", max_dropped_share: float = MAX_DROPPED_SHARE) -> World:
    """The world of England's open state-funded mainstream schools in a GIAS CSV.

    ``rng`` draws the imputed Ofsted grades and the time since each school's last inspection.
    See the module docstring for the rules; :func:`load_gias_with_report` also returns counts.
    """
    return load_gias_with_report(path, rng=rng, starting_grades=starting_grades,
                                 max_dropped_share=max_dropped_share)[0]


def load_gias_with_report(path: str | Path, rng: np.random.Generator | None = None,
                          starting_grades: str = "2018",
                          max_dropped_share: float = MAX_DROPPED_SHARE) -> tuple[World, GiasReport]:
    """Like :func:`load_gias`, also returning a :class:`GiasReport` of drops and imputations."""
    rng = rng if rng is not None else np.random.default_rng(0)
    if starting_grades not in STARTING_GRADE_SHARES:
        raise ConfigError(f"starting_grades={starting_grades!r} is not one of "
                          f"{', '.join(STARTING_GRADE_SHARES)}")
    report = GiasReport(path=str(path))
    df, report.encoding, report.delimiter = _read(path)
    report.rows_read = len(df)
    df = _keep_schools(df, report)
    err = _RowErrors(path, df)

    err.require_values("URN")
    urn = err.numbers("URN", integer=True)
    duplicated = urn[urn.duplicated(keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        lines = ", ".join(str(line) for line in duplicated.index[duplicated == first])
        raise ConfigError(f"{path}: duplicate URN {int(first)} (rows {lines})")
    err.require_values("LA (name)")
    la = df["LA (name)"]
    region = df["GOR (name)"].str.lower().map(REGION_INDEX)
    err.check(region.isna(), "GOR (name)", f"is not an English region ({', '.join(REGION_NAMES)})")
    phase = df["PhaseOfEducation (name)"].str.lower().str.replace("-", " ").map(PHASE_MAP)

    # Coordinates: 0 or blank means unknown; place at the LA's mean, drop if the LA has none.
    xy = pd.DataFrame({"x": err.numbers("Easting"), "y": err.numbers("Northing")})
    for axis, column, (low, high) in (("x", "Easting", EASTING_M), ("y", "Northing", NORTHING_M)):
        err.check(xy[axis] < 0, column, "is negative")
        err.check((xy[axis] > 0) & ((xy[axis] < low) | (xy[axis] > high)), column,
                  f"is outside {low:,}-{high:,} m of the British National Grid "
                  "(kilometres? GIAS gives metres)")
    xy.loc[(xy["x"] <= 0) | (xy["y"] <= 0)] = np.nan
    missing_xy = xy.isna().any(axis=1)
    xy = xy.where(~missing_xy, xy.groupby(la).transform("mean"))
    placeable = xy.notna().all(axis=1)
    report.imputed["Easting/Northing"] = int((missing_xy & placeable).sum())
    report.dropped["no_coordinates"] = int((~placeable).sum())
    _check_drops(path, report, in_scope=len(df), allowed=max_dropped_share)
    keep = placeable.to_numpy()
    df, urn, la, region, phase, xy = (s[keep] for s in (df, urn, la, region, phase, xy))
    err = _RowErrors(path, df)

    setting_name = (df["UrbanRural (name)"].str.lower()
                    .str.replace(r"^\([^)]*\)\s*", "", regex=True).fillna(""))
    setting = pd.Series(np.nan, index=df.index)
    for prefix, value in SETTING_PREFIXES:
        setting[setting_name.str.startswith(prefix)] = value
    report.imputed["UrbanRural (name)"] = int((setting_name == "").sum())
    setting[setting_name == ""] = URBAN
    err.check(setting.isna(), "UrbanRural (name)", "is not a known rural-urban class")

    # Pupils: 0 or blank means no census yet; impute the median of the same phase and setting.
    pupils = err.numbers("NumberOfPupils")
    err.check(pupils < 0, "NumberOfPupils", "is negative")
    err.check(pupils > PUPILS_MAX, "NumberOfPupils", f"is more than {PUPILS_MAX:,} pupils")
    pupils = pupils.where(pupils > 0)
    report.imputed["NumberOfPupils"] = int(pupils.isna().sum())
    pupils = pupils.fillna(pupils.groupby([phase, setting]).transform("median"))
    pupils = pupils.fillna(pupils.groupby(phase).transform("median"))

    # FSM: "SUPP" marks a figure suppressed for disclosure; treat it like a blank.
    fsm_text = df["PercentageFSM"].where(df["PercentageFSM"].str.upper() != "SUPP")
    fsm = err.numbers("PercentageFSM", fsm_text)
    err.check((fsm < 0) | (fsm > 100), "PercentageFSM", "is not a percentage in 0-100")
    report.imputed["PercentageFSM"] = int(fsm.isna().sum())
    fsm = fsm.fillna(fsm.groupby([la, phase]).transform("median"))
    fsm = fsm.fillna(fsm.groupby(phase).transform("median"))
    if pupils.isna().any() or fsm.isna().any():
        raise ConfigError(f"{path}: no school of some phase has NumberOfPupils / PercentageFSM "
                          "to impute missing values from")

    grade_name = df["OfstedRating (name)"].str.lower().fillna("")
    grade = grade_name.map(GRADE_MAP)
    ungraded = (grade_name == "") | grade_name.isin(UNGRADED)
    err.check(grade.isna() & ~ungraded, "OfstedRating (name)", "is not a known Ofsted grade")
    shares = np.array(STARTING_GRADE_SHARES[starting_grades])
    grade[ungraded] = 1 + rng.choice(4, size=int(ungraded.sum()), p=shares / shares.sum())
    report.imputed["OfstedRating (name)"] = int(ungraded.sum())
    grade = grade.to_numpy(dtype=np.int8)
    since = np.floor(rng.random(len(grade)) * np.array(START_INSPECTION_AGE_TERMS)[grade - 1])

    academy = _academy(df, report)
    coastal = _coastal(df, err, report)

    la_names = tuple(sorted(la.unique()))
    phase = phase.to_numpy(dtype=np.int8)
    report.kept = len(df)
    report.kept_by_phase = {"primary": int((phase == PRIMARY).sum()),
                            "secondary": int((phase == SECONDARY).sum())}
    world = World(
        school_id=urn.to_numpy(dtype=np.int64), phase=phase,
        pupils=pupils.round().to_numpy(dtype=np.int32), region=region.to_numpy(dtype=np.int8),
        local_authority=la.map({n: i for i, n in enumerate(la_names)}).to_numpy(dtype=np.int16),
        la_names=la_names, x_km=xy["x"].to_numpy(dtype=float) / 1000,
        y_km=xy["y"].to_numpy(dtype=float) / 1000, setting=setting.to_numpy(dtype=np.int8),
        coastal=coastal, fsm_share=fsm.to_numpy(dtype=float) / 100, academy=academy,
        grade=grade, terms_since_inspection=since.astype(np.int16), name="gias")
    world.input_files = (str(path),)
    world.load_report = report.as_dict()
    return world, report


def _check_drops(path: str | Path, report: GiasReport, in_scope: int, allowed: float) -> None:
    """Refuse a load that drops more in-scope schools for want of data than ``allowed``."""
    dropped = report.dropped_for_want_of_data
    total = in_scope + report.dropped.get("unknown_phase", 0)
    if total and dropped / total > allowed:
        raise ConfigError(
            f"{path}: {dropped} of {total} schools in scope would be dropped for want of data "
            f"({report.dropped.get('unknown_phase', 0)} with a PhaseOfEducation (name) the "
            f"loader does not know, {report.dropped.get('no_coordinates', 0)} in local "
            f"authorities with no coordinates): more than {allowed:.0%}; check the file, or "
            f"allow it with world.gias_max_dropped_share={dropped / total:.3f}")


def _read(path: str | Path) -> tuple[pd.DataFrame, str, str]:
    """The CSV as stripped strings (blank -> NaN), with the encoding and delimiter it was read
    with, checking that every required column is there."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; world.gias_path must name the GIAS CSV file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"GIAS file not found: {path}") from None
    if not raw.strip():
        raise ConfigError(f"GIAS file {path} is empty")
    text, encoding = _decode(path, raw)
    header = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header.count)
    try:
        # Only the columns used: the real file has ~140 columns and ~50,000 rows.
        df = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                         usecols=lambda c: c.strip() in USED_COLUMNS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as exc:
        raise ConfigError(f"{path} is not a CSV file the loader can read ({encoding}, "
                          f"delimiter {delimiter!r}): {str(exc).splitlines()[0]}") from None
    df.columns = df.columns.str.strip()
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if len(missing) == len(REQUIRED_COLUMNS):
        raise ConfigError(f"{path} has none of the GIAS columns (read as {encoding} with delimiter "
                          f"{delimiter!r}; it starts {header[:60]!r}): is it GIAS's "
                          "'all establishments' CSV, saved as CSV?")
    if missing:
        raise ConfigError(f"{path} is missing GIAS column(s): {', '.join(missing)}")
    if df.empty:
        raise ConfigError(f"GIAS file {path} has a header but no rows")
    # keep_default_na=False keeps literal values like "NA"; only blanks count as missing.
    df = df.apply(lambda s: s.str.strip()).replace("", np.nan)
    df.index = pd.RangeIndex(2, len(df) + 2)  # index = line in the file (header is line 1)
    return df, encoding, delimiter


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    """The file's text and encoding: a byte-order mark decides, else UTF-8 if it decodes,
    else cp1252 (what GIAS publishes)."""
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            break
    else:
        encoding = "utf-8"
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise ConfigError(f"{path} starts with a {encoding} byte-order mark but is not "
                              f"{encoding} text") from None
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not text in UTF-8 or cp1252 (as GIAS publishes): byte "
                          f"{raw[exc.start:exc.start + 1]!r} at position {exc.start}; is it a "
                          "spreadsheet or compressed file?") from None


def _keep_schools(df: pd.DataFrame, report: GiasReport) -> pd.DataFrame:
    """Drop rows outside the model, counting each under the first reason that applies."""
    lower = lambda col: df[col].str.lower().fillna("")  # noqa: E731
    phase = lower("PhaseOfEducation (name)").str.replace("-", " ")
    reasons = {
        "not_open": ~lower("EstablishmentStatus (name)").str.startswith("open"),
        "phase": phase.isin(PHASES_OUTSIDE_MODEL),
        "outside_england": lower("GOR (name)").str.startswith(OUTSIDE_ENGLAND),
        "not_state_mainstream": (df[GROUP_COLUMN].notna()
                                 & ~lower(GROUP_COLUMN).isin(STATE_MAINSTREAM_GROUPS)
                                 if GROUP_COLUMN in df else pd.Series(False, index=df.index)),
        "unknown_phase": ~phase.isin(PHASE_MAP.keys()),  # in scope otherwise: counted as a loss
    }
    gone = pd.Series(False, index=df.index)
    for reason, mask in reasons.items():
        report.dropped[reason] = int((mask & ~gone).sum())
        gone |= mask
    return df[~gone]


class _RowErrors:
    """Checks on the kept rows that raise a ConfigError naming the first bad row."""

    def __init__(self, path: str | Path, df: pd.DataFrame):
        self.path, self.df = path, df

    def check(self, bad: pd.Series, column: str, problem: str) -> None:
        bad = bad.fillna(False).astype(bool)
        if bad.any():
            line = bad[bad].index[0]
            value = self.df.at[line, column]
            raise ConfigError(f"{self.path}, row {line}: {column}={'' if pd.isna(value) else value!r} "
                              f"{problem}" + (f" ({int(bad.sum())} rows)" if bad.sum() > 1 else "")
                              + "; correct the file (ranges: sim/gias.py, docs/RESULTS.md)")

    def numbers(self, column: str, text: pd.Series | None = None, integer: bool = False) -> pd.Series:
        """``column`` as floats (blank -> NaN); a value that is not a number is an error."""
        text = self.df[column] if text is None else text
        values = pd.to_numeric(text, errors="coerce")
        self.check(values.isna() & text.notna(), column, "is not a number")
        if integer:
            self.check(values != values.round(), column, "is not a whole number")
        return values.astype(float)

    def require_values(self, column: str) -> None:
        self.check(self.df[column].isna(), column, "is blank")


def _academy(df: pd.DataFrame, report: GiasReport) -> np.ndarray:
    """Academy / free school from the type group, else from the establishment type name."""
    academy = pd.Series(False, index=df.index)
    known = pd.Series(False, index=df.index)
    if GROUP_COLUMN in df:
        group = df[GROUP_COLUMN].str.lower()
        academy, known = group.isin(ACADEMY_GROUPS), group.notna()
        report.academy_source = GROUP_COLUMN
    if TYPE_COLUMN in df:
        by_type = df[TYPE_COLUMN].str.lower().str.contains(ACADEMY_TYPE_PATTERN).fillna(False)
        academy = academy.where(known, by_type)
        report.academy_source = report.academy_source or TYPE_COLUMN
    return academy.to_numpy(dtype=bool)


def _coastal(df: pd.DataFrame, err: _RowErrors, report: GiasReport) -> np.ndarray:
    """The optional ``Coastal`` column as booleans; without it every school is inland."""
    if COASTAL_COLUMN not in df:
        return np.zeros(len(df), dtype=bool)
    report.coastal_source = COASTAL_COLUMN
    coastal = df[COASTAL_COLUMN].str.lower().fillna("").map(COASTAL_MAP)
    err.check(coastal.isna(), COASTAL_COLUMN, "is not true/false, yes/no or 1/0")
    return coastal.to_numpy(dtype=bool)
