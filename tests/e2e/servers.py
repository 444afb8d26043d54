"""A real uvicorn process for the end-to-end tests that need ASGI (SSE streams; pytest-django's live_server is
threaded WSGI), on its own database, migrated and seeded by running the test module as a script; and the
screenshot helper the browser tests share."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def shot(page, name: str) -> None:
    """A full-page screenshot in var/screenshots/, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str) -> None:
    """Log in as a demo account (the demo's password) through the login form."""
    from headframe.demo import DEMO_PASSWORD  # not at import: seed runs import test modules before setup

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")


def seed_unit(code, name, kind, parent=None, **extra):
    """A unit with a Vietnamese name only, for a seed() run in the server's subprocess (after django.setup())."""
    from headframe.org import services as org

    return org.unit_create(
        actor=None, code=code, name_vi=name, name_en="", kind=kind, parent_code=parent, **extra
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server_database(var: Path):
    """The server's own database: a fresh PostgreSQL database when the suite runs on PostgreSQL, else a file."""
    base = os.environ.get("HEADFRAME_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{var / 'live.sqlite3'}"
        return
    import psycopg

    name = f"hf_e2e_live_{os.getpid()}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlsplit(base)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def serve(var: Path, seed_module: str, *, serve_args: Sequence[str] = ()) -> Iterator[dict]:
    """For a module-scoped fixture: migrate a fresh database, seed it by running `python -m seed_module` (its
    last stdout line is a JSON object), start `headframe serve` on a free port and yield {"url": …, **that
    object}; the server is stopped and the database dropped when the fixture ends."""
    with server_database(var) as database_url:
        env = {
            **os.environ,
            "HEADFRAME_DATABASE_URL": database_url,
            "HEADFRAME_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "headframe.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        python = sys.executable
        subprocess.run([python, "-m", "headframe", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
        seeded = subprocess.run(
            [python, "-m", seed_module], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        )
        info = json.loads(seeded.stdout.strip().splitlines()[-1])
        port = free_port()
        log = open(var / "uvicorn.log", "w")  # noqa: SIM115 - closed in the teardown
        process = subprocess.Popen(
            [python, "-m", "headframe", "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(
                        f"uvicorn did not start: {(var / 'uvicorn.log').read_text()}"
                    ) from None
                time.sleep(0.2)
        try:
            yield {"url": url, **info}
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
