"""Real boundaries of England drawn with matplotlib from the vendored GeoJSON (data/england_2018/).

The boundary files are in British National Grid metres (EPSG:27700); here they become kilometres,
the units of the model's ``x_km`` / ``y_km``, so schools and boundaries share one plane. Levels:

- ``region``: the nine English regions;
- ``local_authority``: the 152 education authorities (dissolved from districts, see
  data/england_2018/README.md);
- ``district``: the 326 local authority districts of December 2017.

Nothing beyond json, numpy and matplotlib is needed at run time (the files were built by
``scripts/build_england_data.py`` with pyproj and shapely).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from .parameters import ConfigError

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "england_2018"
LEVEL_FILES = {"region": "regions.geojson", "local_authority": "local_authorities.geojson",
               "district": "districts.geojson"}
M_PER_KM = 1000.0


class MapDataError(ConfigError):
    """A vendored boundary file is missing or malformed (the message names the file)."""


@dataclass(frozen=True)
class Boundaries:
    """Areas of one level: codes, names, and each area's rings in km.

    ``rings[i]`` lists every ring of area ``i`` (outer rings anticlockwise, holes clockwise, so a
    filled path leaves holes such as Leicester inside Leicestershire empty).
    """

    level: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    rings: tuple[tuple[np.ndarray, ...], ...]

    def index(self, name: str) -> int:
        """Position of the area called ``name``."""
        return self.names.index(name)

    def paths(self) -> list[MplPath]:
        """One compound matplotlib path per area (for filling)."""
        return [MplPath.make_compound_path(*[MplPath(r, closed=True) for r in rings])
                for rings in self.rings]

    def extent_km(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) over every area."""
        points = np.concatenate([r for rings in self.rings for r in rings])
        return (float(points[:, 0].min()), float(points[:, 0].max()),
                float(points[:, 1].min()), float(points[:, 1].max()))


def _oriented(ring: np.ndarray, anticlockwise: bool) -> np.ndarray:
    x, y = ring[:, 0], ring[:, 1]
    signed_area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    return ring if (signed_area > 0) == anticlockwise else ring[::-1]


def _polygon_rings(coordinates: list) -> list[np.ndarray]:
    rings = []
    for k, ring in enumerate(coordinates):
        points = np.asarray(ring, dtype=float) / M_PER_KM
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 4:
            raise ValueError("a ring is not a list of at least four [x, y] points")
        rings.append(_oriented(points, anticlockwise=(k == 0)))
    return rings


@lru_cache(maxsize=None)
def _load(path: Path, level: str) -> Boundaries:
    if not path.is_file():
        raise MapDataError(f"boundary file missing: {path} (rebuild with scripts/build_england_data.py)")
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        codes, names, rings = [], [], []
        for feature in features:
            geometry = feature["geometry"]
            polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                        else geometry["coordinates"] if geometry["type"] == "MultiPolygon" else None)
            if polygons is None:
                raise ValueError(f"geometry type {geometry['type']!r} is not a polygon")
            codes.append(str(feature["properties"]["code"]))
            names.append(str(feature["properties"]["name"]))
            rings.append(tuple(r for polygon in polygons for r in _polygon_rings(polygon)))
        if not features:
            raise ValueError("no features")
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MapDataError(f"malformed boundary file {path}: {type(exc).__name__}: {message}") from None
    return Boundaries(level=level, codes=tuple(codes), names=tuple(names), rings=tuple(rings))


def load_boundaries(level: str, data_dir: Path | str | None = None) -> Boundaries:
    """The areas of ``level`` ("region", "local_authority" or "district") with rings in km."""
    if level not in LEVEL_FILES:
        raise ConfigError(f"map level {level!r} is not one of {sorted(LEVEL_FILES)}")
    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    return _load((folder / LEVEL_FILES[level]).resolve(), level)


def draw_boundaries(ax, level: str, data_dir: Path | str | None = None, **style) -> LineCollection:
    """Outline every area of ``level`` on ``ax`` (km); ``style`` goes to the LineCollection."""
    boundaries = load_boundaries(level, data_dir)
    style = {"colors": "0.25", "linewidths": 0.6, "zorder": 1.5} | style
    lines = LineCollection([r for rings in boundaries.rings for r in rings], **style)
    ax.add_collection(lines)
    ax.update_datalim(np.array(boundaries.extent_km()).reshape(2, 2).T)
    ax.autoscale_view()
    return lines


def choropleth(ax, level: str, values_by_name: dict[str, float], cmap="viridis", label: str = "",
               data_dir: Path | str | None = None, norm=None, missing_colour="0.92",
               colorbar: bool = True) -> PatchCollection:
    """Fill each area of ``level`` by its value in ``values_by_name`` (areas without one are grey).

    Returns the filled collection; adds a colour bar labelled ``label`` unless ``colorbar`` is off.
    """
    import matplotlib.pyplot as plt

    boundaries = load_boundaries(level, data_dir)
    values = np.array([values_by_name.get(name, np.nan) for name in boundaries.names], dtype=float)
    paths = boundaries.paths()
    known = ~np.isnan(values)
    if (~known).any():
        ax.add_collection(PatchCollection([PathPatch(p) for p, k in zip(paths, known) if not k],
                                          facecolors=missing_colour, edgecolors="none", zorder=0.5))
    filled = PatchCollection([PathPatch(p) for p, k in zip(paths, known) if k], cmap=cmap, norm=norm,
                             edgecolors="none", zorder=0.6)
    filled.set_array(values[known])
    ax.add_collection(filled)
    ax.update_datalim(np.array(boundaries.extent_km()).reshape(2, 2).T)
    ax.autoscale_view()
    if colorbar:
        plt.colorbar(filled, ax=ax, label=label, shrink=0.6)
    return filled


def check_boundaries(data_dir: Path | str | None = None) -> None:
    """Load every level once, so a missing or malformed file fails (one line naming it) before a run."""
    for level in LEVEL_FILES:
        load_boundaries(level, data_dir)
