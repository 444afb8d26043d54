"""The alarm console of a mine's live page: sensor tiles, open alarms worst first, the banner, what hides alarms
(shelved, suppressed by a design rule, out of service) and the operator's actions. Reads through
telemetry.selectors, acts through telemetry.services, like the API; the services check the roles again."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from headframe.core.errors import HeadframeError, NotFound
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.telemetry import engine, selectors, services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    GATEWAY_LOST_LIMIT,
    PRIORITY_RANK,
    STALE_LIMIT,
    AlarmState,
    Priority,
)
from headframe.telemetry.words import (
    KIND_SHORT,
    alarm_message,
    condition_meaning,
    limit_meaning,
    value_text,
)

ALERT_PRIORITIES = frozenset({Priority.URGENT, Priority.HIGH})  # these sound and show the banner
SHELVE_CHOICES = (15, 30, 60, 120, 240, 480)
BANNER_MAX = 3  # the banner names the few newest urgent/high unacknowledged alarms and counts the rest


def site_or_404(user, code: str) -> Unit:
    try:
        unit = unit_get(user, code)
    except NotFound:
        raise Http404(code) from None
    if unit.kind != UnitKind.SITE:
        raise Http404(code)
    return unit


def sensor_or_404(user, code: str):
    try:
        return selectors.sensor_get(user, code)
    except NotFound:
        raise Http404(code) from None


def may_handle(user, site: Unit) -> bool:
    scope = scope_for(user)
    return scope.allows(Perm.DISPATCH, site.path) or scope.allows(Perm.SAFETY, site.path)


def may_service(user, site: Unit) -> bool:
    """Only a safety officer of the site takes a sensor out of service or returns it."""
    return scope_for(user).allows(Perm.SAFETY, site.path)


def alarm_row(view, suppressed_by_gateway: dict[str, int]) -> dict:
    cond, alarm, sensor = view.condition, view.alarm, view.sensor
    priority = alarm.priority if alarm else Priority.HIGH
    if view.external:
        return _external_row(view, priority)
    if sensor is not None:
        info = directory.get(sensor.code)
        rules = info.rules if info is not None else ()
        rule = next((r for r in rules if r.code == cond.limit_code), None)
        meaning = limit_meaning(cond.limit_code, kind=sensor.kind, rule=rule, rules=rules)
        message = alarm_message(sensor, alarm, rule, cond.limit_code)
        value = "—" if cond.limit_code == STALE_LIMIT else value_text(sensor.kind, cond.last_value)
        # Fail safe: without the sensor's rules (unknown to the directory) nothing may be hidden.
        hideable = info is not None and not services.no_operator_override(cond, info)
        position_code, position_name = sensor.position.code, sensor.position.name
        subject_name = sensor.name or str(KIND_SHORT.get(sensor.kind, ""))
    else:
        rule = None
        meaning = limit_meaning(cond.limit_code, gateway=view.subject)
        silent = suppressed_by_gateway.get(view.subject, 0)
        message = (
            ngettext(
                "%(n)d sensor without data: its no-data alarm is suppressed by this rule",
                "%(n)d sensors without data: their no-data alarms are suppressed by this rule",
                silent,
            )
            % {"n": silent}
            if silent
            else ""
        )
        value = "—"
        hideable = False
        position_code, position_name = "", ""
        subject_name = view.gateway.name if view.gateway is not None else ""
    latching = bool(rule and rule.limit.latching)
    return {
        "id": cond.id,
        "sensor": sensor,
        "subject": view.subject,
        "subject_label": view.subject,
        "subject_name": subject_name,
        "is_gateway": sensor is None,
        "is_external": False,
        "position_code": position_code,
        "position_name": position_name,
        "limit": cond.limit_code,
        "priority": priority,
        "priority_label": Priority(priority).label,
        "state": view.state,
        "state_label": AlarmState(view.state).label,
        "unacked": not cond.acked,
        "active": cond.active,
        "latching": latching,
        "can_reset": cond.latched,
        "reset_waits": latching and cond.active and not cond.latched,
        "meaning": meaning,
        "message": message,
        "acked_at": alarm.acked_at if alarm else None,
        "acked_by": alarm.acked_by.username if alarm and alarm.acked_by_id else "",
        "ack_comment": alarm.ack_comment if alarm else "",
        "value": value,
        "raised_at": alarm.raised_at if alarm else None,
        "action": rule.action_vi if rule else "",
        "shelvable": hideable,
        "alert": priority in ALERT_PRIORITIES and not cond.acked,
        "site": view.site,
    }


def _external_row(view, priority: str) -> dict:
    """A condition another part of the system reported (a person overdue underground): what it is in the
    subject column, its own message (the person, the shift end, the place) as the alarm's text."""
    cond, alarm = view.condition, view.alarm
    return {
        "id": cond.id,
        "sensor": None,
        "subject": view.subject,
        "subject_label": condition_meaning(cond, None),
        "subject_name": "",
        "is_gateway": False,
        "is_external": True,
        "position_code": "",
        "position_name": "",
        "limit": cond.limit_code,
        "priority": priority,
        "priority_label": Priority(priority).label,
        "state": view.state,
        "state_label": AlarmState(view.state).label,
        "unacked": not cond.acked,
        "active": cond.active,
        "latching": False,
        "can_reset": False,
        "reset_waits": False,
        "meaning": alarm.message if alarm else condition_meaning(cond, None),
        "message": "",
        "acked_at": alarm.acked_at if alarm else None,
        "acked_by": alarm.acked_by.username if alarm and alarm.acked_by_id else "",
        "ack_comment": alarm.ack_comment if alarm else "",
        "value": "—",
        "raised_at": alarm.raised_at if alarm else None,
        "action": "",
        "shelvable": False,  # fail safe: cleared by its reporter, never hidden from the console
        "alert": priority in ALERT_PRIORITIES and not cond.acked,
        "site": view.site,
    }


def alarm_rows(user, site: Unit, suppressed_by_gateway: dict[str, int] | None = None) -> list[dict]:
    """The open alarms of a site, worst first, as the alarm list shows them."""
    counts = suppressed_by_gateway or {}
    return [alarm_row(view, counts) for view in selectors.alarms_open(user, site=site.code)]


def banner_alarms(rows: list[dict]) -> list[dict]:
    """Unacknowledged urgent and high alarms for the banner: urgent first, then the newest."""
    alerts = [r for r in rows if r["alert"]]
    alerts.sort(
        key=lambda r: (
            -PRIORITY_RANK.get(r["priority"], 0),
            -(r["raised_at"].timestamp() if r["raised_at"] else 0),
        )
    )
    return alerts


def _rule_words(rule_code: str) -> tuple[str, str, str]:
    """(the design rule that suppresses, until when, the gateway code or "") of a condition's suppressed_by."""
    prefix, _sep, subject = rule_code.partition(":")
    if prefix == GATEWAY_LOST_LIMIT:
        return (
            _("Gateway %(gateway)s lost") % {"gateway": subject},
            _("until gateway %(gateway)s is back") % {"gateway": subject},
            subject,
        )
    return _("Design rule"), _("until the rule no longer applies"), ""


def _underlying_state(cond) -> str:
    """The ISA-18.2 state of a hidden condition, as it would show were it not hidden."""
    state = engine.ConditionState(active=cond.active, acked=cond.acked, latched=cond.latched)
    return engine.display_state(state, shelved=False, suppressed=False, out_of_service=False)


def hidden_lists(user, site: Unit) -> dict:
    """Shelved alarms, alarms suppressed by a design rule (grouped by rule) and sensors out of service: who,
    why and until when — everything that hides an alarm is listed where operators look."""
    hidden = selectors.alarms_hidden(user, site=site.code)
    shelved = []
    for view in hidden.shelved:
        cond = view.condition
        shelved.append(
            {
                "id": cond.id,
                "subject": view.subject,
                "sensor": view.sensor,
                "position_code": view.sensor.position.code if view.sensor is not None else "",
                "meaning": condition_meaning(view.condition, view.sensor, view.subject),
                "state_label": AlarmState(_underlying_state(cond)).label,
                "by": cond.shelved_by.username if cond.shelved_by_id else "",
                "reason": cond.shelve_reason,
                "until": cond.shelved_until,
            }
        )
    groups: dict[str, dict] = {}
    for view in hidden.suppressed:
        cond = view.condition
        rule, until, gateway = _rule_words(cond.suppressed_by)
        group = groups.setdefault(
            cond.suppressed_by,
            {"rule": rule, "until": until, "gateway": gateway, "since": None, "items": []},
        )
        group["items"].append(
            {
                "subject": view.subject,
                "sensor": view.sensor,
                "position_code": view.sensor.position.code if view.sensor is not None else "",
                "meaning": condition_meaning(view.condition, view.sensor, view.subject),
            }
        )
        since = cond.active_since
        if since is not None and (group["since"] is None or since < group["since"]):
            group["since"] = since
    out_of_service = [
        {
            "sensor": sensor,
            "code": sensor.code,
            "position_code": sensor.position.code,
            "kind": KIND_SHORT.get(sensor.kind, sensor.kind),
            "reason": sensor.out_of_service_reason,
            "by": sensor.out_of_service_by.username if sensor.out_of_service_by_id else "",
            "until": sensor.out_of_service_until,
        }
        for sensor in hidden.out_of_service
    ]
    suppressed = sorted(groups.values(), key=lambda g: g["rule"])
    return {
        "shelved": shelved,
        "suppressed": suppressed,
        "suppressed_count": sum(len(g["items"]) for g in suppressed),
        "out_of_service": out_of_service,
        "count": len(shelved) + sum(len(g["items"]) for g in suppressed) + len(out_of_service),
    }


def console_context(request, site: Unit, error: str = "") -> dict:
    user = request.user
    hidden = hidden_lists(user, site)
    silent = {g["gateway"]: len(g["items"]) for g in hidden["suppressed"] if g["gateway"]}
    alarms = alarm_rows(user, site, silent)
    alerts = banner_alarms(alarms)
    return {
        "site": site,
        "alarms": alarms,
        "alerts": alerts,
        "banner": alerts[:BANNER_MAX],
        "banner_more": max(0, len(alerts) - BANNER_MAX),
        "banner_urgent": any(a["priority"] == Priority.URGENT for a in alerts),
        "unacked_ids": [a["id"] for a in alarms if a["unacked"]],
        "hidden": hidden,
        "can_handle": may_handle(user, site),
        "can_service": may_service(user, site),
        "shelve_choices": SHELVE_CHOICES,
        "alarm_error": error,
    }


def _error_text(exc: HeadframeError, action: str) -> str:
    """A service's refusal in the active language (services speak English to the API)."""
    item = exc.items[0] if exc.items else None
    kind = item.type if item else ""
    field = str(item.loc[-1]) if item and item.loc else ""
    if kind == "no_operator_override":
        return _(
            "This alarm can be neither shelved nor suppressed: it is a trip or fail-safe alarm with no "
            "operator override."
        )
    if action == "reset" and exc.status == 422:
        return _("The value is still beyond the trip limit: it cannot be reset yet.")
    if field == "reason":
        return (
            _("Say why the sensor is taken out of service.")
            if action == "out-of-service"
            else _("Say why the alarm is shelved.")
        )
    if field == "minutes":
        limit = settings.TELEMETRY_MAX_SHELVE_MINUTES
        return _("Shelve for 1 to %(max)d minutes.") % {"max": limit}
    if field == "hours":
        return _("Out of service for 1 to %(max)d hours.") % {"max": services.OUT_OF_SERVICE_MAX_HOURS}
    if field == "conditions":
        return _("Choose at least one alarm to acknowledge.")
    return _("The action was refused: %(reason)s") % {"reason": item.text if item else exc.text}


def _answer(request, site: Unit, error: str, fallback: str):
    """The refreshed console to the live page's script; else back to the page (the error as a message)."""
    if request.headers.get("X-Requested-With") == "fetch":
        return render(request, "telemetry/_alarms.html", console_context(request, site, error))
    if error:
        messages.error(request, error)
    return redirect(fallback)


def _forbidden():
    return HttpResponseForbidden(_("Handling alarms needs the dispatcher or safety officer role."))


@login_required
def alarms_partial(request, code: str):
    """The alarm console alone (banner, open alarms, what is hidden), for the live page to refresh."""
    site = site_or_404(request.user, code)
    return render(request, "telemetry/_alarms.html", console_context(request, site))


ACTIONS = ("ack", "shelve", "unshelve", "reset")


@login_required
@require_POST
def alarm_action(request, condition_id: int, action: str):
    """Acknowledge (with a comment), shelve (minutes + reason), unshelve or reset an alarm from the page.
    The services check the role; answers the refreshed console to the live page's script, else redirects."""
    if action not in ACTIONS:
        raise Http404(action)
    try:
        view = selectors.condition_get(request.user, condition_id)
    except NotFound:
        raise Http404(condition_id) from None
    site = view.site
    if not may_handle(request.user, site):
        return _forbidden()
    error = ""
    comment = request.POST.get("comment", "").strip()[:2000]
    try:
        if action == "ack":
            services.alarm_acknowledge(actor=request.user, condition_id=condition_id, comment=comment)
        elif action == "shelve":
            try:
                minutes = int(request.POST.get("minutes", ""))
            except ValueError:
                minutes = 0
            services.alarm_shelve(
                actor=request.user,
                condition_id=condition_id,
                minutes=minutes,
                reason=request.POST.get("reason", "")[:2000],
            )
        elif action == "unshelve":
            services.alarm_unshelve(actor=request.user, condition_id=condition_id, comment=comment)
        else:
            services.alarm_reset(actor=request.user, condition_id=condition_id, comment=comment)
    except HeadframeError as exc:
        if exc.status == 403:
            return _forbidden()
        error = _error_text(exc, action)
    return _answer(request, site, error, reverse("telemetry:mine", args=[site.code]))


@login_required
@require_POST
def alarms_ack_many(request, code: str):
    """Acknowledge the selected alarms, or every unacknowledged alarm the page showed (their ids come with the
    form: an alarm raised after the page was drawn is never acknowledged unseen), with one comment."""
    site = site_or_404(request.user, code)
    if not may_handle(request.user, site):
        return _forbidden()
    field = "visible" if request.POST.get("scope") == "visible" else "conditions"
    ids = []
    for raw in request.POST.getlist(field):
        try:
            ids.append(int(raw))
        except ValueError:
            continue
    error = ""
    try:
        services.alarm_acknowledge_many(
            actor=request.user, condition_ids=ids, comment=request.POST.get("comment", "").strip()[:2000]
        )
    except NotFound:
        raise Http404(code) from None
    except HeadframeError as exc:
        if exc.status == 403:
            return _forbidden()
        error = _error_text(exc, "ack")
    return _answer(request, site, error, reverse("telemetry:mine", args=[site.code]))


@login_required
@require_POST
def sensor_out_of_service(request, code: str):
    """A safety officer takes a sensor out of service: a reason, and 1 to 24 hours (8 by default)."""
    sensor = sensor_or_404(request.user, code)
    site = sensor.gateway.site
    if not may_service(request.user, site):
        return HttpResponseForbidden(_("Only a safety officer of the mine takes a sensor out of service."))
    try:
        hours = int(request.POST.get("hours", "") or services.OUT_OF_SERVICE_DEFAULT_HOURS)
    except ValueError:
        hours = 0
    try:
        services.sensor_out_of_service(
            actor=request.user, sensor=sensor, reason=request.POST.get("reason", "")[:2000], hours=hours
        )
    except HeadframeError as exc:
        if exc.status == 403:
            return HttpResponseForbidden(
                _("Only a safety officer of the mine takes a sensor out of service.")
            )
        messages.error(request, _error_text(exc, "out-of-service"))
    return redirect("telemetry:sensor", sensor.code)


@login_required
@require_POST
def sensor_return_to_service(request, code: str):
    """A safety officer returns a sensor to service before its expiry; it is evaluated at once."""
    sensor = sensor_or_404(request.user, code)
    site = sensor.gateway.site
    if not may_service(request.user, site):
        return HttpResponseForbidden(_("Only a safety officer of the mine returns a sensor to service."))
    error = ""
    try:
        services.sensor_return_to_service(
            actor=request.user, sensor=sensor, comment=request.POST.get("comment", "").strip()[:2000]
        )
    except HeadframeError as exc:
        if exc.status == 403:
            return HttpResponseForbidden(_("Only a safety officer of the mine returns a sensor to service."))
        error = _error_text(exc, "return-to-service")
    fallback = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(fallback, allowed_hosts={request.get_host()}):
        fallback = reverse("telemetry:sensor", args=[sensor.code])
    return _answer(request, site, error, fallback)
