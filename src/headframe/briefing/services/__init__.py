"""Writes of the briefing module: meetings and their live room, directives, key tasks and KPIs.

Every function checks the actor's scope, validates, writes and audits in one transaction; `actor=None` is
the system (shell, demo loader). Who may do what:

- run a meeting (create, edit, start, steer the live room, close): PLAN or MANAGE on the meeting's unit —
  the group's planning office runs the group briefing, a company's its own. A meeting's chair may also
  start, steer and close it. Editing a closed meeting (narrative, agenda, pack) is a 409 Conflict.
- raise a directive: PLAN or MANAGE on the meeting's unit (the office that keeps the minutes, or an
  administrator); outside a meeting, on the owner unit. The owner must lie under the meeting's unit: a
  company briefing cannot direct another company. Reporting progress (in progress, done with evidence,
  comments) needs REPORT, PLAN or MANAGE on the owner unit — the owner reports; cancelling or reopening a
  directive needs PLAN or MANAGE where it was issued.
- key tasks and KPIs: PLAN or MANAGE on the owner unit; a manual milestone may also be reported done by
  whoever may REPORT there.
- joining the live room from a bridge point: VIEW on the bridge point's unit. Heartbeats only move
  `last_seen_at` and are not audited (one every few seconds per screen would drown the log); the first join is.
"""

from headframe.briefing.services.directives import (
    directive_create,
    directive_settable_statuses,
    directive_update_status,
)
from headframe.briefing.services.key_tasks import key_task_create, kpi_create, kpi_update_manual
from headframe.briefing.services.meetings import (
    AgendaItemIn,
    BridgePointIn,
    bridge_point_heartbeat,
    bridge_point_join,
    meeting_close,
    meeting_create,
    meeting_set_focus,
    meeting_start,
    meeting_update,
)

__all__ = [
    "AgendaItemIn",
    "BridgePointIn",
    "bridge_point_heartbeat",
    "bridge_point_join",
    "directive_create",
    "directive_settable_statuses",
    "directive_update_status",
    "key_task_create",
    "kpi_create",
    "kpi_update_manual",
    "meeting_close",
    "meeting_create",
    "meeting_set_focus",
    "meeting_start",
    "meeting_update",
]
