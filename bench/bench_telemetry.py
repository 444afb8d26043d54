"""Telemetry ingest throughput from pre-parsed batches (targets: ≥ 250,000 readings/s into SQLite, ≥ 150,000/s
into PostgreSQL), against the raw limit measured in the same run: a plain executemany into a bare table on
SQLite, COPY into a bare table on PostgreSQL.

The headframe figure is the whole service — validation, the (sensor, ts) key, the 1-minute and 1-hour
aggregates, live state, alarm evaluation against the QCVN limits and the per-gateway counters — in
transactions of FLUSH readings, as `headframe ingest` commits them. PostgreSQL runs in a subprocess on a
throw-away database (skipped when no server answers at HEADFRAME_BENCH_PG_HOST, default 127.0.0.1:5432).
"""

from __future__ import annotations

import os
import random
import subprocess
import time

from django.db import connection, transaction

from bench.timing import rerun_module
from headframe.org.models import Unit
from headframe.telemetry import services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import Gateway, Sensor, SensorState

# The group's own shape — every gateway sends each of its sensors' one current value per message — is
# HEADFRAME_BENCH_SENSORS=15000 HEADFRAME_BENCH_GATEWAYS=30 HEADFRAME_BENCH_FLUSH=30 (30 mines of 500 sensors).
SENSORS = int(os.environ.get("HEADFRAME_BENCH_SENSORS", 1_000))
GATEWAYS = int(os.environ.get("HEADFRAME_BENCH_GATEWAYS", 10))
PER_MESSAGE = 500  # readings per gateway message (100 sensors × 5 instants)
# Messages per transaction: the default `--max-batch` of `headframe ingest`.
FLUSH = int(os.environ.get("HEADFRAME_BENCH_FLUSH", 200))
READINGS = int(os.environ.get("HEADFRAME_BENCH_READINGS", 1_000_000))
START_MS = 1_893_456_000_000  # 2030-01-01: far from any demo data
CHILD = "HEADFRAME_BENCH_TELEMETRY_CHILD"


def _registry() -> list[Gateway]:
    site = Unit.objects.filter(kind="site", site_type="underground").order_by("code").first()
    position = Unit.objects.filter(kind="position", path__startswith=site.path).order_by("code").first()
    gateways = []
    kinds = [
        ("ch4_pct", "face_return", 0, 100),
        ("co_ppm", "face_return", 0, 1000),
        ("o2_pct", "workplace", 0, 25),
    ]
    with transaction.atomic():
        for g in range(GATEWAYS):
            gateway, _ = Gateway.objects.get_or_create(code=f"BENCH-GW{g:02d}", defaults={"site": site})
            gateways.append(gateway)
            sensors = []
            for s in range(SENSORS // GATEWAYS):
                kind, location, lo, hi = kinds[s % len(kinds)]
                sensors.append(
                    Sensor(
                        code=f"BENCH-{g:02d}-{s:03d}",
                        kind=kind,
                        location=location,
                        range_min=lo,
                        range_max=hi,
                        position=position,
                        gateway=gateway,
                        period_s=1,
                    )
                )
            Sensor.objects.bulk_create(sensors, ignore_conflicts=True)
        SensorState.objects.bulk_create(
            [SensorState(sensor=s) for s in Sensor.objects.filter(code__startswith="BENCH-")],
            ignore_conflicts=True,
        )
    directory.invalidate()
    return gateways


def _messages() -> list[services.Batch]:
    """Gateway messages as `headframe ingest` hands them over after parsing: (sensor code, epoch ms, value)."""
    rng = random.Random(7)
    codes = {g: [f"BENCH-{g:02d}-{s:03d}" for s in range(SENSORS // GATEWAYS)] for g in range(GATEWAYS)}
    normal = {0: (0.1, 0.4), 1: (0.0, 5.0), 2: (20.5, 20.9)}  # CH4 %, CO ppm, O2 %: inside every limit
    batches = []
    instants_per_message = PER_MESSAGE // (SENSORS // GATEWAYS)
    ts = START_MS
    while len(batches) * PER_MESSAGE < READINGS:
        for g in range(GATEWAYS):
            readings = []
            for i in range(instants_per_message):
                for s, code in enumerate(codes[g]):
                    lo, hi = normal[s % 3]
                    readings.append((code, ts + i * 1000, round(rng.uniform(lo, hi), 3)))
            batches.append(services.Batch(f"BENCH-GW{g:02d}", readings, seq=len(batches), channel="mqtt"))
        ts += instants_per_message * 1000
    return batches


def _raw_rows(batches, ids) -> list[list[tuple]]:
    flushes = []
    for start in range(0, len(batches), FLUSH):
        flushes.append([(ids[c], t, v) for b in batches[start : start + FLUSH] for c, t, v in b.readings])
    return flushes


def _baseline(flushes: list[list[tuple]]) -> float:
    """Seconds to write the same rows into a bare table, the fastest plain way this database offers."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_reading")
        cursor.execute(
            "CREATE TABLE bench_bare_reading (sensor_id bigint, ts bigint, value double precision)"
        )
    started = time.perf_counter()
    for rows in flushes:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with (
                    connection.cursor() as cursor,
                    cursor.cursor.copy("COPY bench_bare_reading (sensor_id, ts, value) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            else:
                connection.connection.executemany("INSERT INTO bench_bare_reading VALUES (?, ?, ?)", rows)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_bare_reading")
    return seconds


def _headframe(batches) -> tuple[float, int]:
    started = time.perf_counter()
    stored = 0
    now_ms = START_MS + 3_600_000 * 24
    for start in range(0, len(batches), FLUSH):
        for result in services.ingest(batches[start : start + FLUSH], now_ms=now_ms):
            stored += result.stored
    return time.perf_counter() - started, stored


def run() -> None:
    vendor = connection.vendor
    print(
        f"  database: {vendor}; {READINGS:,} readings, {SENSORS:,} sensors, {PER_MESSAGE} per message, "
        f"{FLUSH} messages per transaction",
        flush=True,
    )
    _registry()
    batches = _messages()
    ids = dict(Sensor.objects.filter(code__startswith="BENCH-").values_list("code", "id"))
    flushes = _raw_rows(batches, ids)
    total = sum(len(b.readings) for b in batches)
    raw = _baseline(flushes)
    label = "COPY into a bare table" if vendor == "postgresql" else "executemany into a bare table"
    print(f"  raw limit: {label:<40} {total / raw:12,.0f} readings/s", flush=True)
    if os.environ.get("HEADFRAME_BENCH_PROFILE"):
        _profile(batches)
        return
    seconds, stored = _headframe(batches)
    rate = total / seconds
    target = 150_000 if vendor == "postgresql" else 250_000
    verdict = "meets" if rate >= target else "MISSES"
    print(
        f"  headframe ingest (validate, store, aggregate, alarms) {rate:12,.0f} readings/s   "
        f"{rate / (total / raw):5.2f}× raw   {verdict} the {target:,}/s target",
        flush=True,
    )
    if stored != total:
        raise SystemExit(f"stored {stored:,} of {total:,} readings")
    if vendor != "postgresql" and not os.environ.get(CHILD):
        _on_postgresql()


def _profile(batches) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(_headframe, batches)
    pstats.Stats(profiler).sort_stats(os.environ.get("HEADFRAME_BENCH_PROFILE_SORT", "tottime")).print_stats(
        int(os.environ.get("HEADFRAME_BENCH_PROFILE_LINES", 20))
    )


def _on_postgresql() -> None:
    host = os.environ.get("HEADFRAME_BENCH_PG_HOST", "127.0.0.1")
    admin = ["psql", "-h", host, "-U", "postgres", "-d", "postgres", "-qtAc"]
    if subprocess.run(["pg_isready", "-h", host, "-q"], check=False).returncode != 0:
        print("  PostgreSQL: not reachable, skipped")
        return
    name = f"headframe_bench_telemetry_{os.getpid()}"
    subprocess.run([*admin, f'CREATE DATABASE "{name}"'], check=True)
    try:
        print("== bench_telemetry on PostgreSQL", flush=True)
        rerun_module("bench_telemetry", f"postgresql://postgres@{host}:5432/{name}", CHILD)
    finally:
        subprocess.run([*admin, f'DROP DATABASE IF EXISTS "{name}"'], check=False)
