"""Leadership development programme for senior leaders (NPQH-like; seed 004 L258-268).

Once a year, places are offered to senior leaders not yet ready for headship, drawn at random
among the targeted schools. A participant gains readiness each term on the programme, but only
once they have stayed at least ``minimum_effective_terms`` (programmes shorter than about two
terms do little: seed 003 L1152-1158); the gains of the first terms are then paid in one go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..parameters import DevelopmentProgrammeConfig
from ..state import TERMS_PER_YEAR
from ..world import ENGLAND_SCHOOLS
from . import Policy, PolicyEffects

if TYPE_CHECKING:
    from ..model import SchoolSystemModel



class DevelopmentProgramme(Policy):
    """Funded development places that speed senior leaders' readiness for headship."""

    name = "development_programme"

    def __init__(self, config: DevelopmentProgrammeConfig, model: "SchoolSystemModel") -> None:
        self.config = config
        w = model.world
        targeted = {"all": np.ones(w.n_schools, dtype=bool),
                    "disadvantaged": model.fsm_band >= 3,
                    "rural": w.rural}[config.targeting]
        self.targeted = targeted
        # places_per_year is for England; smaller worlds get a pro-rata share
        self.places_per_year = int(round(config.places_per_year * w.n_schools / ENGLAND_SCHOOLS))

    def apply(self, model: "SchoolSystemModel", effects: PolicyEffects) -> None:
        """Enrol a new cohort at the start of each year and credit participants' progress.

        ``bench_programme_terms`` is 0 for someone never enrolled, the current term of the
        programme (1..duration) for a participant, and -1 once completed (no second place).
        Posts emptied by a leaver are reset to 0, so leaving ends participation.
        """
        s, c = model.state, self.config
        cost = np.zeros(s.n)
        if model.step_count % TERMS_PER_YEAR == 1 and self.places_per_year > 0:
            eligible = (s.bench_present & ~s.ready_leaders(model.params.ready_threshold)
                        & (s.bench_programme_terms == 0) & self.targeted[:, None])
            schools, posts = np.nonzero(eligible)
            take = min(self.places_per_year, len(schools))
            chosen = model.rng.choice(len(schools), size=take, replace=False) if take else []
            s.bench_programme_terms[schools[chosen], posts[chosen]] = 1
            np.add.at(cost, schools[chosen], c.cost_gbp_per_place)
        effects.spend(self.name, cost)

        terms = s.bench_programme_terms
        on = s.bench_present & (terms > 0)
        # Gains are credited from the minimum effective term on, the earlier terms paid then.
        bonus = np.where(terms == c.minimum_effective_terms, c.minimum_effective_terms, 0)
        bonus = np.where(terms > c.minimum_effective_terms, 1, bonus)
        effects.readiness_bonus += np.where(on, bonus * c.readiness_gain_per_term, 0.0)
        advanced = np.where(on, terms + 1, terms)
        s.bench_programme_terms[:] = np.where(on & (advanced > c.duration_terms), -1, advanced)
