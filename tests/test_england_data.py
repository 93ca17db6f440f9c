"""The vendored real-England data (data/england_2018/) and the script that builds it."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "england_2018"
FIXTURE_RAW = REPO / "tests" / "fixtures" / "england_2018_raw"
# The real raw files: ../shared next to the repository, or ENGLAND_2018_RAW for a worktree elsewhere.
RAW = Path(os.environ.get("ENGLAND_2018_RAW", REPO.parent / "shared" / "data" / "england_2018"))
REGIONS = {"North East", "North West", "Yorkshire and The Humber", "East Midlands", "West Midlands",
           "East of England", "London", "South East", "South West"}
OUTPUTS = ("schools.csv", "inspections.csv.gz", "regions.geojson", "districts.geojson",
           "local_authorities.geojson", "build_report.json", "README.md")


def _build_module():
    spec = importlib.util.spec_from_file_location("build_england_data",
                                                  REPO / "scripts" / "build_england_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def schools() -> pd.DataFrame:
    return pd.read_csv(DATA / "schools.csv", dtype={"grade": "Int64", "alliance": str},
                       keep_default_na=False, na_values={"grade": [""]})


# --------------------------------------------------------------------------------------------------
# Vendored files: schema and integrity


def test_schools_schema_and_counts(schools):
    required = ["urn", "name", "phase", "gias_phase", "la_name", "district_code", "district_name",
                "region", "easting_m", "northing_m", "lon", "lat", "pupils", "pupils_source",
                "fsm_share", "fsm_ever6_share", "fsm_imputed", "governance", "governance_imputed",
                "academy", "grade", "grade_date", "grade_date_imputed", "teaching_school", "alliance",
                "pupils_within_3km", "setting", "coastal_km", "coastal"]
    assert set(required) <= set(schools.columns)
    assert len(schools) == 20_153
    assert schools["urn"].is_unique and schools["urn"].is_monotonic_increasing
    # Phase counts as the raw README gives them: 16,758 primary, 3,112 secondary, 158 all through,
    # 125 middle (15 deemed primary, 110 deemed secondary).
    assert schools["gias_phase"].value_counts().to_dict() == {
        "Primary": 16_758, "Secondary": 3_112, "All through": 158,
        "Middle deemed secondary": 110, "Middle deemed primary": 15}
    assert schools["phase"].value_counts().to_dict() == {"primary": 16_758 + 15,
                                                         "secondary": 3_112 + 110 + 158}
    assert set(schools["region"]) == REGIONS
    assert schools["la_name"].nunique() == 152
    assert schools["district_code"].str.match(r"^E0[6-9]\d{6}$").all()


def test_schools_values_in_range(schools):
    # England's bounding box in BNG metres (Isles of Scilly to Berwick, Land's End to Lowestoft).
    assert schools["easting_m"].between(80_000, 660_000).all()
    assert schools["northing_m"].between(5_000, 660_000).all()
    assert schools["lon"].between(-6.5, 1.8).all() and schools["lat"].between(49.8, 55.9).all()
    for col in ("fsm_share", "fsm_ever6_share"):
        assert schools[col].between(0, 1).all()
    assert (schools["pupils"] > 0).all()
    assert set(schools["pupils_source"]) == {"census_2019", "gias_2018", "imputed"}
    assert schools["grade"].dropna().isin([1, 2, 3, 4]).all()
    assert schools["grade"].isna().sum() == (schools["grade_source"] == "none").sum() > 0
    dated = schools["grade_date"] != ""
    assert pd.to_datetime(schools.loc[dated, "grade_date"], format="%Y-%m-%d").max() <= pd.Timestamp("2018-03-12")
    assert not (dated & schools["grade"].isna()).any()
    assert set(schools["governance"]) == {"maintained", "academy_converter", "academy_sponsor_led",
                                          "free_school", "other_academy"}
    assert (schools["academy"] == (schools["governance"] != "maintained")).all()
    assert set(schools["setting"]) == {"urban", "town", "rural"}
    assert (schools["coastal"] == (schools["coastal_km"] <= 5.5)).all()
    assert (schools["alliance"] != "").equals(schools["teaching_school"])
    # Birmingham is about as far from the sea as England gets.
    assert schools.loc[schools["la_name"] == "Birmingham", "coastal_km"].min() > 90


def test_rural_shares_close_to_published(schools):
    non_urban = (schools["setting"] != "urban").groupby(schools["phase"]).mean()
    assert non_urban["primary"] == pytest.approx(0.290, abs=0.02)
    assert non_urban["secondary"] == pytest.approx(0.147, abs=0.02)
    rural_any = schools["setting"] != "urban"
    assert (schools.loc[rural_any, "setting"] == "town").mean() == pytest.approx(0.4, abs=0.05)


def test_inspections_file():
    inspections = pd.read_csv(DATA / "inspections.csv.gz")
    assert list(inspections.columns) == ["urn", "inspection_date", "grade", "grade_label"]
    assert len(inspections) == 54_461
    assert inspections["grade"].isin([1, 2, 3, 4]).all()
    assert (inspections.loc[inspections["grade_label"] == "Satisfactory", "grade"] == 3).all()
    assert set(inspections["grade_label"]) == {"Outstanding", "Good", "Satisfactory",
                                               "Requires Improvement", "Inadequate"}
    dates = pd.to_datetime(inspections["inspection_date"], format="%Y-%m-%d")
    assert dates.min() >= pd.Timestamp("2005-09-01") and dates.max() <= pd.Timestamp("2018-03-12")


def test_boundaries_files():
    expected = {"regions.geojson": 9, "districts.geojson": 326, "local_authorities.geojson": 152}
    total_bytes = 0
    for name, count in expected.items():
        collection = json.loads((DATA / name).read_text())
        features = collection["features"]
        assert len(features) == count, name
        assert all(set(f["properties"]) == {"code", "name"} for f in features)
        xs = [pt[0] for f in features for pt in _points(f["geometry"])]
        assert 80_000 < min(xs) and max(xs) < 660_000, name  # BNG metres, not degrees
        total_bytes += (DATA / name).stat().st_size
    assert total_bytes < 2_000_000
    regions = {f["properties"]["name"] for f in json.loads((DATA / "regions.geojson").read_text())["features"]}
    assert regions == REGIONS


def _points(geometry):
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else \
        [ring for polygon in geometry["coordinates"] for ring in polygon]
    return [pt for ring in rings for pt in ring]


def test_readme_carries_licence_attribution():
    text = (DATA / "README.md").read_text()
    assert "Open Government Licence v3.0" in text
    assert "Contains OS data © Crown copyright and database right 2015, 2017." in text
    assert "Open Government Licence v3.0" in (REPO / "README.md").read_text()


def test_rutland_hand_checked(schools):
    """Rutland counted by hand from the raw GIAS CSV (not through the build script).

    Counted with ``awk -F, '$5=="Rutland"{print $4"|"$7}' gias_20180312_open_establishments.csv |
    sort | uniq -c``: 30 GIAS rows for Rutland, of which Primary 17 (Good 12, Outstanding 3, no
    rating 2) and Secondary 3 (Good 2, Outstanding 1); the others are 9 "Not applicable" and one
    "16 plus". Neither unrated primary has a row in the inspection history (grep by URN). NFTYPE in
    the spine for those 20 URNs (csv module): 13 academy converters, 2 sponsor-led, 4 voluntary
    controlled, 1 voluntary aided. January 2019 NOR summed over the 20 URNs: 5,448. The teaching
    schools list has two Rutland rows (Catmose College 136530, Whissendine CE Primary 141454), both
    of "The Rutland Teaching Alliance".
    """
    rutland = schools[schools["la_name"] == "Rutland"]
    assert len(rutland) == 20
    assert rutland["phase"].value_counts().to_dict() == {"primary": 17, "secondary": 3}
    primary = rutland[rutland["phase"] == "primary"]["grade"].value_counts(dropna=False)
    assert primary.to_dict() == {2: 12, 1: 3, pd.NA: 2}
    secondary = rutland[rutland["phase"] == "secondary"]["grade"].value_counts()
    assert secondary.to_dict() == {2: 2, 1: 1}
    assert rutland["governance"].value_counts().to_dict() == {
        "academy_converter": 13, "maintained": 5, "academy_sponsor_led": 2}
    assert rutland["pupils"].sum() == 5_448
    assert (rutland["pupils_source"] == "census_2019").all()
    assert sorted(rutland.loc[rutland["teaching_school"], "urn"]) == [136530, 141454]
    assert set(rutland.loc[rutland["teaching_school"], "alliance"]) == {"The Rutland Teaching Alliance"}
    assert set(rutland["region"]) == {"East Midlands"}
    assert set(rutland["district_name"]) == {"Rutland"}


# --------------------------------------------------------------------------------------------------
# The build script on fabricated raw files (tests/fixtures/england_2018_raw/; make_fixtures.py
# writes the boundary files). What each GIAS row is there for:
#   101 primary, census + spine + history + teaching school (alliance name has a trailing space)
#   102 primary, not in the census: pupils from GIAS, FSM imputed from Alpha x primary (= 101)
#   103 secondary, census NOR "NA" and no GIAS pupils: pupils imputed (no Alpha secondary: phase
#       median of 900, 500, 1000 = 900); Special Measures = grade 4; in district B though LA Alpha
#   104 middle deemed primary, no GIAS rating but a 2018 history inspection: grade from history
#   105 all through (-> secondary), never graded: grade empty
#   106 middle deemed secondary (-> secondary), GIAS rating without a date: date from history;
#       "Yorkshire and the Humber" respelt
#   107 nursery, 108 "Not applicable", 109 primary in "Wales (pseudo)": dropped
#   110 not in the spine nor the teaching list: governance defaulted to maintained (imputed)
#   111 not in the spine, in the teaching list as "Academy converter": governance from there
#   112 east of every district (at sea): nearest district C, on the coast
# District D has no school; the Welsh district borders A and C (a land border, not coast).


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("england_fixture")
    report = _build_module().build(FIXTURE_RAW, out)
    frame = pd.read_csv(out / "schools.csv", dtype={"grade": "Int64"}, keep_default_na=False,
                        na_values={"grade": [""]}).set_index("urn")
    return out, report, frame


def test_build_counts_drops(fixture_build):
    _out, report, frame = fixture_build
    assert report["gias"]["rows_read"] == 12
    assert report["gias"]["dropped"]["phase 'Nursery'"] == 1
    assert report["gias"]["dropped"]["phase 'Not applicable'"] == 1
    assert report["gias"]["dropped"]["mainstream phase but region 'Wales (pseudo)'"] == 1
    assert report["gias"]["kept"] == len(frame) == 9
    assert sorted(frame.index) == [101, 102, 103, 104, 105, 106, 110, 111, 112]
    assert report["census"]["national_total_rows_dropped"] == 1
    assert report["inspections"]["rows_kept"] == 9  # URN 999 (not open) and its duplicate kept


def test_build_counts_imputations(fixture_build):
    _out, report, frame = fixture_build
    assert report["imputed"] == {
        "pupils_from_gias_2018": 1, "pupils_la_phase_median": 1,
        "fsm_share_la_phase_median": 2, "fsm_ever6_share_la_phase_median": 2,
        "grade_from_history": 1, "grade_date_from_history": 2, "governance": 2}
    assert frame.loc[102, "pupils_source"] == "gias_2018" and frame.loc[102, "pupils"] == 300
    assert frame.loc[103, "pupils_source"] == "imputed" and frame.loc[103, "pupils"] == 900
    assert frame.loc[102, "fsm_imputed"] and frame.loc[102, "fsm_share"] == pytest.approx(0.1)
    assert not frame.loc[101, "fsm_imputed"] and frame.loc[101, "fsm_share"] == pytest.approx(0.1)
    assert frame.loc[104, "fsm_share"] == pytest.approx(0.2)
    assert frame.loc[104, "grade"] == 2 and frame.loc[104, "grade_source"] == "history"
    assert frame.loc[104, "grade_date"] == "2018-01-15" and frame.loc[104, "grade_date_imputed"]
    assert pd.isna(frame.loc[105, "grade"]) and frame.loc[105, "grade_date"] == ""
    assert frame.loc[106, "grade_date"] == "2014-04-01" and frame.loc[106, "grade_date_imputed"]
    assert frame.loc[103, "grade"] == 4 and frame.loc[111, "grade"] == 4
    assert frame.loc[110, "governance"] == "maintained" and frame.loc[110, "governance_imputed"]
    assert frame.loc[111, "governance"] == "academy_converter" and frame.loc[111, "governance_imputed"]
    assert frame.loc[105, "governance"] == "other_academy" and not frame.loc[105, "governance_imputed"]
    assert frame.loc[101, "alliance"] == "Alpha Alliance" and frame.loc[101, "teaching_school"]


def test_build_phases_regions_and_geography(fixture_build):
    out, report, frame = fixture_build
    assert frame["phase"].to_dict() == {101: "primary", 102: "primary", 103: "secondary",
                                        104: "primary", 105: "secondary", 106: "secondary",
                                        110: "primary", 111: "secondary", 112: "primary"}
    assert frame.loc[106, "region"] == "Yorkshire and The Humber"
    assert frame.loc[103, "district_name"] == "District B"
    assert frame.loc[112, "district_name"] == "District C"
    assert report["districts"]["schools_outside_every_district_assigned_nearest"] == 1
    # 101 sits 5 km from the Welsh border and 15 km from the northern edge: the border is not coast.
    assert frame.loc[101, "coastal_km"] == pytest.approx(15.0, abs=0.2)
    assert not frame.loc[101, "coastal"]
    assert frame.loc[112, "coastal"]
    assert report["boundaries"]["districts_without_school"] == ["E06000904 District D"]
    las = json.loads((out / "local_authorities.geojson").read_text())["features"]
    assert [(f["properties"]["code"], f["properties"]["name"]) for f in las] == [
        ("901", "Alpha"), ("902", "Beta"), ("903", "Gamma")]
    assert report["boundaries"]["split_district_details"][0]["other_las"] == ["Alpha"]
    regions = json.loads((out / "regions.geojson").read_text())["features"]
    assert [f["properties"]["name"] for f in regions] == ["North East", "Yorkshire and The Humber"]


def test_build_is_deterministic(fixture_build, tmp_path):
    out, _report, _frame = fixture_build
    _build_module().build(FIXTURE_RAW, tmp_path)
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    with gzip.open(out / "inspections.csv.gz", "rt") as fh:
        assert fh.readline().strip() == "urn,inspection_date,grade,grade_label"


def test_missing_raw_file_is_one_line_naming_it(tmp_path, capsys):
    module = _build_module()
    for path in FIXTURE_RAW.glob("*.csv"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    assert module.main(["--source", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "lad_dec2017_ugc_uk.geojson" in err
    assert not out.exists()  # nothing written before the inputs were checked


def test_malformed_raw_csv_is_one_line_naming_it(tmp_path, capsys):
    module = _build_module()
    for path in FIXTURE_RAW.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "england_spine_2017-18_keycols.csv").write_text("URN,SCHNAME\n1,x\n")
    assert module.main(["--source", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "england_spine_2017-18_keycols.csv" in err and "NFTYPE" in err


# --------------------------------------------------------------------------------------------------
# Rebuild from the real raw files


@pytest.mark.skipif(not (RAW / "gias_20180312_open_establishments.csv").is_file(),
                    reason=f"raw files not found at {RAW} (set ENGLAND_2018_RAW or check out ../shared)")
def test_rebuild_from_raw_is_byte_identical(tmp_path):
    _build_module().build(RAW, tmp_path)
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
