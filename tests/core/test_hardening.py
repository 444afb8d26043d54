"""The API shell under failure: request ids, 500 in the error shape, 503 on a busy database, bearer tokens that
never write on a read, 401 (not CSRF 403) for a bad token, query-parameter locations, Swagger UI served locally."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import subprocess
import sys

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from headframe.org import selectors
from headframe.org.models import ApiToken, Unit
from tests.core.locks import write_lock_held

UNIT = {"code": "A-M1-K5", "name_vi": "Phân xưởng 5", "kind": "area", "parent": "A-M1"}


def _boom(*args, **kwargs):
    raise RuntimeError("secret internals: connection string postgres://x")


# --- 1. request id and the 500 shape --------------------------------------------------------------------


def test_every_response_carries_a_request_id(client):
    first = client.get("/api/v1/openapi.json")
    second = client.get("/accounts/login/")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_request_id_is_always_ours_and_a_sane_client_id_is_kept_beside_it(client):
    first = client.get("/api/v1/openapi.json", HTTP_X_REQUEST_ID="nginx-4f2a9c01")
    second = client.get("/accounts/login/", HTTP_X_REQUEST_ID="nginx-4f2a9c01")  # the same id, again
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])  # a client cannot choose ours
        assert response["X-Client-Request-ID"] == "nginx-4f2a9c01"
    assert first["X-Request-ID"] != second["X-Request-ID"]
    taken = client.get(
        "/api/v1/openapi.json", HTTP_X_REQUEST_ID=first["X-Request-ID"]
    )  # another request's id
    assert taken["X-Request-ID"] != first["X-Request-ID"]
    strange = client.get("/api/v1/openapi.json", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert re.fullmatch(r"[0-9a-f]{32}", strange["X-Request-ID"])
    assert "X-Client-Request-ID" not in strange


def test_an_unhandled_error_in_the_api_is_a_json_500_with_the_request_id_logged_with_its_traceback(
    api, users, monkeypatch, caplog
):
    monkeypatch.setattr(selectors, "unit_tree", _boom)
    caller = api(users.viewer_a)
    caller.headers = {**caller.headers, "HTTP_X_REQUEST_ID": "excel-macro-0042"}
    with caplog.at_level(logging.ERROR, logger="headframe.errors"):
        response = caller.get("/api/v1/units")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    request_id = response["X-Request-ID"]
    [item] = response.json()["detail"]
    assert item["type"] == "server_error" and item["loc"] == []
    assert request_id in item["msg"]
    assert b"secret internals" not in response.content
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is RuntimeError
    assert record.request_id == request_id and record.client_request_id == "excel-macro-0042"
    assert response["X-Client-Request-ID"] == "excel-macro-0042"


@pytest.mark.parametrize("debug", [False, True])
def test_an_unhandled_error_on_a_page_is_a_plain_500_page_never_the_debug_page(
    client, users, monkeypatch, settings, debug
):
    settings.DEBUG = debug
    monkeypatch.setattr(selectors, "unit_tree", _boom)
    client.force_login(users.viewer_a)
    response = client.get("/org/units/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert response["X-Request-ID"] in html
    assert "Traceback" not in html and "secret internals" not in html and "RuntimeError" not in html
    assert 'data-testid="error-page"' in html


# --- 2. a lock wait is a 503 with Retry-After --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_write_that_waits_on_another_writers_lock_answers_json_503_with_retry_after(api, users):
    caller = api(users.admin_a)
    with write_lock_held("org_unit", "org_apitoken"):
        response = caller.post("/api/v1/units", UNIT)
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    [item] = response.json()["detail"]
    assert item["type"] == "database_busy"
    assert not Unit.objects.filter(code="A-M1-K5").exists()
    assert caller.post("/api/v1/units", UNIT).status_code == 201  # the lock gone, the same write goes through


@pytest.mark.django_db(transaction=True)
def test_a_page_whose_write_waits_on_a_lock_answers_a_friendly_503(client, users):
    with write_lock_held("org_loginthrottle", "core_auditentry", "django_session", "auth_user"):
        response = client.post("/accounts/login/", {"username": "viewer_a", "password": "wrong-password"})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert 'data-testid="error-page"' in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_session_save_on_a_locked_database_after_the_view_is_a_503_too(client, users):
    client.force_login(users.viewer_a)
    client.raise_request_exception = False  # this one escapes the view: Django's handler500 answers it
    with write_lock_held("django_session"):
        response = client.post("/unit-picker/", {"unit": "A-M1"})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert 'data-testid="error-page"' in response.content.decode()


def _connection_timeout(database_url: str, timeout_s: str) -> str:
    """How long a fresh connection made with these settings waits for a lock: SQLite, in ms, how long its
    statements are tried again (SQLite's own busy_timeout is only each try's, headframe.core.sqlite3);
    PostgreSQL's lock_timeout."""
    code = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "print(round(c.lock_wait_s * 1000)) if connection.vendor == 'sqlite' else "
        "(c.execute('SHOW lock_timeout'), print(c.fetchone()[0]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "headframe.settings",
        "HEADFRAME_SECRET_KEY": "x",
        "HEADFRAME_DATABASE_URL": database_url,
        "HEADFRAME_DB_LOCK_TIMEOUT_S": timeout_s,
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 or timeout_s.startswith("-"), result.stderr
    return result.stdout.strip() if result.returncode == 0 else result.stderr


def test_a_lock_timeout_of_0_means_wait_as_long_as_it_takes_on_both_databases(tmp_path):
    from django.db import connection

    if connection.vendor == "sqlite":
        url = f"sqlite:///{tmp_path / 'lock.sqlite3'}"
        assert int(_connection_timeout(url, "20")) == 20_000
        assert int(_connection_timeout(url, "0")) >= 24 * 86_400_000  # about 24 days, not "never wait"
    else:
        settings = connection.settings_dict
        url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
        if settings.get("PASSWORD"):
            url = url.replace("@", f":{settings['PASSWORD']}@", 1)
        assert _connection_timeout(url, "20") == "20s"
        assert _connection_timeout(url, "0") == "0"  # PostgreSQL: no limit
    refused = _connection_timeout(f"sqlite:///{tmp_path / 'lock.sqlite3'}", "-1")
    assert "ImproperlyConfigured" in refused and "HEADFRAME_DB_LOCK_TIMEOUT_S" in refused


# --- 3. bearer tokens: last use written rarely, never failing the read ---------------------------------------


def test_a_tokens_last_use_is_written_at_most_once_every_five_minutes(api, users):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        caller = api(users.viewer_a)
        assert caller.get("/api/v1/me").status_code == 200
        token = ApiToken.objects.get(user=users.viewer_a)
        assert token.last_used_at == start
    with time_machine.travel(start + dt.timedelta(minutes=4), tick=False):
        assert caller.get("/api/v1/me").status_code == 200
        token.refresh_from_db()
        assert token.last_used_at == start
    with time_machine.travel(start + dt.timedelta(minutes=6), tick=False):
        assert caller.get("/api/v1/me").status_code == 200
        token.refresh_from_db()
        assert token.last_used_at == start + dt.timedelta(minutes=6)


@pytest.mark.django_db(transaction=True)
def test_a_bearer_read_succeeds_while_another_writer_holds_the_database(api, users):
    caller = api(users.viewer_a)
    with write_lock_held("org_apitoken"):
        response = caller.get("/api/v1/me")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "viewer_a"
    assert ApiToken.objects.get(user=users.viewer_a).last_used_at is None  # skipped, not waited for


# --- 4. 401 for a bad token on a write; query parameters located in the query --------------------------------


def test_an_invalid_bearer_token_on_a_post_is_401_not_a_csrf_403(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/units", UNIT, content_type="application/json", HTTP_AUTHORIZATION="Bearer hf_0000_nope"
    )
    assert response.status_code == 401
    assert response.json()["detail"][0]["type"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_logged_in_browser_still_needs_the_csrf_token_on_api_writes(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users.admin_a)
    response = client.post("/api/v1/units", UNIT, content_type="application/json")
    assert response.status_code == 403
    assert not Unit.objects.filter(code="A-M1-K5").exists()


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/people", "unit"),
        ("/api/v1/units", "root"),
        ("/api/v1/audit", "unit"),
        ("/api/v1/notify/on-call", "unit"),
        ("/api/v1/safety/findings", "unit"),
    ],
)
def test_an_unknown_code_in_a_query_parameter_is_located_in_the_query(api, users, url, param):
    response = api(users.admin_a).get(url, **{param: "NOPE"})
    assert response.status_code == 404
    assert response.json()["detail"][0]["loc"] == ["query", param]


# --- 5. Swagger UI without a CDN -------------------------------------------------------------------------------


def test_the_api_docs_load_nothing_from_another_host_and_every_asset_is_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(url.endswith(".js") for url in urls), html
    assert not re.search(r"https?://|//[a-z]", html, re.IGNORECASE), "an external reference in the docs page"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
    assert '"validatorUrl": null' in html  # no validator badge fetched from swagger.io
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy


def test_the_openapi_document_declares_the_error_answers_of_every_operation(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["components"]["schemas"]["Error"]["required"] == ["detail"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"404", "422", "500", "503"} <= codes, f"{method.upper()} {path}: {sorted(codes)}"


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    [
        ("get", "/api/v1/people?unit=%00", None, ["query", "unit"]),
        ("get", "/api/v1/safety/templates/%00", None, ["path"]),
        ("post", "/api/v1/telemetry/alarms/1/ack", {"comment": "a\u0000"}, ["body", "comment"]),
        (
            "post",
            "/api/v1/units",
            {"code": "X1", "name_vi": "Mỏ", "items": [{"a\u0000": 1}]},
            ["body", "items", 0, "a"],
        ),
    ],
)
def test_a_nul_character_anywhere_in_a_request_is_a_422_naming_where(client, users, method, path, body, loc):
    """PostgreSQL cannot hold or even compare text with a NUL: refused at the door, never a 500."""
    client.force_login(users.admin_a)
    if body is None:
        response = getattr(client, method)(path)
    else:
        response = getattr(client, method)(path, body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert response.json()["detail"][0]["type"] == "hidden_character"
