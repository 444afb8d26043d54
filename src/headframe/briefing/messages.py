"""The briefing app's error messages: catalogue key (a code, or code.variant) → English template with named
placeholders, translated through gettext. Registered into headframe.core.messages when the app is ready."""

from django.utils.translation import gettext_noop as N
from django.utils.translation import override


def label(choice, *, lower: bool = False) -> dict:
    """A choice's (or a field's verbose) label as a message parameter, in both languages: never the stored
    value."""
    texts = {}
    for language in ("vi", "en"):
        with override(language):
            text = str(getattr(choice, "label", choice))
        texts[language] = text.lower() if lower else text
    return texts


MESSAGES: dict[str, str] = {
    # what a user may not do outside their scope
    "permission_denied.call_meetings": N("you may not call meetings of {unit}: outside your scope"),
    "permission_denied.join_bridge_point": N(
        "you may not join from bridge point {bridge_point}: outside your scope"
    ),
    "permission_denied.raise_directives": N(
        "you may not raise directives in meetings of {unit}: outside your scope"
    ),
    "permission_denied.give_directives": N("you may not give directives to {unit}: outside your scope"),
    "permission_denied.link_key_tasks": N(
        "you may not link directives to key tasks of {unit}: outside your scope"
    ),
    "permission_denied.cancel_directive": N(
        "you may not cancel or reopen this directive (only where it was issued): outside your scope"
    ),
    "permission_denied.report_directives": N(
        "you may not report on directives of {unit}: outside your scope"
    ),
    "permission_denied.set_key_tasks": N("you may not set key tasks of {unit}: outside your scope"),
    "permission_denied.set_kpis": N("you may not set KPIs of {unit}'s key tasks: outside your scope"),
    "permission_denied.report_key_tasks": N("you may not report on {unit}'s key tasks: outside your scope"),
    # what only the chair or a planner may do
    "permission_denied.change_meeting": N(
        "you may not change this meeting: only the chair or a planner of {unit} may"
    ),
    "permission_denied.start_meeting": N(
        "you may not start this meeting: only the chair or a planner of {unit} may"
    ),
    "permission_denied.close_meeting": N(
        "you may not close this meeting: only the chair or a planner of {unit} may"
    ),
    "permission_denied.steer_meeting": N(
        "you may not steer this meeting: only the chair or a planner of {unit} may"
    ),
    # meetings
    "meeting_closed.fields": N(
        "meeting {meeting} is closed (since {when}): its {fields} can no longer be changed"
    ),
    "meeting_closed.agenda": N(
        "meeting {meeting} is closed (since {when}): its agenda can no longer be changed"
    ),
    "meeting_closed.bridge_points": N(
        "meeting {meeting} is closed (since {when}): its bridge points can no longer be changed"
    ),
    "meeting_closed.directives": N(
        "meeting {meeting} is closed (since {when}): its directives can no longer be changed"
    ),
    "meeting_closed.closed_by": N(
        "meeting {meeting} was already closed on {when} by {user}; its pack is frozen"
    ),
    "meeting_closed.by_system": N(
        "meeting {meeting} was already closed on {when} by the system; its pack is frozen"
    ),
    "meeting_closed.meeting": N("meeting {meeting} is closed"),
    "meeting_not_planned.status": N(
        "meeting {meeting} is already {status}; only a planned meeting can start"
    ),
    "meeting_not_in_session.not_started": N("meeting {meeting} has not started; start it before closing it"),
    "meeting_not_in_session.meeting": N("meeting {meeting} is not in session"),
    "read_only.field": N("{field} cannot be changed"),
    "missing.emptied": N("{field} cannot be emptied"),
    "unknown_agenda_item.meeting": N("agenda item {item} is not on this meeting's agenda"),
    "enum.section": N("unknown section {section}; expected one of {expected}"),
    "enum.status": N("unknown status {status}; expected one of {expected}"),
    "enum.kind": N("unknown kind {kind}; expected one of {expected}"),
    "enum.comparator": N("comparator is ge (≥) or le (≤)"),
    "unknown_bridge_point.named": N("unknown bridge point {bridge_point}"),
    "unknown_bridge_point.meeting": N("bridge point {bridge_point} does not take part in this meeting"),
    "duplicate.bridge_point": N("bridge point {bridge_point} is listed twice"),
    "bridge_point_outside_unit.named": N(
        "bridge point {bridge_point} belongs to {unit}, outside {meeting_unit}"
    ),
    # directives, key tasks, KPIs
    "unknown_key_task.named": N("unknown key task {key_task}"),
    "key_task_outside_owner.named": N(
        "key task {key_task} belongs to {unit}: a directive to {owner} cannot serve it"
    ),
    "derived_status.overdue": N("overdue is not set by hand: it follows from the deadline"),
    "no_change.status": N("the directive is already {status}; add a comment or evidence"),
    "decimal.expected": N("expected a number"),
    "decimal.got": N("expected a number, got {value}"),
    "manual_bound.indicator": N("a manual milestone is not bound to an indicator"),
    "missing.kpi_indicator": N("a KPI of kind “{kind}” needs an indicator"),
    "kpi_other_unit.named": N(
        "KPI bound to an indicator of another unit: {unit} is outside {owner}, which owns the key task"
    ),
    "missing.target": N("give the target value"),
    "missing.kpi_measure": N("give the measure the KPI reads"),
    "unknown_measure": N("unknown measure"),
    "measure_not_bound": N("this kind of KPI reads no measure"),
    "measure_bound": N("a measure is not bound to an indicator"),
    "unknown_measure.named": N("unknown measure {measure}; expected one of {expected}"),
    "measure_not_bound.kind": N("a KPI of kind “{kind}” reads no measure"),
    "measure_bound.indicator": N("a KPI that reads a measure is not bound to an indicator"),
    "not_manual.kpi": N(
        "this KPI is computed from production figures; only manual milestones are reported by hand"
    ),
    # not found
    "not_found.meeting": N("meeting {meeting} not found"),
    "not_found.directive": N("directive {directive} not found"),
    "not_found.key_task": N("key task {key_task} not found"),
    "not_found.kpi": N("KPI {kpi} not found"),
    "not_found.unit_pack": N("pack of {unit} in meeting {meeting} not found"),
    "not_found.meeting_pack": N("pack of meeting {meeting} not found"),
    # periods of a pack
    "bad_period.order": N("the period ends before it starts"),
    "bad_period.to_before_from": N("'to' must not be before 'from'"),
    "period_too_long.pack": N("a pack covers at most a year"),
}
