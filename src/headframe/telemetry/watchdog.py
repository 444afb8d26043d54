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

from headframe.core.background import repeat_in_thread
from headframe.telemetry import services
from headframe.telemetry.notifications import alarms_escalate
from headframe.telemetry.storage import ensure_shipper
from headframe.telemetry.storage.partitions import partitions_ensure

log = logging.getLogger(__name__)


PRUNE_EVERY_S = 3600.0
MAINTENANCE_RETRY_S = 30.0  # after a lock not granted within the partitions' 50 ms lock timeout
# Retention's share of one tick: it runs in the thread of the alarm scans, which wait for it. A round with more
# rows to delete (the legacy partition, thinned for weeks after migration 0009) goes on at the next tick.
PRUNE_BUDGET_S = 1.0
# Monotonic time of the last storage maintenance round; None: due on the first tick.
_last_maintenance: list[float | None] = [None]
_prune_unfinished: list[bool] = [False]  # retention ran out of its budget: go on at the next tick

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
    """(no-data alarms raised, shelvings ended); on the first tick and once an hour also makes the readings'
    partitions ahead and applies the retention settings, about PRUNE_BUDGET_S of it per tick."""
    # Gateways first: a lost gateway suppresses its sensors' stale alarms by rule instead of flooding. Both scans
    # pause between their transactions for ingest (give_way): the watchdog is never the writer that holds it off.
    lost = services.gateways_scan(give_way=True)
    services.out_of_service_expire()
    raised = lost + services.stale_scan(give_way=True) + _run_extra_scans()
    alarms_escalate()  # unacknowledged urgent alarms go to the next on-call level
    outcome = raised, services.shelving_expire()
    _storage_maintenance()
    return outcome


def _storage_maintenance() -> None:
    """Partitions ahead, then retention for at most PRUNE_BUDGET_S (and one chunk). Runs after the alarm scans,
    and a failure (a lock not granted within the partition lock timeout) only postpones it: it never holds a
    scan back for long, and readings for a day without a partition are kept in the default partition meanwhile."""
    last = _last_maintenance[0]
    due = last is None or time.monotonic() - last > PRUNE_EVERY_S
    if not due and not _prune_unfinished[0]:
        return
    if due:
        _last_maintenance[0] = time.monotonic()
    try:
        created = partitions_ensure() if due else []
        pruned = services.readings_prune(budget_s=PRUNE_BUDGET_S)
    except DatabaseError as exc:
        _last_maintenance[0] = time.monotonic() - PRUNE_EVERY_S + MAINTENANCE_RETRY_S
        _prune_unfinished[0] = False  # the retry redoes the whole round
        log.warning("storage maintenance postponed: %s", exc)
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # a lost connection: the next scan opens a new one
        return
    _prune_unfinished[0] = bool(pruned["unfinished"])
    if created:
        log.info("partitions created: %s", ", ".join(created))
    if any(pruned.values()):
        log.info(
            "retention: %(raw)d raw readings and %(1m)d minute aggregates deleted, "
            "%(raw_partitions)d raw and %(1m_partitions)d minute partitions dropped",
            pruned,
        )


def start_watchdog(every_s: float = 5.0) -> threading.Event:
    """Run watchdog_tick every `every_s` seconds in a daemon thread; set the returned event to stop it."""
    ensure_shipper()  # raw readings to VictoriaMetrics, when that is the store: a thread of its own

    def round_() -> None:
        raised, expired = watchdog_tick()
        if raised or expired:
            log.info("watchdog: %d no-data alarms raised, %d shelvings ended", raised, expired)

    return repeat_in_thread("watchdog", every_s, round_, log, thread_name="headframe-watchdog")
