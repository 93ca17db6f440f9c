"""Sponsored academy conversion of inadequate maintained schools.

Since the Education and Adoption Act 2016 a maintained school judged inadequate receives an
academy order and reopens as a sponsored academy in a trust (policy.sponsored_academies). In
the model, an order is made when a maintained school is graded inadequate; the academy opens
``order_to_opening_terms`` later, and opening changes three things, as in the data:

* **new leadership**: the head of record leaves (reason ``academy_conversion``; an executive
  headship or acting headship ends) and succession fills the post in the same term; support
  deployments to the school end, since the sponsor takes over its improvement;
* **a new identity**: the school gets a new URN (``current_id``; events keep the March 2018
  URN as ``school_id`` so a school's history stays joined), governance becomes
  ``academy_sponsor_led``;
* **the inspection clock resets**: the academy is a new school with no grade (grade 0) until
  its first inspection, ``first_inspection_terms`` later. Like Ofsted's own statistics, the
  share good or outstanding counts graded schools only, so a conversion removes an inadequate
  grade from the count until the academy is inspected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..events import ACADEMY_OPENED, ACADEMY_ORDER
from ..state import ACTING, EXECUTIVE
from ..system_leadership import end_deployment
from ..world import ACADEMY_SPONSOR_LED, MAINTAINED, UNINSPECTED

if TYPE_CHECKING:
    from ..model import SchoolSystemModel

NEW_URN_BASE = 900_000  # new identities above every URN in the March 2018 data (max ~147,000)


def step(model: "SchoolSystemModel") -> None:
    """Make academy orders for newly inadequate maintained schools; open the academies due."""
    cfg = model.config.policy.sponsored_academies
    if not cfg.enabled:
        return
    s = model.state
    ordered = (s.governance == MAINTAINED) & (s.grade == 4) & (s.academy_order_step < 0)
    for school in np.nonzero(ordered)[0]:
        s.academy_order_step[school] = model.step_count
        model.events.log(ACADEMY_ORDER, int(school), int(s.head_person[school]), grade=4)
    due = (s.academy_order_step >= 0) & (model.step_count - s.academy_order_step >= cfg.order_to_opening_terms)
    for school in np.nonzero(due)[0]:
        open_sponsored_academy(model, int(school))


def open_sponsored_academy(model: "SchoolSystemModel", school: int) -> None:
    """Reopen ``school`` as a sponsored academy: new leadership, new URN, no grade yet."""
    s, sl = model.state, model.sl
    # logged with the outgoing leader of record, before the sponsor replaces them
    model.events.log(ACADEMY_OPENED, school, int(s.head_person[school]), previous_grade=int(s.grade[school]))
    for deployment in sl.deployments.of_client(school):
        end_deployment(model, deployment, reason="academy_conversion")
    if s.head_is_vacant(school):
        pass  # already vacant: succession fills it this term
    elif s.leader_kind[school] == EXECUTIVE:
        model.end_executive_headship(school, reason="academy_conversion")
    elif s.leader_kind[school] == ACTING:
        model.end_acting_headship(school, reason="academy_conversion")
    else:
        model.remove_head(school, reason="academy_conversion")
    new_id = NEW_URN_BASE + int(np.count_nonzero(s.current_id >= NEW_URN_BASE))
    s.current_id[school] = new_id
    s.governance[school] = ACADEMY_SPONSOR_LED
    s.academy_order_step[school] = -1
    s.previous_grade[school] = s.grade[school]
    s.grade[school] = UNINSPECTED
    s.terms_since_inspection[school] = 0
