"""Real boundary maps (sim/maps.py) and the map figures in sim/figures.py."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from sim import figures, maps  # noqa: E402
from sim.run import Results  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "england_2018"


def real_results(region: str | None = None, start_year: float | None = 2018) -> Results:
    """Results-shaped tables on the real schools (no model run): grades from the data, schools of
    grade 3-4 in need, outstanding teaching schools as NLEs, every 25th good school an LLE, each
    of the first 400 schools in need linked to its nearest leader."""
    data = pd.read_csv(DATA / "schools.csv", keep_default_na=False, na_values={"grade": [""]})
    if region:
        data = data[data["region"] == region]
    grade = data["grade"].fillna(0).astype(int).to_numpy()
    role = np.full(len(data), "none", dtype=object)
    role[(grade == 2) & (np.arange(len(data)) % 25 == 0)] = "LLE"
    role[(grade == 1) & data["teaching_school"].to_numpy()] = "NLE"
    schools = pd.DataFrame({
        "school_id": data["urn"].to_numpy(), "region": data["region"].to_numpy(),
        "local_authority": data["la_name"].to_numpy(), "x_km": data["easting_m"] / 1000,
        "y_km": data["northing_m"] / 1000, "grade": grade, "in_need": grade >= 3,
        "system_leader_role": role})
    leaders = schools[schools["system_leader_role"] != "none"]
    clients = schools[schools["in_need"]].head(400)
    _d, nearest = cKDTree(leaders[["x_km", "y_km"]].to_numpy()).query(clients[["x_km", "y_km"]].to_numpy())
    events = pd.DataFrame({"event": "support_started",
                           "supporter_school_id": leaders["school_id"].to_numpy()[nearest],
                           "client_school_id": clients["school_id"].to_numpy()})
    by_la = schools.groupby("local_authority").agg(
        leaders=("system_leader_role", lambda r: int((r != "none").sum())), in_need=("in_need", "sum"))
    geography = pd.DataFrame({"step": 30, "level": "local_authority", "area": by_la.index,
                              "supply_need_ratio": by_la["leaders"] / by_la["in_need"].clip(lower=1)})
    world = {"source": "england", "name": "england"}
    if start_year is not None:
        world["start_year"] = start_year
    return Results(timeseries=pd.DataFrame({"time_years": [0.0, 10.0]}), events=events,
                   schools=schools, geography=geography,
                   manifest={"world": "england", "config": {"world": world}})


@pytest.mark.parametrize("level,count", [("region", 9), ("local_authority", 152), ("district", 326)])
def test_load_boundaries(level, count):
    boundaries = maps.load_boundaries(level)
    assert len(boundaries.names) == len(boundaries.codes) == len(boundaries.rings) == count
    xmin, xmax, ymin, ymax = boundaries.extent_km()
    # England in British National Grid km: Isles of Scilly (~87 km E) to Lowestoft (~655 km E).
    assert 80 < xmin < 100 and 640 < xmax < 660 and 0 < ymin < 20 and 640 < ymax < 670


def test_holes_are_left_unfilled():
    """Leicester is a hole in Leicestershire: filling Leicestershire leaves the city blank."""
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    maps.choropleth(ax, "local_authority", {"Leicestershire": 1.0}, "viridis", colorbar=False,
                    missing_colour="white")
    ax.set_xlim(420, 500)
    ax.set_ylim(270, 340)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())

    def colour_at(x_km, y_km):
        px, py = ax.transData.transform((x_km, y_km))
        return tuple(pixels[pixels.shape[0] - int(py), int(px), :3])

    assert colour_at(458.5, 304.5) == (255, 255, 255)  # Leicester clock tower (BNG km)
    assert colour_at(445.0, 320.0) != (255, 255, 255)  # Loughborough, Leicestershire
    plt.close(fig)


def test_draw_and_choropleth():
    fig, ax = plt.subplots()
    maps.choropleth(ax, "local_authority", {"Rutland": 1.0, "Leicester": 2.0}, "viridis", "test")
    lines = maps.draw_boundaries(ax, "region", colors="red")
    assert len(lines.get_segments()) >= 9
    fig.canvas.draw()
    plt.close(fig)
    with pytest.raises(maps.ConfigError, match="map level"):
        maps.load_boundaries("county")


@pytest.mark.parametrize("content,why", [("{not json", "JSONDecodeError"),
                                         ('{"features": [{"geometry": {"type": "Point", '
                                          '"coordinates": [1, 2]}, "properties": {}}]}', "polygon"),
                                         ('{"type": "FeatureCollection"}', "features")])
def test_malformed_boundary_file_is_one_line_naming_it(tmp_path, content, why):
    (tmp_path / "regions.geojson").write_text(content)
    with pytest.raises(maps.MapDataError) as error:
        maps.load_boundaries("region", data_dir=tmp_path)
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "regions.geojson") in message and why in message


def test_missing_boundary_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(maps.MapDataError) as error:
        maps.load_boundaries("district", data_dir=tmp_path)
    assert "\n" not in str(error.value) and "districts.geojson" in str(error.value)


def test_real_maps_draw_boundaries_and_titles(tmp_path):
    results = real_results()
    assert figures.on_real_map(results)
    assert figures.world_and_year(results) == "england world, 2028"
    for draw in (figures.grade_map, figures.supply_need_map):
        fig = draw(results)
        ax = fig.axes[0]
        assert "england world, 2028" in ax.get_title()
        # Region and local-authority outlines and (supply map) the LA choropleth are drawn.
        assert len(ax.collections) >= 3
        xmin, xmax = ax.get_xlim()
        assert xmin < 100 and xmax > 640
        fig.savefig(tmp_path / "map.png")
        plt.close(fig)


def test_real_map_of_one_region_zooms_in():
    fig = figures.grade_map(real_results(region="North East"))
    xmin, xmax = fig.axes[0].get_xlim()
    assert 300 < xmin and xmax < 500
    plt.close(fig)


def test_titles_fall_back_to_years_from_start():
    results = real_results(start_year=None)
    assert figures.world_and_year(results) == "england world, 10 years from the start"
    results.manifest["config"]["world"]["start_year"] = 2018.2
    assert figures.world_and_year(results) == "england world, 2028.2"
    results.timeseries["calendar_year"] = [2018.2, 2028.2]
    assert figures.world_and_year(results) == "england world, 2028.2"


def test_synthetic_world_maps_have_no_boundaries():
    results = real_results()
    results.manifest["config"]["world"]["source"] = "synthetic"
    assert not figures.on_real_map(results)
    fig = figures.grade_map(results)
    assert all(not isinstance(c, matplotlib.collections.LineCollection) for c in fig.axes[0].collections)
    plt.close(fig)


def test_check_boundaries_names_the_broken_file(tmp_path):
    maps.check_boundaries()  # the vendored files load
    for name in maps.LEVEL_FILES.values():
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    (tmp_path / "local_authorities.geojson").write_text('{"features": [{"geometry": {}}]}')
    with pytest.raises(maps.MapDataError, match="local_authorities.geojson"):
        maps.check_boundaries(tmp_path)


def test_broken_boundary_file_fails_before_a_real_run(tmp_path):
    from dataclasses import replace

    from sim.parameters import SimConfig
    base = SimConfig()
    for name in ("schools.csv", *maps.LEVEL_FILES.values()):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    (tmp_path / "regions.geojson").write_text("{}")
    real = replace(base, world=replace(base.world, source="england", data_dir=str(tmp_path)))
    with pytest.raises(maps.MapDataError, match="regions.geojson"):
        figures.check_map_inputs(real)
    figures.check_map_inputs(replace(real, run=replace(real.run, figures=False)))  # no maps: no check
    figures.check_map_inputs(replace(real, world=replace(real.world, source="synthetic")))
