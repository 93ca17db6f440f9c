"""The event vocabulary: every event name the model logs, in one place.

Processes log events through ``model.events.log(name, ...)`` (:class:`sim.recorder.EventLog`),
which accepts only these names; ``docs/RESULTS.md`` documents each one.
"""

from __future__ import annotations

# leaders of record and senior leaders
HEAD_APPOINTED, HEAD_LEFT = "head_appointed", "head_left"
LEADER_APPOINTED, LEADER_LEFT = "leader_appointed", "leader_left"
# inspection and sponsored academy conversion
INSPECTION, SHORT_INSPECTION = "inspection", "short_inspection"
ACADEMY_ORDER, ACADEMY_OPENED = "academy_order", "academy_opened"
# system leadership: roles, deployments, executive headships, alliances
DESIGNATED, DEDESIGNATED = "designated", "dedesignated"
SUPPORT_STARTED, SUPPORT_ENDED = "support_started", "support_ended"
FEDERATION_FORMED, FEDERATION_PERMANENT, FEDERATION_ENDED = (
    "federation_formed", "federation_permanent", "federation_ended")
ALLIANCE_JOINED, ALLIANCE_LEFT = "alliance_joined", "alliance_left"

EVENT_NAMES = (HEAD_APPOINTED, HEAD_LEFT, LEADER_APPOINTED, LEADER_LEFT, INSPECTION,
               SHORT_INSPECTION, ACADEMY_ORDER, ACADEMY_OPENED, DESIGNATED,
               DEDESIGNATED, SUPPORT_STARTED, SUPPORT_ENDED, FEDERATION_FORMED,
               FEDERATION_PERMANENT, FEDERATION_ENDED, ALLIANCE_JOINED, ALLIANCE_LEFT)
