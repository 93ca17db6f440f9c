"""Post-run metrics: what a finished run reports, computed from what the recorder wrote.

* :func:`scalar_outcomes`: the headline measures of one run (their names,
  ``SCALAR_OUTCOMES``, are read off this function); :func:`subgroup_outcomes` per subgroup.
* :func:`support_outcomes`, :func:`home_school_outcomes`: what support did to clients and homes.
* :func:`schools_frame`: the final state of every school.

The in-run recorder (event log and time series) is :mod:`sim.recorder`; both read "schools in
need" from :mod:`sim.need`. Column meanings are documented in ``docs/RESULTS.md``.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .events import (DEDESIGNATED, DESIGNATED, FEDERATION_ENDED, FEDERATION_FORMED, INSPECTION,
                     LEADER_APPOINTED, SUPPORT_ENDED, SUPPORT_STARTED)
from .need import schools_in_need
from .recorder import TimeSeriesRecorder, flow_indicators, good_share
from .state import CONDITIONS, DOMAINS, LEADER_KINDS, TERMS_PER_YEAR, combined_condition
from .system_leadership import ROLES
from .world import GOVERNANCE, MAINTAINED, PHASES, REGION_NAMES, SETTINGS

if TYPE_CHECKING:
    from .model import SchoolSystemModel


def support_spells(events: pd.DataFrame) -> pd.DataFrame:
    """One row per deployment: supporter, client, start step and end step (NaN if still active).

    A client has one deployment from a given supporter at a time, so the k-th start of a pair
    is ended by the pair's k-th end.
    """
    key = ["supporter_school_id", "client_school_id"]
    starts = events[events["event"] == SUPPORT_STARTED][key + ["step", "mode", "distance_km"]]
    ends = events[events["event"] == SUPPORT_ENDED][key + ["step", "reason"]]
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
    insp = events[(events["event"] == INSPECTION) & (events["previous_grade"] > 0)][
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
    insp = events[(events["event"] == INSPECTION) & events["previous_grade"].between(1, 2)][
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


def scalar_outcome_names() -> tuple[str, ...]:
    """The names of the scalar outcomes, in order: the keys :func:`scalar_outcomes` returns.

    Read off the function itself (applied to the starting state of a one-school toy world,
    computed once per process), so no list kept by hand can drift from it. ``SCALAR_OUTCOMES`` is the
    same tuple; experiments check outcome names against it.
    """
    return _specimen_names()[0]


def national_only_outcome_names() -> tuple[str, ...]:
    """Who the NLEs are (phase, executive share, designations, losses) and home-school decline:
    the outcomes measured for the whole world only, not per subgroup or local authority (the
    keys of ``_system_leader_scalars``). ``NATIONAL_ONLY_OUTCOMES`` is the same tuple."""
    return _specimen_names()[1]


@functools.cache
def _specimen_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from .model import SchoolSystemModel  # here: the model imports the recorder, which this module reads
    from .parameters import RunConfig, SimConfig, WorldConfig
    config = SimConfig(world=WorldConfig(name="specimen", source="toy", toy_schools=1),
                       run=RunConfig(years=1, progress=False, figures=False))
    model = SchoolSystemModel(config)
    events = model.events.frame()
    timeseries = model.recorder.frame(events)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # one school at step 0 leaves most measures empty
        names = tuple(scalar_outcomes(timeseries, events))
        national = tuple(_system_leader_scalars(timeseries, events, 1.0))
    return names, national


def __getattr__(name: str) -> tuple[str, ...]:
    """``SCALAR_OUTCOMES`` and ``NATIONAL_ONLY_OUTCOMES``, derived on first use."""
    if name == "SCALAR_OUTCOMES":
        return scalar_outcome_names()
    if name == "NATIONAL_ONLY_OUTCOMES":
        return national_only_outcome_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    national_only = national_only_outcome_names()
    table = pd.DataFrame({name: np.where(empty, np.nan, out[name]) for name in scalar_outcome_names()
                          if name not in national_only},
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
    designated = events[(events["event"] == DESIGNATED) & (events["role"] == "NLE")]
    fell = events["reason"].isin(["grade_fell", "not_outstanding"])
    lost = events[(events["event"] == DEDESIGNATED) & (events["role"] == "NLE") & fell]
    teaching_lost = events[(events["event"] == DEDESIGNATED) & (events["role"] == "teaching_school") & fell]
    # middle leaders stepping up into senior posts: pipeline refills and secondments' stand-ins
    step_ups = events[(events["event"] == LEADER_APPOINTED)
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
    insp = events[(events["event"] == INSPECTION) & events["previous_grade"].between(1, 2)][
        ["step", "school_id", "grade", "previous_grade"]]
    rows = insp[_during_spells(insp, spells)]
    return float((rows["grade"] > rows["previous_grade"]).mean()) if len(rows) else float("nan")


def executive_spells(events: pd.DataFrame) -> pd.DataFrame:
    """One row per executive headship: home school, led school, start and end step (NaN if on)."""
    key = ["supporter_school_id", "client_school_id"]
    starts = events[events["event"] == FEDERATION_FORMED][key + ["step"]]
    ends = events[events["event"] == FEDERATION_ENDED][key + ["step"]]
    starts = starts.assign(k=starts.groupby(key).cumcount()).rename(columns={"step": "start_step"})
    ends = ends.assign(k=ends.groupby(key).cumcount()).rename(columns={"step": "end_step"})
    spells = starts.merge(ends, on=key + ["k"], how="left").drop(columns="k")
    spells["end_step"] = spells["end_step"].astype("float64")
    return spells

