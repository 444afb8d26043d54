"""Pages of the web shell: overview, unit tree, unit detail, audit log. Reads go through selectors."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.core.params import parse_day
from headframe.core.redirects import safe_next
from headframe.core.selectors import audit_display, audit_page
from headframe.org import selectors
from headframe.org.models import UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import picked_unit
from headframe.web.search import MAX_QUERY, MIN_QUERY, query_error_text, search


def _unit_or_404(user, code: str, perm: str = Perm.VIEW):
    try:
        return selectors.unit_get(user, code, perm)
    except NotFound:
        raise Http404(f"unit {code} not found") from None


@login_required
def home(request):
    visible = selectors.units_visible(request.user)
    counts = {kind: visible.filter(kind=kind, is_active=True).count() for kind in UnitKind.values}
    roots = selectors.unit_tree(request.user, max_kind=UnitKind.COMPANY, active_only=True)
    return render(
        request,
        "web/home.html",
        {
            "counts": [(UnitKind(kind).label, n) for kind, n in counts.items()],
            "roots": roots,
            "bridge_points": selectors.bridge_points_visible(request.user).filter(is_active=True),
            "now": timezone.now(),
            "active_nav": "home",
        },
    )


def _tree_rows(forest, open_levels: int = 2) -> list[dict]:
    """The forest as a flat list for one template loop (a recursive {% include %} costs ~0.2 ms a node).
    Each row says whether it opens a nested list and how many nested lists close after it."""
    rows: list[dict] = []

    def walk(node, level: int) -> None:
        row = {"unit": node.unit, "children": len(node.children), "open": level < open_levels, "closes": 0}
        rows.append(row)
        for child in node.children:
            walk(child, level + 1)
        if node.children:
            rows[-1]["closes"] += 1

    for root in forest:
        walk(root, 0)
    for row in rows:
        row["close_range"] = range(row["closes"])
    return rows


@login_required
def unit_tree(request):
    root = picked_unit(request)
    show_inactive = request.GET.get("inactive") == "1"
    forest = selectors.unit_tree(request.user, root=root, active_only=not show_inactive)
    return render(
        request,
        "web/unit_tree.html",
        {"rows": _tree_rows(forest), "root": root, "show_inactive": show_inactive, "active_nav": "org"},
    )


@login_required
def unit_detail(request, code: str):
    unit = _unit_or_404(request.user, code)
    scope = selectors.scope_for(request.user)
    children = selectors.units_visible(request.user).filter(parent=unit).order_by("code")
    audit = None
    if scope.allows(Perm.AUDIT, unit.path):
        audit = audit_display(
            audit_page(scope.q(Perm.AUDIT, "unit_path"), unit_path=unit.path, limit=10).entries
        )
    return render(
        request,
        "web/unit_detail.html",
        {
            "unit": unit,
            "ancestors": [u for u in selectors.ancestors(unit) if scope.allows(Perm.VIEW, u.path)],
            "children": children,
            "bridge_points": selectors.bridge_points_visible(request.user).filter(unit=unit),
            "people": selectors.people_visible(request.user).filter(unit=unit)[:200],
            "history": selectors.unit_history(unit),
            "audit": audit,
            "can_manage": scope.allows(Perm.MANAGE, unit.path),
            "active_nav": "org",
        },
    )


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@login_required
def audit_log(request):
    scope = selectors.scope_for(request.user)
    picked = picked_unit(request)
    code = request.GET.get("unit") or (picked.code if picked else "")
    try:
        unit = selectors.unit_get(request.user, code, Perm.AUDIT) if code else None
    except NotFound:
        raise Http404(f"unit {code} not found") from None
    except PermissionDenied as exc:
        return render(request, "web/forbidden.html", {"message": exc.text}, status=403)
    if unit is None and not scope.paths(Perm.AUDIT) and not scope.is_superuser:
        return render(
            request,
            "web/forbidden.html",
            {"message": "you have no role that may read the audit log"},
            status=403,
        )
    since = parse_day(request.GET.get("from"), "from")
    until = parse_day(request.GET.get("to"), "to")
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        raise BadRequest("before: expected a number") from None
    page = audit_page(
        scope.q(Perm.AUDIT, "unit_path"),
        unit_path=unit.path if unit else None,
        username=request.GET.get("user") or None,
        since=_local_midnight(since) if since else None,
        until=_local_midnight(until + dt.timedelta(days=1)) if until else None,
        before=before,
        limit=50,
    )
    audit_display(page.entries)
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "web/audit.html",
        {
            "page": page,
            "unit": unit,
            "filters": {"unit": code, "user": request.GET.get("user", ""), "from": since, "to": until},
            "query": query.urlencode(),
            "active_nav": "audit",
        },
    )


@login_required
@require_POST
def pick_unit(request):
    code = request.POST.get("unit", "")
    if code:
        unit = _unit_or_404(request.user, code)
        request.session["unit"] = unit.code
    else:
        request.session.pop("unit", None)
    target = safe_next(request, request.POST.get("next") or request.headers.get("Referer"), "/")
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(target)


@require_GET
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


@login_required
@require_GET
def search_page(request):
    """The top bar's search: the whole page, or (htmx) only the grouped results for the box's drop-down."""

    error, result, status = "", None, 200
    try:
        result = search(request.user, request.GET.get("q"))
    except ValidationFailed as exc:
        error, status = query_error_text(exc), 400
    context = {
        "q": (request.GET.get("q") or "")[: MAX_QUERY * 2],
        "result": result,
        "error": error,
        "min_query": MIN_QUERY,
        "max_query": MAX_QUERY,
    }
    if request.headers.get("HX-Request"):
        return render(request, "web/_search_results.html", context, status=status)
    return render(request, "web/search.html", context, status=status)
