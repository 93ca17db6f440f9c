"""Metrics: the one home of what a run reports (time series, event log, final school state).

* :class:`EventLog`: one row per event, logged as it happens.
* :class:`TimeSeriesRecorder`: one row per step x region x phase of stock measures; flows
  (appointments by route, leavers by reason, inspections) are counted from the event log
  when the frame is built, so the two can never disagree.
* :func:`schools_frame`: the final state of every school.

Column meanings are documented in ``docs/RESULTS.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from . import subgroups
from .state import (ACTING, CONDITIONS, DOMAINS, EXECUTIVE, LEADER_KINDS, TERMS_PER_YEAR,
                    combined_condition)
from .events import EVENT_NAMES
from .need import schools_in_need
from .system_leadership import LLE, NLE, ROLES
from .world import GOVERNANCE, GRADES, MAINTAINED, PHASES, REGION_NAMES, SETTINGS, UNINSPECTED

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
        started = events["event"] == "support_started"
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
        **{f"appointed_{r}": (events["event"] == "head_appointed") & (events["route"] == r)
           for r in APPOINTMENT_ROUTES},
        **{f"left_{r}" if r != "left_early" else "left_early": (events["event"] == "head_left") & (events["reason"] == r)
           for r in LEAVING_REASONS},
        "inspections": events["event"] == "inspection",
        "designations": events["event"] == "designated",
        "dedesignations": (events["event"] == "dedesignated") & (events["reason"] != "became_nle"),
        "support_started": events["event"] == "support_started",
        "support_ended": events["event"] == "support_ended",
        "federations_formed": events["event"] == "federation_formed",
        "federations_ended": events["event"] == "federation_ended",
        "short_inspections": events["event"] == "short_inspection",
        "academy_orders": events["event"] == "academy_order",
        "academies_opened": events["event"] == "academy_opened",
        "downgrades": ((events["event"] == "inspection") & (events["previous_grade"] > 0)
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


def support_spells(events: pd.DataFrame) -> pd.DataFrame:
    """One row per deployment: supporter, client, start step and end step (NaN if still active).

    A client has one deployment from a given supporter at a time, so the k-th start of a pair
    is ended by the pair's k-th end.
    """
    key = ["supporter_school_id", "client_school_id"]
    starts = events[events["event"] == "support_started"][key + ["step", "mode", "distance_km"]]
    ends = events[events["event"] == "support_ended"][key + ["step", "reason"]]
    starts = starts.assign(k=starts.groupby(key).cumcount()).rename(columns={"step": "start_step"})
    ends = ends.assign(k=ends.groupby(key).cumcount()).rename(columns={"step": "end_step"})
    spells = starts.merge(ends, on=key + ["k"], how="left").drop(columns="k")
    spells["end_step"] = spells["end_step"].astype("float64")
    return spells


def support_outcomes(events: pd.DataFrame, inspections: pd.DataFrame | None = None) -> pd.DataFrame:
    """Grade change at the next inspection: supported clients against comparable schools.

    An inspection counts as "supported" when the school's latest deployment started at least
    two terms before it (the support lag) and had not ended more than a year before it. The
    comparison is every other inspection with the same previous grade. One row per previous
    grade and group: inspections, share improved, share declined.
    """
    merged = classified_inspections(events) if inspections is None else inspections
    table = merged.groupby(["previous_grade", "group"]).agg(
        inspections=("improved", "size"), share_improved=("improved", "mean"),
        share_declined=("declined", "mean")).reset_index()
    table["previous_grade"] = table["previous_grade"].astype("int8")
    return table


def classified_inspections(events: pd.DataFrame) -> pd.DataFrame:
    """Every inspection with a previous grade: school, grades, ``group`` (supported or not, as
    in :func:`support_outcomes`), and whether it improved or declined (0/1)."""
    insp = events[(events["event"] == "inspection") & (events["previous_grade"] > 0)][
        ["step", "school_id", "grade", "previous_grade"]]
    spells = support_spells(events)[["client_school_id", "start_step", "end_step"]].rename(
        columns={"client_school_id": "school_id"}).astype({"school_id": "int64"})
    merged = pd.merge_asof(insp.sort_values("step"), spells.sort_values("start_step"),
                           left_on="step", right_on="start_step", by="school_id",
                           direction="backward")
    since_start = merged["step"] - merged["start_step"]
    since_end = merged["step"] - merged["end_step"].fillna(np.inf)
    merged["group"] = np.where((since_start >= 2) & ~(since_end > 3), "supported", "not_supported")
    merged = merged.dropna(subset=["previous_grade"])
    merged["improved"] = (merged["grade"] < merged["previous_grade"]).astype(float)
    merged["declined"] = (merged["grade"] > merged["previous_grade"]).astype(float)
    return merged


def home_school_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """Grade changes of supporting schools inspected while supporting (from the start of their
    latest deployment to its end), against other good or better schools' inspections."""
    insp = events[(events["event"] == "inspection") & events["previous_grade"].between(1, 2)][
        ["step", "school_id", "grade", "previous_grade"]]
    spells = support_spells(events)[["supporter_school_id", "start_step", "end_step"]].rename(
        columns={"supporter_school_id": "school_id"}).astype({"school_id": "int64"})
    merged = pd.merge_asof(insp.sort_values("step"), spells.sort_values("start_step"),
                           left_on="step", right_on="start_step", by="school_id",
                           direction="backward")
    supporting = (merged["step"] >= merged["start_step"]) & ~(merged["step"] > merged["end_step"].fillna(np.inf))
    merged["group"] = np.where(supporting, "supporting", "not_supporting")
    merged["declined"] = (merged["grade"] > merged["previous_grade"]).astype(float)
    return merged.groupby(["previous_grade", "group"]).agg(
        inspections=("declined", "size"), share_declined=("declined", "mean")).reset_index()


def schools_frame(model: "SchoolSystemModel") -> pd.DataFrame:
    """The final state of every school, one row each."""
    w, s = model.world, model.state
    frame = pd.DataFrame({
        "school_id": w.school_id,
        "region": pd.array(np.array(REGION_NAMES, dtype=object)[w.region], dtype="string"),
        "local_authority": pd.array(np.array(w.la_names, dtype=object)[w.local_authority], dtype="string"),
        "phase": pd.array(np.array(PHASES, dtype=object)[w.phase], dtype="string"),
        "pupils": w.pupils, "setting": pd.array(np.array(SETTINGS, dtype=object)[w.setting], dtype="string"),
        "coastal": w.coastal, "fsm_share": w.fsm_share, "fsm_band": model.fsm_band,
        "academy_at_start": w.academy, "academy": s.governance != MAINTAINED,
        "governance": pd.array(np.array(GOVERNANCE, dtype=object)[s.governance], dtype="string"),
        "current_id": s.current_id, "x_km": w.x_km, "y_km": w.y_km,
        "grade": s.grade, "previous_grade": s.previous_grade,
        "terms_since_inspection": s.terms_since_inspection,
        "effectiveness": s.effectiveness, "gap": s.gap,
        "combined_condition": combined_condition(s.conditions, model.fsm_band,
                                                 model.params.weakest_condition_weight),
    })
    for c, name in enumerate(CONDITIONS):
        frame[name] = s.conditions[:, c]
    frame["leader_kind"] = pd.array(np.array(LEADER_KINDS, dtype=object)[s.leader_kind], dtype="string")
    frame["head_person_id"] = s.head_person
    for d, name in enumerate(DOMAINS):
        frame[f"head_{name}"] = s.head_capacity[:, d]
    frame["head_age"] = s.head_age
    frame["head_tenure_years"] = s.head_tenure
    frame["head_experience_years"] = s.head_experience
    frame["head_resilience"] = s.head_resilience
    frame["vacancy_terms"] = s.vacancy_terms
    frame["system_leader_role"] = pd.array(np.array(ROLES, dtype=object)[model.sl.role], dtype="string")
    led = model.sl.executive_of >= 0
    frame["executive_home_school_id"] = pd.arrays.IntegerArray(
        np.where(led, w.school_id[np.maximum(model.sl.executive_of, 0)], 0), ~led)
    frame["federation_permanent"] = model.sl.executive_permanent
    frame["teaching_school"] = model.sl.teaching_school_since >= 0
    in_alliance = model.sl.alliance_of >= 0
    frame["alliance_teaching_school_id"] = pd.arrays.IntegerArray(
        np.where(in_alliance, w.school_id[np.maximum(model.sl.alliance_of, 0)], 0), ~in_alliance)
    frame["in_need"] = schools_in_need(model)
    frame["active_clients"] = model.sl.clients_of(s.n)
    frame["active_supporters"] = model.sl.supporters_of(s.n)
    frame["senior_posts"] = s.bench_posts
    frame["senior_leaders"] = s.bench_present.sum(axis=1)
    frame["bench_strength"] = s.bench_strength()
    frame["ready_leaders"] = s.ready_leaders(model.params.ready_threshold).sum(axis=1)
    return frame


def good_share(counts) -> np.ndarray | pd.Series:
    """Share good or outstanding, as Ofsted reports it: of the schools with a graded inspection.

    ``counts`` holds ``n_outstanding``, ``n_good`` and ``n_inspected`` (a time-series frame, a
    row of one, or the recorder's arrays).
    """
    return (counts["n_outstanding"] + counts["n_good"]) / counts["n_inspected"]


SCALAR_OUTCOMES = (
    "share_good_or_outstanding", "schools_good_or_outstanding", "share_inadequate", "mean_effectiveness", "mean_gap",
    "acting_head_share", "vacancies_per_100_schools_per_year", "internal_appointment_share",
    "head_retention_primary", "head_retention_secondary", "spend_gbp_per_year",
    "nle_count", "lle_count", "schools_in_need", "supply_need_ratio",
    "deployments_started_per_year", "executive_led_share", "improved_share_supported",
    "improved_share_not_supported", "support_cost_per_extra_improved_school_gbp",
    "nle_primary_share", "nle_executive_share", "nle_designations_fsm_band_3_4_share",
    "nle_dedesignations_per_year", "supporting_school_decline_share", "executive_home_decline_share",
    "teaching_school_dedesignations_per_year", "senior_leader_appointments_per_year",
    "supporting_school_step_ups_per_year",
)  # the keys of scalar_outcomes(), in order; experiments check outcome names against it
# Who the NLEs are (phase, executive share, designations, losses) and home-school decline:
# measured for the whole world only, not per subgroup or local authority.
NATIONAL_ONLY_OUTCOMES = ("nle_primary_share", "nle_executive_share",
                          "nle_designations_fsm_band_3_4_share", "nle_dedesignations_per_year",
                          "supporting_school_decline_share", "executive_home_decline_share",
                          "teaching_school_dedesignations_per_year", "senior_leader_appointments_per_year",
                          "supporting_school_step_ups_per_year")
# outcomes where less is better (reports rank arms by them the other way round)
LOWER_IS_BETTER = frozenset({
    "share_inadequate", "mean_gap", "acting_head_share", "vacancies_per_100_schools_per_year",
    "spend_gbp_per_year", "schools_in_need", "support_cost_per_extra_improved_school_gbp"})


def national_series(timeseries: pd.DataFrame) -> dict[str, np.ndarray]:
    """England-wide (all rows summed) headline measures per step, from a run's time series."""
    per_step = timeseries.groupby("step").sum(numeric_only=True).sort_index()
    schools = per_step["n_schools"].to_numpy(dtype=float)
    weighted = timeseries.assign(
        effectiveness_total=timeseries["mean_effectiveness"] * timeseries["n_schools"],
        gap_total=timeseries["mean_gap"] * timeseries["n_schools"],
    ).groupby("step")[["effectiveness_total", "gap_total"]].sum().sort_index()
    series = {
        "share_good_or_outstanding": good_share(per_step),
        "share_inadequate": per_step["n_inadequate"] / per_step["n_inspected"],
        "acting_head_share": per_step["acting_heads"] / schools,
        "mean_effectiveness": weighted["effectiveness_total"] / schools,
        "mean_gap": weighted["gap_total"] / schools,
    }
    return {name: np.asarray(values, dtype=float) for name, values in series.items()}


def scalar_outcomes(timeseries: pd.DataFrame, events: pd.DataFrame,
                    inspections: pd.DataFrame | None = None) -> dict[str, float]:
    """Headline scalar measures of one run, for sweeps and sensitivity analysis.

    "End" measures average the last year (three terms) so one inspection round does not
    dominate; rates are per school-year over the whole run.
    """
    last_step = int(timeseries["step"].max())
    end = timeseries[timeseries["step"] > last_step - 3]
    per_step = end.groupby("step").sum(numeric_only=True)
    n = per_step["n_schools"]
    years = max(last_step / TERMS_PER_YEAR, 1e-9)
    run_totals = timeseries[timeseries["step"] > 0].sum(numeric_only=True)
    n_schools = float(timeseries[timeseries["step"] == 0]["n_schools"].sum())
    cohort = timeseries.dropna(subset=["head_retention_annual"])
    retention = {}
    for phase in ("primary", "secondary"):
        rows = cohort[cohort["phase"] == phase]
        at_risk = rows["heads_retention_cohort"].sum()
        retention[phase] = float((rows["head_retention_annual"] * rows["heads_retention_cohort"]).sum()
                                 / at_risk) if at_risk else float("nan")
    substantive = (run_totals["appointed_internal"] + run_totals["appointed_external"]
                   + run_totals["appointed_executive"])
    spend = sum(float(run_totals[c]) for c in timeseries.columns if c.startswith("spend_"))
    return {
        "share_good_or_outstanding": float(good_share(per_step).mean()),
        "schools_good_or_outstanding": float((per_step["n_outstanding"] + per_step["n_good"]).mean()),
        "share_inadequate": float((per_step["n_inadequate"] / per_step["n_inspected"]).mean()),
        "mean_effectiveness": float(((end["mean_effectiveness"] * end["n_schools"]).groupby(end["step"]).sum() / n).mean()),
        "mean_gap": float(((end["mean_gap"] * end["n_schools"]).groupby(end["step"]).sum() / n).mean()),
        "acting_head_share": float((per_step["acting_heads"] / n).mean()),
        "vacancies_per_100_schools_per_year": float(100 * run_totals["vacancies_opened"] / n_schools / years),
        "internal_appointment_share": float(run_totals["appointed_internal"] / substantive) if substantive else float("nan"),
        "head_retention_primary": retention["primary"],
        "head_retention_secondary": retention["secondary"],
        "spend_gbp_per_year": spend / years,
        "nle_count": float(per_step["nle_count"].mean()),
        "lle_count": float(per_step["lle_count"].mean()),
        "schools_in_need": float(per_step["schools_in_need"].mean()),
        "supply_need_ratio": float(((per_step["nle_count"] + per_step["lle_count"])
                                    / per_step["schools_in_need"].clip(lower=1)).mean()),
        "deployments_started_per_year": float(run_totals["support_started"] / years),
        "executive_led_share": float((per_step["executive_led"] / n).mean()),
        **_support_scalars(events, spend, inspections),
        **_system_leader_scalars(end, events, years),
    }


def _support_scalars(events: pd.DataFrame, spend_gbp: float,
                     inspections: pd.DataFrame | None = None) -> dict[str, float]:
    """Improvement of supported clients against comparable schools, and cost per improvement."""
    table = support_outcomes(events, inspections)
    weak = table[table["previous_grade"] >= 3]
    out = {}
    for group in ("supported", "not_supported"):
        rows = weak[weak["group"] == group]
        total = rows["inspections"].sum()
        out[f"improved_share_{group}"] = float((rows["share_improved"] * rows["inspections"]).sum()
                                               / total) if total else float("nan")
    supported = weak[weak["group"] == "supported"]
    extra = (out["improved_share_supported"] - out["improved_share_not_supported"]) * supported["inspections"].sum()
    out["support_cost_per_extra_improved_school_gbp"] = (
        float(spend_gbp / extra) if extra > 0 and spend_gbp > 0 else float("nan"))
    return out


def subgroup_outcomes(recorder: TimeSeriesRecorder, events: pd.DataFrame,
                      inspections: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every scalar outcome for every subgroup unit (rows: ``recorder.unit_names``).

    Computed as :func:`scalar_outcomes` computes them for the whole world, from the recorder's
    unit rows (stocks) and the events of each unit's schools (flows, support), with numpy only:
    one pass for all units. A unit without schools gets NaN.
    """
    measures = recorder.measures()
    steps = np.array([step for step, _ in recorder.rows])
    n_units, n_phases = len(recorder.unit_names), len(PHASES)
    stock = {name: values[:, recorder.n_groups:].reshape(len(steps), n_units, n_phases)
             for name, values in measures.items()}
    last_step = int(steps.max())
    end, after_start = steps > last_step - 3, steps > 0
    years = max(last_step / TERMS_PER_YEAR, 1e-9)
    members = recorder.unit_membership  # schools x units

    def end_sum(name: str) -> np.ndarray:  # (end steps, units)
        return stock[name][end].sum(axis=2)

    def end_mean(name: str) -> np.ndarray:  # mean of a per-school mean, weighted by schools
        counts = stock["n_schools"][end]
        return np.where(counts > 0, stock[name][end] * counts, 0.0).sum(axis=2)

    school_ids = pd.Index(recorder.model.world.school_id)
    school = school_ids.get_indexer(events["school_id"])
    n = len(school_ids)
    flows = flow_indicators(events)
    later = (events["step"] > 0).to_numpy()

    def unit_total(mask: pd.Series) -> np.ndarray:  # (units,) events in each unit's schools
        weights = (mask.fillna(False).to_numpy(dtype=bool) & later).astype(np.float64)
        return np.bincount(school, weights=weights, minlength=n) @ members

    routes = {route: unit_total(flows[f"appointed_{route}"]) for route in ("internal", "external", "executive")}
    vacancies = sum(unit_total(flows[name]) for name in
                    ("left_retired", "left_early", "left_executive_left", "left_own_head_to_be_appointed",
                     "left_academy_conversion"))
    substantive = routes["internal"] + routes["external"] + routes["executive"]
    spend = sum(stock[name][after_start].sum(axis=(0, 2)) for name in stock if name.startswith("spend_"))
    spend = np.zeros(n_units) + spend
    at_risk = stock["heads_retention_cohort"]
    retained = np.where(np.isnan(stock["head_retention_annual"]), 0.0,
                        stock["head_retention_annual"] * at_risk).sum(axis=0)  # (units, phases)
    with np.errstate(invalid="ignore", divide="ignore"):
        count = end_sum("n_schools")
        retention = np.where(at_risk.sum(axis=0) > 0, retained / at_risk.sum(axis=0), np.nan)
        out = {
            "share_good_or_outstanding": ((end_sum("n_outstanding") + end_sum("n_good"))
                                          / end_sum("n_inspected")).mean(axis=0),
            "schools_good_or_outstanding": (end_sum("n_outstanding") + end_sum("n_good")).mean(axis=0),
            "share_inadequate": (end_sum("n_inadequate") / end_sum("n_inspected")).mean(axis=0),
            "mean_effectiveness": (end_mean("mean_effectiveness") / count).mean(axis=0),
            "mean_gap": (end_mean("mean_gap") / count).mean(axis=0),
            "acting_head_share": (end_sum("acting_heads") / count).mean(axis=0),
            "vacancies_per_100_schools_per_year": 100 * vacancies / stock["n_schools"][0].sum(axis=1) / years,
            "internal_appointment_share": np.where(substantive > 0, routes["internal"] / substantive, np.nan),
            "head_retention_primary": retention[:, 0],
            "head_retention_secondary": retention[:, 1],
            "spend_gbp_per_year": spend / years,
            "nle_count": end_sum("nle_count").mean(axis=0),
            "lle_count": end_sum("lle_count").mean(axis=0),
            "schools_in_need": end_sum("schools_in_need").mean(axis=0),
            "supply_need_ratio": ((end_sum("nle_count") + end_sum("lle_count"))
                                  / np.maximum(end_sum("schools_in_need"), 1)).mean(axis=0),
            "deployments_started_per_year": unit_total(flows["support_started"]) / years,
            "executive_led_share": (end_sum("executive_led") / count).mean(axis=0),
        }
        out.update(_unit_support_scalars(events, school_ids, members, spend, inspections))
        empty = stock["n_schools"][0].sum(axis=1) == 0
    table = pd.DataFrame({name: np.where(empty, np.nan, out[name]) for name in SCALAR_OUTCOMES
                          if name not in NATIONAL_ONLY_OUTCOMES},
                         index=pd.Index(recorder.unit_names, name="unit"))
    return table


def _unit_support_scalars(events: pd.DataFrame, school_ids: pd.Index, members,
                          spend_gbp: np.ndarray,
                          inspections: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """:func:`_support_scalars` per unit: inspections of each unit's weak schools."""
    inspections = classified_inspections(events) if inspections is None else inspections
    weak = inspections[inspections["previous_grade"] >= 3]
    where = school_ids.get_indexer(weak["school_id"])
    n = len(school_ids)
    out = {}
    totals = {}
    for group in ("supported", "not_supported"):
        chosen = (weak["group"] == group).to_numpy()
        totals[group] = np.bincount(where[chosen], minlength=n) @ members
        improved = np.bincount(where[chosen], weights=weak["improved"].to_numpy()[chosen], minlength=n) @ members
        out[f"improved_share_{group}"] = np.where(totals[group] > 0, improved / np.maximum(totals[group], 1), np.nan)
    extra = (out["improved_share_supported"] - out["improved_share_not_supported"]) * totals["supported"]
    out["support_cost_per_extra_improved_school_gbp"] = np.where(
        (extra > 0) & (spend_gbp > 0), spend_gbp / np.where(extra > 0, extra, 1), np.nan)
    return out


def _system_leader_scalars(end: pd.DataFrame, events: pd.DataFrame, years: float) -> dict[str, float]:
    """Who the NLEs are and what system leadership costs the home schools (issue 8); ``end`` is
    the time series of the last year."""
    nles = end["nle_count"].sum()
    designated = events[(events["event"] == "designated") & (events["role"] == "NLE")]
    fell = events["reason"].isin(["grade_fell", "not_outstanding"])
    lost = events[(events["event"] == "dedesignated") & (events["role"] == "NLE") & fell]
    teaching_lost = events[(events["event"] == "dedesignated") & (events["role"] == "teaching_school") & fell]
    # middle leaders stepping up into senior posts: pipeline refills and secondments' stand-ins
    step_ups = events[(events["event"] == "leader_appointed")
                      & events["route"].isin(["middle_leader", "stepped_up"]) & (events["step"] > 0)]
    support = support_spells(events).rename(columns={"supporter_school_id": "school_id"})
    executive = executive_spells(events).rename(columns={"supporter_school_id": "school_id"})
    columns = ["school_id", "start_step", "end_step"]
    return {
        "nle_primary_share": float(end.loc[end["phase"] == "primary", "nle_count"].sum() / nles)
        if nles else float("nan"),
        "nle_executive_share": float(end["nle_executive_heads"].sum() / nles) if nles else float("nan"),
        "nle_designations_fsm_band_3_4_share": float((designated["fsm_band"] >= 3).mean())
        if len(designated) else float("nan"),
        "nle_dedesignations_per_year": float(len(lost) / years),
        "supporting_school_decline_share": _home_decline_share(
            events, support[columns].dropna(subset=["school_id"]).astype({"school_id": "int64"})),
        "executive_home_decline_share": _home_decline_share(
            events, executive[columns].dropna(subset=["school_id"]).astype({"school_id": "int64"})),
        "teaching_school_dedesignations_per_year": float(len(teaching_lost) / years),
        "senior_leader_appointments_per_year": float(len(step_ups) / years),
        "supporting_school_step_ups_per_year": float(_during_spells(
            step_ups, support[columns].dropna(subset=["school_id"]).astype({"school_id": "int64"})).sum() / years),
    }


def _during_spells(rows: pd.DataFrame, spells: pd.DataFrame) -> pd.Series:
    """(len(rows),) bool: each event row (step, school_id) falls within one of its school's
    ``spells`` (school_id, start_step, end_step; a NaN end is still running), matched to the
    latest spell that started at or before it."""
    if spells.empty or rows.empty:
        return pd.Series(False, index=rows.index)
    ordered = rows[["step", "school_id"]].assign(_row=np.arange(len(rows))).sort_values("step")
    merged = pd.merge_asof(ordered, spells.sort_values("start_step"), left_on="step",
                           right_on="start_step", by="school_id", direction="backward")
    inside = ((merged["step"] >= merged["start_step"])
              & ~(merged["step"] > merged["end_step"].fillna(np.inf))).to_numpy(dtype=bool)
    result = np.zeros(len(rows), dtype=bool)
    result[merged["_row"].to_numpy()] = inside
    return pd.Series(result, index=rows.index)


def _home_decline_share(events: pd.DataFrame, spells: pd.DataFrame) -> float:
    """Share of inspections of good or better schools, held while the school's head was away
    (``spells``: school_id, start_step, end_step), that lowered its grade."""
    insp = events[(events["event"] == "inspection") & events["previous_grade"].between(1, 2)][
        ["step", "school_id", "grade", "previous_grade"]]
    rows = insp[_during_spells(insp, spells)]
    return float((rows["grade"] > rows["previous_grade"]).mean()) if len(rows) else float("nan")


def executive_spells(events: pd.DataFrame) -> pd.DataFrame:
    """One row per executive headship: home school, led school, start and end step (NaN if on)."""
    key = ["supporter_school_id", "client_school_id"]
    starts = events[events["event"] == "federation_formed"][key + ["step"]]
    ends = events[events["event"] == "federation_ended"][key + ["step"]]
    starts = starts.assign(k=starts.groupby(key).cumcount()).rename(columns={"step": "start_step"})
    ends = ends.assign(k=ends.groupby(key).cumcount()).rename(columns={"step": "end_step"})
    spells = starts.merge(ends, on=key + ["k"], how="left").drop(columns="k")
    spells["end_step"] = spells["end_step"].astype("float64")
    return spells

