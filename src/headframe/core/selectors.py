"""Reads of the audit log, always within the caller's scope; the keyset pagination list endpoints share."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, Model, QuerySet
from django.utils import formats
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext as _

from headframe.core.formatting import format_date, format_datetime, format_exact
from headframe.core.models import AuditEntry

if TYPE_CHECKING:
    from django.contrib.contenttypes.fields import GenericForeignKey
    from django.db.models import ForeignObjectRel, Q

MAX_PAGE = 500
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: int | None  # pass as `before` to get the next (older) page


def audit_page(
    scope_q: Q,
    *,
    unit_path: str | None = None,
    username: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    object_type: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """Newest first, keyset-paginated by id (keyset_page).

    scope_q is the caller's scope as a filter on `unit_path` (org.selectors.Scope.q(Perm.AUDIT, "unit_path")).
    """
    qs: QuerySet[AuditEntry] = AuditEntry.objects.filter(scope_q)
    if unit_path:
        qs = qs.filter(unit_path__startswith=unit_path)
    if username:
        qs = qs.filter(actor_name=username)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    if object_type:
        qs = qs.filter(object_type=object_type)
    rows, next_cursor = keyset_page(qs, before=before, limit=max(1, min(limit, MAX_PAGE)))
    return AuditPage(rows, next_cursor)


def keyset_page(qs: QuerySet[M], *, before: int | None, limit: int) -> tuple[list[M], int | None]:
    """Newest first, keyset-paginated by id (stable while new rows keep arriving): at most `limit` rows with
    an id below `before` (any, without it) and the cursor of the next, older page (None on the last one)."""
    if before:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].pk if has_more else None


# --- the audit log as people read it ---------------------------------------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _channel_labels() -> dict[str, str]:
    return {
        "web": _("web page"),
        "api": _("API"),
        "cli": _("command line"),
        "admin": _("administration"),
        "system": _("system"),
    }


def _audit_value(
    value: object, field: Field[Any, Any] | ForeignObjectRel | GenericForeignKey | None = None
) -> str:
    """A stored before/after value as a person reads it in the active language: choices by their label,
    yes/no, numbers 1.234,5 and dates dd/mm/yyyy the Vietnamese way (Django's formats for English)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    # Only a Field has choices (a reverse relation or a generic foreign key has none).
    choices = dict(field.flatchoices) if isinstance(field, Field) and field.choices else {}
    if choices and value in choices:
        return str(choices[value])
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        number = Decimal(str(value))
        return (
            format_exact(number)
            if _vietnamese()
            else formats.number_format(number.normalize(), use_l10n=True)
        )
    if isinstance(value, str) and _ISO_DATE.match(value):
        day = dt.date.fromisoformat(value)
        return format_date(day) if _vietnamese() else formats.date_format(day, "SHORT_DATE_FORMAT")
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:
            return moment.strftime("%d/%m/%Y %H:%M")
        return format_datetime(moment)
    if isinstance(value, list):
        return ", ".join(_audit_value(v, field) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_audit_value(v)}" for k, v in value.items())
    return str(value)


def _vietnamese() -> bool:
    return not (get_language() or "vi").startswith("en")


# Apps register what their internal codes mean (production: indicator code → its names), so the audit page shows
# "Than nguyên khai" where the entry stored the language-neutral `raw_coal_t`. Stored text stays codes: the log is
# append-only and read in either language.
ReprTerms = Mapping[str, Mapping[str, str]]
"""{code: {"vi": name, "en": name}}: what a code stored in the audit log means."""

_REPR_TERM_PROVIDERS: list[Callable[[], ReprTerms]] = []


def register_repr_terms(provider: Callable[[], ReprTerms]) -> None:
    """`provider()` → {code: {"vi": name, "en": name}}, called once per audit page."""
    _REPR_TERM_PROVIDERS.append(provider)


def _repr_translator() -> Callable[[str], str]:
    """A function text → text with every registered code replaced by its name in the active language; the
    terms are read once, and only when some text holds a code-like token (codes are snake_case)."""
    language = "vi" if _vietnamese() else "en"
    terms: dict[str, Mapping[str, str]] | None = None  # None: not read yet
    pattern: re.Pattern[str] | None = None

    def translate(text: str) -> str:
        nonlocal terms, pattern
        if not text or "_" not in text or not _REPR_TERM_PROVIDERS:
            return text
        if terms is None:
            terms = {}
            for provider in _REPR_TERM_PROVIDERS:
                terms.update(provider())
            alternatives = "|".join(re.escape(code) for code in sorted(terms, key=len, reverse=True))
            pattern = re.compile(rf"(?<![\w-])({alternatives})(?![\w-])") if terms else None
        if pattern is None:
            return text
        names = terms
        return pattern.sub(lambda m: names[m.group(1)].get(language) or m.group(1), text)

    return translate


def audit_display(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Give each entry what the audit page shows, in the active language: `object_label` (the model's name,
    not `production.actual`), `channel_label`, and `changes` — [(field label, before, after)] with every
    field by its verbose name and every value formatted (never an internal code where a label exists), and
    `object_text`, the stored object description with registered codes shown by name."""
    translate = _repr_translator()
    for entry in entries:
        entry.object_text = translate(entry.object_repr)
        model = None
        if "." in entry.object_type:
            try:
                model = apps.get_model(entry.object_type)
            except (LookupError, ValueError):
                model = None
        entry.object_label = str(model._meta.verbose_name) if model else entry.object_type
        entry.channel_label = _channel_labels().get(entry.channel, entry.channel)
        before, after = entry.before or {}, entry.after or {}
        if not isinstance(before, dict):
            before = {"": before}
        if not isinstance(after, dict):
            after = {"": after}
        changes = []
        for name in [*before, *(k for k in after if k not in before)]:
            field = None
            if model is not None and name:
                try:
                    field = model._meta.get_field(name)
                except FieldDoesNotExist:
                    field = None
            # a field without its own verbose name (Django's default "entered by") is looked up in the catalogue
            label = gettext(str(getattr(field, "verbose_name", "") or name.replace("_", " ")))
            changes.append(
                (
                    label,
                    _audit_value(before.get(name), field) if name in before else "",
                    _audit_value(after.get(name), field) if name in after else "",
                )
            )
        entry.changes = changes
    return entries
