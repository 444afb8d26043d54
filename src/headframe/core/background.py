"""Daemon threads that repeat a round of work beside the server or ingest: the watchdog's scans, the notifier's
deliveries, the page warmer. A round that fails is logged with its error (a database away: a warning; anything
else: the traceback) and the next round tries again; the thread's database connection is closed after every
round, so a broken one never outlives the round that found it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import DatabaseError, connection


def repeat_in_thread(
    name: str,
    every_s: float,
    work: Callable[[], object],
    log: logging.Logger,
    *,
    thread_name: str,
    at_once: bool = False,
    wake: threading.Event | None = None,
) -> threading.Event:
    """Run `work` every `every_s` seconds in a daemon thread (first at once with `at_once`; `wake`, when given,
    starts a round early as soon as it is set); set the returned event to stop it after the current round."""
    stop = threading.Event()

    def stopped_after_wait() -> bool:
        if wake is None:
            return stop.wait(every_s)
        wake.wait(every_s)
        wake.clear()
        return stop.is_set()

    def loop() -> None:
        if not at_once and stopped_after_wait():
            return
        while True:
            try:
                work()
            except DatabaseError as exc:
                log.warning("%s skipped a round: database unavailable (%s)", name, exc)
            except Exception:
                log.exception("%s round failed", name)
            finally:
                connection.close()
            if stopped_after_wait():
                return

    threading.Thread(target=loop, name=thread_name, daemon=True).start()
    return stop
