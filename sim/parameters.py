"""Typed configuration: world, behaviour (uncertainties), policies (levers) and run settings.

Every behavioural parameter is declared with :func:`uncertain`, which records its unit, plausible
range and evidence. ``docs/ODD.md`` and the sensitivity-analysis layer read these declarations;
nothing else holds a default. Configuration arrives here as plain dataclasses (Hydra lives only at
the entry points) and :func:`validate` rejects out-of-range values naming the field.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value is unknown, mistyped or out of range; the message names the field."""


def uncertain(default: float, unit: str, low: float, high: float, source: str) -> Any:
    """Declare a behavioural parameter with its unit, plausible range and evidence.

    ``source`` cites a seed file and line, a published figure, or says ``assumption``.
    The range is what validation accepts and what sensitivity analysis samples by default.
    """
    if not low <= default <= high:
        raise ValueError(f"default {default} outside its range [{low}, {high}]")
    return field(default=default, metadata={"unit": unit, "low": low, "high": high, "source": source})


def bounded(default: Any, low: float | None = None, high: float | None = None, unit: str = "",
            choices: tuple | None = None, doc: str = "") -> Any:
    """Declare a non-behavioural setting (world, run, lever) with the values it may take."""
    return field(default=default, metadata={"unit": unit, "low": low, "high": high,
                                            "choices": choices, "doc": doc})


# --------------------------------------------------------------------------------------------
# Uncertainties: behavioural relationships (X in the XLRM frame)
# --------------------------------------------------------------------------------------------

@dataclass
class BehaviourParams:
    """Behavioural parameters of the model: effect sizes, hazards and lags, each with evidence.

    Seed files are cited as ``seed NNN Lline`` (``docs/evidence/seeds/NNN_*.txt``). Values marked
    ``calibrated`` were tuned by ``scripts/calibration_report.py`` against
    ``../shared/data/england_reference.md``.
    """

    # --- leadership -> conditions -> outcomes (processes/leadership.py) -------------------
    condition_rate_per_term: float = uncertain(
        0.06, "1/term", 0.02, 0.15,
        "assumption; conditions move slowly: sustained focus over several years (seed 000 L1664-1683)")
    early_tenure_years: float = uncertain(
        3.0, "years", 2.0, 5.0,
        "seed 000 L1489-1492: heads most active in their first 0-3 years in a school")
    early_tenure_effort_boost: float = uncertain(
        0.5, "fraction", 0.0, 1.0,
        "seed 000 L581-610 (direction); size is an assumption")
    disadvantage_effort_per_band: float = uncertain(
        0.1, "fraction per FSM band above 1", 0.0, 0.25,
        "seed 000 L612-626 (FSM band 4 heads make greater efforts); size an assumption")
    distributed_leadership_weight: float = uncertain(
        0.3, "fraction", 0.0, 0.6,
        "seed 000 L768-771 (claim 4: greater influence when widely distributed); size an assumption")
    disadvantage_headwind: float = uncertain(
        0.25, "condition units per unit FSM share", 0.0, 0.5,
        "seed 003 L287-289, L1434-1436 (deprivation most acute pressure); size an assumption")
    secondary_headwind: float = uncertain(
        0.07, "condition units", 0.0, 0.15,
        "seed 003 L765-769 (secondary heads face recruiting subject specialists and managing "
        "exclusions); size calibrated to hold the March 2018 phase gap (90 % of primaries and "
        "80 % of secondaries good or better)")
    weakest_condition_weight: float = uncertain(
        0.5, "fraction", 0.0, 1.0,
        "seed 000 L1580-1582: improving one or two areas is not enough in challenging contexts; "
        "weight on the weakest condition in FSM band 3-4 schools")
    outcome_rate_per_term: float = uncertain(
        0.12, "1/term", 0.04, 0.3,
        "seed 003 L616-620 (improvement over years); seed 000 L1458-1469 (conditions precede results)")
    outcome_per_condition: float = uncertain(
        5.0, "effectiveness sd per condition unit", 3.0, 8.0,
        "calibrated: spread of effectiveness across schools")
    outcome_noise_sd: float = uncertain(
        0.08, "effectiveness sd per term", 0.0, 0.2,
        "assumption: year-to-year noise in results")
    transition_dip: float = uncertain(
        0.03, "condition units", 0.0, 0.08,
        "seed 004 L140: decline linked to changes in or vacancies for leadership posts; size an assumption")
    acting_effort: float = uncertain(
        0.5, "fraction of a substantive head's effort", 0.2, 1.0,
        "assumption: an acting head holds the school rather than changing it (seed 004 L140 links "
        "vacancies in leadership posts to decline; it gives no figure for acting heads)")
    gap_base: float = uncertain(
        0.35, "effect-size units", 0.2, 0.5,
        "assumption: disadvantage gap of about a third of a standard deviation")
    gap_conditions_effect: float = uncertain(
        0.4, "effect-size units per condition unit", 0.0, 1.0,
        "assumption: better conditions narrow the disadvantage gap (the seeds report no gap effect)")
    head_domain_sd: float = uncertain(
        0.18, "capacity units (sd across a head's four practice domains)", 0.0, 0.3,
        "assumption: heads are stronger in some practice domains than others (seed 000 L73-79 "
        "names four domains; seed 000 L1580-1582 the weakest area matters in challenging schools)")
    capacity_growth_per_term: float = uncertain(
        0.006, "capacity units per term", 0.0, 0.02,
        "seed 000 L951-961 (self-efficacy -> persistence -> capability); size an assumption")

    # --- pipeline (processes/pipeline.py) ------------------------------------------------
    readiness_growth_per_term: float = uncertain(
        0.008, "readiness units per term", 0.002, 0.03,
        "assumption: about six to eight years from appointment as deputy to readiness")
    developing_people_weight: float = uncertain(
        0.015, "readiness units per term at full 'developing people' capacity", 0.0, 0.04,
        "seed 004 L104, L235, L279; seed 002 L5397 (coaching into leadership by 10 of 12 heads)")
    ready_threshold: float = uncertain(
        0.7, "readiness units", 0.5, 0.9,
        "assumption: readiness at which a leader can take a headship")
    senior_leader_exit_per_year: float = uncertain(
        0.08, "1/year", 0.03, 0.15,
        "assumption: deputies and assistant heads leaving for other reasons than headship")
    bench_refill_per_term: float = uncertain(
        0.5, "probability per term per empty post", 0.2, 0.9,
        "assumption: chance a vacant deputy / assistant post is filled from middle leaders")

    # --- careers (processes/careers.py) --------------------------------------------------
    head_exit_primary_per_year: float = uncertain(
        0.0358, "1/year", 0.02, 0.12,
        "calibrated to NFER 2017: primary head retention 94% (2012) to 92% (2015)")
    head_exit_secondary_per_year: float = uncertain(
        0.064, "1/year", 0.03, 0.16,
        "calibrated to NFER 2017: secondary head retention 91% (2012) to 87% (2015)")
    exit_mult_inadequate: float = uncertain(
        2.5, "hazard ratio", 1.0, 4.0,
        "NFER 2017: retention lower after an inadequate grade, especially the year after a downgrade")
    exit_mult_requires_improvement: float = uncertain(
        1.4, "hazard ratio", 1.0, 2.5,
        "NFER 2017 (lower retention with low attainment); size an assumption")
    exit_mult_per_fsm_band: float = uncertain(
        0.12, "hazard ratio increment per FSM band above 1", 0.0, 0.3,
        "seed 003 L1438-1440 (disadvantaged schools struggle to retain staff); size an assumption")
    exit_mult_small_school: float = uncertain(
        1.2, "hazard ratio", 1.0, 2.5,
        "assumption: small schools' heads leave more (the seeds give no exit figure by size)")
    exit_mult_low_resilience: float = uncertain(
        0.8, "hazard ratio increment at zero resilience", 0.0, 1.5,
        "assumption: direction from seed 000 L951-961 (self-efficacy breeds persistence in the face "
        "of challenges); the seed does not study heads leaving")
    exit_mult_after_downgrade: float = uncertain(
        1.5, "hazard ratio", 1.0, 2.5,
        "NFER 2017: retention lowest 'especially the year after a downgrade' (direction); size an "
        "assumption")
    retirement_age_start: float = uncertain(
        55.0, "years of age", 52.0, 60.0, "assumption: teachers' pension normal age 60-67")
    retirement_per_year_after_start: float = uncertain(
        0.12, "1/year", 0.05, 0.3, "assumption")
    retirement_age_certain: float = uncertain(
        65.0, "years of age", 60.0, 68.0, "assumption: hard upper age of headship in the model")

    # --- succession (processes/succession.py) --------------------------------------------
    internal_preference: float = uncertain(
        0.75, "probability", 0.3, 1.0,
        "assumption; direction from seed 002 L6201-6206 (a head trains the next tier because "
        "someone from outside cannot step in instantly)")
    external_success_per_term: float = uncertain(
        0.55, "probability per term for a fully attractive post", 0.2, 0.9,
        "assumption: most posts are filled within a term or two")
    market_thickness_weight: float = uncertain(
        0.5, "fraction", 0.0, 1.0,
        "seed 001 L61 (declining pool of middle leaders); assumption")
    attractiveness_rural: float = uncertain(
        0.7, "multiplier", 0.4, 1.0, "seed 002 L2415-2417 (recruiting heads of small rural schools problematic)")
    town_rural_weight: float = uncertain(
        0.5, "weight of attractiveness_rural for a town school (0 as urban, 1 as rural)", 0.0, 1.0,
        "assumption: a town-and-fringe headship is halfway between an urban and a rural one")
    attractiveness_coastal: float = uncertain(
        0.8, "multiplier", 0.4, 1.0,
        "assumption: coastal headships are harder to fill (seed 003 L798-802 is about access to support)")
    attractiveness_small: float = uncertain(
        0.75, "multiplier", 0.4, 1.0, "seed 002 L2348-2358, L2415-2417 (small schools cannot recruit)")
    attractiveness_fsm_band4: float = uncertain(
        0.8, "multiplier", 0.5, 1.0, "seed 003 L1438-1440 (disadvantaged schools struggle to recruit)")
    attractiveness_inadequate: float = uncertain(
        0.7, "multiplier", 0.4, 1.0,
        "assumption (NFER 2017 reports heads leaving inadequate schools, not recruitment to them)")
    external_capacity_mean: float = uncertain(
        0.5, "capacity units", 0.35, 0.7, "assumption: capacity of appointees from outside the region's pipeline")
    new_head_capacity_per_readiness: float = uncertain(
        0.6818, "capacity units per readiness unit", 0.5, 1.0,
        "calibrated: holds the Aug 2018 grade mix (Ofsted); a first headship starts below readiness")
    acting_capacity_factor: float = uncertain(
        0.8, "multiplier on acting leader's readiness", 0.5, 1.0, "assumption")
    acting_readiness_gain: float = uncertain(
        0.05, "readiness units", 0.0, 0.15,
        "assumption: acting up develops the deputy (seed 004 L495: a secondment developed the deputy)")
    new_head_age_mean_years: float = uncertain(
        44.0, "years of age", 40.0, 48.0, "assumption: mean age at a first headship")
    new_head_age_sd_years: float = uncertain(
        5.0, "years of age", 3.0, 8.0, "assumption: spread of age at a first headship")

    # --- system leadership (processes/designation.py, brokerage.py, support.py, structure.py)
    nle_application_per_year: float = uncertain(
        0.5, "probability per year", 0.1, 1.0,
        "assumption: share of eligible heads applying in a designation round")
    support_lag_terms: float = uncertain(
        2.0, "terms", 0.0, 4.0,
        "assumption: support acts after a lag (seed 003 L1152-1158 says programmes must last at least "
        "two terms to work, a duration, not a lag)")
    support_condition_effect: float = uncertain(
        0.08, "condition units at full intensity", 0.0, 0.25,
        "seed 004 L419, L458-466 (support builds client capacity: direction); size an assumption")
    exceptionally_good_margin: float = uncertain(
        0.25, "effectiveness sd below the outstanding threshold", 0.1, 0.5,
        "assumption: what 'exceptionally good' (seed 004 L646 relaxation for FSM >= 25 %) means")
    improving_margin: float = uncertain(
        0.2, "effectiveness sd over three years", 0.1, 0.4,
        "assumption: a rise counting as 'continued improvement' (seed 004 L647)")
    nle_bench_strength: float = uncertain(
        0.5, "mean readiness of the senior team", 0.3, 0.7,
        "seed 004 L648 (outstanding senior and middle leaders able to give intensive support); level "
        "an assumption")
    exploratory_engagement: float = uncertain(
        0.8, "fraction of full effect", 0.5, 1.0,
        "assumption: grade 1-2 clients engage in an exploratory way (seed 003 L1348-1353: category 2 "
        "schools have space to engage)")
    support_capacity_gain_per_term: float = uncertain(
        0.02, "capacity units per term at full intensity", 0.0, 0.05,
        "seed 004 L462-466, L484 (coaching the client head and leaders); assumption")
    client_reach_out_probability: float = uncertain(
        0.6, "probability", 0.2, 0.9,
        "seed 003 L1348-1353: grade 3/4 schools either reach out or withdraw; the share an assumption")
    withdrawn_engagement: float = uncertain(
        0.3, "fraction of full effect", 0.0, 0.6, "seed 003 L1348-1353 (withdrawal); size an assumption")
    overload_exponent: float = uncertain(
        0.5, "exponent", 0.0, 1.0,
        "seed 003 L1235-1241 (initiative overload): effect per supporter / supporters^exponent")
    lle_effect_factor: float = uncertain(
        0.6, "fraction of an NLE's effect", 0.2, 1.0,
        "assumption: an LLE's support does less than an NLE's (no seed compares them)")
    shallow_partnership_effect: float = uncertain(
        0.5, "fraction of full effect", 0.2, 1.0,
        "seed 002 L6654-6662 (LA seed funding led schools to collaborate for financial gain: the "
        "focus vague, the benefits for pupils unclear); size an assumption")
    home_strain: float = uncertain(
        0.3, "fraction of change effort lost at full intensity", 0.0, 0.6,
        "seed 002 L2724-2728 (two thirds report pressure on capacity), L6338-6344, L6796-6804")
    home_cover_readiness: float = uncertain(
        0.6, "bench strength (mean readiness)", 0.4, 0.9,
        "seed 002 L6338-6344: home capacity must be in place; level an assumption")
    secondment_readiness_gain: float = uncertain(
        0.01, "readiness units per term", 0.0, 0.03,
        "seed 004 L495 (a secondment opened step-up roles for 8 staff), L507-510; seed 002 L5945-5958")
    nle_exit_multiplier: float = uncertain(
        0.7, "hazard ratio", 0.4, 1.0,
        "seed 004 L506 (NLE work kept a head in headship); size an assumption")
    executive_formation_per_term: float = uncertain(
        0.5, "probability per term", 0.1, 1.0,
        "seed 002 L2348-2358, L5080-5082, L6364-6368 (heads approached to lead a school that cannot recruit)")
    executive_permanent_probability: float = uncertain(
        0.65, "probability", 0.4, 0.9,
        "seed 002 L831-837: almost two thirds of temporary executive headships became permanent")
    executive_review_terms: float = uncertain(
        3.0, "terms", 2.0, 6.0, "assumption: a temporary arrangement is reviewed after a year")
    executive_min_headship_years: float = uncertain(
        2.0, "years", 1.0, 5.0,
        "seed 002 L8105-8111 (potential system leader: head 2+ years of a good or outstanding school)")
    cannot_recruit_terms: float = uncertain(
        2.0, "terms with an acting head", 1.0, 4.0,
        "assumption: how long before a school is seen as unable to recruit (seed 002 L6360-6364)")
    federation_coordination_cost: float = uncertain(
        0.1, "fraction of the executive head's capacity", 0.0, 0.3,
        "seed 001 L307 (Dutch federations: balancing the needs of all schools is a challenge); size an "
        "assumption")
    home_capacity_loss: float = uncertain(
        0.15, "condition units at full intensity with no senior team to cover", 0.0, 0.4,
        "seed 002 L2724-2728 (two thirds of system leaders: pressure on capacity), L6338-6344 (home "
        "capacity a prerequisite), L6360-6376 ('two schools at risk'); size an assumption")
    executive_time_share: float = uncertain(
        0.5, "share of a full-time head", 0.2, 0.8,
        "assumption: an executive head's time away from the home school (seed 002 L6346-6352: the "
        "executive head runs the federation, heads of school run the schools)")
    travel_decay_km: float = uncertain(
        25.0, "km (support dose falls by 1/e per this distance)", 5.0, 100.0,
        "seed 003 L1354-1356 (remote schools: support 'time consuming and costly to attend'), seed 004 "
        "L440 (geographical proximity); size an assumption")
    supporter_willingness: float = uncertain(
        0.3, "probability per term that an available system leader takes a new client", 0.1, 1.0,
        "seed 002 L2724-2728 (two thirds of system leaders: the time commitment puts pressure on "
        "their capacity); the level an assumption")
    nle_min_senior_leaders: float = uncertain(
        2.0, "senior leaders in post", 1.0, 4.0,
        "seed 004 L648 (senior and middle leaders with capacity for intensive support); seed 002 "
        "L6338-6344; count an assumption")
    secondary_application_ratio: float = uncertain(
        4.0, "odds of a secondary head applying relative to a primary head", 1.0, 8.0,
        "seed 002 L772-774 (56 % of primary and 77 % of secondary heads in a system-leadership "
        "role); "
        "calibrated to about 53-54 % primary NLEs (seed 002 Appendix 1)")
    trust_engagement: float = uncertain(
        0.8, "probability per term that a school in a trust takes up offered external support", 0.4, 1.0,
        "seed 003 L1343-1346 (trusts may prefer their own CPD, a barrier to external support); size "
        "an assumption")
    remote_engagement: float = uncertain(
        0.8, "probability per term that a village-or-hamlet (setting rural, town and fringe not "
        "included) or coastal school takes up offered support (multiplies trust_engagement)", 0.4, 1.0,
        "seed 003 L1354-1356, L798-802 (rural/coastal schools cut off from support); size an "
        "assumption")
    cover_cost_engagement: float = uncertain(
        0.8, "multiplier on engagement of a client with at most one senior leader", 0.4, 1.0,
        "seed 003 L1281-1285 (limited staff capacity and cover costs hinder release for support); "
        "size an assumption")
    weak_leadership_engagement: float = uncertain(
        0.5, "engagement lost per unit of client head capacity below weak_leadership_capacity",
        0.0, 1.0,
        "seed 003 L1360-1362 (system leaders: school leadership quality a barrier to progress), "
        "L1323-1325 (poor SLT-staff relations); size an assumption")
    secondee_readiness_gain: float = uncertain(
        0.03, "readiness units per term while seconded", 0.0, 0.06,
        "seed 004 L495 (the seconded deputy got 'a meaningful opportunity to develop his leadership "
        "skills' and used them to win a headship); size an assumption, between the pipeline's usual "
        "growth (about 0.016 a term) and a development programme's 0.04 a term")
    alliance_readiness_gain: float = uncertain(
        0.004, "readiness units per term", 0.0, 0.015,
        "seed 001 L230 (leaders grown through partnerships of schools); seed 002 L5945-5958; size an "
        "assumption")
    federation_readiness_gain: float = uncertain(
        0.005, "readiness units per term", 0.0, 0.02,
        "seed 001 L322 (federations create routes for deputies); seed 002 L6410-6418 (heads of school)")

    weak_leadership_capacity: float = uncertain(
        0.5, "capacity units (mean over the four domains)", 0.3, 0.7,
        "assumption: client head capacity below which weak leadership lowers engagement "
        "(weak_leadership_engagement)")
    secondment_min_ready_leaders: float = uncertain(
        2.0, "ready senior leaders at home", 1.0, 4.0,
        "assumption: a supporter seconds staff to a secondary client only with this many ready "
        "senior leaders in its own school (seed 004 L493: 4 of 11 secondary clients cited "
        "secondments; seed 002 L6338-6344: home capacity first)")

    # --- starting state (state.py): what the pipeline and careers would have produced -------
    start_band_above_outstanding: float = uncertain(
        0.6, "effectiveness sd above threshold_outstanding", 0.3, 1.0,
        "assumption: width of the band a starting outstanding school's effectiveness is drawn from")
    start_band_below_inadequate: float = uncertain(
        0.8, "effectiveness sd below threshold_inadequate", 0.4, 1.2,
        "assumption: width of the band a starting inadequate school's effectiveness is drawn from")
    start_condition_sd: float = uncertain(
        0.03, "condition units", 0.0, 0.1,
        "assumption: spread of a school's four conditions around their common starting level")
    start_capacity_sd: float = uncertain(
        0.06, "capacity units", 0.0, 0.15,
        "assumption: spread of a starting head's four domain capacities around the level that "
        "holds the school's conditions")
    start_senior_post_fill_share: float = uncertain(
        0.9, "share of established senior posts", 0.7, 1.0,
        "assumption: senior posts filled at the start (the rest vacant)")
    start_senior_years_mean: float = uncertain(
        5.0, "years (exponential)", 2.0, 10.0,
        "assumption: senior leaders' years in post at the start")
    start_coaching_capacity: float = uncertain(
        0.55, "capacity units", 0.3, 0.8,
        "assumption: a typical head's 'developing people' capacity, used to back-date senior "
        "leaders' starting readiness")
    primary_pupils_per_senior_post: float = uncertain(
        150.0, "pupils per deputy / assistant-head post", 100.0, 250.0,
        "seed 001 L63 (head alone in 5 % of primaries, head plus one in 11 %, three or four "
        "members in about half); the rate that gives that mix is an assumption")
    secondary_senior_posts_base: float = uncertain(
        2.5, "senior posts", 1.5, 3.5,
        "assumption: senior posts of a secondary school before its size adds more (3 to 6 in all)")
    secondary_pupils_per_senior_post: float = uncertain(
        500.0, "pupils per additional senior post", 300.0, 800.0, "assumption")
    senior_posts_noise_sd: float = uncertain(
        0.6, "senior posts", 0.0, 1.0, "assumption: spread of senior posts at a given school size")
    start_head_age_mean_years: float = uncertain(
        50.0, "years of age", 45.0, 55.0, "assumption: heads' age profile at the start")
    start_head_age_sd_years: float = uncertain(
        7.0, "years of age", 4.0, 10.0, "assumption: heads' age profile at the start")
    start_head_experience_mean_years: float = uncertain(
        8.0, "years as a head (gamma, shape 2)", 4.0, 12.0, "assumption")
    start_head_tenure_mean_years: float = uncertain(
        6.4, "years in the current school (gamma, shape 1.6)", 3.0, 10.0, "assumption")
    head_resilience_beta_a: float = uncertain(
        4.0, "Beta shape a of heads' resilience (0-1)", 2.0, 8.0,
        "seed 000 L963-968 (heads' self-efficacy positively skewed: high self-confidence); the "
        "Beta(4, 2) shape an assumption")
    head_resilience_beta_b: float = uncertain(
        2.0, "Beta shape b of heads' resilience (0-1)", 1.0, 4.0,
        "as head_resilience_beta_a (seed 000 L963-968; the shape an assumption)")
    entrant_readiness_beta_a: float = uncertain(
        2.0, "Beta shape a of a new senior leader's readiness (0-1)", 1.0, 4.0,
        "assumption: middle leaders stepping up start low (Beta(2, 5), mean 0.29)")
    entrant_readiness_beta_b: float = uncertain(
        5.0, "Beta shape b of a new senior leader's readiness (0-1)", 3.0, 8.0,
        "assumption, as entrant_readiness_beta_a")
    external_readiness_sd: float = uncertain(
        0.08, "readiness units", 0.02, 0.2,
        "assumption: spread of outside appointees' and interim heads' readiness")
    external_head_experience_mean_years: float = uncertain(
        4.5, "years as a head (gamma, shape 1.5)", 1.0, 10.0,
        "assumption: headship experience of an appointee from outside the region")

    # --- inspection (processes/inspection.py) --------------------------------------------
    inspection_noise_sd: float = uncertain(
        0.35, "effectiveness sd", 0.0, 0.8,
        "assumption: the grade is an imperfect reading of effectiveness (DESIGN.md, process 5)")
    threshold_outstanding: float = uncertain(
        0.459, "effectiveness", 0.0, 1.5, "scale: initial effectiveness lies within the grade cuts, so the start has the Aug 2018 mix")
    threshold_good: float = uncertain(
        -0.818, "effectiveness", -1.6, -0.4, "scale: as threshold_outstanding")
    threshold_inadequate: float = uncertain(
        -1.295, "effectiveness", -2.6, -1.0, "scale: as threshold_outstanding")
    early_inspection_probability: float = uncertain(
        0.3, "probability per term", 0.0, 0.6,
        "assumption: chance a school one term short of its interval is inspected that term")
    risk_inspection_per_term: float = uncertain(
        0.2, "probability per term", 0.05, 0.5,
        "assumption: chance an exempt outstanding school whose results fall below good is "
        "inspected on risk that term")


# --------------------------------------------------------------------------------------------
# Levers: policies (L in the XLRM frame)
# --------------------------------------------------------------------------------------------

@dataclass
class RecruitmentIncentiveConfig:
    """Recruitment and retention premium for hard-to-staff schools (see policies/recruitment_incentive.py)."""

    enabled: bool = False
    targets: tuple[str, ...] = bounded(
        ("rural", "coastal", "fsm_band4"),
        doc="hard-to-staff criteria, any of: rural, coastal, small, fsm_band4, inadequate")
    recruitment_multiplier: float = bounded(1.3, 1.0, 3.0, "multiplier on external appointment chance")
    exit_hazard_multiplier: float = bounded(0.8, 0.2, 1.0, "multiplier on heads' early-exit hazard")
    premium_gbp_per_year: float = bounded(10_000.0, 0.0, 100_000.0, "GBP per eligible school per year")


@dataclass
class DevelopmentProgrammeConfig:
    """Leadership development programme for senior leaders (see policies/development_programme.py)."""

    enabled: bool = False
    places_per_year: int = bounded(2_000, 0, 100_000, "places per year, nationally scaled to the world")
    duration_terms: int = bounded(3, 1, 9, "terms (seed 004 L268: three terms)")
    readiness_gain_per_term: float = bounded(0.04, 0.0, 0.2, "readiness units per term of programme")
    minimum_effective_terms: int = bounded(2, 1, 6, "terms (seed 003 L1152-1158: under two terms does little)")
    targeting: str = bounded("all", choices=("all", "disadvantaged", "rural"), doc="who is offered places")
    cost_gbp_per_place: float = bounded(5_000.0, 0.0, 50_000.0, "GBP per participant")


FIRST_INSPECTION_TERMS = 9  # new schools: first graded inspection within three years of opening


@dataclass
class InspectionRegimeConfig:
    """Ofsted's inspection cycle (see processes/inspection.py).

    Intervals approximate the school inspection handbooks: outstanding about five years (before
    the 2012 exemption), good about four, requires improvement about 30 months, inadequate
    monitored and re-inspected within about 18 months; new schools within three years of
    opening. Not in the data file: an assumption, compared with the observed intervals in
    docs/CALIBRATION.md. ``regime=calendar`` follows the regimes in force on each calendar date
    (processes/inspection.py ``CALENDAR``); ``regime=fixed`` applies ``outstanding_exempt``
    throughout, as a counterfactual lever.
    """

    regime: str = bounded("calendar", choices=("calendar", "fixed"),
                          doc="regimes by calendar date, or one fixed regime for the whole run")
    interval_terms: tuple[int, int, int, int] = bounded(
        (15, 12, 7, 5), doc="terms between inspections for grades 1, 2, 3, 4")
    first_inspection_terms: int = bounded(
        FIRST_INSPECTION_TERMS, 1, 30, "terms",
        doc="terms from opening (or sponsored conversion) to a new school's first graded inspection")
    outstanding_exempt: bool = bounded(
        False, doc="regime=fixed only: outstanding schools inspected only on risk, as 2012-2021")


TARGETING_RULES = ("none", "nearest", "neediest_first", "cold_spots_first", "random")


@dataclass
class SystemLeadershipConfig:
    """NLE / LLE designation, brokerage of school-to-school support, federations (issue 3).

    See ``policies/system_leadership.py``. ``targeting`` is the rule brokers use to match schools
    in need to system leaders.
    """

    enabled: bool = True
    targeting: str = bounded("nearest", choices=TARGETING_RULES, doc="brokerage rule")
    nle_quota: int = bounded(1_000, 0, 10_000,
                             "NLEs nationally (DfE target 1,000 by 2014-15); scaled to the world")
    lle_quota: int = bounded(2_000, 0, 20_000, "LLEs nationally (assumption); scaled to the world")
    fsm_relaxation: bool = bounded(True, doc="seed 004 L646: FSM >= 25% schools may qualify when "
                                   "'exceptionally good' rather than outstanding")
    min_headship_years: float = bounded(3.0, 0.0, 10.0, "years (DfE NLE guide and LA LLE guidance in "
                                        "england_reference.md; not in seed 004 Annex B)")
    max_clients_per_nle: int = bounded(2, 1, 4, "clients (seed 002 L1023: one or two schools)")
    max_distance_km: float = bounded(50.0, 1.0, 500.0, "km between supporter and client")
    phase_match: bool = bounded(True, doc="supporters only support schools of their own phase")
    deployment_grant_gbp: float = bounded(20_000.0, 0.0, 200_000.0,
                                          "GBP per supported school (2015-16 grant, up to 20k)")
    budget_gbp_per_year: float = bounded(20_000_000.0, 0.0, 1e10,
                                         "GBP per year nationally; scaled to the world")
    support_years: float = bounded(2.0, 0.33, 3.0, "years (seed 004 L135: one to three years)")
    executive_headship: bool = bounded(True, doc="small or failing schools that cannot recruit can "
                                       "be led by the head of a nearby strong school")
    funding_incentive: float = bounded(0.0, 0.0, 1.0, doc="share of deployments that are shallow "
                                       "funding-led partnerships (seed 002 L6654-6662)")
    federation_incentive: float = bounded(1.0, 0.0, 5.0, doc="multiplier on the chance an executive "
                                          "headship forms where a school cannot recruit")
    teaching_schools: bool = bounded(True, doc="designate teaching schools and form their alliances")
    teaching_school_quota: int = bounded(
        755, 0, 5_000, "teaching schools nationally (755 in Dec 2019, DfE); scaled to the world")
    alliance_size: int = bounded(8, 2, 40, "schools per alliance including the teaching school "
                                 "(755 teaching schools in 618 alliances; size an assumption)")
    teaching_school_grant_gbp: float = bounded(
        60_000.0, 0.0, 500_000.0, "GBP per teaching school in its first year, tapering to zero over "
        "four years (seed 002 L6680-6684; amount an assumption)")
    nle_quota_by_year: list[list[int]] = field(default_factory=list, metadata={
        "doc": "historical scenario: [calendar year, national NLEs] pairs, interpolated; "
               "overrides nle_quota when given"})


@dataclass
class SponsoredAcademiesConfig:
    """Sponsored academy conversion of inadequate maintained schools (processes/academies.py).

    Since the Education and Adoption Act 2016 an inadequate judgement of a maintained school
    brings an academy order: the school reopens as a sponsored academy in a trust, with new
    leadership, a new URN and no inspection grade until its first inspection as a new school.
    """

    enabled: bool = True
    order_to_opening_terms: int = bounded(
        3, 1, 9, "terms", doc="from the academy order to the sponsored academy opening "
        "(assumption: about a year; not in the evidence files)")


@dataclass
class PolicyConfig:
    """All levers in force for a run; each key is one policy class in ``sim/policies``."""

    name: str = "baseline"
    inspection: InspectionRegimeConfig = field(default_factory=InspectionRegimeConfig)
    sponsored_academies: SponsoredAcademiesConfig = field(default_factory=SponsoredAcademiesConfig)
    system_leadership: SystemLeadershipConfig = field(default_factory=SystemLeadershipConfig)
    recruitment_incentive: RecruitmentIncentiveConfig = field(default_factory=RecruitmentIncentiveConfig)
    development_programme: DevelopmentProgrammeConfig = field(default_factory=DevelopmentProgrammeConfig)


# --------------------------------------------------------------------------------------------
# World and run settings
# --------------------------------------------------------------------------------------------

@dataclass
class WorldConfig:
    """Which schools the run starts from (see sim/england.py, sim/world.py and sim/gias.py)."""

    name: str = "england"
    seed: int = bounded(0, 0, 2**32 - 1, doc="seed of the world's random draws (synthetic schools, "
                        "imputed values), kept apart from the run seed so replications and policy "
                        "arms share one world")
    source: str = bounded("england", choices=("england", "synthetic", "gias", "toy"),
                          doc="the real 20,153 schools of March 2018 (data/england_2018), a "
                              "synthetic England-like world, a GIAS CSV, or a toy world")
    region: str | None = bounded(None, doc="keep only this region (one of the nine)")
    local_authority: str | None = bounded(None, doc="keep only this local authority")
    scale: float = bounded(1.0, 0.001, 20.0, "multiplier on the number of schools (synthetic world)")
    data_dir: str | None = bounded(None, doc="folder of the real-England data (source=england; "
                                   "default: the vendored data/england_2018)")
    gias_path: str | None = bounded(None, doc="path to a GIAS all-establishments CSV (source=gias)")
    gias_max_dropped_share: float = bounded(
        0.01, 0.0, 1.0, "share of in-scope schools",
        doc="most schools a GIAS load may drop for want of data (unknown phase wording, no "
            "coordinates in their LA) before it is refused; an assumption (sim/gias.py)")
    toy_schools: int = bounded(12, 1, 10_000, "schools in a toy world")
    start_year: float | None = bounded(None, 2005.0, 2030.0, "calendar year",
                                       doc="calendar year at step 0 (default: the data date for "
                                           "source=england, Sept of the grade mix's year otherwise)")
    starting_grades: str = bounded("2018", choices=("2018", "2010"),
                                   doc="Ofsted grade mix at the start of a synthetic, GIAS or toy "
                                       "world: Aug 2018 or Aug 2010")


@dataclass
class RunConfig:
    """Run length, seed and where results go."""

    seed: int = bounded(0, 0, 2**32 - 1)
    years: int = bounded(10, 1, 60, "years (three terms each)")
    # experiments.run: also run seeds seed+1 .. seed+seeds-1 and draw bands across them
    seeds: int = bounded(1, 1, 1000, "runs of this configuration")
    out: str = "results/run"
    overwrite: bool = False
    progress: bool = True
    figures: bool = True
    check_invariants: bool = bounded(False, doc="check invariants every step (slower; tests turn it on)")
    log_level: str = bounded("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                             doc="console logging of the sis-run command (-v DEBUG, -q WARNING); "
                             "run.log in run.out gets INFO or finer")


@dataclass
class MechanismSwitches:
    """Switches of the system-leadership mechanisms of issue 8; each ``false`` removes one for the
    ablation experiment (``experiment=mechanisms``). ``docs/ODD.md`` section 6.12 says what each does."""

    home_capacity_at_risk: bool = bounded(True, doc="time away lowers the level of the home school's "
                                          "conditions, buffered by its senior team")
    executive_home_cost: bool = bounded(True, doc="an executive head's home school bears the same "
                                        "cost for the time given to the other school")
    status_review: bool = bounded(True, doc="at each inspection NLEs must still be outstanding "
                                  "(or exceptionally good with FSM >= 25 %) and teaching schools "
                                  "outstanding (every role ends below good with or without it)")
    travel_cost: bool = bounded(True, doc="the dose of support falls with the supporter's distance")
    deployment_limits: bool = bounded(True, doc="a supporter needs willingness and a senior team "
                                      "to cover, and NLEs a senior team of at least two")
    cva_ranking: bool = bounded(True, doc="NLE applicants ranked by contextual value added rather "
                                "than raw effectiveness")
    phase_mix: bool = bounded(True, doc="secondary heads apply more often than primary heads")
    client_readiness: bool = bounded(True, doc="trust membership and remoteness lower the chance a "
                                     "school takes up offered support; cover cost and weak "
                                     "leadership lower a client's engagement")
    secondment_vacancy_chain: bool = bounded(True, doc="a seconded senior leader leaves their post "
                                             "for the secondment and a middle leader steps up into "
                                             "it until they return (seed 004 L495)")
    new_head_support: bool = bounded(True, doc="a school whose substantive head is in their first "
                                     "year as a head is in need of support whatever its grade "
                                     "(seed 004 L435)")
    nle_executive_headship: bool = bounded(True, doc="a school that needs an executive head is "
                                           "offered first to an NLE already supporting it")
    domain_heterogeneity: bool = bounded(True, doc="heads' capacity differs across the four "
                                         "practice domains (sd head_domain_sd), so schools' four "
                                         "conditions differ and the weakest-condition rule acts")
    starting_system_leaders: bool = bounded(True, doc="designate NLEs and LLEs at step 0 with the "
                                            "model's criteria, up to the quotas (a world's listed "
                                            "teaching schools are designated at step 0 either way)")


@dataclass
class SimConfig:
    """A complete, resolved configuration of one run."""

    world: WorldConfig = field(default_factory=WorldConfig)
    behaviour: BehaviourParams = field(default_factory=BehaviourParams)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    run: RunConfig = field(default_factory=RunConfig)
    mechanisms: MechanismSwitches = field(default_factory=MechanismSwitches)


# --------------------------------------------------------------------------------------------
# Conversion and validation
# --------------------------------------------------------------------------------------------

def from_dict(cls: type, data: dict | None, path: str = "") -> Any:
    """Build dataclass ``cls`` from nested plain data, rejecting unknown keys by full name."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path.rstrip('.') or 'config'} must be a mapping of keys to values, "
                          f"got {data!r}")
    data = dict(data)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        names = ", ".join(f"{path}{k}" for k in unknown)
        raise ConfigError(f"unknown configuration key(s): {names}; "
                          f"known keys of {path or 'config'}: {', '.join(sorted(known))}")
    kwargs = {}
    for name, value in data.items():
        f = known[name]
        sub = f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
        if dataclasses.is_dataclass(sub):
            kwargs[name] = from_dict(type(sub), value, f"{path}{name}.")
        elif isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return validate(cls(**kwargs), path)


def to_dict(config: Any) -> dict:
    """Plain nested dict of a configuration dataclass (for manifests and Hydra)."""
    return dataclasses.asdict(config)


def validate(config: Any, path: str = "") -> Any:
    """Check types, ranges and choices of every field of a configuration dataclass, recursively."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        name = f"{path}{f.name}"
        if dataclasses.is_dataclass(value):
            validate(value, name + ".")
            continue
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else None
        if value is None and default is None:
            continue  # an optional setting left unset
        if default is None and meta.get("low") is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{name} must be true or false, got {value!r}")
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            if isinstance(default, int) and not isinstance(value, numbers.Integral):
                raise ConfigError(f"{name} must be a whole number, got {value!r}")  # 2.0 too
        elif f.type in ("str", "str | None") and value is not None and not isinstance(value, str):
            raise ConfigError(f"{name} must be text, got {value!r}")
        low, high = meta.get("low"), meta.get("high")
        # written so that NaN fails too
        if (low is not None and not value >= low) or (high is not None and not value <= high):
            raise ConfigError(f"{name}={value!r} is out of range [{low}, {high}]"
                              + (f" ({meta['unit']})" if meta.get("unit") else ""))
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(str, choices))}")
    if isinstance(config, RecruitmentIncentiveConfig):
        bad = sorted(set(config.targets) - set(HARD_TO_STAFF_CRITERIA))
        if bad:
            raise ConfigError(f"{path}targets has unknown criteria {bad}; "
                              f"choose from {', '.join(HARD_TO_STAFF_CRITERIA)}")
    if isinstance(config, SystemLeadershipConfig):
        for item in config.nle_quota_by_year:
            if len(item) != 2 or not all(isinstance(v, int) and v >= 0 for v in item):
                raise ConfigError(f"{path}nle_quota_by_year entries must be [year, NLEs] pairs of "
                                  f"whole numbers, got {item!r}")
    if isinstance(config, InspectionRegimeConfig) and config.outstanding_exempt and config.regime != "fixed":
        raise ConfigError(f"{path}outstanding_exempt applies only with {path}regime=fixed (the "
                          "calendar regime already exempts outstanding schools from 2012 to 2021)")
    if isinstance(config, InspectionRegimeConfig):
        terms = config.interval_terms
        if (len(terms) != 4 or any(isinstance(t, bool) or not isinstance(t, (int, float))
                                   for t in terms) or any(int(t) != t or t < 1 for t in terms)):
            raise ConfigError(f"{path}interval_terms must be four whole numbers of terms >= 1, "
                              f"got {config.interval_terms!r}")
    if isinstance(config, BehaviourParams):
        if not config.threshold_inadequate < config.threshold_good < config.threshold_outstanding:
            raise ConfigError(f"{path}threshold_inadequate < threshold_good < threshold_outstanding must hold")
    return config


HARD_TO_STAFF_CRITERIA = ("rural", "coastal", "small", "fsm_band4", "inadequate")


# --------------------------------------------------------------------------------------------
# Fixed assumptions: constants that are not sampled (a structure, a published figure, or an
# assumption that is not one number), declared here with unit and source so that
# docs/PARAMETERS.md lists them beside the sampled parameters. The value lives in the module
# named; tests/test_vocabulary.py fails on an undeclared numeric constant in the processes.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FixedAssumption:
    """A model constant outside ``BehaviourParams``: where it lives, its unit and its source."""

    where: str   # "module.NAME", e.g. "sim.state.CONDITION_REFERENCE"
    unit: str
    source: str

    def value(self) -> Any:
        """The constant's value, read from its module (its one home)."""
        import importlib
        module, name = self.where.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)


FIXED_ASSUMPTIONS = (
    FixedAssumption(
        "sim.state.PRACTICE_TO_CONDITION",
        "share of a condition's support from each practice domain (rows: conditions, columns: "
        "domains; rows sum to 1)",
        "assumption shaped by seed 000 L83-110 (practices act on conditions) and L693-700 (staff "
        "ability, motivation and working conditions are the main channel)"),
    FixedAssumption(
        "sim.state.CONDITION_REFERENCE", "condition level (0-1)",
        "scale: the condition level at which effectiveness is zero; the grade thresholds are "
        "calibrated against it"),
    FixedAssumption(
        "sim.state.MAX_SENIOR_LEADERS", "deputy / assistant-head posts per school at most",
        "assumption: secondary senior teams are the largest"),
    FixedAssumption(
        "sim.processes.inspection.CATCH_UP_TERMS", "terms",
        "assumption: formerly exempt outstanding schools overdue when the exemption ends are "
        "inspected with chance 1/12 a term (Ofsted planned about four years)"),
    FixedAssumption(
        "sim.processes.alliances.GRANT_TAPER", "share of the first-year grant in years 1-4",
        "seed 002 L6680-6684 (DfE funding reduced over a teaching school's first four years); "
        "the steps an assumption"),
    FixedAssumption(
        "sim.processes.structure.MAX_SCHOOLS_LED", "schools led by one executive head",
        "seed 002 Table 3.1 L3547-3658 (schools led by the 12 heads interviewed: 1 to 7, mode 2)"),
    FixedAssumption(
        "sim.system_leadership.MODES", "share of a full-time leader, by deployment mode",
        "National College NLE FAQ (3 days a week supporting an acting head; 1-2 days a week "
        "consultancy); seed 004 L495 (a secondment two days a week)"),
    FixedAssumption(
        "sim.processes.support.SECONDMENT_STAFF_GAIN_MULTIPLIER",
        "multiplier on secondment_readiness_gain when the deployment is a secondment",
        "seed 004 L495 (a secondment opened step-up roles for eight staff); twice an assumption"),
    FixedAssumption(
        "sim.system_leadership.STAND_IN_READINESS", "readiness for headship (0-1)",
        "assumption: the mean of the pipeline's Beta(2, 5) readiness for a middle leader stepping "
        "up (processes/pipeline.py), fixed so that ablation arms draw the same random numbers"),
    FixedAssumption(
        "sim.system_leadership.SECONDARY_SECONDMENT_SHARE",
        "probability a secondary client's deployment is a secondment",
        "seed 004 L493 (4 of the 11 secondary clients visited cited secondments)"),
    FixedAssumption(
        "sim.processes.designation.HIGH_DEPRIVATION_FSM", "FSM share",
        "seed 004 L646 (high social deprivation: 25 % or above free school meals)"),
    FixedAssumption(
        "sim.processes.designation.STARTING_PRIMARY_SHARE",
        "share of the starting NLEs / LLEs who lead primaries",
        "seed 002 Appendix 1 L8252-8327 (465 of 878 NLEs in 2013, 504 of 941 in 2014; 1,312 of "
        "1,617 LLEs in 2014)"),
    FixedAssumption(
        "sim.world.GRADE_FSM_SLOPE", "latent-grade sd per unit FSM share (synthetic worlds)",
        "direction from the real 2018 data (below good: 5.6 % of FSM band 1 schools, 23.1 % of "
        "band 4); the slope an assumption"),
    FixedAssumption(
        "sim.world.TOWN_SHARE_OF_RURAL", "share of the DfE rural class (synthetic worlds)",
        "approximation: 'town and fringe' share of rural schools"),
    FixedAssumption(
        "sim.world.FSM_SETTING_FACTOR", "FSM share relative to the regional mean: urban, town, "
        "rural (synthetic worlds)", "approximation"),
)


def parameter_table(cls: type = BehaviourParams) -> list[dict]:
    """One row per declared parameter: name, default, unit, range and source (for docs and SA)."""
    return [{"name": f.name, "default": f.default, "unit": f.metadata.get("unit", ""),
             "low": f.metadata.get("low"), "high": f.metadata.get("high"),
             "source": f.metadata.get("source", f.metadata.get("doc", ""))}
            for f in dataclasses.fields(cls)]
