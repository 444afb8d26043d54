"""Build the pack: its directives and key tasks, the whole pack of a unit and period, a meeting's pack (frozen
when closed, else built live and cached), a company's pack inside a group's, and who may see which."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from headframe.briefing import selectors as briefing_selectors
from headframe.briefing.extensions import pack_sections, sections_version
from headframe.briefing.pack.common import PACK_VERSION, num, unit_json
from headframe.briefing.pack.narrative import narrative_draft, period_kind
from headframe.briefing.pack.production import production_sections
from headframe.briefing.pack.safety import safety_sections
from headframe.core.db_router import replica_reads
from headframe.core.errors import ValidationFailed
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production.figures import basis_labels
from headframe.production.selectors.dashboard import page_cache_seconds
from headframe.telemetry.selectors import alarm_change_marks


def _directive_json(d, on: dt.date) -> dict:
    owner = d.owner_unit
    person = d.owner_person
    return {
        "id": d.pk,
        "number": d.number,
        "text": d.text,
        "owner": owner.code,
        "owner_path": owner.path,
        "owner_name_vi": owner.name_vi,
        "owner_name_en": owner.name_en or owner.name_vi,
        "owner_person": person.full_name if person else "",
        "deadline": d.deadline.isoformat(),
        "priority": d.priority,
        "status": str(d.__dict__.get("effective_status_db") or d.effective_status_on(on)),
        "done_at": timezone.localtime(d.done_at).date().isoformat() if d.done_at else None,
        "meeting": d.meeting_id,
    }


DIRECTIVE_GROUPS = ("overdue", "due", "done")


def _directives(unit: Unit, end: dt.date) -> dict:
    """Directives owned under the unit as the register stood at the period's end: overdue, due, and done
    since the unit's previous meeting (briefing.selectors.directives_for_pack decides which is which)."""
    answer = briefing_selectors.directives_for_pack(unit, end)
    since = answer.since
    return {
        "available": True,
        "since": since.isoformat() if since else None,
        **{key: [_directive_json(d, end) for d in getattr(answer, key)] for key in DIRECTIVE_GROUPS},
    }


def _key_tasks(unit: Unit, end: dt.date) -> dict:
    """The year's key tasks held by the unit or a unit above it, with each KPI's value and state."""
    tasks = briefing_selectors.key_tasks_held_above(unit, end.year)
    return {
        "available": True,
        "items": [_key_task_json(status) for status in briefing_selectors.key_task_statuses(tasks, on=end)],
    }


def _key_task_json(status) -> dict:
    task = status.key_task
    return {
        "id": task.pk,
        "number": task.number,
        "title_vi": task.title_vi,
        "title_en": task.title_en or task.title_vi,
        "owner": task.owner_unit.code,
        "status": str(status.status),
        "kpis": [_kpi_json(v) for v in status.kpis],
    }


def _kpi_json(v) -> dict:
    kpi = v.kpi
    out = {
        "name_vi": kpi.name_vi,
        "name_en": kpi.name_en or kpi.name_vi,
        "kind": kpi.kind,
        "comparator": kpi.comparator,
        "target": num(kpi.target),
        "value": num(v.value),
        "actual": num(v.actual),
        "plan": num(v.plan),
        "uom": v.unit_of_measure,
        "decimals": v.decimals,
        "state": str(v.state),
        "done": kpi.done,
    }
    if kpi.measure:
        out["measure"] = kpi.measure
    return out


# ---------------------------------------------------------------- the pack


def pack_blocks(unit: Unit) -> list[Unit]:
    """The units a pack has a section for: the unit, and under the group each active company."""
    if unit.kind == UnitKind.GROUP:
        return [unit, *briefing_selectors.active_companies_of(unit)]
    return [unit]


@replica_reads
def pack_for(unit: Unit, period_start: dt.date, period_end: dt.date, *, since: dt.date | None = None) -> dict:
    """The pack of a unit for [period_start, period_end]: the period's own figures, and the month and year
    to date as of period_end. Read from the replica when there is one — except inside a transaction on the
    primary, as when a closing meeting freezes its pack (core.db_router)."""
    if period_end < period_start:
        raise ValidationFailed(loc=("query", "to"), type="bad_period", params={}, key="bad_period.order")
    return _with_safety(_pack_base(unit, period_start, period_end), unit)


def _pack_base(unit: Unit, period_start: dt.date, period_end: dt.date) -> dict:
    """The pack without its safety section and narrative: what audited writes and new figures change."""
    blocks = pack_blocks(unit)
    production_by = production_sections(unit, period_start, period_end, blocks)
    # The sections the apps above briefing register (briefing.extensions): {name: {block code: dict}}.
    extra_by = {s.name: s.build(unit, period_start, period_end, blocks) for s in pack_sections()}
    return {
        "version": PACK_VERSION,
        "unit": unit_json(unit),
        "period": {
            "start": period_start.isoformat(),
            "end": period_end.isoformat(),
            "kind": period_kind(period_start, period_end),
        },
        "labels": basis_labels(),
        "generated_at": timezone.now().isoformat(),
        "frozen": False,
        "meeting": None,
        "blocks": [
            {
                "unit": unit_json(block),
                "production": production_by[block.code],
                **{name: by[block.code] for name, by in extra_by.items() if by.get(block.code) is not None},
            }
            for block in blocks
        ],
        "directives": _directives(unit, period_end),
        "key_tasks": _key_tasks(unit, period_end),
    }


def _with_safety(base: dict, unit: Unit) -> dict:
    """The base with each block's safety section (telemetry alarms too) and the narrative drawn from both."""
    blocks = pack_blocks(unit)
    start, end = dt.date.fromisoformat(base["period"]["start"]), dt.date.fromisoformat(base["period"]["end"])
    safety_by = safety_sections(unit, start, end, blocks)
    pack = {
        **base,
        # When the pack was put together: its base may be older, but nothing it shows changed since (its key).
        "generated_at": timezone.now().isoformat(),
        "blocks": [
            {"unit": b["unit"], "production": b["production"], "safety": safety_by[b["unit"]["code"]]}
            | {k: v for k, v in b.items() if k not in ("unit", "production")}
            for b in base["blocks"]
        ],
    }
    pack["narrative"] = narrative_draft(pack)
    return pack


def pack_restrict(pack: dict, code: str) -> dict | None:
    """The company pack inside a group pack: that company's block alone, its directives, the same key tasks.
    The chair's edited summary speaks for the whole group, so a company pack has none (its narrative is the
    draft of its own block). None if the pack has no block for the code."""
    block = next((b for b in pack["blocks"] if b["unit"]["code"] == code), None)
    if block is None:
        return None
    if block is pack["blocks"][0]:
        return pack
    out = {**pack, "unit": block["unit"], "blocks": [block], "narrative": None, "narrative_edited": None}
    directives = pack.get("directives") or {}
    if directives:
        path = block["unit"]["path"]
        out["directives"] = {
            **directives,
            **{
                key: [d for d in items if (d.get("owner_path") or "").startswith(path)]
                for key, items in directives.items()
                if isinstance(items, list)
            },
        }
    out["narrative"] = narrative_draft(out)
    return out


def pack_version(unit: Unit | None = None) -> str:
    """What the live pack of a meeting depends on, as one short string read from primary keys only: the last
    audit entry (every service write — figures, plans, directives, findings, meetings — audits in its own
    transaction), the last figure, alarm and alarm-journal row (ingest and the alarm engine do not audit), each
    with its time so a rolled-back id used again never matches, the local day, and what each registered
    section says it depends on (briefing.extensions: a new grievance, case or presence changes the key).
    With `unit`, the alarms are those of its subtree: a methane trip at one mine leaves another company's pack."""
    return f"{_base_version()}|{_alarms_version(unit)}"


def _base_version() -> str:
    """What the pack's base (all but the safety section) depends on: the day, the last audit entry and figure,
    and the registered sections' own marks."""
    parts = [timezone.localdate().isoformat()]
    for last in briefing_selectors.pack_change_marks():
        parts.append(_mark(last))
    extra = sections_version()
    if extra:
        parts.append(extra)
    return "|".join(parts)


def _alarms_version(unit: Unit | None) -> str:
    # The group's pack shows every alarm: the newest of all, without a filter on the path.
    path = unit.path if unit is not None and unit.parent_id is not None else ""
    return "|".join(_mark(last) for last in alarm_change_marks(site_path=path))


def _mark(last) -> str:
    return f"{last[0]}@{last[1].timestamp():.6f}" if last else "-"


@replica_reads
def pack_for_cached(unit: Unit, period_start: dt.date, period_end: dt.date) -> dict:
    """`pack_for`, from the cache while nothing it shows has changed: the live pack of a planned or open meeting
    and the ad-hoc pack of a unit and period (one entry for both). Two entries: the base (figures, the
    registered sections, directives, key tasks) until an audited write or a new figure, and the whole pack
    until also an alarm of the unit's subtree moves — a trip every second at a mine rebuilds only the safety
    section. The keys are read before what they cover, in one replica scope: a scope only ever moves on to the
    primary, so a cached pack is never older than its key. The cache is memory (per process), never the
    database; the pack is the same in every language."""
    # Off in the test suite unless a test asks for it (settings.PAGE_CACHE = True): tests roll back and reuse
    # ids under a frozen clock, which a key read from the database cannot tell apart.
    if not settings.PAGE_CACHE:
        return pack_for(unit, period_start, period_end)
    if period_end < period_start:
        raise ValidationFailed(loc=("query", "to"), type="bad_period", params={}, key="bad_period.order")
    where = f"{unit.pk}:{period_start}:{period_end}"
    base_version = _base_version()
    key = f"briefing:pack:{where}:{base_version}|{_alarms_version(unit)}"
    pack = cache.get(key)
    if pack is not None:
        return pack
    base_key = f"briefing:pack-base:{where}:{base_version}"
    base = cache.get(base_key)
    if base is None:
        base = _pack_base(unit, period_start, period_end)
        cache.set(base_key, base, page_cache_seconds())
    pack = _with_safety(base, unit)
    cache.set(key, pack, page_cache_seconds())
    return pack


def pack_build(meeting) -> dict:
    """A closed meeting's frozen pack; an open meeting's pack built now, with the chair's edited summary."""
    if meeting.status == "closed" and meeting.pack:
        return {**meeting.pack, "frozen": True}
    if meeting.status == "closed":  # being closed: the pack to freeze, from the figures of this moment
        pack = pack_for(meeting.unit, meeting.period_start, meeting.period_end)
    else:
        pack = pack_for_cached(meeting.unit, meeting.period_start, meeting.period_end)
    pack["meeting"] = meeting_json(meeting)
    pack["narrative_edited"] = {"vi": meeting.narrative_vi or "", "en": meeting.narrative_en or ""}
    return pack


def meeting_json(meeting) -> dict:
    return {
        "id": meeting.pk,
        "title": meeting.title,
        "type": meeting.type,
        "status": meeting.status,
        "starts_at": timezone.localtime(meeting.starts_at).isoformat(),
        "closed_at": timezone.localtime(meeting.closed_at).isoformat() if meeting.closed_at else None,
        "chair": meeting.chair.get_username() if meeting.chair_id else None,
    }


def pack_scope(user, meeting, code: str | None = None) -> str | None:
    """Which pack of a meeting the user may see: the code of the meeting's unit (the whole pack), of one
    company in it (that company's pack), or None (nothing: a 404). `code` asks for one block; without it,
    the whole pack if the user may see the meeting's unit, else the first company the user may see."""
    whole = briefing_selectors.can_see_pack(user, meeting)
    blocks = pack_blocks(meeting.unit)
    scope = scope_for(user)
    if code:
        block = next((b for b in blocks if b.code == code), None)
        if block is None or not (whole or scope.allows(Perm.VIEW, block.path)):
            return None
        return block.code
    if whole:
        return meeting.unit.code
    return next((b.code for b in blocks[1:] if scope.allows(Perm.VIEW, b.path)), None)


def meeting_pack_for(user, meeting, code: str | None = None) -> dict | None:
    """The meeting's pack as the user may see it (see pack_scope), or None."""
    allowed = pack_scope(user, meeting, code)
    if allowed is None:
        return None
    return pack_restrict(pack_build(meeting), allowed)
