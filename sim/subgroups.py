"""Subgroups of schools that every scalar outcome is also reported for: the one home of their
names and definitions.

* ``rural``: the DfE rural class, i.e. "town and fringe", village and hamlet settings
  (``World.rural``; the same schools a policy targeting ``rural`` reaches).
* ``town``: the "town and fringe" setting only.
* ``coastal``: within 5.5 km of the coast (empty in a world that does not record it).
* ``fsm_band_4``: the most deprived free-school-meals band (more than 35 % eligible).
* ``cold_spots``: schools in **cold-spot local authorities**: those whose supply of potential
  system leaders per school in need, at the start of the run, is at or below the lower tercile
  of that ratio across the world's local authorities with any school in need (ties included;
  :func:`cold_spot_authorities`). Supply is the pool NLEs and LLEs are designated from: schools
  graded good or outstanding with a substantive head (runs start before the first designation
  round, so counting designated leaders would make every authority a cold spot). Need is
  ``sim.need.schools_in_need``. Fixed at the start and independent of the policy,
  so every arm is compared on the same schools (arms share seeds, hence starting states).
* ``rural_cold_spots``: rural schools (as above) in cold-spot local authorities.
* each region, by name.

Membership is fixed at the start of a run. Local authorities are kept too (unit names
``la:<name>``) so a difference between arms can be mapped; they carry ``LA_OUTCOMES`` only.
Outputs are named ``<outcome>@<subgroup>`` (``OUTPUT_SEPARATOR``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .world import REGION_NAMES, TOWN, good_or_better

if TYPE_CHECKING:
    from .model import SchoolSystemModel

ALL = "all"
NAMED_SUBGROUPS = ("rural", "town", "coastal", "fsm_band_4", "cold_spots", "rural_cold_spots")
SUBGROUPS = (ALL,) + NAMED_SUBGROUPS + REGION_NAMES  # every name experiments accept
OUTPUT_SEPARATOR = "@"
LA_PREFIX = "la:"
LA_OUTCOMES = ("share_good_or_outstanding", "share_inadequate", "acting_head_share", "mean_gap")
COLD_SPOT_TERCILE = 1 / 3


def output_name(outcome: str, subgroup: str) -> str:
    """The run-table column of ``outcome`` in ``subgroup`` (``all`` is the bare outcome name)."""
    return outcome if subgroup == ALL else f"{outcome}{OUTPUT_SEPARATOR}{subgroup}"


def cold_spot_authorities(local_authority: np.ndarray, n_la: int, need: np.ndarray,
                          supply: np.ndarray) -> np.ndarray:
    """(n_la,) bool: local authorities in the bottom third of supply against need.

    ``need``: schools in need; ``supply``: schools that could supply a system leader. The ratio
    is supply per school in need; authorities with no school in need are never cold spots.
    """
    need_count = np.bincount(local_authority[need], minlength=n_la)
    supply_count = np.bincount(local_authority[supply], minlength=n_la)
    has_need = need_count > 0
    if not has_need.any():
        return np.zeros(n_la, dtype=bool)
    ratio = supply_count / np.maximum(need_count, 1)
    cutoff = np.quantile(ratio[has_need], COLD_SPOT_TERCILE)
    return has_need & (ratio <= cutoff)


def membership(model: "SchoolSystemModel") -> tuple[list[str], np.ndarray]:
    """Unit names and a (units, schools) bool matrix of who belongs where, now.

    Units: the named subgroups, the regions present, then the local authorities present
    (``la:<name>``).
    """
    from .need import schools_in_need
    from .state import SUBSTANTIVE
    w = model.world
    n_la = len(w.la_names)
    s = model.state
    potential_supply = good_or_better(s.grade) & (s.leader_kind == SUBSTANTIVE)
    cold = cold_spot_authorities(w.local_authority, n_la, schools_in_need(model), potential_supply)
    rows = {"rural": w.rural, "town": w.setting == TOWN, "coastal": w.coastal,
            "fsm_band_4": model.fsm_band == 4, "cold_spots": cold[w.local_authority],
            "rural_cold_spots": w.rural & cold[w.local_authority]}
    for r in np.unique(w.region):
        rows[REGION_NAMES[r]] = w.region == r
    for la in np.unique(w.local_authority):
        rows[LA_PREFIX + w.la_names[la]] = w.local_authority == la
    return list(rows), np.vstack([np.asarray(v, dtype=bool) for v in rows.values()])

