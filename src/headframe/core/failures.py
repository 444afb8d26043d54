"""What a caller sees when something fails that no code handled.

Every request carries a request id that headframe generates itself, whatever the caller sends: it is returned in
the X-Request-ID response header and written in every log line of the request, so an id quoted to an
administrator names one request only (a client cannot give its request the id of another's). An X-Request-ID the
caller (or its proxy) sent is kept beside it when it is a sane token — returned as X-Client-Request-ID and
written in the log as client_request_id — so a proxy's or a script's log can be matched with ours; anything else
is ignored. An unhandled exception answers 500
with that id — the JSON error shape on the API, a plain page on the web, never a debug page — and its traceback
goes to the log under the same id. A database that is only busy (SQLite "database is locked", PostgreSQL
lock_timeout, serialization failure or deadlock) is not a server fault: it answers 503 with Retry-After.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults

if TYPE_CHECKING:
    from django.http import HttpRequest

    from headframe.core.errors import DetailItem

logger = logging.getLogger("headframe.errors")

REQUEST_ID_HEADER = "X-Request-ID"
CLIENT_REQUEST_ID_HEADER = "X-Client-Request-ID"
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("headframe_request_id", default="-")
current_client_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "headframe_client_request_id", default="-"
)

# PostgreSQL SQLSTATEs of "someone else holds what you need; try again": lock_not_available (lock_timeout,
# NOWAIT), serialization_failure, deadlock_detected.
_BUSY_SQLSTATES = {"55P03", "40001", "40P01"}


def new_request_id() -> str:
    """Our id of a request: always generated here, never taken from the caller."""
    return uuid.uuid4().hex


def client_request_id(header_value: str | None) -> str:
    """The caller's (or its proxy's) X-Request-ID when it is a sane token, else "" (not kept)."""
    if header_value and _INCOMING_ID.match(header_value):
        return header_value
    return ""


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` and `client_request_id` to every record (the current request's; "-" outside a request
    or when the caller sent none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a 4xx/5xx after the middleware returned, but passes the request along.
        request = getattr(record, "request", None)
        if not hasattr(record, "request_id"):
            record.request_id = getattr(request, "request_id", None) or current_request_id.get()
        if not hasattr(record, "client_request_id"):
            record.client_request_id = (
                getattr(request, "client_request_id", None) or current_client_request_id.get()
            )
        return True


def database_busy(exc: BaseException | None) -> bool:
    """Whether exc (or what it wraps) is a lock wait that ran out, not a real fault."""
    seen = 0
    while exc is not None and seen < 5:
        if getattr(exc, "sqlstate", None) in _BUSY_SQLSTATES:  # psycopg's error, Django's wraps it
            return True
        if isinstance(exc, DatabaseError):
            text = str(exc).lower()
            if "database is locked" in text or "database table is locked" in text:
                return True
            if "database schema is locked" in text:
                return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def retry_after_s() -> int:
    return int(getattr(settings, "DATABASE_BUSY_RETRY_AFTER_S", 5))


def _request_id(request: HttpRequest) -> str:
    rid: str = getattr(request, "request_id", None) or current_request_id.get()
    return rid


def _client_request_id(request: HttpRequest) -> str:
    rid: str = getattr(request, "client_request_id", None) or current_client_request_id.get()
    return rid


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def log_failure(request: HttpRequest, exc: BaseException) -> str:
    """Log the failure with its request id (and the traceback, unless the database was only busy)."""
    rid = _request_id(request)
    ids = {"request_id": rid, "client_request_id": _client_request_id(request)}
    if database_busy(exc):
        logger.warning(
            "database busy on %s %s (request id %s): %s", request.method, request.path, rid, exc, extra=ids
        )
    else:
        logger.error(
            "unhandled %s on %s %s (request id %s)",
            type(exc).__name__,
            request.method,
            request.path,
            rid,
            exc_info=(type(exc), exc, exc.__traceback__),
            extra=ids,
        )
    return rid


def busy_detail() -> list[DetailItem]:
    return [
        {
            "loc": [],
            "msg": f"the database is busy with another change; retry in {retry_after_s()} s",
            "type": "database_busy",
        }
    ]


def error_detail(rid: str) -> list[DetailItem]:
    return [
        {
            "loc": [],
            "msg": f"internal server error; quote request id {rid} to your administrator",
            "type": "server_error",
        }
    ]


def failure_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """Log exc and answer it: 503 + Retry-After when the database is busy, else 500; JSON under /api/."""
    rid = log_failure(request, exc)
    busy = database_busy(exc)
    status = 503 if busy else 500
    if _is_api(request):
        response: HttpResponse = JsonResponse(
            {"detail": busy_detail() if busy else error_detail(rid)}, status=status
        )
    else:
        # Rendered without the request: no context processor may touch a database that just failed.
        html = render_to_string(
            "web/error.html", {"busy": busy, "request_id": rid, "retry_after": retry_after_s()}
        )
        response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    if busy:
        response["Retry-After"] = str(retry_after_s())
    response[REQUEST_ID_HEADER] = rid
    response["Cache-Control"] = "no-store"
    # Django would log it once more, without the request id. Django's own private flag, which django-stubs
    # does not declare on HttpResponse.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """handler500: what escaped the views (a middleware, a session save on a locked database…)."""
    exc = sys.exc_info()[1] or RuntimeError("unknown server error")
    return failure_response(request, exc)


def bad_request(
    request: HttpRequest, exception: Exception | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """handler400. A session that could not be saved because the database was locked reaches Django as
    SessionInterrupted (a 400): it is a busy database, so 503. Other 400s keep Django's page (JSON on the API)."""
    if exception is not None and database_busy(exception):
        return failure_response(request, exception)
    if _is_api(request):
        items: list[DetailItem] = [{"loc": [], "msg": "bad request", "type": "bad_request"}]
        return JsonResponse({"detail": items}, status=400)
    try:
        return bad_request_page(request, exception)
    except Exception:  # the page needs the database (navigation): a plain page beats a second failure
        logger.warning("bad-request page failed on %s", request.path, exc_info=True)
        # Django's bad_request never reads `exception` (None is fine at run time); django-stubs demands one.
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]


# "date: expected …" — the pages raise BadRequest with the parameter's name first.
_PARAMETER = re.compile(r"^([A-Za-z_][\w.-]{0,40}):\s")


def bad_request_page(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A 400 in the UI language, with the navigation and a way back: which parameter was wrong, the value
    given and (when the page said) the form expected."""

    field = getattr(exception, "field", None)
    if field is None:
        match = _PARAMETER.match(str(exception or ""))
        field = match.group(1) if match else None
    value = getattr(exception, "value", None)
    if value is None and field:
        value = request.GET.get(field, request.POST.get(field) if request.method == "POST" else None)
    context = {
        "field": field,
        "value": value,
        "expected": getattr(exception, "expected", None),
        "back": request.path if request.GET else "/",
    }
    return render(request, "web/bad_request.html", context, status=400)


def not_found(
    request: HttpRequest, exception: Exception | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """handler404: a page in the UI language with the navigation (a mistyped or stale address from a bookmark,
    a unit that was renamed); JSON under /api/."""
    if _is_api(request):
        return JsonResponse({"detail": [{"loc": [], "msg": "not found", "type": "not_found"}]}, status=404)

    try:
        return render(request, "web/not_found.html", {"path": request.path}, status=404)
    except Exception:  # the page needs the database (navigation): a plain page beats a second failure
        logger.warning("not-found page failed on %s", request.path, exc_info=True)
        return defaults.page_not_found(request, exception)
