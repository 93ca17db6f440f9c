"""Which schools need support: the one definition, read by brokerage (the process) and by the
in-run recorder (``sim/recorder.py``) and by the post-run metrics (``sim/outcomes.py``).

Need (seed 004 L432-438: low achievement, new headteachers, Ofsted categories): a school graded
requires improvement or inadequate; a high-disadvantage school (FSM band 4) with results below
the good threshold; and, under the ``new_head_support`` mechanism, any school whose substantive
head is in their first year as a head ("to provide support for new headteachers", seed 004
L435), whatever the school's grade (7 of the 20 clients Ofsted visited had good or outstanding
leadership, seed 004 L524). Without the mechanism a new head counts only in a school below good, which the first rule already covers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .state import SUBSTANTIVE

if TYPE_CHECKING:
    from .model import SchoolSystemModel


def schools_in_need(model: "SchoolSystemModel") -> np.ndarray:
    """(n,) bool: schools in need of support, whether or not they already have it."""
    p, s = model.params, model.state
    weak = s.grade >= 3
    new_head = (s.head_experience < 1.0) & (s.leader_kind == SUBSTANTIVE)
    if not model.config.mechanisms.new_head_support:
        new_head &= weak
    disadvantaged_low = (model.fsm_band == 4) & (s.effectiveness < p.threshold_good)
    return weak | new_head | disadvantaged_low
