"""`headframe serve` keeps its background work (watchdog, notifier, page warmer) out of the web process: with one
worker the pages are served by a child process, as with `--workers N`; with nothing in the background it serves
in its own process. Stopped with SIGTERM (systemd, the demo), it stops its worker too."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
import uvicorn
from uvicorn.supervisors import Multiprocess

from headframe.cli import main
from tests.e2e.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 60.0  # bounds for a process that would otherwise hang, never a timing assertion


@pytest.fixture
def launches(monkeypatch, settings):
    """What `serve` would run, without running it: [("worker process", workers) or ("in process", workers)], and
    the background work it started."""
    runs: list[tuple[str, int]] = []
    started: list[str] = []
    monkeypatch.setattr(
        Multiprocess, "run", lambda self: runs.append(("worker process", self.config.workers))
    )
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: runs.append(("in process", kwargs["workers"])))
    for module, name in (
        ("headframe.telemetry.watchdog", "start_watchdog"),
        ("headframe.notify.worker", "start_notifier"),
        ("headframe.briefing.warm", "start_page_warmer"),
    ):
        monkeypatch.setattr(f"{module}.{name}", lambda name=name: started.append(name))
    settings.PAGE_CACHE = True
    monkeypatch.delenv("HEADFRAME_WEB_NOTIFIER", raising=False)  # serve sets it for its workers: not for ours
    return runs, started


def test_one_worker_serves_in_a_process_of_its_own_beside_the_background_work(db, launches):
    runs, started = launches
    assert main(["serve", "--port", str(free_port())]) == 0
    assert runs == [("worker process", 1)]
    assert started == ["start_watchdog", "start_notifier", "start_page_warmer"]
    assert os.environ["HEADFRAME_WEB_NOTIFIER"] == "1"  # the worker delivers what it queues at once


def test_with_nothing_in_the_background_serve_runs_in_its_own_process(db, launches, settings):
    runs, started = launches
    settings.PAGE_CACHE = False
    assert main(["serve", "--port", str(free_port()), "--no-watchdog", "--no-notifier"]) == 0
    assert started == [] and "HEADFRAME_WEB_NOTIFIER" not in os.environ
    assert main(["serve", "--port", str(free_port()), "--workers", "3"]) == 0
    assert runs == [("in process", 1), ("in process", 3)]  # uvicorn's own supervisor for 3


def _serve_env(tmp_path) -> dict:
    return {
        **os.environ,
        "HEADFRAME_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "HEADFRAME_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "headframe.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }


def _serve(port: int, env: dict, tmp_path) -> tuple[subprocess.Popen, object]:
    """`headframe serve` on the port, once it answers /healthz; and its open log file."""
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "headframe", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(port, process, tmp_path)
    except BaseException:
        process.kill()
        log.close()
        raise
    return process, log


def _wait_healthy(port: int, process: subprocess.Popen, tmp_path) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                assert answer.status == 200
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / "serve.log"
            ).read_text()
            time.sleep(0.2)


def test_sigterm_stops_serve_and_its_web_worker(tmp_path):
    env = _serve_env(tmp_path)
    subprocess.run([sys.executable, "-m", "headframe", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    port = free_port()
    process, log = _serve(port, env, tmp_path)
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
        assert workers, "the page was served by serve's own process"
        # The page's worker yields the CPU to serve's own process (the watchdog) and to ingest when it is short.
        web = [w for w in workers if "multiprocessing.spawn" in " ".join(w.cmdline())]
        assert web and all(w.nice() == min(19, psutil.Process(process.pid).nice() + 5) for w in web)
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT_S) == 0
        _gone, alive = psutil.wait_procs(workers, timeout=WAIT_S)  # the worker, multiprocessing's helper
        assert not alive
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        log.close()


STREAM_SETUP = """
from django.contrib.sessions.backends.db import SessionStore
from tests.factories import make_unit, make_user
make_unit("G", "group"); make_unit("A", "company", "G"); make_unit("A-M1", "site", "A")
user = make_user("dieu_do", ("dispatcher", "A-M1"))
session = SessionStore()
session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                "_auth_user_hash": user.get_session_auth_hash()})
session.create()
print(session.session_key)
"""


def test_sigterm_ends_an_open_live_stream_and_stops_serve_within_its_grace(tmp_path):
    """A live page's stream lasts minutes; stopped while one is open, serve's worker ends it after
    SHUTDOWN_GRACE_S and exits, rather than wait for it (and be left running if serve is killed meanwhile)."""
    env = _serve_env(tmp_path)
    subprocess.run([sys.executable, "-m", "headframe", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    session_key = subprocess.run(
        [sys.executable, "-m", "headframe", "manage", "shell", "-c", STREAM_SETUP],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    port = free_port()
    process, log = _serve(port, env, tmp_path)
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
        stream = urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{port}/telemetry/A-M1/stream",
                headers={"Cookie": f"sessionid={session_key}"},
            ),
            timeout=WAIT_S,
        )
        assert stream.status == 200 and stream.readline().startswith(b"retry:")  # the stream is open
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT_S) == 0  # the stream alone would hold the worker for STREAM_MAX_S (5 min)
        _gone, alive = psutil.wait_procs(workers, timeout=WAIT_S)
        assert not alive
        stream.close()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        log.close()


def test_a_web_worker_of_serve_runs_a_notifier_of_its_own_and_no_other_asgi_process_does(monkeypatch):
    import headframe.asgi
    from headframe.notify import worker

    started: list[str] = []
    monkeypatch.setattr(worker, "start_notifier", lambda: started.append("notifier"))
    monkeypatch.delenv("HEADFRAME_WEB_NOTIFIER", raising=False)
    importlib.reload(headframe.asgi)
    assert started == []
    monkeypatch.setenv("HEADFRAME_WEB_NOTIFIER", "1")  # as serve sets it for the workers it starts
    importlib.reload(headframe.asgi)
    assert started == ["notifier"]
