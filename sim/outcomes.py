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

from .state import ACTING, CONDITIONS, DOMAINS, EXECUTIVE, LEADER_KINDS, combined_condition
from .world import GRADES, PHASES, REGION_NAMES, SETTINGS

if TYPE_CHECKING:
    from .model import SchoolSystemModel

EVENT_COLUMNS = ("step", "time_years", "event", "school_id", "person_id", "region", "phase",
                 "fsm_band", "setting", "route", "reason", "grade", "previous_grade", "kind",
                 "vacancy_terms", "role", "supporter_school_id", "client_school_id", "distance_km",
                 "mode")
EVENT_TYPES = ("head_appointed", "head_left", "leader_appointed", "leader_left", "inspection")
APPOINTMENT_ROUTES = ("internal", "external", "acting", "executive")
LEAVING_REASONS = ("retired", "left_early", "acting_ended")
RETENTION_AGE_LIMIT = 55.0  # NFER 2017 measured heads below retirement age (approximation)


class EventLog:
    """Events in the order they happen; ``frame()`` adds each school's region, phase and setting."""

    def __init__(self, model: "SchoolSystemModel") -> None:
        self.model = model
        self.rows: list[tuple] = []

    def log(self, event: str, school: int, person: int = -1, *, route: str | None = None,
            reason: str | None = None, grade: int | None = None, previous_grade: int | None = None,
            kind: int | None = None, vacancy_terms: int | None = None, role: str | None = None,
            supporter: int | None = None, client: int | None = None,
            distance_km: float | None = None, mode: str | None = None) -> None:
        """Record one event at the current step (``school``, ``supporter``, ``client`` are indices)."""
        self.rows.append((self.model.step_count, event, school, person, route, reason, grade,
                          previous_grade, kind, vacancy_terms, role, supporter, client, distance_km,
                          mode))

    def frame(self) -> pd.DataFrame:
        """All events as a table with the columns in ``EVENT_COLUMNS``."""
        w = self.model.world
        raw = pd.DataFrame(self.rows, columns=["step", "event", "school", "person_id", "route",
                                               "reason", "grade", "previous_grade", "kind",
                                               "vacancy_terms", "role", "supporter", "client",
                                               "distance_km", "mode"])
        school = raw["school"].to_numpy(dtype=np.int64)
        out = pd.DataFrame({
            "step": raw["step"].astype("int32"),
            "time_years": (raw["step"] / 3.0).astype("float64"),
            "event": raw["event"].astype("string"),
            "school_id": w.school_id[school],
            "person_id": raw["person_id"].astype("int64"),
            "region": pd.array(np.array(REGION_NAMES, dtype=object)[w.region[school]], dtype="string"),
            "phase": pd.array(np.array(PHASES, dtype=object)[w.phase[school]], dtype="string"),
            "fsm_band": self.model.fsm_band[school].astype("int8"),
            "setting": pd.array(np.array(SETTINGS, dtype=object)[w.setting[school]], dtype="string"),
            "route": raw["route"].astype("string"),
            "reason": raw["reason"].astype("string"),
            "grade": raw["grade"].astype("Int8"),
            "previous_grade": raw["previous_grade"].astype("Int8"),
            "kind": pd.array([None if k is None or k != k else LEADER_KINDS[int(k)]
                              for k in raw["kind"]], dtype="string"),
            "vacancy_terms": raw["vacancy_terms"].astype("Int16"),
            "role": raw["role"].astype("string"),
            "supporter_school_id": _ids(raw["supporter"], w.school_id),
            "client_school_id": _ids(raw["client"], w.school_id),
            "distance_km": raw["distance_km"].astype("Float64"),
            "mode": raw["mode"].astype("string"),
        })
        return out


def _ids(indices: pd.Series, school_id: np.ndarray) -> pd.Series:
    """Map optional school indices to school ids (missing stays missing)."""
    values = pd.array([None if v is None or v != v else int(school_id[int(v)]) for v in indices],
                      dtype="Int64")
    return pd.Series(values, index=indices.index)


class TimeSeriesRecorder:
    """Stock measures per step x region x phase, plus annual head retention."""

    def __init__(self, model: "SchoolSystemModel") -> None:
        self.model = model
        w = model.world
        self.n_groups = len(REGION_NAMES) * len(PHASES)
        self.group = w.region.astype(np.int64) * len(PHASES) + w.phase
        self.present_groups = np.unique(self.group)
        self.rows: list[pd.DataFrame] = []
        self._retention_cohort: tuple[np.ndarray, np.ndarray] | None = None

    def _sum(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.group, weights=values, minlength=self.n_groups)

    def record(self) -> None:
        """Record the current step."""
        with np.errstate(invalid="ignore", divide="ignore"):  # regions absent from a small world
            self._record()

    def _record(self) -> None:
        m, s = self.model, self.model.state
        n = self._sum(np.ones(s.n))
        cols: dict[str, np.ndarray] = {"n_schools": n}
        for g, name in enumerate(GRADES, start=1):
            cols[f"n_{name}"] = self._sum(s.grade == g)
        cols["share_good_or_outstanding"] = (cols["n_outstanding"] + cols["n_good"]) / n
        cols["mean_effectiveness"] = self._sum(s.effectiveness) / n
        cols["mean_gap"] = self._sum(s.gap) / n
        for c, name in enumerate(CONDITIONS):
            cols[f"mean_{name}"] = self._sum(s.conditions[:, c]) / n
        cols["acting_heads"] = self._sum(s.leader_kind == ACTING)
        cols["executive_led"] = self._sum(s.leader_kind == EXECUTIVE)
        cols["mean_vacancy_terms"] = self._sum(s.vacancy_terms) / np.maximum(cols["acting_heads"], 1)
        cols["mean_head_capacity"] = self._sum(s.head_capacity.mean(axis=1)) / n
        cols["mean_head_tenure_years"] = self._sum(s.head_tenure) / n
        cols["senior_leaders"] = self._sum(s.bench_present.sum(axis=1))
        ready = s.bench_present & (s.bench_readiness >= m.params.ready_threshold)
        cols["ready_leaders"] = self._sum(ready.sum(axis=1))
        for lever, per_school in sorted(m.effects.spend_gbp.items()):
            cols[f"spend_{lever}_gbp"] = self._sum(np.broadcast_to(per_school, (s.n,)))
        retained, at_risk = self._retention()
        cols["heads_retention_cohort"] = at_risk
        cols["head_retention_annual"] = np.where(at_risk > 0, retained / np.maximum(at_risk, 1), np.nan)
        groups = self.present_groups
        frame = pd.DataFrame({"step": m.step_count, "time_years": m.time_years,
                              "region": [REGION_NAMES[g // 2] for g in groups],
                              "phase": [PHASES[g % 2] for g in groups]})
        for name, values in cols.items():
            frame[name] = values[groups]
        self.rows.append(frame)

    def _retention(self) -> tuple[np.ndarray, np.ndarray]:
        """At each year boundary: of last year's substantive heads under 55, how many remain."""
        m, s = self.model, self.model.state
        nan = np.full(self.n_groups, np.nan)
        if m.step_count % 3:
            return nan, np.zeros(self.n_groups)
        result = (nan, np.zeros(self.n_groups))
        if self._retention_cohort is not None:
            schools, persons = self._retention_cohort
            stayed = (s.head_person[schools] == persons) & (s.leader_kind[schools] != ACTING)
            at_risk = np.bincount(self.group[schools], minlength=self.n_groups).astype(float)
            result = (np.bincount(self.group[schools], weights=stayed, minlength=self.n_groups), at_risk)
        cohort = np.nonzero((s.leader_kind != ACTING) & (s.head_age < RETENTION_AGE_LIMIT))[0]
        self._retention_cohort = (cohort, s.head_person[cohort].copy())
        return result

    def frame(self, events: pd.DataFrame) -> pd.DataFrame:
        """The time series, with flows counted from ``events``."""
        ts = pd.concat(self.rows, ignore_index=True)
        keys = ["step", "region", "phase"]
        flows = {
            **{f"appointed_{r}": (events["event"] == "head_appointed") & (events["route"] == r)
               for r in APPOINTMENT_ROUTES},
            **{f"left_{r}" if r != "left_early" else "left_early": (events["event"] == "head_left") & (events["reason"] == r)
               for r in LEAVING_REASONS},
            "inspections": events["event"] == "inspection",
            "downgrades": (events["event"] == "inspection") & (events["grade"] > events["previous_grade"]),
        }
        counts = pd.DataFrame({k: v.fillna(False).astype("int32") for k, v in flows.items()})
        counts[keys] = events[keys].astype(object)
        counts = counts.groupby(keys, as_index=False).sum()
        ts = ts.merge(counts, on=keys, how="left")
        for name in flows:
            ts[name] = ts[name].fillna(0).astype("int32")
        substantive = ts["appointed_internal"] + ts["appointed_external"] + ts["appointed_executive"]
        ts["internal_appointment_share"] = np.where(substantive > 0, ts["appointed_internal"] / substantive.clip(lower=1), np.nan)
        ts["vacancies_opened"] = ts["left_retired"] + ts["left_early"]
        ts["region"] = ts["region"].astype("string")
        ts["phase"] = ts["phase"].astype("string")
        return ts.sort_values(keys, kind="stable").reset_index(drop=True)


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
        "academy": w.academy, "x_km": w.x_km, "y_km": w.y_km,
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
    frame["senior_posts"] = s.bench_posts
    frame["senior_leaders"] = s.bench_present.sum(axis=1)
    frame["bench_strength"] = s.bench_strength()
    frame["ready_leaders"] = (s.bench_present & (s.bench_readiness >= model.params.ready_threshold)).sum(axis=1)
    return frame


def scalar_outcomes(timeseries: pd.DataFrame, events: pd.DataFrame) -> dict[str, float]:
    """Headline scalar measures of one run, for sweeps and sensitivity analysis.

    "End" measures average the last year (three terms) so one inspection round does not
    dominate; rates are per school-year over the whole run.
    """
    last_step = int(timeseries["step"].max())
    end = timeseries[timeseries["step"] > last_step - 3]
    per_step = end.groupby("step").sum(numeric_only=True)
    n = per_step["n_schools"]
    years = max(last_step / 3.0, 1e-9)
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
        "share_good_or_outstanding": float(((per_step["n_outstanding"] + per_step["n_good"]) / n).mean()),
        "share_inadequate": float((per_step["n_inadequate"] / n).mean()),
        "mean_effectiveness": float(((end["mean_effectiveness"] * end["n_schools"]).groupby(end["step"]).sum() / n).mean()),
        "mean_gap": float(((end["mean_gap"] * end["n_schools"]).groupby(end["step"]).sum() / n).mean()),
        "acting_head_share": float((per_step["acting_heads"] / n).mean()),
        "vacancies_per_100_schools_per_year": float(100 * run_totals["vacancies_opened"] / n_schools / years),
        "internal_appointment_share": float(run_totals["appointed_internal"] / substantive) if substantive else float("nan"),
        "head_retention_primary": retention["primary"],
        "head_retention_secondary": retention["secondary"],
        "spend_gbp_per_year": spend / years,
    }
