"""One search over what the user may see: units, sensors, people, directives and findings.

Matching is Vietnamese-aware the same way on SQLite and PostgreSQL: the query and each candidate are folded in
Python (case-insensitive, accents and đ dropped: "quang ninh" finds "Quảng Ninh", "QUẢNG" finds "quang"), over
the narrow columns of the rows the user's scope lets through — each kind's candidate set is bounded by
MAX_CANDIDATES, so one query costs a handful of indexed selects whatever the database.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from headframe.briefing.selectors import directives_visible
from headframe.core.errors import ValidationFailed
from headframe.org.selectors import people_visible, units_visible
from headframe.safety.selectors import findings_visible
from headframe.telemetry.selectors import sensors_visible

MIN_QUERY = 2
MAX_QUERY = 100
PER_KIND = 8
MAX_CANDIDATES = 20_000  # rows per kind looked at; a group has ~2 000 units and ~10 000 sensors

KINDS = (
    ("units", _("Units")),
    ("sensors", _("Sensors")),
    ("people", _("People")),
    ("directives", _("Directives")),
    ("findings", _("Findings")),
)


def fold(text: str) -> str:
    """Lower case without accents: 'Quảng Ninh' → 'quang ninh', 'Đèo Nai' → 'deo nai'."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


@dataclass
class Hit:
    label: str
    detail: str
    url: str
    rank: int = 2


@dataclass
class Group:
    kind: str
    title: str
    hits: list[Hit] = field(default_factory=list)
    total: int = 0


@dataclass
class SearchResult:
    query: str
    groups: list[Group]

    @property
    def total(self) -> int:
        return sum(g.total for g in self.groups)


QUERY_ERRORS = {  # what a page shows for each refusal of clean_query, in the UI language
    "too_long": _("Search for at most %(n)d characters."),
    "hidden_character": _("The search holds a hidden character."),
}


def clean_query(raw: str | None) -> str:
    """The query as searched, or a field error (422 on q) for one that is too long or holds control characters."""
    query = " ".join((raw or "").split())
    if len(query) > MAX_QUERY:
        raise ValidationFailed(
            loc=("query", "q"), type="too_long", params={"max": MAX_QUERY}, key="too_long.search"
        )
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in query):
        raise ValidationFailed(
            loc=("query", "q"), type="hidden_character", params={}, key="hidden_character.search"
        )
    return query


def query_error_text(exc: ValidationFailed) -> str:
    kind = exc.items[0].type
    return str(QUERY_ERRORS.get(kind, kind)) % {"n": MAX_QUERY}


def _matcher(query: str):
    tokens = fold(query).split()

    def rank(code: str, *texts: str) -> int | None:
        """None when a token is missing; 0 exact code, 1 a field starts with the query, 2 contains every token."""
        folded_code = fold(code)
        hay = " ".join([folded_code, *(fold(t) for t in texts if t)])
        if not all(t in hay for t in tokens):
            return None
        whole = " ".join(tokens)
        if folded_code == whole:
            return 0
        if folded_code.startswith(whole) or any(fold(t).startswith(whole) for t in texts if t):
            return 1
        return 2

    return rank


def _collect(group: Group, candidates, build) -> Group:
    hits = [hit for row in candidates if (hit := build(row)) is not None]
    hits.sort(key=lambda h: (h.rank, h.label))
    group.total = len(hits)
    group.hits = hits[:PER_KIND]
    return group


def search(user, raw_query: str | None) -> SearchResult:
    """What the user may see that matches the query, grouped by kind (each kind's best PER_KIND first)."""
    query = clean_query(raw_query)
    if len(fold(query)) < MIN_QUERY:
        return SearchResult(query=query, groups=[])
    rank = _matcher(query)
    english = (get_language() or "vi").startswith("en")
    titles = dict(KINDS)
    groups: list[Group] = []

    def unit_hit(row):
        code, name_vi, name_en = row
        r = rank(code, name_vi, name_en)
        if r is None:
            return None
        name = (name_en or name_vi) if english else name_vi
        return Hit(f"{code} — {name}", "", reverse("web:unit-detail", args=[code]), r)

    units = units_visible(user).order_by("path").values_list("code", "name_vi", "name_en")[:MAX_CANDIDATES]
    groups.append(_collect(Group("units", titles["units"]), units, unit_hit))

    def sensor_hit(row):
        code, name, site = row
        r = rank(code, name)
        if r is None:
            return None
        return Hit(f"{code} — {name}" if name else code, site, reverse("telemetry:sensor", args=[code]), r)

    sensors = sensors_visible(user).values_list("code", "name", "gateway__site__code")[:MAX_CANDIDATES]
    groups.append(_collect(Group("sensors", titles["sensors"]), sensors, sensor_hit))

    def person_hit(row):
        full_name, job_title, unit_code, unit_vi, unit_en = row
        r = rank("", full_name, job_title)
        if r is None:
            return None
        unit_name = (unit_en or unit_vi) if english else unit_vi
        detail = " · ".join(x for x in (job_title, f"{unit_code} — {unit_name}") if x)
        return Hit(full_name, detail, reverse("web:unit-detail", args=[unit_code]), r)

    people = (
        people_visible(user)
        .order_by("full_name", "pk")
        .values_list("full_name", "job_title", "unit__code", "unit__name_vi", "unit__name_en")[
            :MAX_CANDIDATES
        ]
    )
    groups.append(_collect(Group("people", titles["people"]), people, person_hit))

    def directive_hit(row):
        pk, text, owner = row
        r = rank(f"#{pk}", text, str(pk))
        if r is None:
            return None
        short = text if len(text) <= 120 else text[:119] + "…"
        return Hit(f"#{pk} {short}", owner or "", reverse("briefing:directive", args=[pk]), r)

    directives = (
        directives_visible(user)
        .order_by("-pk")
        .values_list("pk", "text", "owner_unit__code")[:MAX_CANDIDATES]
    )
    groups.append(_collect(Group("directives", titles["directives"]), directives, directive_hit))

    def finding_hit(row):
        pk, title, responsible, position = row
        r = rank(f"#{pk}", title, responsible, position)
        if r is None:
            return None
        return Hit(f"#{pk} {title}", position, reverse("safety:finding", args=[pk]), r)

    findings = (
        findings_visible(user)
        .order_by("-pk")
        .values_list("pk", "title", "responsible", "position__code")[:MAX_CANDIDATES]
    )
    groups.append(_collect(Group("findings", titles["findings"]), findings, finding_hit))

    return SearchResult(query=query, groups=[g for g in groups if g.total])
