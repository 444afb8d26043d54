"""The JSON API at /api/v1/: one NinjaAPI, routers per app, one error shape.

Errors are always {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}: a 4xx status for the caller's
mistakes, 503 with Retry-After when the database is busy with another writer, and 500 (with the request id in the
message and the X-Request-ID header, the traceback in the log) for anything else.
"""

from __future__ import annotations

import logging

import orjson
from django.conf import settings
from django.core.exceptions import BadRequest, ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.security import HttpBearer, SessionAuth

from headframe.core import failures
from headframe.core.errors import HeadframeError, ValidationFailed
from headframe.org.services import token_authenticate

logger = logging.getLogger(__name__)


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class ApiSessionAuth(SessionAuth):
    """The browser's session (with CSRF on writes), for pages that call the API."""

    def _get_key(self, request):
        # No logged-in session: nothing to protect from cross-site forgery, so no CSRF verdict either —
        # the caller (say, a script with a wrong token) gets 401, not "403 CSRF check failed".
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        return super().authenticate(request, key)


# Readings keep their own rule: a bad reading (even a NUL in its code) is quarantined with its reason, and the
# rest of the gateway's batch is stored.
_NUL_ALLOWED_BODY = "/telemetry/readings"


def _nul_location(value, loc: tuple) -> tuple | None:
    """Where the first NUL character sits in a parsed JSON body (a key or a string), or None."""
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*loc, key.replace("\x00", ""))
            found = _nul_location(item, (*loc, key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_location(item, (*loc, index))
            if found:
                return found
    return None


class OrjsonParser(Parser):
    def parse_body(self, request):
        body = orjson.loads(request.body)
        if not request.path.endswith(_NUL_ALLOWED_BODY):
            where = _nul_location(body, ("body",))
            if where:  # PostgreSQL stores no NUL in text: refused here, as the field it is in
                raise ValidationFailed(
                    loc=where, type="hidden_character", params={}, key="hidden_character.nul"
                )
        return body


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


# The error answers every operation may give, documented once for all of them in the OpenAPI document: the
# error shape, and what each status means here. An operation that documents a status itself keeps its own.
ERROR_STATUSES = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "No valid bearer token or session",
    403: "The caller may see the object but lacks the role for this action",
    404: "Not found, or outside the caller's scope (both answer alike)",
    409: "Conflicts with the current state or a concurrent change",
    413: "Request body, file, rows or cell past a stated limit",
    422: "Invalid input; `loc` names the field",
    500: "Server error; the message quotes the request id (also in the X-Request-ID header)",
    503: "The database is busy with another change; retry after Retry-After seconds",
}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
}


class HeadframeAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                for status, description in ERROR_STATUSES.items():
                    if status == 401 and not operation.get("security"):
                        continue
                    if status not in operation["responses"] and str(status) not in operation["responses"]:
                        operation["responses"][status] = {"description": description, "content": error}
        return schema


api = HeadframeAPI(
    title="headframe API",
    version="1",
    description="Organisation, production, briefings, telemetry and safety of a mining group.",
    urls_namespace="api-v1",
    docs_url="/docs",
    # Swagger UI from ninja's own static files (ninja is an installed app), no validator badge: the page asks
    # nothing of another host, so it works on an air-gapped mine network.
    docs=Swagger(settings={"validatorUrl": None}),
    auth=[BearerTokenAuth(), ApiSessionAuth()],
    parser=OrjsonParser(),
    renderer=OrjsonRenderer(),
)


def _error(request, status: int, items: list[dict], headers: dict | None = None):
    response = api.create_response(request, {"detail": items}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error_language(request) -> str:
    """Error messages in the language the request names (Accept-Language or the language cookie), else English:
    clients written against the English messages keep working (headframe.core.messages)."""

    named = "HTTP_ACCEPT_LANGUAGE" in request.META or settings.LANGUAGE_COOKIE_NAME in request.COOKIES
    return getattr(request, "LANGUAGE_CODE", None) or "en" if named else "en"


@api.exception_handler(HeadframeError)
def _headframe_error(request, exc: HeadframeError):
    return _error(request, exc.status, exc.as_detail(_error_language(request)))


@api.exception_handler(Exception)
def _unhandled(request, exc: Exception):
    """Anything no handler below knows: 503 + Retry-After if the database was busy, else 500; logged with the
    request id either way."""
    request_id = failures.log_failure(request, exc)
    if failures.database_busy(exc):
        retry = str(failures.retry_after_s())
        response = _error(
            request, 503, failures.busy_detail(), {"Retry-After": retry, "Cache-Control": "no-store"}
        )
    else:
        response = _error(request, 500, failures.error_detail(request_id), {"Cache-Control": "no-store"})
    response._has_been_logged = True  # logged above, with the request id; Django need not log it again
    return response


@api.exception_handler(DjangoPermissionDenied)
def _django_permission_denied(request, exc):
    items = [{"loc": [], "msg": str(exc) or "permission denied", "type": "permission_denied"}]
    return _error(request, 403, items)


@api.exception_handler(DjangoValidationError)
def _django_validation_error(request, exc: DjangoValidationError):
    """A model's own validation (full_clean) that a service let through: the caller's input, so 422."""
    return _error(request, 422, ValidationFailed.from_django(exc).as_detail())


@api.exception_handler(RequestDataTooBig)
def _body_too_large(request, exc):
    return _error(request, 413, [{"loc": ["body"], "msg": str(exc), "type": "body_too_large"}])


@api.exception_handler(SuspiciousOperation)
@api.exception_handler(BadRequest)
def _bad_request(request, exc):
    return _error(request, 400, [{"loc": [], "msg": str(exc) or "bad request", "type": "bad_request"}])


def _public_loc(loc) -> list:
    """ninja puts the handler's parameter name after "body" (["body", "payload", "kind"]); clients know the
    field, not our parameter, so drop it. Every body parameter in headframe is called `payload`."""
    loc = list(loc)
    if len(loc) > 1 and loc[0] == "body" and loc[1] == "payload":
        del loc[1]
    return loc


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    items = [
        {
            "loc": _public_loc(e.get("loc", ())),
            "msg": e.get("msg", "invalid value"),
            "type": e.get("type", "value_error"),
        }
        for e in exc.errors
    ]
    return _error(request, 422, items)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    items = [
        {"loc": ["header", "Authorization"], "msg": "authentication required", "type": "unauthenticated"}
    ]
    return _error(request, 401, items, {"WWW-Authenticate": 'Bearer realm="headframe"'})


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, HeadframeError):  # the parser's own refusal (a NUL): its status and field
        return _headframe_error(request, exc.__cause__)
    msg = exc.message
    loc: list = []
    kind = "http_error"
    if exc.status_code == 400 and msg.startswith("Cannot parse request body"):
        loc, kind = ["body"], "json_invalid"
        if exc.__cause__ is not None:
            msg = f"malformed JSON: {exc.__cause__}"
    elif exc.status_code == 403:
        kind = "permission_denied"
    return _error(request, exc.status_code, [{"loc": loc, "msg": msg, "type": kind}])


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, [{"loc": [], "msg": str(exc) or "not found", "type": "not_found"}])


@api.exception_handler(ObjectDoesNotExist)
def _object_not_found(request, exc):
    return _error(request, 404, [{"loc": [], "msg": str(exc) or "not found", "type": "not_found"}])


api.add_router("/", "headframe.org.api.router")
api.add_router("/audit", "headframe.org.audit_api.router")
api.add_router("/search", "headframe.web.search_api.router")
api.add_router("/notify", "headframe.notify.api.router")
api.add_router("/production", "headframe.production.api.router")
api.add_router("/telemetry", "headframe.telemetry.api.router")
api.add_router("/briefing", "headframe.briefing.api.router")
api.add_router("/briefing", "headframe.briefing.pack.api.router")
api.add_router("/directives", "headframe.briefing.api.directives_router")
api.add_router("/key-tasks", "headframe.briefing.api.key_tasks_router")
api.add_router("/safety", "headframe.safety.api.router")
api.add_router("/workforce", "headframe.workforce.api.router")
