"""One API shape: every route of the OpenAPI document declares what it answers — a success response with a schema
(or 204 No Content) — so the document describes every response a client can get."""

from headframe.api import api


def _operations():
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_the_document_lists_every_app():
    paths = {path for _method, path, _op in _operations()}
    for app in ("units", "production", "briefing", "telemetry", "safety", "notify", "audit", "search"):
        assert any(f"/api/v1/{app}" in p for p in paths), app


def test_every_route_declares_its_success_response_with_a_schema():
    undescribed = []
    for method, path, operation in _operations():
        successes = {
            str(code): r for code, r in operation.get("responses", {}).items() if str(code)[0] == "2"
        }
        if not successes:
            undescribed.append(f"{method} {path}: no success response")
            continue
        for code, response in successes.items():
            if code == "204":
                continue
            schemas = [media.get("schema") for media in response.get("content", {}).values()]
            if not schemas or not all(schemas):
                undescribed.append(f"{method} {path}: {code} without a schema")
    assert not undescribed, "\n".join(undescribed)
