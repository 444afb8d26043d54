"""Fixtures of the CI probes: one two-company world per package, and an in-process WSGI client.

The world is built once (demo + one object of every kind for companies A and B, 10-20 s) in a transaction held
open for the whole package and rolled back when its last test ends; every test still runs in its own savepoint
(it asks for `db`), so what one probe writes the next does not see, and nothing outlives the package.
"""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test.utils import override_settings
from werkzeug import Client

from tests.probes.world import CURRENT_WORLD, World, build_world

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="package")
def probe_media(tmp_path_factory):
    return tmp_path_factory.mktemp("probe-media")


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker, probe_media) -> World:
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS, MEDIA_ROOT=str(probe_media)),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def _probe_settings(settings, probe_media):
    settings.MEDIA_ROOT = str(probe_media)


@pytest.fixture(scope="package")
def wsgi_app():
    """Django's own WSGI handler, as a server would run it (an unhandled exception is the 500 a server sends,
    not an exception raised into the test as with the test client). Django closes the database connection at
    the end of each request; here every request shares the test's transaction, so that one hook is off while
    the probes run."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def http(wsgi_app, world, db, _probe_settings) -> Client:
    return Client(wsgi_app)


@pytest.fixture
def fuzz_world(world, http) -> World:
    """The world, also where the fuzzer's hooks find it while the test runs."""
    CURRENT_WORLD.append(world)
    yield world
    CURRENT_WORLD.pop()
