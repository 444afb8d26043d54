"""The JSON API at /api/v1/: one NinjaAPI, routers per app, one error shape.

Errors are always {"detail": [{"loc": [...], "msg": "...", "type": "..."}]} with a 4xx status.
"""

from __future__ import annotations

import logging

import orjson
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.security import HttpBearer, SessionAuth

from headframe.core.audit import current_channel
from headframe.core.errors import HeadframeError
from headframe.org.services import token_authenticate

logger = logging.getLogger(__name__)


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
            current_channel.set("api")
        return user


class ApiSessionAuth(SessionAuth):
    """The browser's session (with CSRF on writes), for pages that call the API."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            current_channel.set("api")
        return user


class OrjsonParser(Parser):
    def parse_body(self, request):
        return orjson.loads(request.body)


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


api = NinjaAPI(
    title="headframe API",
    version="1",
    description="Organisation, production, briefings, telemetry and safety of a mining group.",
    urls_namespace="api-v1",
    docs_url="/docs",
    auth=[BearerTokenAuth(), ApiSessionAuth()],
    parser=OrjsonParser(),
    renderer=OrjsonRenderer(),
)


def _error(request, status: int, items: list[dict], headers: dict | None = None):
    response = api.create_response(request, {"detail": items}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(HeadframeError)
def _headframe_error(request, exc: HeadframeError):
    return _error(request, exc.status, exc.as_detail())


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
api.add_router("/audit", "headframe.core.api.router")
api.add_router("/notify", "headframe.notify.api.router")
api.add_router("/production", "headframe.production.api.router")
api.add_router("/telemetry", "headframe.telemetry.api.router")
api.add_router("/briefing", "headframe.briefing.api.router")
api.add_router("/directives", "headframe.briefing.api.directives_router")
api.add_router("/key-tasks", "headframe.briefing.api.key_tasks_router")
api.add_router("/safety", "headframe.safety.api.router")
