"""The error-message catalogue: one code (an ErrorItem's `type`, or its `key` when one code has several
messages) → one template with named placeholders, written in English and translated through gettext (vi in
headframe/locale). Services raise `ErrorItem(loc, type=…, params={…}, key=…)` or
`ValidationFailed(loc=…, type=…, params={…})`; the message is rendered here:

- on pages in the UI language (`item.text`, `exc.text`): numbers 1.234,5 and dates dd/mm/yyyy in Vietnamese;
- in the API in the request's language when it names one (Accept-Language or the language cookie), else English,
  so clients written against the English messages keep working (`msg` is the English rendering);
- a parameter given as `named(obj)` (anything with name_vi/name_en, e.g. an indicator) shows the name in the
  language rendered, never the internal code.

Items raised the old way (a ready `msg`, no params) are shown translated when the catalogue of translations has
that sentence, else — on a Vietnamese page, for an English sentence — the code's generic message, so a page never
mixes languages. Every code raised anywhere in src/ has an entry here with a Vietnamese translation
(tests/core/test_messages.py walks the source to hold that)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.utils.translation import get_language, gettext, override
from django.utils.translation import gettext_noop as N

from headframe.core.formatting import format_date, format_datetime, format_exact

if TYPE_CHECKING:
    from headframe.core.errors import ErrorItem

log = logging.getLogger(__name__)

CATALOGUE: dict[str, str] = {
    # generic message of every code (shown for items raised without params)
    "active_children": N("the unit still has active units under it"),
    "already_in_campaign": N("already in the campaign"),
    "bad_period": N("the period is not valid"),
    "below_precision": N("the value is below the stored precision"),
    "bridge_point_outside_unit": N("the bridge point is outside the meeting's unit"),
    "cell_too_large": N("a cell is too large"),
    "closed": N("it is already closed"),
    "conflict": N("conflict with the current state"),
    "countersigned": N("already countersigned"),
    "critical_item": N("a critical item failed"),
    "cycle": N("a unit cannot be placed under itself"),
    "date_out_of_range": N("the date is out of range"),
    "date_type": N("expected a date"),
    "deadline_in_past": N("the deadline is in the past"),
    "decimal": N("not a valid number"),
    "derived_indicator": N("this indicator is computed, not entered"),
    "derived_status": N("this status is computed"),
    "duplicate": N("listed twice"),
    "duplicate_column": N("duplicate column"),
    "duplicate_row": N("duplicate row"),
    "duplicate_version": N("this version already exists"),
    "empty": N("nothing to process: it is empty"),
    "enum": N("not one of the allowed values"),
    "error": N("the request was refused"),
    "evidence_required": N("evidence is required"),
    "file_too_large": N("the file is too large"),
    "future": N("the time is in the future"),
    "future_day": N("the day is in the future"),
    "hidden_character": N("the text contains a hidden character"),
    "holiday_exists": N("the holiday already exists"),
    "image_too_large": N("the image is too large"),
    "implausible": N("the value is implausible: check it and confirm it"),
    "impossible": N("the value is impossible"),
    "key_task_outside_owner": N("the key task is outside the owner's unit"),
    "kpi_other_unit": N("the indicator belongs to another unit"),
    "manual_bound": N("the target is not valid"),
    "meeting_closed": N("the meeting is closed"),
    "meeting_not_in_session": N("the meeting is not in session"),
    "meeting_not_planned": N("the meeting is no longer planned"),
    "missing": N("this field is required"),
    "missing_column": N("a column is missing"),
    "mixed_shifts": N("reported both for the whole day and by shift"),
    "month_locked": N("the month is locked"),
    "months": N("expected 12 monthly figures"),
    "naive_time": N("the time has no time zone"),
    "near_miss_injury": N("a near miss has no injuries"),
    "negative": N("the value cannot be negative"),
    "no_change": N("nothing changed"),
    "no_data_sheet": N("the workbook has no data sheet"),
    "no_operator_override": N("an operator cannot override this"),
    "not_a_number": N("not a number"),
    "not_csv": N("not a CSV file"),
    "not_found": N("not found"),
    "not_in_campaign": N("not in this campaign"),
    "not_manual": N("not a manual item"),
    "not_released": N("the work position is not released"),
    "not_reported_here": N("this indicator is not reported here"),
    "not_reporting": N("this unit does not report figures"),
    "not_signed": N("not signed yet"),
    "not_utf8": N("the file is not UTF-8 text"),
    "not_xlsx": N("not an Excel workbook (.xlsx)"),
    "null": N("a value is required"),
    "one_link": N("link to one item only"),
    "open_inspection": N("an inspection is still open"),
    "out_of_range": N("the value is out of range"),
    "owner_outside_meeting_unit": N("the owner is outside the meeting's unit"),
    "parent_kind": N("this kind of unit cannot be placed there"),
    "parent_required": N("a parent unit is required"),
    "period_locked": N("the period is locked"),
    "period_order": N("the period ends before it starts"),
    "period_too_long": N("the period is too long"),
    "permission_denied": N("you do not have permission to do this"),
    "person_outside_unit": N("the person is outside the unit"),
    "photo_file_missing": N("the photo file is missing"),
    "range": N("the value is outside the allowed range"),
    "range_order": N("the lower bound is above the upper bound"),
    "read_only": N("this is read-only"),
    "registry_changed": N("the registry changed meanwhile: reload and try again"),
    "reporting_level": N("the indicator is reported at another level of the unit tree"),
    "roster_unit_kind": N("this kind of unit has no roster"),
    "schema_too_new": N("the database is newer than this program"),
    "self_countersign": N("you cannot countersign your own work"),
    "shift_range": N("no such shift"),
    "signed": N("already signed"),
    "string_too_long": N("the text is too long"),
    "team_outside": N("the team is outside the campaign's units"),
    "too_large": N("too large"),
    "too_long": N("too long"),
    "too_many_rows": N("too many rows"),
    "unknown_agenda_item": N("unknown agenda item"),
    "unknown_bridge_point": N("unknown bridge point"),
    "unknown_column": N("unknown column"),
    "unknown_finding": N("unknown finding"),
    "unknown_gateway": N("unknown gateway"),
    "unknown_indicator": N("unknown indicator"),
    "unknown_item": N("unknown item"),
    "unknown_key_task": N("unknown key task"),
    "unknown_limit": N("unknown limit"),
    "unknown_person": N("unknown person"),
    "unknown_unit": N("unknown unit"),
    "unknown_user": N("unknown user"),
    "unpacked_too_large": N("the file is too large once unpacked"),
    "unreadable_image": N("the image cannot be read"),
    "unsupported_type": N("unsupported file type"),
    "value_error": N("invalid value"),
    "weak_password": N("the password is too weak"),
    "year_mismatch": N("the year does not match"),
    "bad_date": N("not a date (dd/mm/yyyy)"),
    "bad_shift": N("not a shift number"),
    "missing_unit": N("the unit code is missing"),
    "percent_format": N("write a percentage as a number"),
    "unlabelled_column": N("a figure in a column without a header"),
    "outside_plan_year": N("the day is outside the plan year"),
    "outside_unit": N("the person has no role at this unit"),
    "date_parsing": N("not a valid date"),
    # messages with parameters (key = code.variant)
    "not_a_number.value": N("not a number: {value}"),
    "too_large.figure": N("value {value} is implausibly large (a figure is below 10^15)"),
    "below_precision.value": N(
        "value {value} is below the stored precision ({precision}): it would be stored as 0"
    ),
    "unknown_unit.named": N("unknown unit {unit}"),
    "permission_denied.report": N("you may not report figures for {unit}"),
    "not_reporting.group": N("the group does not report figures itself"),
    "unknown_indicator.named": N("unknown indicator {indicator}"),
    "derived_indicator.entered": N("{indicator} is computed, not entered"),
    "derived_indicator.plan": N("{indicator} is computed from its terms; plan those"),
    "not_reported_here.site": N("{indicator} is not reported by {site_type} sites ({unit})"),
    "date_out_of_range.day": N("{day} is outside {first}–{last}"),
    "future_day.day": N("{day} is in the future"),
    "shift_range.count": N(
        "{unit} works {shifts} shifts: shift must be 0 (whole day) or 1–{shifts}, not {shift}"
    ),
    "duplicate_row.of": N("duplicate of {other}: {unit} {indicator} {day} shift {shift}"),
    "period_locked.month": N("{month} is closed for {unit}: ask a planner"),
    "mixed_shifts.day": N(
        "{unit} {indicator} {day} is reported both for the whole day (shift 0) and by shift: use one or the other"
    ),
    "negative.value": N("negative value {value}"),
    "negative.plan": N("plans cannot be negative"),
    "months.count": N("expected 12 monthly figures, got {count}"),
    "missing.indicator": N("give at least one indicator"),
    "range.lost_hours": N("lost hours must be a number from 0 to 24"),
    "deadline_in_past.day": N("the deadline {deadline} is in the past (today is {today})"),
    "evidence_required.directive": N("say how it was done: a directive is marked done only with evidence"),
    "evidence_required.milestone": N("a milestone is marked done only with evidence"),
    "missing_column.named": N("missing column “{column}”"),
    "unknown_column.named": N("unknown column “{column}”: not an indicator code"),
    "duplicate_column.named": N("indicator {indicator} is already in column {column}"),
    "not_xlsx.file": N("not an Excel workbook (.xlsx)"),
    "unknown_unit.code": N("unknown unit code {unit}"),
    "cycle.under": N("cannot place {unit} under {parent}: it is {unit} itself or one of its descendants"),
    "active_children.count": N("deactivate the {count} active unit(s) under {unit} first"),
    "parent_required.top": N("only the group may be a top-level unit"),
    "missing.grants": N("give at least one role on a unit"),
    "permission_denied.own_tokens": N("you may only manage your own tokens"),
    "unknown_user.chair": N("unknown user {user} (the chair must be a user of {unit})"),
    "unknown_person.in": N("no person {person} works in {unit}"),
    "person_outside_unit.named": N("{person} does not work in {unit}"),
    "missing.agenda_title": N("an agenda item needs a title"),
    "missing.directive_text": N("write what is to be done"),
    "enum.priority": N("unknown priority {priority}; expected high, normal or low"),
    "owner_outside_meeting_unit.named": N("{owner} is outside {unit}, which holds this meeting"),
    "one_link.both": N("link either an indicator or a key task, not both"),
    "missing.agenda_or_section": N("give an agenda item or a section"),
    "period_order.end": N("the period must end on or after its first day"),
    # core helpers every app calls (spreadsheets, dates, text, audited writes), the audit API and the search
    "file_too_large.bytes": N("the file is {size} bytes; the limit is {limit} bytes"),
    "too_many_rows.split": N(
        "the file has more than {limit} data rows; split it into files of at most {limit} rows"
    ),
    "cell_too_large.where": N("{where}: the cell holds {count} characters; the limit is {limit}"),
    "not_xlsx.unreadable": N("not a readable .xlsx workbook"),
    "unpacked_too_large.ratio": N(
        "{member} unpacks {ratio} times its packed size (a zip bomb, not a workbook)"
    ),
    "unpacked_too_large.total": N("the workbook unpacks to {total} bytes; the limit is {limit}"),
    "date_out_of_range.labelled": N("{label}: {day} is outside {first}–{last}"),
    "hidden_character.found": N("{label} contains an invisible or control character ({found}); retype it"),
    "conflict.concurrent_change": N("{record} conflicts with a concurrent change: {detail}"),
    "not_found.user": N("no user named {user}"),
    "too_long.search": N("search for at most {max} characters"),
    "hidden_character.search": N("the search holds a hidden character"),
}


def register(entries: dict[str, str]) -> None:
    """Add an app's own messages (its `messages.py`, from its AppConfig.ready): the core keeps the codes every
    app shares, each app the texts only it raises. One key with two different texts is a programming error."""
    clashes = [key for key, text in entries.items() if CATALOGUE.get(key, text) != text]
    if clashes:
        raise ValueError(f"message keys defined twice with different texts: {clashes}")
    CATALOGUE.update(entries)


class InLanguages(TypedDict):
    """A message parameter shown in the language the message is rendered in (see format_param)."""

    vi: str
    en: str


def named(obj: object) -> InLanguages:
    """A parameter that shows an object's name in the language rendered (name_vi / name_en)."""
    return {"vi": getattr(obj, "name_vi", "") or str(obj), "en": getattr(obj, "name_en", "") or str(obj)}


def format_param(value: object, language: str) -> str:
    vietnamese = not language.startswith("en")
    if isinstance(value, dict) and ("vi" in value or "en" in value):
        return str(value.get("vi" if vietnamese else "en") or value.get("vi") or value.get("en"))
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float | Decimal):
        if vietnamese:
            return format_exact(value)
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, dt.datetime):
        return format_datetime(value) if value.tzinfo else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, list | tuple | set):
        return ", ".join(format_param(v, language) for v in value)
    return str(value)


def template_for(item: ErrorItem) -> str | None:
    return CATALOGUE.get(item.key or item.type)


def render(item: ErrorItem, language: str | None = None) -> str:
    """`item`'s message in `language` (default: the active language)."""
    language = language or get_language() or settings.LANGUAGE_CODE
    with override(language):
        template = template_for(item)
        if item.params is not None and template is not None:
            try:
                return gettext(template).format(
                    **{name: format_param(value, language) for name, value in item.params.items()}
                )
            except (KeyError, IndexError, ValueError):
                # A translation whose placeholders do not fit the parameters (test_messages guards the
                # catalogue): say so, and fall back to the message as raised rather than fail the page.
                log.warning("message %s does not fit its parameters %s", item.key or item.type, item.params)
        if not item.msg:
            return gettext(template) if template else item.type
        translated = gettext(item.msg)
        if translated != item.msg or language.startswith("en") or not item.msg.isascii():
            return translated
        generic = CATALOGUE.get(item.type)
        return gettext(generic) if generic else item.msg
