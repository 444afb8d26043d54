"""The workforce app's error messages: catalogue key (a code, or code.variant) → English template with named
placeholders, translated through gettext. Registered into headframe.core.messages when the app is ready.

Codes API clients branch on: unknown_tag (404), already_underground / not_underground / roster_conflict /
checkin_refused (409; a refusal's items are not_rostered, training_lapsed, health_class), and the import's
cell codes."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    # generic message of each code this app raises
    "unknown_tag": N("unknown tag number"),
    "unknown_worker": N("unknown worker"),
    "unknown_course": N("unknown course"),
    "already_underground": N("the person is already underground"),
    "not_underground": N("the person is not checked in"),
    "checkin_refused": N("check-in refused"),
    "not_rostered": N("not rostered today at this mine"),
    "training_lapsed": N("mandatory training has lapsed"),
    "health_class": N("the health class forbids underground work"),
    "roster_conflict": N("already rostered elsewhere on this shift"),
    "not_a_site": N("not a mine or site"),
    "not_a_position": N("not a work position"),
    "worker_unit_kind": N("workers belong to a company, a mine or an area"),
    "not_monday": N("not a Monday"),
    "tag_taken": N("the tag number belongs to another worker"),
    "bad_employee_no": N("not a valid employee number"),
    # scope
    "permission_denied.workforce": N(
        "you may not manage workers, rosters or training of {unit}: outside your scope"
    ),
    "permission_denied.lamp_room": N("you may not check people in or out at {unit}: outside your scope"),
    "permission_denied.checkin_override": N(
        "you may not let a refused person underground at {unit}: only an overman of the mine may"
    ),
    # lamp room
    "unknown_tag.named": N("unknown tag number {tag}"),
    "not_a_site.named": N("{unit} is not a mine or site"),
    "already_underground.since": N("{worker} is already underground at {site} (checked in {since})"),
    "period_order.check_out": N("the check-out time {at} is before the check-in at {since}"),
    "not_underground.at": N("{worker} is not checked in at {site}"),
    "checkin_refused.reasons": N("{worker} may not go underground: {count} reason(s)"),
    "not_rostered.today": N("{worker} is not rostered today at a work position of {site}"),
    "training_lapsed.expired": N("{worker}'s {course} expired on {expired}"),
    "training_lapsed.missing": N("{worker} has no {course}"),
    "health_class.underground": N(
        "{worker} is of health class {health_class}: classes IV–VI may not work underground"
    ),
    # rosters
    "unknown_worker.named": N("unknown employee number {employee_no}"),
    "not_a_position.named": N("{unit} is not a work position"),
    "shift_range.roster": N("{unit} works {shifts} shifts: shift must be 1–{shifts}, not {shift}"),
    "roster_conflict.named": N("{worker} is already rostered at {position} on {day}, shift {shift}"),
    "duplicate.employee_no": N("employee number {employee_no} is listed twice"),
    "not_monday.day": N("{day} is not a Monday"),
    # the workers' import
    "unknown_column.worker": N("unknown column “{column}”"),
    "missing.cell": N("{column} is required"),
    "bad_employee_no.value": N(
        "employee number {value} is not valid: 1–20 letters or digits (and - _ . /), starting with one"
    ),
    "too_long.cell": N("{column} is longer than {max} characters"),
    "enum.trade": N("unknown trade {value}; expected one of {choices}"),
    "range.skill_grade": N("the skill grade must be a whole number from 1 to 7, not {value}"),
    "range.health_class": N("the health class must be a whole number from 1 to 6 (or I–VI), not {value}"),
    "bad_date.hire_date": N("not a date (dd/mm/yyyy): {value}"),
    "worker_unit_kind.named": N("{unit} is a work position: workers belong to a company, a mine or an area"),
    "duplicate.tag_no": N("tag number {tag} is listed twice"),
    "tag_taken.named": N("tag number {tag} already belongs to {worker}"),
    "tag_taken.other": N("tag number {tag} already belongs to a worker of another unit"),
    "unsupported_type.workers": N("send the workers as a .csv or .xlsx file, not {filename}"),
}
