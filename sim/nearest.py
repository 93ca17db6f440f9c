"""Nearest-neighbour search among candidate schools that may become unavailable as they are used.

Brokerage and executive-headship formation both ask, for one school after another, "which is the
nearest candidate still available within the distance cap?". A KD-tree over the candidates
answers each query in logarithmic time, so those processes stay linear in the number of schools.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


class CandidateSearch:
    """Candidates (school indices with coordinates in km) searched by distance from a point."""

    def __init__(self, schools: np.ndarray, x_km: np.ndarray, y_km: np.ndarray) -> None:
        self.schools = np.asarray(schools)
        self.available = np.ones(len(self.schools), dtype=bool)
        self.tree = cKDTree(np.column_stack([x_km, y_km])) if len(self.schools) else None

    def nearest(self, x: float, y: float, max_km: float, exclude: int = -1) -> tuple[int, float] | None:
        """(position, distance) of the nearest available candidate within ``max_km`` that is not
        school ``exclude``, or None. Ties go to the candidate listed first."""
        n = len(self.schools)
        if self.tree is None or not self.available.any():
            return None
        k = min(8, n)
        distance, position = self.tree.query((x, y), k=k, distance_upper_bound=max_km)
        distance, position = np.atleast_1d(distance), np.atleast_1d(position)
        found = position < n
        distance, position = distance[found], position[found]
        ok = self.available[position] & (self.schools[position] != exclude)
        if not ok.any():
            if k >= n or len(position) < k:  # every candidate within reach was looked at
                return None
            # the k nearest are all taken: look at every candidate within reach (bounded by the
            # candidates within max_km, where widening k could grow to all candidates)
            position = np.array(self.tree.query_ball_point((x, y), r=max_km), dtype=np.int64)
            xy = self.tree.data[position]
            distance = np.sqrt((xy[:, 0] - x) ** 2 + (xy[:, 1] - y) ** 2)
            ok = self.available[position] & (self.schools[position] != exclude)
            if not ok.any():
                return None
        best = distance[ok].min()
        ties = position[ok][distance[ok] == best]
        return int(ties.min()), float(best)

    def within(self, x: float, y: float, max_km: float, exclude: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """Positions (sorted) and distances of available candidates within ``max_km``."""
        if self.tree is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        position = np.array(sorted(self.tree.query_ball_point((x, y), r=max_km)), dtype=np.int64)
        if len(position) == 0:
            return position, np.zeros(0)
        position = position[self.available[position] & (self.schools[position] != exclude)]
        xy = self.tree.data[position]
        return position, np.hypot(xy[:, 0] - x, xy[:, 1] - y)
