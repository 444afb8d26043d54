"""The fail-safe clock of the alarm engine: every few seconds, raise the "no data" alarm of sensors that went
silent and end expired shelving. `headframe ingest` runs it in its worker; `headframe serve` runs it in a
daemon thread too, so stale alarms fire when readings arrive over HTTP only. Running it in several processes
is safe: every transition is compare-and-set on the condition's version."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import DatabaseError, connection

from headframe.telemetry import services
from headframe.telemetry.notifications import alarms_escalate

log = logging.getLogger(__name__)


PRUNE_EVERY_S = 3600.0
_last_prune = [0.0]

# Scans of the apps above telemetry, run with the watchdog (the workforce's "person overdue underground"):
# registered by the command line, which may import every app — telemetry imports none of them.
_extra_scans: dict[str, tuple[Callable[[], int], float]] = {}
_extra_last: dict[str, float] = {}


def register_scan(name: str, scan: Callable[[], int], every_s: float = 30.0) -> None:
    """Run `scan()` (returns alarms raised) with the watchdog, at most every `every_s` seconds; registering
    a name again replaces it."""
    _extra_scans[name] = (scan, every_s)


def _run_extra_scans() -> int:
    """The registered scans that are due; one that fails is logged and the others go on (the database down
    skips the round, as for the watchdog's own scans)."""
    raised = 0
    for name, (scan, every_s) in list(_extra_scans.items()):
        last = _extra_last.get(name)
        if last is not None and time.monotonic() - last < every_s:
            continue
        _extra_last[name] = time.monotonic()
        try:
            raised += scan()
        except DatabaseError:
            raise
        except Exception:
            log.exception("scan %s failed", name)
    return raised


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
    raised = lost + services.stale_scan() + _run_extra_scans()
    alarms_escalate()  # unacknowledged urgent alarms go to the next on-call level
    return raised, services.shelving_expire()


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
