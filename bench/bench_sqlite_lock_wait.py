"""Writers queueing for SQLite's one write lock: headframe's backend (headframe.core.sqlite3: the wait happens in
Python between 20 ms tries) against Django's (the baseline: the wait happens in SQLite's busy handler, which holds
the connection's mutex), same workload, same run.

WRITERS threads (a web worker's request threads, the watchdog, ingest's flush) each run TRANSACTIONS short write
transactions (BEGIN IMMEDIATE, ROWS inserts, COMMIT) on connections of their own to a scratch WAL database, as
`headframe serve` does; every DROP_EVERY-th transaction writes one more row through a cursor left in a reference
cycle (what an exception's traceback does to a Django cursor), for the garbage collector to clear in whichever
thread it runs. The lock wait is LOCK_WAIT_S (HEADFRAME_DB_LOCK_TIMEOUT_S is 20 s by default).

Printed for each backend: transactions/s, the wait for the lock (p50, p95, p99, max, how many over 100 ms), and
transactions that failed with "database is locked". What this shows is the cost of waiting in Python: SQLite's
handler is unfair (a few writers starve for seconds while the rest get the lock at once); waiting in Python
starves nobody that long but delays more writers a little. The deadlock itself — the collector in the lock
holder's thread waiting for the mutex of a connection that waits for that lock — depends on where the collector
happens to run; tests/core/test_sqlite_lock_wait.py makes it happen on purpose."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from django.db import OperationalError
from django.db.utils import load_backend

WRITERS = int(os.environ.get("HEADFRAME_BENCH_LOCK_WRITERS", 8))
TRANSACTIONS = int(os.environ.get("HEADFRAME_BENCH_LOCK_TRANSACTIONS", 150))
ROWS = 20
DROP_EVERY = 5
LOCK_WAIT_S = 5
INIT = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"


def _settings(path: Path) -> dict:
    return {
        "NAME": str(path),
        "OPTIONS": {"init_command": INIT, "transaction_mode": "IMMEDIATE", "timeout": LOCK_WAIT_S},
        "TIME_ZONE": None,
        "CONN_HEALTH_CHECKS": False,
        "CONN_MAX_AGE": 0,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
    }


def _workload(engine: str, path: Path) -> dict:
    backend = load_backend(engine)
    setup = backend.DatabaseWrapper(_settings(path), "lock_wait")
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS probe (writer integer, n integer, payload text)")
        cursor.execute("DELETE FROM probe")
    setup.close()
    waits: list[float] = []
    failed = [0]
    start_together = threading.Barrier(WRITERS)

    def writer(number: int) -> None:
        database = backend.DatabaseWrapper(_settings(path), "lock_wait")
        database.inc_thread_sharing()
        try:
            cursor = database.cursor()
            start_together.wait()
            for n in range(TRANSACTIONS):
                asked = time.perf_counter()
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                except OperationalError:
                    failed[0] += 1
                    continue
                waits.append(time.perf_counter() - asked)
                for row in range(ROWS):
                    cursor.execute(
                        "INSERT INTO probe VALUES (%s, %s, %s)", [number, n * ROWS + row, "x" * 40]
                    )
                if n % DROP_EVERY == 0:
                    # One more row through a cursor that ends in a reference cycle: Python's sqlite3 keeps its
                    # statement (an INSERT) until the collector clears the cursor and resets it.
                    left = database.cursor()
                    left.execute("INSERT INTO probe VALUES (%s, %s, %s)", [number, -n, "y"])
                    cycle: list = [left]
                    cycle.append(cycle)
                    del left, cycle
                cursor.execute("COMMIT")
        finally:
            database.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    waits.sort()
    done = len(waits)

    def at(q: float) -> float:
        return waits[min(done - 1, int(q * done))] if done else float("nan")

    return {
        "per_s": done / elapsed,
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "over_100ms": sum(w > 0.1 for w in waits),
        "max": waits[-1] if done else float("nan"),
        "failed": failed[0],
        "done": done,
    }


def run() -> None:
    folder = Path(tempfile.mkdtemp(prefix="headframe-lock-wait-"))
    try:
        results = {}
        for label, engine in (
            ("Django's sqlite3 (baseline)", "django.db.backends.sqlite3"),
            ("headframe.core.sqlite3", "headframe.core.sqlite3"),
        ):
            results[label] = result = _workload(engine, folder / f"{engine.rsplit('.', 2)[-2]}.sqlite3")
            print(
                f"  {label:<28} {result['per_s']:6.0f} transactions/s   lock wait p50 {result['p50'] * 1e3:5.1f}"
                f"  p95 {result['p95'] * 1e3:6.1f}  p99 {result['p99'] * 1e3:6.1f}  max {result['max'] * 1e3:7.1f} ms,"
                f" {result['over_100ms']} over 100 ms;"
                f" failed 'database is locked': {result['failed']} of {WRITERS * TRANSACTIONS}",
                flush=True,
            )
        base, ours = results.values()
        print(
            f"  headframe ÷ baseline: transactions/s {ours['per_s'] / base['per_s']:.2f}×, "
            f"lock wait p99 {ours['p99'] / base['p99']:.2f}×, max {ours['max'] / base['max']:.2f}×"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
