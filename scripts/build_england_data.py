"""Build the vendored real-England dataset (data/england_2018/) from the raw 2018 files.

Reads the raw files described in ../shared/data/england_2018/README.md and writes, deterministically
(byte-identical on re-runs):

- ``schools.csv``: one row per open state-funded mainstream school of 12 March 2018, sorted by URN;
- ``inspections.csv.gz``: every section 5 inspection in the 2005-2018 history;
- ``regions.geojson``, ``districts.geojson``, ``local_authorities.geojson``: simplified boundaries in
  British National Grid metres (EPSG:27700);
- ``build_report.json``: rows read, kept, dropped by reason and imputed by column.

Usage: ``python scripts/build_england_data.py [--source DIR] [--out DIR]``. The defaults are
``../shared/data/england_2018`` and ``data/england_2018``, both relative to the repository root.
Every rule below is documented in data/england_2018/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree
from shapely.geometry import mapping, shape

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "england_2018"
DEFAULT_OUT = REPO / "data" / "england_2018"

RAW = {
    "gias": "gias_20180312_open_establishments.csv",
    "census": "england_census_2018-19.csv",
    "spine": "england_spine_2017-18_keycols.csv",
    "inspections": "ofsted_inspections_2005_2018.csv",
    "teaching": "teaching_schools_20180312.csv",
    "districts": "lad_dec2017_ugc_uk.geojson",
    "regions": "england_regions_2015_generalised.geojson",
}

# GIAS phase -> model phase. Middle schools follow the DfE's own "deemed" classification; all-through
# schools are counted as secondary because the DfE counts them with state-funded secondary schools
# (147 of the 150 that appear in the January 2019 census are "State-funded secondary") and because
# their headship, size and inspection pattern are those of a secondary school.
PHASES = {
    "Primary": "primary",
    "Middle deemed primary": "primary",
    "Secondary": "secondary",
    "Middle deemed secondary": "secondary",
    "All through": "secondary",
}
REGIONS = ("North East", "North West", "Yorkshire and The Humber", "East Midlands", "West Midlands",
           "East of England", "London", "South East", "South West")
GIAS_REGION_SPELLING = {"Yorkshire and the Humber": "Yorkshire and The Humber"}

# GIAS ofsted_rating and history Rating -> grade (1 outstanding ... 4 inadequate).
GRADES = {"Outstanding": 1, "Good": 2, "Requires improvement": 3, "Requires Improvement": 3,
          "Satisfactory": 3, "Inadequate": 4, "Special Measures": 4, "Serious Weaknesses": 4}

# Spine NFTYPE -> governance.
GOVERNANCE = {
    "Community school": "maintained",
    "Voluntary aided school": "maintained",
    "Voluntary controlled school": "maintained",
    "Foundation school": "maintained",
    "Academy - Converter mainstream": "academy_converter",
    "Academy sponsor led mainstream": "academy_sponsor_led",
    "Free school - Mainstream": "free_school",
    "University technical college": "other_academy",
    "Studio school": "other_academy",
}
# Teaching-school list "Type" -> governance (fallback for schools missing from the spine).
TEACHING_TYPE_GOVERNANCE = {
    "Academy converter": "academy_converter", "Academy sponsor led": "academy_sponsor_led",
    "Free schools": "free_school", "Community school": "maintained",
    "Voluntary aided school": "maintained", "Voluntary controlled school": "maintained",
    "Foundation school": "maintained",
}

# Rurality from local density (these files have no urban/rural flag): pupils on the roll of every
# state-funded mainstream school within RURALITY_RADIUS_M of the school, the school itself included.
# The radius and thresholds were chosen (rounded to 100 pupils) so that the shares of schools
# outside "urban" come close to the published rural shares in sim/world.py (RURAL_SHARE: primary
# 0.290, secondary 0.147, PQ 272250; a 3 km radius fits both phases with one threshold, 2-8 km
# radii were tried) and "town" is 0.4 of them over both phases (TOWN_SHARE_OF_RURAL).
RURALITY_RADIUS_M = 3_000.0
URBAN_MIN_PUPILS = 2_400   # >= this many pupils within 3 km: urban
TOWN_MIN_PUPILS = 800      # >= this (and below urban): town; below: rural
COASTAL_KM = 5.5               # Plymouth University coastal-schools definition (sim/world.py)
COAST_CLOSING_M = 500.0        # channels narrower than 1 km are closed before measuring to the coast
# A school more than MISPLACED_KM outside every district of its own education authority has wrong
# GIAS coordinates (three Wirral schools have easting and northing swapped; a Brent school sits in
# the North Sea). Schools near a border, or temporarily housed in a neighbouring authority, are
# within a few km and are left alone.
MISPLACED_KM = 10.0
SIMPLIFY_TOLERANCE_M = 100.0   # boundary simplification for shipping (drawing only)


class RawDataError(Exception):
    """A raw input file is missing or malformed (message names the file)."""


def _read_csv(path: Path, required: list[str], **kwargs) -> pd.DataFrame:
    if not path.is_file():
        raise RawDataError(f"missing raw file: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported with the file name
        raise RawDataError(f"cannot read {path}: {exc}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise RawDataError(f"{path}: missing columns {missing}")
    return frame


def _read_geojson(path: Path, required: list[str]) -> list[dict]:
    if not path.is_file():
        raise RawDataError(f"missing raw file: {path}")
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        for f in features:
            for key in required:
                f["properties"][key]
            f["geometry"]["coordinates"]
    except Exception as exc:  # noqa: BLE001
        raise RawDataError(f"{path}: not a GeoJSON FeatureCollection with {required} ({exc})") from exc
    return features


def read_raw(source: Path) -> dict:
    """Read and check every raw file before any output is written."""
    source = Path(source)
    return {
        "gias": _read_csv(source / RAW["gias"], ["urn", "laestab", "num_pupils", "phase", "la_name",
                          "region", "ofsted_rating", "last_ofsted_date", "easting", "northing"]),
        # The census file starts with a UTF-8 byte-order mark: utf-8-sig keeps "URN" clean.
        "census": _read_csv(source / RAW["census"], ["URN", "NOR", "NUMFSM", "PNUMFSMEVER"],
                            encoding="utf-8-sig"),
        "spine": _read_csv(source / RAW["spine"], ["URN", "NFTYPE", "MINORGROUP"]),
        "inspections": _read_csv(source / RAW["inspections"], ["URN", "Rating", "Inspection Date"]),
        "teaching": _read_csv(source / RAW["teaching"], ["URN", "Alliance Name", "Type"]),
        "districts": _read_geojson(source / RAW["districts"], ["lad17cd", "lad17nm"]),
        "regions": _read_geojson(source / RAW["regions"], ["rgn15cd", "rgn15nm"]),
    }


def _to_int(series: pd.Series) -> pd.Series:
    """Digits -> Int64; anything else ("", "NA", "x") -> missing."""
    return pd.to_numeric(series.where(series.str.fullmatch(r"\d+")), errors="coerce").astype("Int64")


def _to_float(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.where(series.str.fullmatch(r"\d+(\.\d+)?")), errors="coerce")


def _group_median_fill(frame: pd.DataFrame, column: str, keys: list[str]) -> pd.Series:
    """Fill missing values with the median of their keys group, else of the phase, else overall."""
    values = frame[column].astype(float)
    filled = values.fillna(frame.groupby(keys)[column].transform("median"))
    filled = filled.fillna(frame.groupby("phase")[column].transform("median"))
    return filled.fillna(values.median())


# --------------------------------------------------------------------------------------------------
# Schools


def select_schools(gias: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Open state-funded mainstream schools in England: the README's phase and region rule."""
    report["gias"] = {"rows_read": len(gias)}
    mainstream = gias["phase"].isin(list(PHASES))
    wales = gias["region"] == "Wales (pseudo)"
    dropped = {f"phase {p!r}": int(n) for p, n in gias.loc[~mainstream, "phase"].value_counts()
               .sort_index().items()}
    dropped["mainstream phase but region 'Wales (pseudo)'"] = int((mainstream & wales).sum())
    schools = gias[mainstream & ~wales].copy()
    duplicated = schools["urn"].duplicated()
    dropped["duplicate urn"] = int(duplicated.sum())
    schools = schools[~duplicated]
    unknown = ~schools["region"].replace(GIAS_REGION_SPELLING).isin(REGIONS)
    dropped["region not one of the nine English regions"] = int(unknown.sum())
    no_xy = ~(schools["easting"].str.fullmatch(r"\d+") & schools["northing"].str.fullmatch(r"\d+"))
    dropped["no coordinates"] = int((no_xy & ~unknown).sum())
    schools = schools[~unknown & ~no_xy]
    report["gias"]["dropped"] = dropped
    report["gias"]["kept"] = len(schools)
    out = pd.DataFrame({
        "urn": schools["urn"].astype(int).to_numpy(),
        "name": "",
        "phase": schools["phase"].map(PHASES).to_numpy(),
        "gias_phase": schools["phase"].to_numpy(),
        "la_name": schools["la_name"].to_numpy(),
        "la_code": schools["laestab"].str[:3].to_numpy(),
        "region": schools["region"].replace(GIAS_REGION_SPELLING).to_numpy(),
        "easting_m": schools["easting"].astype(int).to_numpy(),
        "northing_m": schools["northing"].astype(int).to_numpy(),
        "gias_pupils": _to_int(schools["num_pupils"]).to_numpy(),
        "gias_rating": schools["ofsted_rating"].to_numpy(),
        "gias_date": schools["last_ofsted_date"].to_numpy(),
    })
    report["gias"]["kept_by_gias_phase"] = {k: int(v) for k, v in
                                            out["gias_phase"].value_counts().sort_index().items()}
    report["gias"]["kept_by_phase"] = {k: int(v) for k, v in
                                       out["phase"].value_counts().sort_index().items()}
    return out.sort_values("urn", kind="stable").reset_index(drop=True)


def add_names_and_governance(schools: pd.DataFrame, spine: pd.DataFrame, teaching: pd.DataFrame,
                             report: dict) -> pd.DataFrame:
    """Name and governance from the 2017-18 spine; teaching-school list, then 'maintained', as fallback."""
    spine = spine.drop_duplicates("URN").set_index("URN")
    urn = schools["urn"].astype(str)
    in_spine = urn.isin(spine.index)
    report["spine"] = {"rows_read": len(spine), "schools_matched": int(in_spine.sum()),
                       "schools_not_in_spine": sorted(int(u) for u in urn[~in_spine])}
    nftype = urn.map(spine["NFTYPE"])
    governance = nftype.map(GOVERNANCE)
    unknown_types = sorted(set(nftype[in_spine & governance.isna()]))
    if unknown_types:
        raise RawDataError(f"{RAW['spine']}: NFTYPE values with no governance mapping: {unknown_types}")
    imputed = governance.isna()
    teach_type = urn.map(teaching.drop_duplicates("URN").set_index("URN")["Type"])
    from_teaching = imputed & teach_type.map(TEACHING_TYPE_GOVERNANCE).notna()
    governance = governance.fillna(teach_type.map(TEACHING_TYPE_GOVERNANCE))
    # Open after the spine was drawn and not in the teaching list: URNs opened since 2013 that are
    # missing from the 2017-18 spine are new academies or free schools far more often than not,
    # but nothing in these files says which; "maintained" is the least-assuming label.
    governance = governance.fillna("maintained")
    schools["name"] = urn.map(spine["SCHNAME"]).fillna("").to_numpy() if "SCHNAME" in spine else ""
    schools["governance"] = governance.to_numpy()
    schools["governance_imputed"] = imputed.to_numpy()
    schools["academy"] = (schools["governance"] != "maintained").to_numpy()
    report["spine"]["governance_from_teaching_list"] = int(from_teaching.sum())
    report["spine"]["governance_defaulted_maintained"] = int((imputed & ~from_teaching).sum())
    return schools


def add_census(schools: pd.DataFrame, census: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Pupils and FSM from the January 2019 census; GIAS pupils, then LA x phase medians, as fallback."""
    is_school = census["URN"].str.fullmatch(r"\d+")
    report["census"] = {"rows_read": len(census),
                        "national_total_rows_dropped": int((~is_school).sum())}
    census = census[is_school].drop_duplicates("URN").set_index("URN")
    urn = schools["urn"].astype(str)
    joined = urn.isin(census.index)
    report["census"]["schools_matched"] = int(joined.sum())
    nor = _to_int(urn.map(census["NOR"]).fillna(""))
    nor = nor.where(nor > 0)
    numfsm = _to_int(urn.map(census["NUMFSM"]).fillna(""))
    ever6 = _to_float(urn.map(census["PNUMFSMEVER"]).fillna("")) / 100.0
    report["census"]["schools_matched_without_nor"] = int((joined & nor.isna().to_numpy()).sum())

    gias = schools["gias_pupils"].where(schools["gias_pupils"] > 0)
    pupils = nor.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    source = np.where(~np.isnan(pupils), "census_2019", "")
    use_gias = np.isnan(pupils) & gias.notna().to_numpy()
    pupils[use_gias] = gias[use_gias].astype(float)
    source[use_gias] = "gias_2018"
    schools["pupils"] = pupils
    missing = np.isnan(pupils)
    schools["pupils"] = np.rint(_group_median_fill(schools, "pupils", ["la_name", "phase"])).astype(int)
    source[missing] = "imputed"
    schools["pupils_source"] = source

    fsm = (numfsm.astype("Float64") / nor.astype("Float64")).to_numpy(dtype=float, na_value=np.nan)
    fsm = np.where(fsm > 1.0, np.nan, fsm)
    ever6 = np.where((ever6 < 0) | (ever6 > 1), np.nan, ever6.to_numpy(dtype=float))
    fsm_imputed = np.isnan(fsm)
    schools["fsm_share"] = fsm
    schools["fsm_ever6_share"] = ever6
    schools["fsm_share"] = _group_median_fill(schools, "fsm_share", ["la_name", "phase"]).round(4)
    ever6_imputed = np.isnan(ever6)
    schools["fsm_ever6_share"] = _group_median_fill(schools, "fsm_ever6_share",
                                                    ["la_name", "phase"]).round(4)
    schools["fsm_imputed"] = fsm_imputed
    schools["fsm_ever6_imputed"] = ever6_imputed
    report["imputed"] = {
        "pupils_from_gias_2018": int(use_gias.sum()),
        "pupils_la_phase_median": int(missing.sum()),
        "fsm_share_la_phase_median": int(fsm_imputed.sum()),
        "fsm_ever6_share_la_phase_median": int(ever6_imputed.sum()),
    }
    return schools


def inspections_table(raw: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Every section 5 inspection: urn, ISO date, grade 1-4 and the original label."""
    unknown = sorted(set(raw["Rating"]) - set(GRADES))
    if unknown:
        raise RawDataError(f"{RAW['inspections']}: unknown Rating values {unknown}")
    dates = pd.to_datetime(raw["Inspection Date"], format="%Y%m%d", errors="coerce")
    bad = dates.isna() | ~raw["URN"].str.fullmatch(r"\d+")
    if bad.any():
        raise RawDataError(f"{RAW['inspections']}: {int(bad.sum())} rows with a bad URN or date")
    table = pd.DataFrame({"urn": raw["URN"].astype(int), "inspection_date": dates.dt.strftime("%Y-%m-%d"),
                          "grade": raw["Rating"].map(GRADES).astype(int), "grade_label": raw["Rating"]})
    table = table.sort_values(["urn", "inspection_date", "grade"], kind="stable").reset_index(drop=True)
    report["inspections"] = {"rows_read": len(raw), "rows_kept": len(table),
                             "exact_duplicate_rows_kept": int(raw.duplicated().sum()),
                             "first_date": table["inspection_date"].min(),
                             "last_date": table["inspection_date"].max()}
    return table


def add_grades(schools: pd.DataFrame, inspections: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Latest grade and its date from GIAS, else the latest section 5 inspection in the history."""
    unknown = sorted(set(schools["gias_rating"]) - set(GRADES) - {""})
    if unknown:
        raise RawDataError(f"{RAW['gias']}: unknown ofsted_rating values {unknown}")
    latest = inspections.groupby("urn").tail(1).set_index("urn")
    has_history = schools["urn"].isin(latest.index)
    history_grade = schools["urn"].map(latest["grade"])
    history_date = schools["urn"].map(latest["inspection_date"])
    gias_grade = schools["gias_rating"].map(GRADES)
    gias_date = pd.to_datetime(schools["gias_date"], format="%d-%m-%Y", errors="coerce")
    bad_dates = (schools["gias_date"] != "") & gias_date.isna()
    if bad_dates.any():
        raise RawDataError(f"{RAW['gias']}: {int(bad_dates.sum())} unreadable last_ofsted_date values")
    # Inspected before 12 March 2018 but report not yet in GIAS: the grade is real, take it.
    grade_from_history = gias_grade.isna() & has_history
    grade = gias_grade.fillna(history_grade.where(grade_from_history))
    date = gias_date.dt.strftime("%Y-%m-%d")
    date_from_history = date.isna() & grade.notna() & has_history
    date = date.fillna(history_date.where(date_from_history))
    schools["grade"] = grade.astype("Int64")
    schools["grade_source"] = np.select([gias_grade.notna(), grade_from_history],
                                        ["gias_2018", "history"], "none")
    schools["grade_date"] = date.fillna("")
    schools["grade_date_imputed"] = date_from_history.to_numpy()
    schools["grade_date_source"] = np.select([date_from_history, date.notna()], ["history", "gias_2018"], "none")
    schools["last_section5_date"] = history_date.fillna("")
    schools["last_section5_grade"] = history_grade.astype("Int64")
    # Inspected before the extract but published after it: the history is newer than GIAS.
    newer = gias_grade.notna() & (pd.to_datetime(history_date) - gias_date).dt.days.gt(30)
    schools["section5_inspections"] = schools["urn"].map(inspections.groupby("urn").size()) \
        .fillna(0).astype(int)
    report["grades"] = {
        "graded_in_gias": int(gias_grade.notna().sum()),
        "grade_from_history_not_yet_in_gias": int(grade_from_history.sum()),
        "never_graded": int(grade.isna().sum()),
        "grade_date_from_history": int(date_from_history.sum()),
        "graded_without_any_date": int((grade.notna() & (schools["grade_date"] == "")).sum()),
        "schools_with_history": int(has_history.sum()),
        "section5_over_30_days_after_gias_date": int(newer.sum()),
        "section5_over_30_days_after_gias_date_with_other_grade": int(
            (newer & (history_grade != gias_grade)).sum()),
        "gias_date_after_latest_section5_by_over_30_days": int(
            ((gias_date - pd.to_datetime(history_date)).dt.days > 30).sum()),
    }
    report["imputed"]["grade_from_history"] = int(grade_from_history.sum())
    report["imputed"]["grade_date_from_history"] = int(date_from_history.sum())
    return schools


def add_teaching_schools(schools: pd.DataFrame, teaching: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Teaching school flag and alliance name from the 2018 list, by URN."""
    teaching = teaching[teaching["URN"].str.fullmatch(r"\d+")].drop_duplicates("URN")
    alliance = teaching.set_index(teaching["URN"].astype(int))["Alliance Name"].str.strip()
    schools["teaching_school"] = schools["urn"].isin(alliance.index)
    schools["alliance"] = schools["urn"].map(alliance).fillna("")
    report["teaching_schools"] = {"rows_read": len(teaching),
                                  "matched_mainstream_schools": int(schools["teaching_school"].sum())}
    return schools


# --------------------------------------------------------------------------------------------------
# Geography


def _to_bng() -> Transformer:
    return Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def _geometry_bng(feature: dict, transformer: Transformer):
    geometry = shape(feature["geometry"])
    geometry = shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    return shapely.make_valid(geometry)


def add_lonlat(schools: pd.DataFrame) -> pd.DataFrame:
    to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(schools["easting_m"].to_numpy(float), schools["northing_m"].to_numpy(float))
    schools["lon"] = np.round(lon, 5)
    schools["lat"] = np.round(lat, 5)
    return schools


def add_districts(schools: pd.DataFrame, districts: list[tuple[str, str, object]], report: dict) -> pd.DataFrame:
    """District by point in polygon; schools outside every (generalised) polygon take the nearest."""
    geoms = [g for _c, _n, g in districts]
    tree = shapely.STRtree(geoms)
    points = shapely.points(schools["easting_m"].to_numpy(float), schools["northing_m"].to_numpy(float))
    point_idx, geom_idx = tree.query(points, predicate="within")
    # A point on a shared edge matches two polygons: keep the first (lowest district code) for determinism.
    match = np.full(len(points), -1)
    for p, g in sorted(zip(point_idx.tolist(), geom_idx.tolist()), reverse=True):
        match[p] = g
    outside = match < 0
    if outside.any():
        nearest = tree.query_nearest(points[outside], all_matches=False)
        match[np.flatnonzero(outside)[nearest[0]]] = nearest[1]
    schools["district_code"] = [districts[i][0] for i in match]
    schools["district_name"] = [districts[i][1] for i in match]
    report["districts"] = {"schools_outside_every_district_assigned_nearest": int(outside.sum())}
    return schools


def fix_misplaced(schools: pd.DataFrame, districts: list[tuple[str, str, object]],
                  report: dict) -> pd.DataFrame:
    """Correct coordinates far outside the school's own authority: swap easting and northing when
    that puts the school inside its authority, else take the median position of the authority's
    other schools (flagged in ``xy_source``)."""
    geoms = {code: geom for code, _name, geom in districts}
    modal = schools.groupby("district_code")["la_name"].agg(
        lambda s: s.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0])
    territory = {la: shapely.union_all([geoms[c] for c in sorted(modal[modal == la].index)])
                 for la in sorted(set(modal))}
    empty = shapely.Polygon()
    own = np.array([territory.get(la, empty) for la in schools["la_name"]], dtype=object)
    x, y = schools["easting_m"].to_numpy(float), schools["northing_m"].to_numpy(float)
    outside_km = shapely.distance(shapely.points(x, y), own) / 1000.0
    misplaced = np.nan_to_num(outside_km, nan=0.0) > MISPLACED_KM
    swapped_km = shapely.distance(shapely.points(y, x), own) / 1000.0
    swap = misplaced & (swapped_km <= 1.0)
    source = np.where(swap, "gias_2018_swapped", np.where(misplaced, "la_median", "gias_2018"))
    easting, northing = schools["easting_m"].to_numpy().copy(), schools["northing_m"].to_numpy().copy()
    easting[swap], northing[swap] = schools["northing_m"].to_numpy()[swap], schools["easting_m"].to_numpy()[swap]
    for i in np.flatnonzero(misplaced & ~swap):
        peers = (schools["la_name"].to_numpy() == schools["la_name"].iat[i]) & ~misplaced
        easting[i] = int(np.median(schools["easting_m"].to_numpy()[peers]))
        northing[i] = int(np.median(schools["northing_m"].to_numpy()[peers]))
    schools["easting_m"], schools["northing_m"], schools["xy_source"] = easting, northing, source
    report["coordinates"] = {
        "misplaced_threshold_km": MISPLACED_KM,
        "swapped": [int(u) for u in schools.loc[swap, "urn"]],
        "la_median": [int(u) for u in schools.loc[misplaced & ~swap, "urn"]],
        "outside_own_authority_1_to_10_km_left_alone": int(((outside_km > 1) & ~misplaced).sum()),
    }
    report["imputed"]["coordinates_swapped"] = int(swap.sum())
    report["imputed"]["coordinates_la_median"] = int((misplaced & ~swap).sum())
    return schools


def add_rurality(schools: pd.DataFrame, report: dict) -> pd.DataFrame:
    """Pupils of the schools within 3 km (itself included), and the urban / town / rural setting."""
    xy = schools[["easting_m", "northing_m"]].to_numpy(float)
    pupils = schools["pupils"].to_numpy(float)
    tree = cKDTree(xy)
    neighbours = tree.query_ball_point(xy, r=RURALITY_RADIUS_M)
    within = np.array([pupils[idx].sum() for idx in neighbours])
    schools["pupils_within_3km"] = np.rint(within).astype(int)
    distance, _ = tree.query(xy, k=2)
    schools["nearest_school_km"] = np.round(distance[:, 1] / 1000.0, 2)
    schools["setting"] = np.select([within >= URBAN_MIN_PUPILS, within >= TOWN_MIN_PUPILS],
                                   ["urban", "town"], "rural")
    shares = {}
    for phase, frame in schools.groupby("phase"):
        non_urban = float((frame["setting"] != "urban").mean())
        town = float((frame["setting"] == "town").mean())
        shares[phase] = {"non_urban_share": round(non_urban, 4),
                         "town_share_of_non_urban": round(town / non_urban, 4) if non_urban else None,
                         "targets": {"non_urban_share": {"primary": 0.290, "secondary": 0.147}[phase],
                                     "town_share_of_non_urban": 0.4}}
    non_urban = schools["setting"] != "urban"
    pooled_town = float((schools["setting"] == "town").sum() / max(int(non_urban.sum()), 1))
    report["rurality"] = {"pooled_town_share_of_non_urban": round(pooled_town, 4), "radius_m": RURALITY_RADIUS_M, "urban_min_pupils": URBAN_MIN_PUPILS,
                          "town_min_pupils": TOWN_MIN_PUPILS, "by_phase": shares}
    return schools


def coastline(gb_polygons: list) -> object:
    """Coast = outer boundary of the union of Great Britain's districts (land borders are not coast)."""
    land = shapely.union_all(gb_polygons)
    # A morphological closing fills slivers between generalised districts and tidal river channels
    # narrower than 2 x COAST_CLOSING_M (the clipped boundaries cut the Thames into the City of
    # London, which would make 680 London schools "coastal"); wide estuaries (Mersey, Humber,
    # Severn, outer Thames) stay coast.
    land = land.buffer(COAST_CLOSING_M, quad_segs=4).buffer(-COAST_CLOSING_M, quad_segs=4)
    parts = list(getattr(land, "geoms", [land]))
    rings = [np.asarray(p.exterior.coords) for p in parts]
    starts = np.concatenate([r[:-1] for r in rings])
    ends = np.concatenate([r[1:] for r in rings])
    return shapely.linestrings(np.stack([starts, ends], axis=1))


def add_coastal(schools: pd.DataFrame, coast_segments, report: dict) -> pd.DataFrame:
    tree = shapely.STRtree(coast_segments)
    points = shapely.points(schools["easting_m"].to_numpy(float), schools["northing_m"].to_numpy(float))
    _idx, distance = tree.query_nearest(points, return_distance=True, all_matches=False)
    schools["coastal_km"] = np.round(distance / 1000.0, 2)
    schools["coastal"] = schools["coastal_km"] <= COASTAL_KM
    report["coastal"] = {"threshold_km": COASTAL_KM, "channel_closing_m": COAST_CLOSING_M,
                         "coastal_by_region": {k: int(v) for k, v in
                                               schools.groupby("region")["coastal"].sum().sort_index().items()}, "coastal_schools": int(schools["coastal"].sum())}
    return schools


def boundaries(raw_districts: list[dict], raw_regions: list[dict], schools: pd.DataFrame,
               report: dict) -> dict[str, list[dict]]:
    """Districts, local authorities (dissolved by modal la_name) and regions, simplified, in BNG metres."""
    transformer = _to_bng()
    england = sorted((f for f in raw_districts if f["properties"]["lad17cd"].startswith("E")),
                     key=lambda f: f["properties"]["lad17cd"])
    codes = [f["properties"]["lad17cd"] for f in england]
    names = [f["properties"]["lad17nm"] for f in england]
    full = [_geometry_bng(f, transformer) for f in england]
    simplified = list(shapely.coverage_simplify(np.array(full, dtype=object), SIMPLIFY_TOLERANCE_M))

    region_polys = [(f["properties"]["rgn15cd"], f["properties"]["rgn15nm"], _geometry_bng(f, transformer))
                    for f in sorted(raw_regions, key=lambda f: f["properties"]["rgn15cd"])]
    region_tree = shapely.STRtree([g for _c, _n, g in region_polys])
    district_region = []
    for geom in full:
        point = geom.representative_point()
        hits = sorted(region_tree.query(point, predicate="within").tolist())
        i = hits[0] if hits else int(region_tree.query_nearest(point, all_matches=False)[0])
        district_region.append(region_polys[i][1].replace("Yorkshire and the Humber",
                                                          "Yorkshire and The Humber"))
    region_code = {n.replace("Yorkshire and the Humber", "Yorkshire and The Humber"): c
                   for c, n, _g in region_polys}

    by_district = schools.groupby("district_code")
    la_of_district, no_school, split = {}, [], []
    la_code_of = schools.drop_duplicates("la_name").set_index("la_name")["la_code"]
    for code, name in zip(codes, names):
        if code not in by_district.groups:
            no_school.append(f"{code} {name}")
            continue
        counts = by_district.get_group(code)["la_name"].value_counts()
        counts = counts[counts == counts.max()].sort_index()
        la_of_district[code] = counts.index[0]
        frame = by_district.get_group(code)
        others = frame[frame["la_name"] != counts.index[0]]
        if len(others):
            split.append({"district": f"{code} {name}", "modal_la": counts.index[0],
                          "schools": len(frame), "schools_of_other_las": len(others),
                          "other_las": sorted(set(others["la_name"]))})
    # A district with no school joins the LA of the district it shares the longest border with.
    for entry in no_school:
        code = entry.split(" ")[0]
        i = codes.index(code)
        best = max((shapely.length(shapely.intersection(full[i].boundary, full[j].boundary)), codes[j])
                   for j in range(len(codes)) if j != i and codes[j] in la_of_district)
        la_of_district[code] = la_of_district[best[1]]
    school_regions = schools.groupby("district_code")["region"].agg(lambda s: s.mode().sort_values().iloc[0])
    region_mismatch = [f"{c} {n}: boundary {r}, schools {school_regions[c]}"
                       for c, n, r in zip(codes, names, district_region)
                       if c in school_regions.index and school_regions[c] != r]
    las_without_district = sorted(set(schools["la_name"]) - set(la_of_district.values()))
    report["boundaries"] = {
        "districts": len(codes), "districts_without_school": no_school,
        "districts_with_schools_of_other_las": len(split), "split_district_details": split,
        "local_authorities": len(set(la_of_district.values())),
        "las_not_modal_in_any_district": las_without_district,
        "district_region_differs_from_schools_region": region_mismatch,
        "simplify_tolerance_m": SIMPLIFY_TOLERANCE_M,
    }

    def dissolve(keys: list[str]) -> list[tuple[str, object]]:
        groups: dict[str, list] = {}
        for key, geom in zip(keys, simplified):
            groups.setdefault(key, []).append(geom)
        return [(key, shapely.union_all(groups[key])) for key in sorted(groups)]

    layers = {
        "districts": [(c, n, g) for c, n, g in zip(codes, names, simplified)],
        "local_authorities": sorted(((str(la_code_of[la]), la, g) for la, g in
                                     dissolve([la_of_district[c] for c in codes])), key=lambda t: t[0]),
        "regions": sorted(((region_code[r], r, g) for r, g in dissolve(district_region)),
                          key=lambda t: t[0]),
    }
    report["boundaries"]["regions"] = len(layers["regions"])
    return layers


def _rounded_geojson(layer: list[tuple[str, str, object]]) -> str:
    features = []
    for code, name, geom in layer:
        geom = shapely.set_precision(geom, 1.0)  # whole metres
        geom = mapping(geom)
        features.append({"type": "Feature", "properties": {"code": code, "name": name},
                         "geometry": _int_coords(geom)})
    collection = {"type": "FeatureCollection",
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
                  "features": features}
    return json.dumps(collection, separators=(",", ":"), ensure_ascii=False) + "\n"


def _int_coords(geom: dict) -> dict:
    def conv(c):
        if isinstance(c[0], (int, float)):
            return [int(round(c[0])), int(round(c[1]))]
        return [conv(x) for x in c]
    if geom["type"] == "GeometryCollection":
        polys = [g for g in geom["geometries"] if g["type"] in ("Polygon", "MultiPolygon")]
        coords = []
        for g in polys:
            coords += [g["coordinates"]] if g["type"] == "Polygon" else list(g["coordinates"])
        return {"type": "MultiPolygon", "coordinates": conv(coords)}
    return {"type": geom["type"], "coordinates": conv(geom["coordinates"])}


# --------------------------------------------------------------------------------------------------

SCHOOL_COLUMNS = [
    "urn", "name", "phase", "gias_phase", "la_name", "la_code", "district_code", "district_name",
    "region", "easting_m", "northing_m", "xy_source", "lon", "lat", "pupils", "pupils_source", "fsm_share",
    "fsm_ever6_share", "fsm_imputed", "fsm_ever6_imputed", "governance", "governance_imputed",
    "academy", "grade", "grade_source", "grade_date", "grade_date_imputed", "grade_date_source",
    "last_section5_date",
    "last_section5_grade", "section5_inspections", "teaching_school", "alliance", "pupils_within_3km", "nearest_school_km",
    "setting", "coastal_km", "coastal",
]


def _join(counts: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def readme_text(r: dict) -> str:
    """data/england_2018/README.md: files, columns with vintages, imputation rules, licence, report."""
    rur = r["rurality"]["by_phase"]
    split = r["boundaries"]["split_district_details"]
    not_in_spine = ", ".join(map(str, r["spine"]["schools_not_in_spine"])) or "none"
    return f'''# Real England, March 2018 (vendored)

Built by `scripts/build_england_data.py` from the raw files in `../shared/data/england_2018/`
(that folder's README says where each file comes from). Rebuild with

```sh
python scripts/build_england_data.py --source ../shared/data/england_2018 --out data/england_2018
```

The build is deterministic: the same raw files give byte-identical outputs, this README included
(checked by `tests/test_england_data.py` when `../shared` is present). The project runs from these
files alone.

## Licence

> Contains public sector information licensed under the Open Government Licence v3.0.
> Boundaries: Source: Office for National Statistics licensed under the Open Government Licence
> v3.0. Contains OS data © Crown copyright and database right 2015, 2017.

## Files

| file | what |
|---|---|
| `schools.csv` | one row per open state-funded mainstream school in England on 12 March 2018 ({r['schools']['rows']:,} rows), sorted by `urn` |
| `inspections.csv.gz` | every section 5 inspection in the history, 2005-09 to 2018-03 ({r['inspections']['rows_kept']:,} rows): `urn, inspection_date (YYYY-MM-DD), grade (1-4), grade_label` (the original wording; "Satisfactory", used until August 2012, is grade 3 and keeps its label). Sorted by urn and date; the {r['inspections']['exact_duplicate_rows_kept']} exact duplicate rows of the raw file are kept |
| `regions.geojson` | the {r['boundaries']['regions']} English regions (`code` = ONS rgn15cd, `name`), dissolved from the simplified districts |
| `districts.geojson` | England's {r['boundaries']['districts']} local authority districts, December 2017 (`code` = lad17cd, `name` = lad17nm) |
| `local_authorities.geojson` | the {r['boundaries']['local_authorities']} education authorities (`code` = DfE LA number, `name` = GIAS `la_name`), dissolved from districts |
| `build_report.json` | rows read, kept, dropped by reason and imputed by column (the script prints it) |
| `inspection_transitions.csv`, `inspection_transitions_region.csv`, `inspection_intervals.csv`, `inspection_region_test.csv` | calibration targets estimated from `inspections.csv.gz` and `schools.csv` by `scripts/estimate_inspection_transitions.py`: next grade given the previous one by regime (2005-2012, 2012-2015, 2015-), phase and FSM band, and by region; terms between inspections with Kaplan-Meier censoring; whether region adds to phase and FSM band. Academy conversion gives a school a new URN, so no transition across a conversion is recorded and predecessors' histories are missing: see [INSPECTION_TABLES.md](INSPECTION_TABLES.md) for this and the other biases |

Boundaries are in British National Grid metres (EPSG:27700), whole metres, from the ONS
ultra-generalised (clipped) district boundaries converted from WGS84 with pyproj and simplified
together (`shapely.coverage_simplify`, tolerance {r['boundaries']['simplify_tolerance_m']:.0f} m, so neighbours keep shared
edges). They are for drawing: the school columns below were computed on the unsimplified districts.

## `schools.csv` columns and vintages

Vintages: GIAS extract of 2018-03-12 (`gias_2018`), school spine 2017-18, school census January 2019
(`census_2019`), section 5 inspections to {r['inspections']['last_date']} (history file published after 2018-03-12),
teaching schools list of 2018-03-12, ONS districts December 2017, regions December 2015.

| column | vintage / source | meaning and rule |
|---|---|---|
| `urn` | GIAS 2018 | unique reference number (join key of every file) |
| `name` | spine 2017-18 | school name; empty for the {len(r['spine']['schools_not_in_spine'])} schools not in the spine (URNs {not_in_spine}) |
| `phase` | GIAS 2018 | `primary` or `secondary`: Primary and Middle deemed primary -> primary; Secondary, Middle deemed secondary and All through -> secondary. Middle schools follow the DfE's own "deemed" classification; all-through schools are counted with secondaries as the DfE does (147 of the 150 found in the January 2019 census are "State-funded secondary") and have a secondary school's size and headship |
| `gias_phase` | GIAS 2018 | the original phase wording |
| `la_name`, `la_code` | GIAS 2018 | education authority and its DfE number (first 3 digits of `laestab`) |
| `district_code`, `district_name` | ONS Dec 2017 | the district containing the school (point in polygon); the {r['districts']['schools_outside_every_district_assigned_nearest']} schools outside every generalised polygon (on the coast) take the nearest district |
| `region` | GIAS 2018 | one of the nine regions; GIAS "Yorkshire and the Humber" is spelt "Yorkshire and The Humber" as in the model |
| `easting_m`, `northing_m`, `xy_source` | GIAS 2018 | British National Grid (EPSG:27700) metres. A school more than {r['coordinates']['misplaced_threshold_km']:.0f} km outside every district of its own authority has wrong GIAS coordinates: when swapping easting and northing puts it inside its authority they are swapped (`gias_2018_swapped`: URNs {', '.join(map(str, r['coordinates']['swapped'])) or 'none'}), else it takes the median position of its authority's other schools (`la_median`: URNs {', '.join(map(str, r['coordinates']['la_median'])) or 'none'}). {r['coordinates']['outside_own_authority_1_to_10_km_left_alone']} schools 1-10 km outside their authority (border schools, schools housed temporarily next door) are left as they are |
| `lon`, `lat` | derived | WGS84 from the BNG coordinates with pyproj (5 decimals) |
| `pupils`, `pupils_source` | census 2019, GIAS 2018 | number on roll: census `NOR` (January 2019) if present and > 0 (`census_2019`), else GIAS `num_pupils` (`gias_2018`), else the median of the school's LA x phase (`imputed`) |
| `fsm_share`, `fsm_imputed` | census 2019 | `NUMFSM / NOR`, the share eligible for free school meals in January 2019; when the school is not in the census (or NOR or NUMFSM is missing) the median of its LA x phase, flagged `fsm_imputed` |
| `fsm_ever6_share`, `fsm_ever6_imputed` | census 2019 | `PNUMFSMEVER / 100` (Ever-6 share), same imputation rule and flag |
| `governance`, `governance_imputed`, `academy` | spine 2017-18 | from `NFTYPE`: community, voluntary aided, voluntary controlled, foundation -> `maintained`; "Academy - Converter mainstream" -> `academy_converter`; "Academy sponsor led mainstream" -> `academy_sponsor_led`; "Free school - Mainstream" -> `free_school`; university technical colleges and studio schools -> `other_academy`. Schools not in the spine take their type in the teaching-schools list if they are there, else `maintained` (the GIAS extract holds no type), flagged `governance_imputed`. `academy` = governance is not `maintained` |
| `grade`, `grade_source` | GIAS 2018, inspections | 1 outstanding, 2 good, 3 requires improvement, 4 inadequate (GIAS "Special Measures" and "Serious Weaknesses"), from GIAS `ofsted_rating` (`gias_2018`). Schools with no GIAS rating but a section 5 inspection in the history ({r['grades']['grade_from_history_not_yet_in_gias']}: inspected September 2017 - March 2018, report not yet in GIAS on 12 March) take that grade (`history`). Empty (`none`) when never graded ({r['grades']['never_graded']} schools): never imputed |
| `grade_date`, `grade_date_imputed`, `grade_date_source` | GIAS 2018, inspections | GIAS `last_ofsted_date` (`gias_2018`), else the latest section 5 inspection in the history (`history`, flagged `grade_date_imputed`); empty (`none`) when neither exists: never graded, or {r['grades']['graded_without_any_date']} graded schools, recently converted academies showing their predecessor's grade, whose date is not in these files (sim/england.py draws their time since inspection). GIAS dates are usually one day after the history's (last against first day of the inspection); for {r['grades']['gias_date_after_latest_section5_by_over_30_days']:,} schools (almost all good) the GIAS date is more than 30 days later: a short (section 8) inspection that confirmed the grade |
| `last_section5_date`, `last_section5_grade`, `section5_inspections` | inspections | date and grade of the latest section 5 inspection under this URN (empty if none) and how many there are. For {r['grades']['section5_over_30_days_after_gias_date']} schools with a GIAS grade the latest section 5 inspection is more than 30 days after the GIAS date (almost all October 2017 - March 2018: inspected, report not yet in GIAS on 12 March), and for {r['grades']['section5_over_30_days_after_gias_date_with_other_grade']} of them its grade differs from GIAS's: `grade` keeps the GIAS grade (the published state on 12 March), `last_section5_grade` has the newer one |
| `teaching_school`, `alliance` | teaching schools 2018 | designated teaching school on 2018-03-12 (by URN) and the name of its alliance |
| `pupils_within_3km` | derived | pupils on roll of all the state-funded mainstream schools within 3 km, the school included: a local density of pupils (the files have no urban/rural flag; the DfE's sparsity measure also works from distances between schools) |
| `nearest_school_km` | derived | distance to the nearest other school in this file |
| `setting` | derived | `urban` if `pupils_within_3km` >= {r['rurality']['urban_min_pupils']:,}, `town` if >= {r['rurality']['town_min_pupils']:,}, else `rural` (below) |
| `coastal_km`, `coastal` | derived | distance to the coast and `coastal_km <= 5.5` (Plymouth University definition); an approximation (below) |

### Rurality thresholds

The radius and thresholds were chosen so that the shares of schools outside `urban` come close to
the published rural shares the synthetic world uses (sim/world.py `RURAL_SHARE`: primary 0.290,
secondary 0.147, PQ 272250, DfE rural classification) and `town` is about 0.4 of them
(`TOWN_SHARE_OF_RURAL`, itself an approximation). Radii of 2-8 km were tried with the school
included and excluded; 3 km with the school included fits both phases with one pair of thresholds.
Achieved:

| | non-urban share (target) | town share of non-urban (target) |
|---|---|---|
| primary | {rur['primary']['non_urban_share']:.3f} (0.290) | {rur['primary']['town_share_of_non_urban']:.3f} (0.4) |
| secondary | {rur['secondary']['non_urban_share']:.3f} (0.147) | {rur['secondary']['town_share_of_non_urban']:.3f} (0.4) |
| both phases | | {r['rurality']['pooled_town_share_of_non_urban']:.3f} (0.4) |

A secondary school's own roll (about 1,000 pupils) puts almost every non-urban secondary above the
town threshold, so non-urban secondaries are "town" far more often than non-urban primaries.

### Coast

The coastline is the outer boundary of the union of Great Britain's districts (England, Wales and
Scotland, so land borders are not coast) after a morphological closing of {r['coastal']['channel_closing_m']:.0f} m, which
fills slivers between districts and tidal river channels narrower than about 1 km: the clipped
boundaries cut the Thames into the City of London, and without the closing about 680 London schools
would be "coastal". Wide estuaries (Mersey, Humber, Severn, outer Thames) remain coast. The
boundaries are ultra-generalised (features under a few hundred metres are lost), so `coastal_km` is
an approximation to within about 0.5 km and `coastal` is uncertain near 5.5 km.
Coastal schools: {r['coastal']['coastal_schools']:,} ({_join(r['coastal']['coastal_by_region'])}).

## Local authorities from districts

Each district joins the education authority that most of its schools belong to (`la_name`, ties
broken by name); a district with no school joins the neighbour it shares the longest border with
({len(r['boundaries']['districts_without_school'])} such districts). Authorities that are the modal authority of no district (so have no
polygon): {len(r['boundaries']['las_not_modal_in_any_district'])}. {len(split)} districts hold {sum(d['schools_of_other_las'] for d in split)} schools of another authority in
all: schools near a border that the generalised boundary puts on the other side (listed in
`build_report.json`, `split_district_details`). Counts by authority use `la_name`, never the map.
Districts whose region (the ONS region polygon containing them) differs from their schools' GIAS
region: {len(r['boundaries']['district_region_differs_from_schools_region'])}.

## Build report (summary)

- GIAS rows read {r['gias']['rows_read']:,}; kept {r['gias']['kept']:,}; dropped: {_join(r['gias']['dropped'])}.
- Kept by GIAS phase: {_join(r['gias']['kept_by_gias_phase'])}; model phases: {_join(r['schools']['by_phase'])}.
- Census: {r['census']['rows_read']:,} rows read, {r['census']['national_total_rows_dropped']} national-total rows dropped, {r['census']['schools_matched']:,} schools matched ({r['census']['schools_matched_without_nor']} without a roll).
- Imputed: {_join(r['imputed'])}.
- Governance: {_join(r['schools']['by_governance'])}.
- Grades: {r['grades']['graded_in_gias']:,} from GIAS, {r['grades']['grade_from_history_not_yet_in_gias']} from the history, {r['grades']['never_graded']} never graded; {r['grades']['schools_with_history']:,} schools have at least one section 5 inspection under their URN.
- Teaching schools: {r['teaching_schools']['rows_read']} rows read, {r['teaching_schools']['matched_mainstream_schools']} are schools in this file.
- Settings: {_join(r['schools']['by_setting'])}.
- Inspections: {r['inspections']['rows_read']:,} read, {r['inspections']['rows_kept']:,} kept, {r['inspections']['first_date']} to {r['inspections']['last_date']}.
'''


def build(source: Path, out: Path) -> dict:
    """Build every output file from the raw files; returns the build report."""
    raw = read_raw(source)
    report: dict = {"source_files": dict(RAW)}
    schools = select_schools(raw["gias"], report)
    schools = add_names_and_governance(schools, raw["spine"], raw["teaching"], report)
    schools = add_census(schools, raw["census"], report)
    inspections = inspections_table(raw["inspections"], report)
    schools = add_grades(schools, inspections, report)
    schools = add_teaching_schools(schools, raw["teaching"], report)
    transformer = _to_bng()
    england = sorted((f for f in raw["districts"] if f["properties"]["lad17cd"].startswith("E")),
                     key=lambda f: f["properties"]["lad17cd"])
    district_geoms = [(f["properties"]["lad17cd"], f["properties"]["lad17nm"], _geometry_bng(f, transformer))
                      for f in england]
    schools = add_districts(schools, district_geoms, report)
    schools = fix_misplaced(schools, district_geoms, report)
    schools = add_districts(schools, district_geoms, report)
    schools = add_lonlat(schools)
    schools = add_rurality(schools, report)
    gb = [_geometry_bng(f, transformer) for f in raw["districts"]
          if f["properties"]["lad17cd"][:1] in ("E", "W", "S")]
    schools = add_coastal(schools, coastline(gb), report)
    layers = boundaries(raw["districts"], raw["regions"], schools, report)

    schools = schools[SCHOOL_COLUMNS]
    report["schools"] = {
        "rows": len(schools),
        "by_phase": {k: int(v) for k, v in schools["phase"].value_counts().sort_index().items()},
        "by_region": {k: int(v) for k, v in schools["region"].value_counts().sort_index().items()},
        "local_authorities": int(schools["la_name"].nunique()),
        "by_governance": {k: int(v) for k, v in schools["governance"].value_counts().sort_index().items()},
        "by_setting": {k: int(v) for k, v in schools["setting"].value_counts().sort_index().items()},
        "by_pupils_source": {k: int(v) for k, v in schools["pupils_source"].value_counts().sort_index().items()},
        "by_grade_source": {k: int(v) for k, v in schools["grade_source"].value_counts().sort_index().items()},
    }
    report["imputed"]["governance"] = int(schools["governance_imputed"].sum())

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "schools.csv").write_text(schools.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write(inspections.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    (out / "inspections.csv.gz").write_bytes(buffer.getvalue())
    for name, layer in layers.items():
        (out / f"{name}.geojson").write_text(_rounded_geojson(layer), encoding="utf-8")
    (out / "build_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    (out / "README.md").write_text(readme_text(report), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder of the raw files (default: ../shared/data/england_2018)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: data/england_2018)")
    args = parser.parse_args(argv)
    try:
        report = build(args.source, args.out)
    except RawDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
