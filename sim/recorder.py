"""The in-run recorder: what a run writes down while it runs.

* :class:`EventLog`: one row per event (names from :mod:`sim.events`), logged as it happens.
* :class:`TimeSeriesRecorder`: one row per step x region x phase of stock measures; flows
  (appointments by route, leavers by reason, inspections) are counted from the event log
  when the frame is built (:func:`flow_indicators`), so the two can never disagree.

Post-run metrics (scalar outcomes, support outcomes, the final school state) live in
:mod:`sim.outcomes`; both read "schools in need" from :mod:`sim.need`. Column meanings are
documented in ``docs/RESULTS.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from . import subgroups
from .events import (ACADEMY_OPENED, ACADEMY_ORDER, DEDESIGNATED, DESIGNATED, EVENT_NAMES,
                     FEDERATION_ENDED, FEDERATION_FORMED, HEAD_APPOINTED, HEAD_LEFT, INSPECTION,
                     SHORT_INSPECTION, SUPPORT_ENDED, SUPPORT_STARTED)
from .need import schools_in_need
from .state import ACTING, CONDITIONS, EXECUTIVE, LEADER_KINDS, TERMS_PER_YEAR
from .system_leadership import LLE, NLE
from .world import GRADES, PHASES, REGION_NAMES, SETTINGS, UNINSPECTED

if TYPE_CHECKING:
    from .model import SchoolSystemModel

EVENT_COLUMNS = ("step", "time_years", "calendar_year", "event", "school_id", "person_id", "region", "phase",
                 "fsm_band", "setting", "route", "reason", "grade", "previous_grade", "kind",
                 "vacancy_terms", "role", "supporter_school_id", "client_school_id", "distance_km",
                 "mode")
APPOINTMENT_ROUTES = ("internal", "external", "acting", "executive")
LEAVING_REASONS = ("retired", "left_early", "acting_ended", "executive_left",
                   "own_head_to_be_appointed", "academy_conversion")
RETENTION_AGE_LIMIT = 55.0  # NFER 2017 measured heads below retirement age (approximation)


MISSING = -1  # stands for "not applicable" in the integer fields of a logged event


class EventLog:
    """Events in the order they happen; ``frame()`` adds each school's region, phase and setting.

    Integer fields that do not apply are stored as ``MISSING`` and distances as NaN while the run
    goes on (cheap tuples of plain values); ``frame()`` turns them into nullable columns.
    """

    def __init__(self, model: "SchoolSystemModel") -> None:
        self.model = model
        self.rows: list[tuple] = []

    def log(self, event: str, school: int, person: int = -1, *, route: str | None = None,
            reason: str | None = None, grade: int = MISSING, previous_grade: int = MISSING,
            kind: int = MISSING, vacancy_terms: int = MISSING, role: str | None = None,
            supporter: int = MISSING, client: int = MISSING,
            distance_km: float = float("nan"), mode: str | None = None) -> None:
        """Record one event at the current step (``school``, ``supporter``, ``client`` are indices)."""
        if event not in EVENT_NAMES:
            raise ValueError(f"unknown event {event!r}: add it to sim/events.py and docs/RESULTS.md")
        self.rows.append((self.model.step_count, event, school, person, route, reason, grade,
                          previous_grade, kind, vacancy_terms, role, supporter, client, distance_km,
                          mode))

    def frame(self) -> pd.DataFrame:
        """All events as a table with the columns in ``EVENT_COLUMNS``."""
        w = self.model.world
        names = ("step", "event", "school", "person_id", "route", "reason", "grade",
                 "previous_grade", "kind", "vacancy_terms", "role", "supporter", "client",
                 "distance_km", "mode")
        if self.rows:
            raw = dict(zip(names, zip(*self.rows)))
        else:
            raw = {name: () for name in names}
        step = np.array(raw["step"], dtype=np.int32)
        school = np.array(raw["school"], dtype=np.int64)

        def integers(name: str, dtype: type) -> pd.arrays.IntegerArray:
            values = np.array(raw[name], dtype=np.int64)
            missing = values == MISSING
            return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(dtype), missing)

        def school_ids(name: str) -> pd.arrays.IntegerArray:
            index = np.array(raw[name], dtype=np.int64)
            missing = index == MISSING
            return pd.arrays.IntegerArray(np.where(missing, 0, w.school_id[np.maximum(index, 0)]), missing)

        def text(name: str) -> pd.arrays.StringArray:
            return pd.array(np.array(raw[name], dtype=object), dtype="string")

        def labels(codes: np.ndarray, table: tuple[str, ...]) -> pd.arrays.StringArray:
            return pd.array(np.array(table, dtype=object)[codes], dtype="string")

        kind = np.array(raw["kind"], dtype=np.int64)
        kind_labels = np.array(LEADER_KINDS + (None,), dtype=object)[np.where(kind == MISSING, -1, kind)]
        return pd.DataFrame({
            "step": step,
            "time_years": step / TERMS_PER_YEAR,
            "calendar_year": w.start_year + step / TERMS_PER_YEAR,
            "event": text("event"),
            "school_id": w.school_id[school],
            "person_id": np.array(raw["person_id"], dtype=np.int64),
            "region": labels(w.region[school], REGION_NAMES),
            "phase": labels(w.phase[school], PHASES),
            "fsm_band": self.model.fsm_band[school].astype("int8"),
            "setting": labels(w.setting[school], SETTINGS),
            "route": text("route"),
            "reason": text("reason"),
            "grade": integers("grade", np.int8),
            "previous_grade": integers("previous_grade", np.int8),
            "kind": pd.array(kind_labels, dtype="string"),
            "vacancy_terms": integers("vacancy_terms", np.int16),
            "role": text("role"),
            "supporter_school_id": school_ids("supporter"),
            "client_school_id": school_ids("client"),
            "distance_km": pd.array(np.array(raw["distance_km"], dtype=np.float64), dtype="Float64"),
            "mode": text("mode"),
        })


class TimeSeriesRecorder:
    """Stock measures per step x region x phase, plus annual head retention.

    The same measures are summed, in the same pass, per step x subgroup x phase for the
    subgroups of :mod:`sim.subgroups` (membership fixed at the start; a school counts in every
    subgroup it belongs to): one sparse matrix of group rows, so subgroup outcomes cost one
    matrix product per measure.
    """

    def __init__(self, model: "SchoolSystemModel") -> None:
        self.model = model
        w = model.world
        n_phases = len(PHASES)
        self.n_groups = len(REGION_NAMES) * n_phases
        self.group = w.region.astype(np.int64) * n_phases + w.phase
        self.present_groups = np.unique(self.group)
        self.unit_names, members = subgroups.membership(model)
        unit, school = np.nonzero(members)
        # group rows: region x phase first, then unit x phase (row n_groups + unit * 2 + phase)
        rows = np.concatenate([self.group, self.n_groups + unit * n_phases + w.phase[school]])
        columns = np.concatenate([np.arange(w.n_schools), school])
        self.n_rows = self.n_groups + len(self.unit_names) * n_phases
        self.rows_matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)),
                                             shape=(self.n_rows, w.n_schools))
        self.unit_membership = sparse.csr_matrix(members.T)  # schools x units
        self.rows: list[tuple[int, dict[str, np.ndarray]]] = []
        self.geography: list[pd.DataFrame] = []
        self._retention_cohort: tuple[np.ndarray, np.ndarray] | None = None

    def _sums(self, per_school: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each per-school measure summed over every group row, in one sparse product."""
        stacked = np.column_stack([np.asarray(v, dtype=np.float64) for v in per_school.values()])
        totals = self.rows_matrix @ stacked
        return {name: totals[:, k] for k, name in enumerate(per_school)}

    def record(self) -> None:
        """Record the current step."""
        with np.errstate(invalid="ignore", divide="ignore"):  # regions absent from a small world
            self._record()

    def _record(self) -> None:
        m, s, sl = self.model, self.model.state, self.model.sl
        need = schools_in_need(m)
        ready = s.ready_leaders(m.params.ready_threshold)
        stayed, at_risk = self._retention()
        t = self._sums({
            "n_schools": np.ones(s.n),
            **{f"n_{name}": s.grade == g for g, name in enumerate(GRADES, start=1)},
            "n_uninspected": s.grade == UNINSPECTED,
            "effectiveness": s.effectiveness, "gap": s.gap,
            **{name: s.conditions[:, c] for c, name in enumerate(CONDITIONS)},
            "acting_heads": s.leader_kind == ACTING, "executive_led": s.leader_kind == EXECUTIVE,
            "vacancy_terms": s.vacancy_terms, "head_capacity": s.head_capacity.mean(axis=1),
            "head_tenure": s.head_tenure, "senior_leaders": s.bench_present.sum(axis=1),
            "ready_leaders": ready.sum(axis=1),
            "nle_count": sl.role == NLE, "lle_count": sl.role == LLE, "schools_in_need": need,
            "nle_executive_heads": (sl.role == NLE) & (sl.executive_led_count > 0),
            "deployments_active": sl.supporters_of(s.n),
            "federations_permanent": sl.executive_permanent,
            "teaching_schools": sl.teaching_school_since >= 0, "alliance_members": sl.alliance_of >= 0,
            **{f"spend_{lever}_gbp": np.broadcast_to(per_school, (s.n,))
               for lever, per_school in sorted(m.effects.spend_gbp.items())},
            "retained": stayed, "at_risk": at_risk,
        })
        n = t["n_schools"]
        cols: dict[str, np.ndarray] = {"n_schools": n}
        for name in GRADES:
            cols[f"n_{name}"] = t[f"n_{name}"]
        cols["n_inspected"] = n - t["n_uninspected"]
        cols["share_good_or_outstanding"] = good_share(cols)
        cols["mean_effectiveness"] = t["effectiveness"] / n
        cols["mean_gap"] = t["gap"] / n
        for name in CONDITIONS:
            cols[f"mean_{name}"] = t[name] / n
        cols["acting_heads"] = t["acting_heads"]
        cols["executive_led"] = t["executive_led"]
        cols["mean_vacancy_terms"] = t["vacancy_terms"] / np.maximum(cols["acting_heads"], 1)
        cols["mean_head_capacity"] = t["head_capacity"] / n
        cols["mean_head_tenure_years"] = t["head_tenure"] / n
        cols["senior_leaders"] = t["senior_leaders"]
        cols["ready_leaders"] = t["ready_leaders"]
        # supply of system leaders against need, deployments and executive headships
        for name in ("nle_count", "lle_count", "nle_executive_heads", "schools_in_need"):
            cols[name] = t[name]
        cols["supply_need_ratio"] = (cols["nle_count"] + cols["lle_count"]) / np.maximum(cols["schools_in_need"], 1)
        cols["schools_per_nle"] = np.where(cols["nle_count"] > 0, n / np.maximum(cols["nle_count"], 1), np.nan)
        for name in ("deployments_active", "federations_permanent", "teaching_schools", "alliance_members"):
            cols[name] = t[name]
        if m.step_count % TERMS_PER_YEAR == 0:
            self.geography.append(geography_rows(m, need))
        for lever in sorted(m.effects.spend_gbp):
            cols[f"spend_{lever}_gbp"] = t[f"spend_{lever}_gbp"]
        if m.step_count % TERMS_PER_YEAR:  # retention is measured at year boundaries only
            cols["heads_retention_cohort"] = np.zeros(self.n_rows)
            cols["head_retention_annual"] = np.full(self.n_rows, np.nan)
        else:
            at_risk = t["at_risk"]
            cols["heads_retention_cohort"] = at_risk
            cols["head_retention_annual"] = np.where(at_risk > 0, t["retained"] / np.maximum(at_risk, 1), np.nan)
        # Plain arrays per step (every group row); the tables are built once, in frame().
        self.rows.append((m.step_count, cols))

    def _retention(self) -> tuple[np.ndarray, np.ndarray]:
        """Per school, at each year boundary: of last year's substantive heads under 55, who
        remain (stayed) out of whom (at risk); zeros between boundaries."""
        m, s = self.model, self.model.state
        stayed, at_risk = np.zeros(s.n), np.zeros(s.n)
        if m.step_count % TERMS_PER_YEAR:
            return stayed, at_risk
        if self._retention_cohort is not None:
            schools, persons = self._retention_cohort
            stayed[schools] = (s.head_person[schools] == persons) & (s.leader_kind[schools] != ACTING)
            at_risk[schools] = 1.0
        cohort = np.nonzero((s.leader_kind != ACTING) & (s.head_age < RETENTION_AGE_LIMIT))[0]
        self._retention_cohort = (cohort, s.head_person[cohort].copy())
        return stayed, at_risk

    def stocks(self) -> pd.DataFrame:
        """The recorded stock measures, one row per step x region x phase.

        A lever's spend column exists from the first term it spends; earlier rows hold 0.
        """
        groups = self.present_groups
        steps = np.repeat([step for step, _ in self.rows], len(groups))
        columns = {"step": steps, "time_years": steps / TERMS_PER_YEAR,
                   "calendar_year": self.model.world.start_year + steps / TERMS_PER_YEAR,
                   "region": np.tile(np.array(REGION_NAMES, dtype=object)[groups // 2], len(self.rows)),
                   "phase": np.tile(np.array(PHASES, dtype=object)[groups % 2], len(self.rows))}
        for name, values in self.measures().items():
            columns[name] = values[:, groups].ravel()
        return pd.DataFrame(columns)

    def measures(self) -> dict[str, np.ndarray]:
        """Every recorded measure as a (steps, group rows) array.

        A lever's spend column exists from the first term it spends; earlier rows hold 0.
        """
        names = list(dict.fromkeys(name for _, cols in self.rows for name in cols))
        out = {}
        for name in names:
            absent = np.zeros(self.n_rows) if name.startswith("spend_") else np.full(self.n_rows, np.nan)
            out[name] = np.vstack([cols.get(name, absent) for _, cols in self.rows])
        return out

    def frame(self, events: pd.DataFrame) -> pd.DataFrame:
        """The time series, with flows counted from ``events``."""
        ts = self.stocks()
        keys = ["step", "region", "phase"]
        flows = flow_indicators(events)
        counts = pd.DataFrame({k: v.fillna(False).astype("int32") for k, v in flows.items()})
        started = events["event"] == SUPPORT_STARTED
        counts["support_distance_km_total"] = events["distance_km"].where(started, 0.0).fillna(0.0).astype(float)
        counts[keys] = events[keys].astype(object)
        counts = counts.groupby(keys, as_index=False).sum()
        ts = ts.merge(counts, on=keys, how="left")
        for name in flows:
            ts[name] = ts[name].fillna(0).astype("int32")
        distance = ts.pop("support_distance_km_total").fillna(0.0)
        ts["mean_support_distance_km"] = np.where(ts["support_started"] > 0,
                                                  distance / ts["support_started"].clip(lower=1), np.nan)
        substantive = ts["appointed_internal"] + ts["appointed_external"] + ts["appointed_executive"]
        ts["internal_appointment_share"] = np.where(substantive > 0, ts["appointed_internal"] / substantive.clip(lower=1), np.nan)
        ts["vacancies_opened"] = (ts["left_retired"] + ts["left_early"] + ts["left_executive_left"]
                                  + ts["left_own_head_to_be_appointed"] + ts["left_academy_conversion"])
        ts["region"] = ts["region"].astype("string")
        ts["phase"] = ts["phase"].astype("string")
        return ts.sort_values(keys, kind="stable").reset_index(drop=True)


def flow_indicators(events: pd.DataFrame) -> dict[str, pd.Series]:
    """Which events count towards each flow column of the time series (nullable booleans)."""
    return {
        **{f"appointed_{r}": (events["event"] == HEAD_APPOINTED) & (events["route"] == r)
           for r in APPOINTMENT_ROUTES},
        **{f"left_{r}" if r != "left_early" else "left_early": (events["event"] == HEAD_LEFT) & (events["reason"] == r)
           for r in LEAVING_REASONS},
        "inspections": events["event"] == INSPECTION,
        "designations": events["event"] == DESIGNATED,
        "dedesignations": (events["event"] == DEDESIGNATED) & (events["reason"] != "became_nle"),
        "support_started": events["event"] == SUPPORT_STARTED,
        "support_ended": events["event"] == SUPPORT_ENDED,
        "federations_formed": events["event"] == FEDERATION_FORMED,
        "federations_ended": events["event"] == FEDERATION_ENDED,
        "short_inspections": events["event"] == SHORT_INSPECTION,
        "academy_orders": events["event"] == ACADEMY_ORDER,
        "academies_opened": events["event"] == ACADEMY_OPENED,
        "downgrades": ((events["event"] == INSPECTION) & (events["previous_grade"] > 0)
                       & (events["grade"] > events["previous_grade"])),
    }


def geography_rows(model: "SchoolSystemModel", need: np.ndarray) -> pd.DataFrame:
    """Supply of system leaders against need by region, local authority and setting, now."""
    w, sl = model.world, model.sl
    setting_names = SETTINGS + ("coastal",)
    setting = np.where(w.coastal, len(SETTINGS), w.setting)
    measures = {"schools": np.ones(w.n_schools), "nle": sl.role == NLE, "lle": sl.role == LLE,
                "in_need": need, "executive_led": sl.executive_of >= 0}
    frames = []
    for level, codes, names in (("region", w.region, REGION_NAMES),
                                ("local_authority", w.local_authority, w.la_names),
                                ("setting", setting, setting_names)):
        present = np.unique(codes)
        frame = {"level": level, "area": np.array(names, dtype=object)[present]}
        for name, values in measures.items():
            frame[name] = np.bincount(codes, weights=values, minlength=len(names))[present].astype(np.int64)
        frames.append(pd.DataFrame(frame))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "time_years", model.time_years)
    out.insert(0, "step", model.step_count)
    out["supply_need_ratio"] = (out["nle"] + out["lle"]) / out["in_need"].clip(lower=1)
    out["schools_per_nle"] = np.where(out["nle"] > 0, out["schools"] / out["nle"].clip(lower=1), np.nan)
    return out


def good_share(counts) -> np.ndarray | pd.Series:
    """Share good or outstanding, as Ofsted reports it: of the schools with a graded inspection.

    ``counts`` holds ``n_outstanding``, ``n_good`` and ``n_inspected`` (a time-series frame, a
    row of one, or the recorder's arrays).
    """
    return (counts["n_outstanding"] + counts["n_good"]) / counts["n_inspected"]
