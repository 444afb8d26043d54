"""Request guards that apply to every page and API call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.cache import patch_vary_headers

from headframe.core.audit import current_channel
from headframe.core.failures import (
    CLIENT_REQUEST_ID_HEADER,
    REQUEST_ID_HEADER,
    client_request_id,
    current_client_request_id,
    current_request_id,
    failure_response,
    new_request_id,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

GetResponse = Callable[["HttpRequest"], HttpResponse]

# blob: images are this page's own object URLs: a photo taken offline shows from the tablet until it is sent.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Swagger UI: still nothing from another host; it only needs inline styles and data: images and fonts.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


# Safety pages (live monitoring, the alarm console, inspections and readiness, their API) take turns of their own:
# however many dashboards and packs are being built, an operator's screen never waits behind them.
SAFETY_PATHS = ("/telemetry/", "/safety/", "/api/v1/telemetry/", "/api/v1/safety/")
NEVER_WAITS = ("/healthz",)  # a load balancer's health check answers at once
TURN_WAIT_S = 60.0  # then 503 with Retry-After: the worker is overloaded, better said than a request hanging


class PageTurnMiddleware:
    """At most settings.WEB_THREADS page reads of this process run at once, the others wait their turn; safety
    pages have their own WEB_THREADS turns (SAFETY_PATHS). Under ASGI each request gets a thread of its own, and
    fifty threads on one interpreter lock each advance a few milliseconds at a time: every page then takes as
    long as all of them together, and the event loop that writes the live streams' alarms waits behind them.
    Waiting for a turn, a page runs at its own speed once started (bench_load, docs/SCALING.md §8). A semaphore
    serves waiters roughly in arrival order (a newcomer may take a freed turn first).

    Never waiting: writes (POST and the like: readings sent over HTTP, acknowledgements, forms — few and short,
    and often safety's own), async views (the live pages' and the briefing room's event streams) and the health
    check. The turn is taken once the view is known (process_view) and given back when the response leaves, so a
    streamed download holds none while it streams. Outermost, so nothing a waiting request set up is held."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.page_turns = threading.BoundedSemaphore(settings.WEB_THREADS)
        self.safety_turns = threading.BoundedSemaphore(settings.WEB_THREADS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            turns = request.__dict__.pop("_page_turn", None)
            if turns is not None:
                turns.release()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if (
            "_page_turn" in request.__dict__
            or request.method not in ("GET", "HEAD")
            or iscoroutinefunction(view_func)
            or request.path_info.startswith(NEVER_WAITS)
        ):
            return None
        turns = self.safety_turns if request.path_info.startswith(SAFETY_PATHS) else self.page_turns
        if not turns.acquire(timeout=TURN_WAIT_S):
            response = HttpResponse(
                translation.gettext("The server is busy. Try again in a few seconds."),
                status=503,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = "5"
            return response
        request.__dict__["_page_turn"] = turns
        return None


class RequestIdMiddleware:
    """Stamps every request with an id of ours (request.request_id, the X-Request-ID response header, and every
    log line written while the request runs), and keeps a sane X-Request-ID the caller sent beside it
    (request.client_request_id, X-Client-Request-ID, client_request_id in the log): core.failures. Outermost, so
    even a refused body carries them."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        theirs = client_request_id(request.headers.get(REQUEST_ID_HEADER))
        # Attributes of ours, not HttpRequest's (read back with getattr in core.failures).
        request.__dict__.update(request_id=request_id, client_request_id=theirs)
        token = current_request_id.set(request_id)
        client_token = current_client_request_id.set(theirs or "-")
        try:
            response = self.get_response(request)
        finally:
            current_client_request_id.reset(client_token)
            current_request_id.reset(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        if theirs:
            response.headers[CLIENT_REQUEST_ID_HEADER] = theirs
        return response


class AuditChannelMiddleware:
    """Which door a request came through, for every audit row its writes leave: "api" under /api/, "admin"
    under /admin/, "web" for the pages. Set once here for the whole request (and reset after it), so no handler
    or view sets it, and none can forget to."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_channel.set(channel_of(request.path))
        try:
            return self.get_response(request)
        finally:
            current_channel.reset(token)


def channel_of(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


# Exceptions Django itself answers with a 4xx page: not server errors.
_CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)


class ServerErrorMiddleware:
    """An exception a view did not handle: logged with its traceback and request id, answered with a plain
    500 page (JSON under /api/) whatever DEBUG says, or a 503 with Retry-After when the database was busy."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, _CLIENT_ERRORS):
            return None  # Django's own 400/403/404 handling
        return failure_response(request, exception)


class BodySizeLimitMiddleware:
    """Refuse oversize bodies with 413 before anything reads them (a malicious or broken gateway must not
    make the server buffer megabytes). Declared lengths are checked; Django enforces the same limit on read."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BODY_BYTES
        if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            # File uploads (inspection photos, workbooks) stream to disk; they get their own, larger limit.
            limit = settings.MAX_UPLOAD_BODY_BYTES
        if length > limit:
            msg = f"request body of {length} bytes exceeds the limit of {limit} bytes"
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": [{"loc": ["body"], "msg": msg, "type": "body_too_large"}]}, status=413
                )
            return HttpResponse(msg, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class NulCharacterMiddleware:
    """A NUL character in the path or a query parameter is refused at the door (422 on the API, 400 on pages):
    no name, code or filter holds one, and PostgreSQL cannot even compare text with one (it would be a 500).
    JSON bodies are checked by the API's parser (headframe.api.OrjsonParser); web forms by Django's own
    fields."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = None
        if "\x00" in request.path_info:
            where = ["path"]
        else:
            for key, values in request.GET.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    where = ["query", key.replace("\x00", "")]
                    break
        if where is None:
            return self.get_response(request)
        msg = "a NUL character (U+0000) has no place in a request"
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": [{"loc": where, "msg": msg, "type": "hidden_character"}]}, status=422
            )
        return HttpResponse(msg, status=400, content_type="text/plain; charset=utf-8")


class SecurityHeadersMiddleware:
    """Headers Django 5.2 does not set itself. Every asset is vendored, so the policy allows 'self' only."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The OpenAPI docs page (Swagger UI, served from our own static files) sets inline styles.
        policy = DOCS_CONTENT_SECURITY_POLICY if request.path.startswith("/api/v1/docs") else None
        response.headers.setdefault("Content-Security-Policy", policy or CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class LanguageMiddleware:
    """Vietnamese unless the user chose otherwise.

    Pages follow the language the user picked (the language cookie set by the VI/EN switch) and are
    Vietnamese otherwise — a control-room PC with an English browser still shows the Vietnamese UI.
    The API follows Accept-Language, so a script can ask for English error messages.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def _language(self, request: HttpRequest) -> str:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen in self.supported:
            return chosen
        if request.path.startswith("/api/"):
            return translation.get_language_from_request(request)
        return settings.LANGUAGE_CODE

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response
