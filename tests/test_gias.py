"""The GIAS loader: row selection, column mappings, imputations, errors, and runs on its world."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import ConfigError, SimConfig, WorldConfig, run
from sim.gias import load_gias, load_gias_with_report
from sim.world import PRIMARY, REGION_NAMES, RURAL, SECONDARY, TOWN, URBAN, build_world

FIXTURE = Path(__file__).parent / "fixtures" / "gias_small.csv"
# The fixture's one local authority without coordinates drops 1 of its 20 in-scope schools on
# purpose (5%, above the default 1% refusal threshold): allowed here, as a user would.
ALLOW = 0.05


@pytest.fixture(scope="module")
def loaded():
    return load_gias_with_report(FIXTURE, rng=np.random.default_rng(1), max_dropped_share=ALLOW)


@pytest.fixture(scope="module")
def by_urn(loaded):
    """One row per school of the loaded world, indexed by URN, for readable assertions."""
    w = loaded[0]
    return pd.DataFrame({
        "phase": w.phase, "pupils": w.pupils, "region": np.array(REGION_NAMES)[w.region],
        "la": np.array(w.la_names)[w.local_authority], "x": w.x_km, "y": w.y_km,
        "setting": w.setting, "coastal": w.coastal, "fsm": w.fsm_share, "academy": w.academy,
        "grade": w.grade, "since": w.terms_since_inspection}, index=w.school_id)


def _fixture_frame() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, encoding="cp1252", dtype=str, keep_default_na=False)


def _write(df: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "gias_bad.csv"
    df.to_csv(path, index=False, encoding="cp1252")
    return path


def test_fixture_is_cp1252_not_utf8():
    raw = FIXTURE.read_bytes()
    assert b"St Mary\x92s" in raw  # right single quote in cp1252
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_rows_kept_and_dropped_by_reason(loaded, by_urn):
    world, report = loaded
    assert world.name == "gias"
    assert report.rows_read == 28
    assert report.kept == world.n_schools == 19
    assert report.kept_by_phase == {"primary": 13, "secondary": 6}
    assert (world.phase == PRIMARY).sum() == 13 and (world.phase == SECONDARY).sum() == 6
    assert report.dropped == {"not_open": 2, "phase": 3, "outside_england": 2,
                              "not_state_mainstream": 1, "unknown_phase": 0, "no_coordinates": 1}
    assert 100001 in by_urn.index  # "St Mary’s": the non-ASCII name is read and kept
    assert 100007 in by_urn.index  # "Open, but proposed to close" is open
    for dropped in (100030, 100031, 100032, 100033, 100034, 100035, 100036, 100037, 100040):
        assert dropped not in by_urn.index
    assert world.school_id.dtype == np.int64


def test_phase_mapping(by_urn):
    assert by_urn.loc[100004, "phase"] == PRIMARY      # middle deemed primary
    assert by_urn.loc[100023, "phase"] == SECONDARY    # all-through
    assert by_urn.loc[100025, "phase"] == SECONDARY    # middle deemed secondary


def test_regions_and_local_authorities(loaded, by_urn):
    world, _ = loaded
    assert world.la_names == ("Camden", "Cornwall", "Cumbria", "Kent", "Leeds", "Newcastle upon Tyne")
    assert by_urn.loc[100001, ["region", "la"]].tolist() == ["London", "Camden"]
    assert by_urn.loc[100011, "region"] == "Yorkshire and The Humber"  # GIAS "the Humber"
    assert by_urn.groupby("la")["region"].nunique().eq(1).all()
    assert set(by_urn["region"]) == {"London", "North East", "North West", "South West",
                                     "Yorkshire and The Humber", "South East"}


def test_settings(by_urn):
    s = by_urn["setting"]
    assert s[100001] == URBAN and s[100004] == URBAN and s[100003] == URBAN
    assert s[100007] == TOWN and s[100022] == TOWN      # rural town and fringe (sparse too)
    assert s[100008] == RURAL and s[100006] == RURAL     # village (sparse too)
    assert s[100005] == RURAL and s[100024] == RURAL     # hamlet, sparse
    assert s[100012] == URBAN                            # missing -> urban


def test_grades_academy_and_coastal(by_urn):
    g = by_urn["grade"]
    assert (g[100002], g[100001], g[100003], g[100021], g[100023]) == (1, 2, 3, 3, 3)
    assert (g[100009], g[100011]) == (4, 4)              # inadequate, special measures
    assert g.between(1, 4).all()
    limits = np.array([15, 12, 6, 4])[g.to_numpy() - 1]
    assert ((by_urn["since"] >= 0) & (by_urn["since"] < limits)).all()
    academies = {100003, 100008, 100011, 100012, 100021, 100022, 100023}
    assert set(by_urn.index[by_urn["academy"]]) == academies
    assert not by_urn["coastal"].any()                   # no Coastal column: all inland


def test_coordinates_in_km_and_la_mean_for_missing(by_urn):
    assert by_urn.loc[100001, ["x", "y"]].tolist() == [529.0, 183.0]
    # Chapel Allerton has no coordinates: the mean of the other Leeds schools.
    assert by_urn.loc[100010, ["x", "y"]].tolist() == [432.0, 433.0]


def test_imputations(loaded, by_urn):
    _, report = loaded
    assert report.imputed == {"Easting/Northing": 1, "UrbanRural (name)": 1, "NumberOfPupils": 1,
                              "PercentageFSM": 3, "OfstedRating (name)": 2}
    assert by_urn.loc[100009, "pupils"] == 120             # median of primary town schools
    assert by_urn.loc[100002, "fsm"] == pytest.approx(0.253)  # SUPP: Camden primary median
    assert by_urn.loc[100004, "fsm"] == pytest.approx(0.41)   # blank: Newcastle primary median
    assert by_urn.loc[100024, "fsm"] == pytest.approx(0.28)   # no LA peer: secondary median
    assert by_urn.loc[100001, "fsm"] == pytest.approx(0.253)
    assert "19 kept" in report.summary()


def test_imputed_grades_follow_the_rng():
    a = load_gias(FIXTURE, rng=np.random.default_rng(5), max_dropped_share=ALLOW)
    b = load_gias(FIXTURE, rng=np.random.default_rng(5), max_dropped_share=ALLOW)
    assert np.array_equal(a.grade, b.grade)
    assert np.array_equal(a.terms_since_inspection, b.terms_since_inspection)


def test_optional_columns(tmp_path):
    df = _fixture_frame().drop(columns=["EstablishmentTypeGroup (name)"])
    df["Coastal"] = np.where(df["URN"].isin(["100008", "100024"]), "Yes", "")
    world, report = load_gias_with_report(_write(df, tmp_path), rng=np.random.default_rng(1), max_dropped_share=ALLOW)
    assert report.academy_source == "TypeOfEstablishment (name)"
    # Without the type group, independent/special schools fall to the phase filter only.
    assert 100036 in world.school_id
    academies = set(world.school_id[world.academy])
    assert {100003, 100008, 100011, 100012, 100021, 100022, 100023} == academies
    assert set(world.school_id[world.coastal]) == {100008, 100024}

    df = df.drop(columns=["TypeOfEstablishment (name)", "Coastal"])
    world, report = load_gias_with_report(_write(df, tmp_path), rng=np.random.default_rng(1), max_dropped_share=ALLOW)
    assert report.academy_source is None and not world.academy.any()


def test_missing_columns_listed(tmp_path):
    path = _write(_fixture_frame().drop(columns=["PercentageFSM", "Easting"]), tmp_path)
    with pytest.raises(ConfigError, match="PercentageFSM, Easting") as info:
        load_gias(path, rng=np.random.default_rng(0), max_dropped_share=ALLOW)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("urn, column, value, expected", [
    ("100005", "NumberOfPupils", "forty-five", "row 6: NumberOfPupils='forty-five' is not a number"),
    ("100020", "PercentageFSM", "140", "row 15: PercentageFSM='140' is not a percentage"),
    ("100003", "Easting", "42l500", "row 4: Easting='42l500' is not a number"),
    ("100003", "URN", "1000O3", "row 4: URN='1000O3' is not a number"),
    ("100013", "GOR (name)", "Atlantis", "row 14: GOR (name)='Atlantis' is not an English region"),
    ("100013", "UrbanRural (name)", "Suburban", "row 14: UrbanRural (name)='Suburban'"),
    ("100013", "OfstedRating (name)", "Excellent", "row 14: OfstedRating (name)='Excellent'"),
])
def test_bad_value_names_row_column_and_value(tmp_path, urn, column, value, expected):
    df = _fixture_frame()
    df.loc[df["URN"] == urn, column] = value
    with pytest.raises(ConfigError, match="gias_bad.csv") as info:
        load_gias(_write(df, tmp_path), rng=np.random.default_rng(0), max_dropped_share=ALLOW)
    assert expected in str(info.value)


def test_bad_values_in_dropped_rows_are_ignored(tmp_path):
    df = _fixture_frame()
    df.loc[df["URN"] == "100032", ["NumberOfPupils", "PercentageFSM"]] = ["lots", "140"]  # closed
    assert load_gias(_write(df, tmp_path), rng=np.random.default_rng(0), max_dropped_share=ALLOW).n_schools == 19


def test_duplicate_urn(tmp_path):
    df = _fixture_frame()
    df.loc[df["URN"] == "100013", "URN"] = "100002"
    with pytest.raises(ConfigError, match=r"duplicate URN 100002 \(rows 3, 14\)"):
        load_gias(_write(df, tmp_path), rng=np.random.default_rng(0), max_dropped_share=ALLOW)


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_gias("no/such/gias.csv")


def test_build_world_and_select():
    world = build_world(WorldConfig(name="gias", source="gias", gias_path=str(FIXTURE), gias_max_dropped_share=ALLOW))
    assert world.n_schools == 19
    cumbria = build_world(WorldConfig(source="gias", gias_path=str(FIXTURE), gias_max_dropped_share=ALLOW, local_authority="Cumbria"))
    assert cumbria.n_schools == 4 and set(cumbria.region) == {REGION_NAMES.index("North West")}
    london = build_world(WorldConfig(source="gias", gias_path=str(FIXTURE), gias_max_dropped_share=ALLOW, region="London"))
    assert set(london.school_id) == {100001, 100002, 100020}
    with pytest.raises(ConfigError, match="is not in this world"):
        build_world(WorldConfig(source="gias", gias_path=str(FIXTURE), gias_max_dropped_share=ALLOW, local_authority="Cardiff"))
    with pytest.raises(ConfigError, match="not in this world of region 'London'"):  # LA elsewhere
        build_world(WorldConfig(source="gias", gias_path=str(FIXTURE), gias_max_dropped_share=ALLOW, local_authority="Leeds",
                                region="London"))


def test_model_runs_on_gias_world():
    config = SimConfig()
    config = replace(config, world=replace(config.world, name="gias", source="gias",
                                           gias_path=str(FIXTURE), gias_max_dropped_share=ALLOW),
                     run=replace(config.run, years=1, progress=False, check_invariants=True))
    results = run(config, seed=2)
    assert len(results.schools) == 19
    assert results.manifest["n_schools"] == 19
