"""Running an async scenario of the live streams from a synchronous test."""

from __future__ import annotations

import threading

from asgiref.sync import async_to_sync
from django.db import connection


def in_a_thread_of_its_own(scenario, timeout_s: float = 60.0):
    """async_to_sync(scenario)() in a new thread: pytest-django runs transactional tests after the browser tests,
    whose Playwright sync API leaves an event loop marked running in the main thread (async_to_sync refuses to
    start there). Committed data: the thread's own database connection sees it, as the streams' journal threads
    do."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = async_to_sync(scenario)()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), "the scenario hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
