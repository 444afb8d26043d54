"""Shared fixtures: a small two-company tree and users scoped to one company or the other."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from headframe.org import services
from tests import seeds
from tests.factories import make_unit, make_user

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite the test database is a file (in /dev/shm where there is one: as fast as memory), never Django's
    in-memory default. In memory, every thread of the live server shares the test's one connection, so two
    requests at once (the tablet's background save and "Sign") interleave in one transaction and fail with
    "database table is locked" or a duplicate answer; with a file each thread has its own connection and the
    IMMEDIATE transactions queue as they do in production."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3") or database.get("TEST", {}).get("NAME"):
        yield
        return
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="headframe-test-", dir=shm if os.access(shm, os.W_OK) else None))
    database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production keeps Django's default (PBKDF2); a million rounds per test user would only slow the suite.
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _fresh_sensor_directory():
    """The in-process sensor directory and rate-of-rise windows are caches keyed by ids that tests reuse."""
    from headframe.telemetry.directory import directory
    from headframe.telemetry.services import rise_windows

    directory.invalidate()
    rise_windows.clear()
    yield
    directory.invalidate()
    rise_windows.clear()


@pytest.fixture(scope="module")
def demo_org(django_db_setup, django_db_blocker):
    """The organisation demo (units, people, users, sensor registry) put in place once per test module, in a
    transaction rolled back when the module ends. Each test still runs in its own savepoint (ask for `db` as
    well), so what one test changes the next does not see. The demo is loaded once per run and copied back
    after that (`tests.demo_snapshot`): loading it cost 20-30 s a module."""
    from django.db import transaction
    from django.test.utils import override_settings

    from tests.demo_snapshot import demo_database

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield demo_database()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def indicator_catalogue(db):
    """Tests on a flushed database (live_server, transaction=True) put back the indicator catalogue that
    migrations production/0002 and 0007 seed: an earlier transactional test may have flushed it."""
    seeds.indicator_catalogue()


@pytest.fixture
def limit_profiles(db):
    """The regulatory limit profiles that migration telemetry/0002 loads, put back after a flush (see above)."""
    seeds.limit_profiles()


@pytest.fixture
def tree(db):
    """G (group) → A, B (companies) → A-M1, B-M1 (sites) → areas → positions."""
    units = SimpleNamespace()
    units.group = make_unit("G", "group")
    units.a = make_unit("A", "company", "G")
    units.b = make_unit("B", "company", "G")
    units.a_m1 = make_unit("A-M1", "site", "A")
    units.a_m1_k1 = make_unit("A-M1-K1", "area", "A-M1")
    units.a_m1_k1_f1 = make_unit("A-M1-K1-F1", "position", "A-M1-K1")
    units.a_m1_k2 = make_unit("A-M1-K2", "area", "A-M1")
    units.b_m1 = make_unit("B-M1", "site", "B")
    units.b_m1_k1 = make_unit("B-M1-K1", "area", "B-M1")
    units.b_m1_k1_f1 = make_unit("B-M1-K1-F1", "position", "B-M1-K1")
    return units


@pytest.fixture
def users(tree):
    return SimpleNamespace(
        admin_a=make_user("admin_a", ("admin", "A")),
        admin_b=make_user("admin_b", ("admin", "B")),
        admin_g=make_user("admin_g", ("admin", "G")),
        reporter_a=make_user("reporter_a", ("reporter", "A-M1")),
        viewer_a=make_user("viewer_a", ("viewer", "A")),
        planner_g=make_user("planner_g", ("planner", "G")),
    )


@pytest.fixture
def token_for():
    def issue(user) -> dict:
        _, raw = services.token_create(actor=None, user=user)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return issue


@pytest.fixture
def api(client, token_for):
    """Call the API as a user with a bearer token: api(user).get("/api/v1/units")."""

    class Caller:
        def __init__(self, headers):
            self.headers = headers

        def get(self, url, **params):
            return client.get(url, params, **self.headers)

        def post(self, url, data=None, raw: str | bytes | None = None):
            body = raw if raw is not None else json.dumps(data)
            return client.post(url, body, content_type="application/json", **self.headers)

        def patch(self, url, data):
            return client.patch(url, json.dumps(data), content_type="application/json", **self.headers)

    return lambda user: Caller(token_for(user) if user is not None else {})


# Playwright with Debian's Chromium (never a downloaded browser); see STACK-NOTES.md.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture
def page_cache(settings):
    """The page cache on (the tests run with it off: each test its own data), empty before and after."""
    from django.core.cache import cache

    settings.PAGE_CACHE = True
    cache.clear()
    yield cache
    cache.clear()
