"""Bytes on disk per raw reading: the SQL table (the baseline) against VictoriaMetrics, for issue 16.

The same readings go everywhere: SENSORS sensors × SECONDS s at a 1 s period (ms timestamps with each sensor's
own phase and a few ms of jitter, as gateways stamp them), methane / CO / O₂ values that drift slowly with
noise on top, quantised to each sensor's resolution (0.01 % CH₄, 1 ppm CO, 0.1 % O₂), sent in arrival order
(time first, sensor second) in 30-second batches like ingest's flushes. Then:

- SQLite: `headframe.telemetry.storage.SqlReadingStore.insert` into the benchmark database's own
  `telemetry_reading`; bytes = the `dbstat` growth of the table and its (sensor_id, ts) key.
- PostgreSQL (HEADFRAME_BENCH_PG_URL, else postgres@127.0.0.1:5432, skipped when neither answers): a scratch
  database with the same table and key, binary COPY, VACUUM as autovacuum would; `pg_total_relation_size`.
- VictoriaMetrics (Debian `/usr/bin/victoria-metrics`, our own child process on a free port under a temp dir):
  `/api/v1/import`, `/internal/force_flush`, `/internal/force_merge`, then the growth of its data directory.
  Once more with unquantised values (every float with all its digits): VictoriaMetrics stores decimals, so
  values that carry noise down to the last bit cost it far more; SQL stores 8 bytes either way.

Every store's count is read back and must equal what was sent. Printed: bytes/reading each, and SQL ÷ VM.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
from django.db import connection, transaction

from bench._shared import HOST, free_port

SENSORS = int(os.environ.get("HEADFRAME_BENCH_BYTES_SENSORS", 1000))
SECONDS = int(os.environ.get("HEADFRAME_BENCH_BYTES_SECONDS", 1000))
BATCH_S = 30  # seconds of readings per write, like one ingest flush
SENSOR_BASE = 900_000_000  # ids no real sensor has: the rows are deleted again afterwards
VM_BINARY = "/usr/bin/victoria-metrics"

Row = tuple[int, int, float]

# kind → (start value, drift step, noise, resolution, lower bound, upper bound)
_KINDS = (
    (0.25, 0.002, 0.01, 0.01, 0.0, 5.0),  # ch4 %
    (4.0, 0.05, 0.8, 1.0, 0.0, 1000.0),  # co ppm
    (20.8, 0.005, 0.05, 0.1, 17.0, 21.0),  # o2 %
)


def _readings(start_ms: int, quantised: bool, seed: int = 16) -> Iterator[list[Row]]:
    """Batches of BATCH_S seconds, each in arrival order (time-major). Same seed → same readings."""
    rnd = random.Random(seed)
    phase = [rnd.randrange(1000) for _ in range(SENSORS)]
    level = [_KINDS[s % 3][0] for s in range(SENSORS)]
    batch: list[Row] = []
    for second in range(SECONDS):
        base = start_ms + second * 1000
        for s in range(SENSORS):
            start, drift, noise, resolution, lo, hi = _KINDS[s % 3]
            level[s] = min(hi, max(lo, level[s] + rnd.gauss(0, drift) + (start - level[s]) * 0.001))
            value = min(hi, max(lo, level[s] + rnd.gauss(0, noise)))
            if quantised:
                value = round(round(value / resolution) * resolution, 6)
            batch.append((SENSOR_BASE + s, base + phase[s] + rnd.randrange(-4, 5), value))
        if (second + 1) % BATCH_S == 0 or second == SECONDS - 1:
            yield batch
            batch = []


def run() -> None:
    total = SENSORS * SECONDS
    start_ms = (int(time.time()) - SECONDS - 60) * 1000  # recent: inside VictoriaMetrics' retention
    print(
        f"  {total:,} readings: {SENSORS:,} sensors × {SECONDS:,} s at 1 s, sent time-ordered in "
        f"{BATCH_S} s batches",
        flush=True,
    )
    results: dict[str, float] = {}
    sql_label = f"SQL table on {connection.vendor} (baseline)"
    results[sql_label] = _sql_here(start_ms, total)
    _print(sql_label, results[sql_label], None)
    pg = _postgresql(start_ms, total) if connection.vendor != "postgresql" else None
    if pg is not None:
        results["SQL table on PostgreSQL"] = pg
        _print("SQL table on PostgreSQL", pg, None)
    if not Path(VM_BINARY).exists():
        print(f"  {VM_BINARY} not installed (`make bench-deps`): VictoriaMetrics skipped")
        return
    for quantised, label in ((True, "VictoriaMetrics"), (False, "VictoriaMetrics, unquantised values")):
        per_reading = _victoria(start_ms, total, quantised)
        _print(label, per_reading, results)


def _print(label: str, per_reading: float, sql: dict[str, float] | None) -> None:
    line = f"  {label:<44} {per_reading:8.2f} bytes/reading"
    if sql:
        line += "   " + "   ".join(
            f"{name.split(' (')[0]} ÷ VM {b / per_reading:5.1f}×" for name, b in sql.items()
        )
    print(line, flush=True)


# ---- SQL, through the real store on the benchmark's own database
def _sql_here(start_ms: int, total: int) -> float:
    from headframe.telemetry.storage import SqlReadingStore

    store = SqlReadingStore()
    before_bytes, before_rows = _table_bytes(), _rows_here()
    for batch in _readings(start_ms, quantised=True):
        with transaction.atomic():
            store.insert(batch)
    stored = _rows_here() - before_rows
    grown = _table_bytes() - before_bytes
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM telemetry_reading WHERE sensor_id >= %s", [SENSOR_BASE])
    if stored != total:
        raise SystemExit(f"SQL store kept {stored:,} of {total:,} readings")
    return grown / total


def _rows_here() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM telemetry_reading WHERE sensor_id >= %s", [SENSOR_BASE])
        return cursor.fetchone()[0]


def _table_bytes() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the table, or its partitions when it is partitioned
            cursor.execute(
                "SELECT pg_total_relation_size('telemetry_reading') + COALESCE(SUM("
                "pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
                "WHERE inhparent = 'telemetry_reading'::regclass"
            )
        else:  # the table and its automatic (sensor_id, ts) key index, pages actually used
            cursor.execute(
                "SELECT COALESCE(SUM(d.pgsize), 0) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name "
                "WHERE m.tbl_name = 'telemetry_reading'"
            )
        return int(cursor.fetchone()[0])


# ---- PostgreSQL, in a scratch database
def _postgresql(start_ms: int, total: int) -> float | None:
    import psycopg

    url = os.environ.get("HEADFRAME_BENCH_PG_URL", f"postgresql://postgres@{HOST}:5432/postgres")
    scratch = f"hf_bench_bytes_{os.getpid()}"
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        print("  no PostgreSQL answers (HEADFRAME_BENCH_PG_URL or 127.0.0.1:5432): PostgreSQL skipped")
        return None
    parts = urllib.parse.urlsplit(url)
    scratch_url = urllib.parse.urlunsplit(parts._replace(path=f"/{scratch}"))
    try:
        admin.execute(f'CREATE DATABASE "{scratch}"')
        with psycopg.connect(scratch_url, autocommit=True) as db:
            db.execute(
                "CREATE TABLE telemetry_reading (sensor_id bigint NOT NULL, ts bigint NOT NULL, "
                "value double precision NOT NULL, PRIMARY KEY (sensor_id, ts))"
            )
            for batch in _readings(start_ms, quantised=True):
                with (
                    db.transaction(),
                    db.cursor() as cur,
                    cur.copy(
                        "COPY telemetry_reading (sensor_id, ts, value) FROM STDIN (FORMAT BINARY)"
                    ) as cp,
                ):
                    cp.set_types(["int8", "int8", "float8"])
                    for row in batch:
                        cp.write_row(row)
            db.execute("VACUUM (ANALYZE) telemetry_reading")
            stored = db.execute("SELECT COUNT(*) FROM telemetry_reading").fetchone()[0]
            size = db.execute("SELECT pg_total_relation_size('telemetry_reading')").fetchone()[0]
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()
    if stored != total:
        raise SystemExit(f"PostgreSQL kept {stored:,} of {total:,} readings")
    return size / total


# ---- VictoriaMetrics, our own child process
def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _vm_call(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 120) -> bytes:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status >= 300:
        raise RuntimeError(f"VictoriaMetrics {method} {path[:60]}: {response.status} {data[:200]!r}")
    return data


def _vm_wait_ready(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"victoria-metrics exited with {proc.returncode}: {log.read_text()[-500:]}")
        try:
            if _vm_call(port, "GET", "/health", timeout=2).strip() == b"OK":
                return
        except (OSError, RuntimeError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"victoria-metrics did not answer /health within 30 s: {log.read_text()[-500:]}")


def _vm_count(port: int, start_ms: int) -> int:
    end_s = start_ms // 1000 + SECONDS + 5
    query = urllib.parse.urlencode(
        {"query": f'sum(count_over_time(reading{{job="bytes"}}[{SECONDS + 10}s]))', "time": end_s}
    )
    result = orjson.loads(_vm_call(port, "GET", f"/api/v1/query?{query}"))["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0


def _victoria(start_ms: int, total: int, quantised: bool) -> float:
    root = Path(tempfile.mkdtemp(prefix="headframe-bench-vm-"))
    data = root / "data"
    port = free_port()
    log = root / "vm.log"
    proc = None
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    VM_BINARY,
                    f"-storageDataPath={data}",
                    f"-httpListenAddr={HOST}:{port}",
                    "-retentionPeriod=100y",
                    "-loggerLevel=ERROR",
                    "-search.latencyOffset=0s",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        _vm_wait_ready(proc, port, log)
        empty = _dir_bytes(data)
        for batch in _readings(start_ms, quantised=quantised):
            series: dict[int, tuple[list[float], list[int]]] = {}
            for sensor_id, ts, value in batch:
                values, stamps = series.setdefault(sensor_id, ([], []))
                values.append(value)
                stamps.append(ts)
            body = b"\n".join(
                orjson.dumps(
                    {
                        "metric": {"__name__": "reading", "job": "bytes", "sensor": str(sid)},
                        "values": v,
                        "timestamps": t,
                    }
                )
                for sid, (v, t) in series.items()
            )
            _vm_call(port, "POST", "/api/v1/import", body)
        _vm_call(port, "GET", "/internal/force_flush")
        months = {
            datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y_%m")
            for ms in (start_ms, start_ms + SECONDS * 1000)
        }
        for month in months:
            _vm_call(port, "GET", f"/internal/force_merge?partition_prefix={month}", timeout=300)
        size = _settled_size(data)
        stored = _vm_count(port, start_ms)
        if stored != total:
            raise SystemExit(f"VictoriaMetrics kept {stored:,} of {total:,} readings")
        return (size - empty) / total
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(30)
        shutil.rmtree(root, ignore_errors=True)


def _settled_size(data: Path) -> int:
    """The data directory once background merges stop changing it (bounded: 60 s)."""
    deadline = time.monotonic() + 60
    last = _dir_bytes(data)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _dir_bytes(data)
        if now == last:
            return now
        last = now
    return last
