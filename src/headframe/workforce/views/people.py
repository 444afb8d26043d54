"""Workforce pages: who is underground now (per mine, overdue people first) with the certificates about to expire,
the lamp-room terminal of a mine (check-in / check-out by tag number, plain form posts, redirect after post), and
the muster list of a mine for an emergency (page and PDF). Every write goes through workforce.services; every
read through workforce.selectors, scoped to the user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from headframe.core.downloads import attachment, html_to_pdf
from headframe.core.errors import HeadframeError, NotFound, PermissionDenied
from headframe.org.models import SiteType, Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import picked_unit, scope_for, unit_get, units_visible
from headframe.telemetry import selectors as telemetry_selectors
from headframe.workforce import selectors, services
from headframe.workforce.models import Presence, Trade
from headframe.workforce.services.overdue import PERSON_OVERDUE, presence_subject

NAV = {"active_nav": "workforce"}
STATIC_DIR = Path(__file__).parent.parent / "static" / "workforce"
RECENT = 15  # check-ins and check-outs listed on the lamp-room terminal
EXPIRY_BUCKETS = (30, 60, 90)
SHOWN = 100  # certificates listed per group on the overview (the count says how many there are)


def _code(unit: Any) -> str:
    return "" if unit is None else getattr(unit, "code", str(unit))


def _trade_label(trade: str) -> str:
    return str(dict(Trade.choices).get(trade, trade))


def _site(user, code: str, perm: str = Perm.VIEW) -> Unit:
    """The mine the URL names, if the user may see it (404 otherwise, like an unknown code); PermissionDenied
    (the page answers 403 with the reason) without perm."""
    try:
        unit = unit_get(user, code, perm)
    except NotFound:
        raise Http404(code) from None
    if unit.kind != UnitKind.SITE:
        raise Http404(code)
    return unit


# --- who is underground now ---------------------------------------------------------------------------------


def _expiry_buckets(rows: list) -> list[tuple[int, list]]:
    """Certificates by how soon they expire: already lapsed (0), within 30 days, 31–60, 61–90."""
    out: list[tuple[int, list]] = [(0, [])] + [(days, []) for days in EXPIRY_BUCKETS]
    for row in rows:
        for days, bucket in out:
            if (row.days_left < 0) if days == 0 else row.days_left <= days:
                bucket.append(row)
                break
    return out


def _overdue_alarms(user, rows) -> dict[int, str]:
    """presence id → the alarm console's row of its "person overdue" alarm, for the overdue people shown."""
    subjects = {presence_subject(r.presence_id): r.presence_id for r in rows if r.overdue}
    if not subjects:
        return {}
    found = telemetry_selectors.external_open(user, subjects=subjects, limit_code=PERSON_OVERDUE)
    return {
        subjects[subject]: reverse("telemetry:mine", args=[site]) + f"#alarm-row-{pk}"
        for subject, (site, pk) in found.items()
    }


@login_required
def index(request):
    user = request.user
    scope = scope_for(user)
    picked = picked_unit(request)
    rows = selectors.underground_now(user)
    counts = selectors.underground_counts(user)
    sites_qs = units_visible(user).filter(kind=UnitKind.SITE, is_active=True)
    sites_qs = sites_qs.filter(Q(site_type=SiteType.UNDERGROUND) | Q(code__in=list(counts)))
    if picked is not None:
        sites_qs = sites_qs.filter(Q(path__startswith=picked.path) | Q(path__in=_ancestor_paths(picked.path)))
    sites = list(sites_qs.order_by("path"))
    by_site: dict[str, list] = {}
    for row in rows:
        by_site.setdefault(_code(row.site), []).append(row)
    alarms = _overdue_alarms(user, rows)
    mines = []
    for site in sites:
        people = sorted(
            by_site.get(site.code, []),
            key=lambda r: (not r.overdue, _code(r.area), _code(r.position), r.full_name),
        )
        mines.append(
            {
                "site": site,
                "count": counts.get(site.code, len(people)),
                "overdue": sum(1 for r in people if r.overdue),
                "people": [(r, _trade_label(r.trade), alarms.get(r.presence_id, "")) for r in people],
                "lamp_room": scope.allows(Perm.LAMP_ROOM, site.path),
            }
        )
    shown = {m["site"].code for m in mines}
    certificates = selectors.certificates_expiring(user, within_days=EXPIRY_BUCKETS[-1])
    if picked is not None:
        certificates = [c for c in certificates if c.unit.path.startswith(picked.path)]
    buckets = _expiry_buckets(certificates)
    context = {
        "mines": mines,
        "total": sum(m["count"] for m in mines),
        "overdue_total": sum(m["overdue"] for m in mines),
        "hidden": sum(n for code, n in counts.items() if code not in shown),
        "expiry": [(days, rows[:SHOWN], len(rows)) for days, rows in buckets],
        "generated_at": timezone.now(),
        **NAV,
    }
    return render(request, "workforce/index.html", context)


def _ancestor_paths(path: str) -> list[str]:
    """A site picked in the shell lies under its company: "/G/A/M1/" → ["/G/", "/G/A/", "/G/A/M1/"]."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


# --- the lamp room ------------------------------------------------------------------------------------------


def _session_key(site: Unit) -> str:
    return f"workforce-lamp-{site.code}"


def _position_of(user, site: Unit, worker_id: int) -> tuple[str, str]:
    """(area, work position) of a person just checked in, from today's roster as the underground list has it."""
    for row in selectors.underground_now(user, site.code):
        if getattr(row.worker, "pk", row.worker) == worker_id:
            area, position = row.area, row.position
            return (
                f"{_code(area)} — {getattr(area, 'name', '')}" if area else "",
                f"{_code(position)} — {getattr(position, 'name', '')}" if position else "",
            )
    return "", ""


def _done(user, site: Unit, presence: Presence, action: str) -> dict:
    worker = presence.worker
    area, position = _position_of(user, site, worker.pk) if action == "in" else ("", "")
    at = presence.checked_in_at if action == "in" else presence.checked_out_at
    return {
        "ok": True,
        "action": action,
        "employee_no": worker.employee_no,
        "full_name": worker.full_name,
        "trade": _trade_label(worker.trade),
        "team": worker.team,
        "area": area,
        "position": position,
        "at": timezone.localtime(at).strftime("%H:%M") if at else "",
        "override_by": presence.override_by.get_username() if presence.override_by else "",
        "override_reason": presence.override_reason,
    }


def _refused(exc: HeadframeError, action: str, tag: str, *, can_override: bool) -> dict:
    refusal = isinstance(exc, services.CheckInRefused)
    return {
        "ok": False,
        "action": action,
        "tag": tag,
        "refusal": refusal,
        "reasons": [item.text for item in exc.items],
        "can_override": refusal and can_override,
    }


def _recent(site: Unit) -> list[dict]:
    """The last check-ins and check-outs at the mine, newest first."""
    base = Presence.objects.filter(site=site).select_related("worker")
    ins = list(base.order_by("-checked_in_at")[:RECENT])
    outs = list(base.filter(checked_out_at__isnull=False).order_by("-checked_out_at")[:RECENT])
    events = [
        {"at": p.checked_in_at, "action": "in", "presence": p, "override": bool(p.override_by_id)}
        for p in ins
    ] + [{"at": p.checked_out_at, "action": "out", "presence": p, "override": False} for p in outs]
    events.sort(key=lambda e: e["at"], reverse=True)
    for event in events:
        event["trade"] = _trade_label(event["presence"].worker.trade)
    return events[:RECENT]


@login_required
@require_http_methods(["GET", "POST"])
def lamp_room(request, site: str):
    try:
        unit = _site(request.user, site, Perm.LAMP_ROOM)
    except PermissionDenied as exc:
        return render(request, "web/forbidden.html", {"message": exc.text, **NAV}, status=403)
    can_override = scope_for(request.user).allows(Perm.CHECKIN_OVERRIDE, unit.path)
    if request.method == "POST":
        request.session[_session_key(unit)] = _lamp_room_post(request, unit, can_override=can_override)
        return redirect("workforce:lamp-room", site=unit.code)
    context = {
        "site": unit,
        "result": request.session.pop(_session_key(unit), None),
        "recent": _recent(unit),
        "can_override": can_override,
        "underground": selectors.underground_counts(request.user).get(unit.code, 0),
        **NAV,
    }
    return render(request, "workforce/lamp_room.html", context)


def _lamp_room_post(request, site: Unit, *, can_override: bool) -> dict:
    action = request.POST.get("action", "")
    tag = request.POST.get("tag", "").strip()
    reason = request.POST.get("override_reason", "").strip()
    if action not in ("in", "out", "override"):
        action = "in"
    if not tag:
        return {"ok": False, "action": action, "tag": "", "reasons": [_("Enter the tag number.")]}
    if action == "override" and not reason:
        refused = {"ok": False, "action": "in", "tag": tag, "refusal": True, "can_override": can_override}
        return {**refused, "reasons": [_("Give the reason for letting the person underground.")]}
    try:
        if action == "out":
            presence = services.check_out(actor=request.user, tag_no=tag, site_code=site.code)
            return _done(request.user, site, presence, "out")
        presence = services.check_in(
            actor=request.user,
            tag_no=tag,
            site_code=site.code,
            override_reason=reason if action == "override" else "",
        )
        return _done(request.user, site, presence, "in")
    except HeadframeError as exc:
        return _refused(exc, "out" if action == "out" else "in", tag, can_override=can_override)


# --- the muster list ----------------------------------------------------------------------------------------


def _muster_context(request, site: str) -> dict:
    unit = _site(request.user, site)
    muster = selectors.muster_list(request.user, unit.code)
    groups = [
        {
            "area": area,
            "position": position,
            "people": [(r, _trade_label(r.trade)) for r in rows],
        }
        for area, position, rows in muster.groups
    ]
    return {
        "site": unit,
        "muster": muster,
        "groups": groups,
        "can_lamp_room": scope_for(request.user).allows(Perm.LAMP_ROOM, unit.path),
        **NAV,
    }


@login_required
def muster(request, site: str):
    context = _muster_context(request, site)
    context["pdf_url"] = reverse("workforce:muster-pdf", args=[context["site"].code])
    return render(request, "workforce/muster.html", context)


@login_required
def muster_pdf(request, site: str):
    context = _muster_context(request, site)
    html = render_to_string("workforce/muster_pdf.html", context, request=request)
    generated = timezone.localtime(context["muster"].generated_at or timezone.now())
    name = f"muster-{context['site'].code}-{generated:%Y%m%d-%H%M}.pdf"
    return attachment(html_to_pdf(html, STATIC_DIR), "application/pdf", name)
