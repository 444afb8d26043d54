"""The fail-safe clock of the alarm engine: every few seconds, raise the "no data" alarm of sensors that went
silent and end expired shelving. `headframe ingest` runs it in its worker; `headframe serve` runs it in a
daemon thread too, so stale alarms fire when readings arrive over HTTP only. Running it in several processes
is safe: every transition is compare-and-set on the condition's version."""

from __future__ import annotations

import logging
import threading
import time

from django.db import DatabaseError, connection

from headframe.telemetry import services
from headframe.telemetry.notifications import alarms_escalate

log = logging.getLogger(__name__)


PRUNE_EVERY_S = 3600.0
_last_prune = [0.0]


def watchdog_tick() -> tuple[int, int]:
    """(no-data alarms raised, shelvings ended); once an hour also applies the retention settings."""
    if time.monotonic() - _last_prune[0] > PRUNE_EVERY_S:
        _last_prune[0] = time.monotonic()
        pruned = services.readings_prune()
        if any(pruned.values()):
            log.info("retention: %(raw)d raw readings and %(1m)d minute aggregates pruned", pruned)
    # Gateways first: a lost gateway suppresses its sensors' stale alarms by rule instead of flooding.
    lost = services.gateways_scan()
    services.out_of_service_expire()
    alarms_escalate()  # unacknowledged urgent alarms go to the next on-call level
    return lost + services.stale_scan(), services.shelving_expire()


def start_watchdog(every_s: float = 5.0) -> threading.Event:
    """Run watchdog_tick every `every_s` seconds in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                raised, expired = watchdog_tick()
                if raised or expired:
                    log.info("watchdog: %d no-data alarms raised, %d shelvings ended", raised, expired)
            except DatabaseError as exc:
                log.warning("watchdog skipped a round: database unavailable (%s)", exc)
            except Exception:
                log.exception("watchdog round failed")
            finally:
                connection.close()

    threading.Thread(target=loop, name="headframe-watchdog", daemon=True).start()
    return stop
