"""Which schools need support: the one definition, read by brokerage (the process) and by the
in-run recorder (``sim/recorder.py``) and by the post-run metrics (``sim/outcomes.py``).

Need (seed 004 L432-438: low achievement, new headteachers, Ofsted categories): a school graded
requires improvement or inadequate; a new head (first year) in a school below good; or a
high-disadvantage school (FSM band 4) with results below the good threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .model import SchoolSystemModel


def schools_in_need(model: "SchoolSystemModel") -> np.ndarray:
    """(n,) bool: schools in need of support, whether or not they already have it."""
    p, s = model.params, model.state
    weak = s.grade >= 3
    new_head_below_good = (s.head_tenure < 1.0) & (s.grade >= 3)
    disadvantaged_low = (model.fsm_band == 4) & (s.effectiveness < p.threshold_good)
    return weak | new_head_below_good | disadvantaged_low
