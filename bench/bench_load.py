"""The loopback load test of issue 16: 50 users on dashboards, live pages and packs while 15,000 readings/s
stream in (targets: page p95 < 300 ms, alarm latency p99 < 200 ms, 0 errors). Everything on 127.0.0.1,
bounded in time (~2 min of phases after the demo is loaded), on the benchmark's throw-away database.

Set-up: 30 mines of 500 gas sensors each (one gateway per mine, 1 s period) under the demo's underground
companies, a Mosquitto of our own on a free port, `headframe serve` (two uvicorn web workers per core; its
watchdog, notifier and page warmer in the parent) and
`headframe ingest` as subprocesses, and locust (bench/load_users.py, as a subprocess: it patches the standard
library with gevent). A third of the users hold live pages and their event streams open, the rest read
production dashboards and briefing packs. Their sessions are made here (force_login): 50 log-ins at once would
measure PBKDF2 (~0.5 s of CPU each, by design) for half a minute instead of the pages.

Three phases in one run: 3 users and no ingest (near the pages' service times); the baseline — USERS users,
no readings arriving; then the load — a publisher sends 30 messages/s of 500 readings (15,000 readings/s,
ts = send time) and, meanwhile, TRIPS methane trips (1.5 % CH₄ at a face return, ts = send time) on sensors of
their own, on a fixed schedule. Alarm latency is from publish to (a) the alarm's journal row in the database
and (b) its `journal` event on the mine's live-page stream (an SSE client logged in as a user of the mine) —
(b) is what an operator sees. Readings/s stored is counted in the database over the load phase; then a
bounded wait for the backlog. The CPU each of serve and ingest used per phase shows what saturated.

A miss is printed as MISS, never hidden; the benchmark does not fail the run for one. With
HEADFRAME_BENCH_PG_URL=postgresql://…/postgres the whole test runs again on a scratch PostgreSQL database.
Knobs: HEADFRAME_BENCH_LOAD_{USERS,BASELINE_S,S,TRIPS,MINES,PERIOD_S,KEEP,SERVE_ARGS} (e.g. SERVE_ARGS="--workers 1"),
HEADFRAME_BENCH_INGEST_ARGS.
"""

from __future__ import annotations

import getpass
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from django.db import connection, transaction

from bench._shared import HOST, free_port, methane_probe
from bench.timing import rerun_module
from headframe.org.models import Unit
from headframe.telemetry.models import AlarmJournal, Gateway, Sensor, SensorState

ROOT = Path(__file__).resolve().parent.parent
USERS = int(os.environ.get("HEADFRAME_BENCH_LOAD_USERS", 50))
SOLO_S = 15  # first 3 users (a control room, two managers): what each page costs when little else runs
BASELINE_S = int(os.environ.get("HEADFRAME_BENCH_LOAD_BASELINE_S", 25))
LOAD_S = int(os.environ.get("HEADFRAME_BENCH_LOAD_S", 50))
MINES = int(os.environ.get("HEADFRAME_BENCH_LOAD_MINES", 30))  # × PER_MINE readings/s offered
PER_MINE = 500  # sensors per mine = readings per gateway message (one message per gateway per second)
# The background sensors' period: 1 s as they send; a longer one keeps the stale-data scans from raising
# "no data" alarms when ingest falls behind (to tell that cost apart).
PERIOD_S = int(os.environ.get("HEADFRAME_BENCH_LOAD_PERIOD_S", 1))
TRIPS = int(os.environ.get("HEADFRAME_BENCH_LOAD_TRIPS", 50))
DRAIN_S = 20  # after the load phase: the backlog may drain and late trips show, this long at most
TOPIC_ROOT = "headframe/v1"
PAGE_GROUPS = ("dashboard", "live page", "pack")
PAGE_P95_MS, ALARM_P99_MS = 300.0, 200.0
WARM_S = 10.0  # pages of a phase after its first WARM_S seconds are also reported apart (caches built)
CHILD = "HEADFRAME_BENCH_LOAD_CHILD"
CORES = os.cpu_count() or 1
SSE_USER = "admin"  # sees every mine's journal
PASSWORD = "headframe-demo"


def run() -> None:
    if shutil.which("mosquitto") is None:
        print("  mosquitto not installed: skipped")
        return
    if os.environ.get(CHILD) or connection.vendor == "postgresql":
        _run_here()
        return
    # 30 mines, 15,000 sensors, a million readings and the alarms they raise would change what the benchmarks
    # after this one measure: run on a copy of the database, in a subprocess.
    folder = Path(tempfile.mkdtemp(prefix="headframe-bench-load-db-"))
    try:
        copy = folder / "load.sqlite3"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(copy)])
        rerun_module("bench_load", f"sqlite:///{copy}", CHILD)
    except subprocess.CalledProcessError as exc:
        print(f"  bench_load on SQLite failed (exit {exc.returncode}, see above)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _on_postgresql()


def _run_here() -> None:
    # Two web workers per core, as docs/SCALING.md §6 deploys them: a worker's pages wait on its interpreter lock more
    # than on the CPU, and the workers' lower priority keeps them from holding back ingest
    # (HEADFRAME_BENCH_LOAD_SERVE_ARGS="--workers 1" for one).
    serve_args = os.environ.get("HEADFRAME_BENCH_LOAD_SERVE_ARGS", f"--workers {2 * CORES}").split()
    print(
        f"  {connection.vendor}: {USERS} users ({BASELINE_S} s without ingest, then {LOAD_S} s with "
        f"{MINES * PER_MINE:,} readings/s), {TRIPS} methane trips; serve {' '.join(serve_args)}",
        flush=True,
    )
    registry = _registry()
    keep = bool(os.environ.get("HEADFRAME_BENCH_LOAD_KEEP"))  # keep the logs of serve, ingest, locust
    folder = Path(tempfile.mkdtemp(prefix="headframe-bench-load-"))
    if keep:
        print(f"  logs kept in {folder}")
    try:
        broker = _Mosquitto(folder).start()
        serve = ingest = None
        try:
            env = dict(
                os.environ
            )  # the same database, mode and secret key (the sessions made here) as this process
            port = free_port()
            serve = _spawn(
                ["serve", "--host", HOST, "--port", str(port), *serve_args], env, folder / "serve.log"
            )
            ingest = _spawn(
                [
                    "ingest",
                    *("--host", HOST, "--port", str(broker.port), "--client-id", "bench-load-ingest"),
                    *os.environ.get("HEADFRAME_BENCH_INGEST_ARGS", "").split(),
                ],
                env,
                folder / "ingest.log",
            )
            url = f"http://{HOST}:{port}"
            _wait_http(f"{url}/healthz", serve, folder / "serve.log")
            publisher = _client(broker.port, "bench-load-pub")
            _wait_subscribed(publisher, registry)
            registry.sessions = _sessions(USERS)
            cpu = _Cpu({"serve": serve, "ingest": ingest})
            alone = _locust(url, SOLO_S, registry, folder / "solo.jsonl", users=3)
            cpu.mark("3 users, no ingest")
            baseline = _locust(url, BASELINE_S, registry, folder / "baseline.jsonl")
            cpu.mark(f"{USERS} users, no ingest")
            alarms_before = AlarmJournal.objects.filter(event="raised").count()
            loaded, stream, trips = _under_load(url, publisher, registry, folder)
            cpu.mark(f"{USERS} users and ingest")
            stream["alarms"] = AlarmJournal.objects.filter(event="raised").count() - alarms_before
            _report(alone, baseline, loaded, stream, trips)
            cpu.report()
            publisher.loop_stop()
            publisher.disconnect()
        finally:
            for proc in (ingest, serve):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
            broker.stop()
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


# ---- the registry: 30 mines × 500 sensors, trip sensors, a probe
class _Registry:
    def __init__(self, sensor_ids: tuple[int, int], mines: list[tuple[str, str]], trip_site: str) -> None:
        self.sensor_ids = sensor_ids  # first and last id of the background sensors (created together)
        self.mines = mines  # (site code, gateway code)
        self.trip_site = trip_site
        self.companies = sorted({m.split("-")[0] for m, _ in mines} | {"NDA"})
        from headframe.briefing.models import Meeting

        self.meetings = list(Meeting.objects.order_by("-id").values_list("id", flat=True)[:5])
        self.sessions: list[str] = []


ACCOUNTS = ("viewer", "planner", "admin")  # group-wide: every mine, company and pack is theirs to see


def _sessions(count: int) -> list[str]:
    """A logged-in session per locust user, made here: 50 log-ins at once would measure PBKDF2 (~0.5 s of
    CPU each, by design) on one core for half a minute, not the pages."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = list(get_user_model().objects.filter(username__in=ACCOUNTS).order_by("username"))
    cookies = []
    for n in range(count):
        client = Client()
        client.force_login(users[n % len(users)])
        cookies.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return cookies


def _registry() -> _Registry:
    from headframe.org import services as org

    companies = list(
        Unit.objects.filter(kind="company", children__site_type="underground")
        .distinct()
        .order_by("code")
        .values_list("code", flat=True)
    )
    kinds = (
        ("ch4_pct", "face_return", 0, 100),
        ("co_ppm", "face_return", 0, 1000),
        ("o2_pct", "workplace", 0, 25),
    )
    mines: list[tuple[str, str]] = []
    with transaction.atomic():
        for m in range(MINES):
            company = companies[m % len(companies)]
            code = f"{company}-LOAD{m:02d}"
            if not Unit.objects.filter(code=code).exists():
                org.unit_create(
                    actor=None,
                    code=code,
                    name_vi=f"Mỏ tải thử {m:02d}",
                    kind="site",
                    parent_code=company,
                    site_type="underground",
                )
                org.unit_create(
                    actor=None,
                    code=f"{code}-LC",
                    name_vi="Lò chợ tải thử",
                    kind="position",
                    parent_code=code,
                    position_kind="longwall_face",
                )
            site = Unit.objects.get(code=code)
            position = Unit.objects.get(code=f"{code}-LC")
            gateway, _ = Gateway.objects.get_or_create(code=f"LOAD-GW{m:02d}", defaults={"site": site})
            mines.append((code, gateway.code))
            Sensor.objects.bulk_create(
                [
                    Sensor(
                        code=f"LOAD-{m:02d}-{s:03d}",
                        kind=kinds[s % 3][0],
                        location=kinds[s % 3][1],
                        range_min=kinds[s % 3][2],
                        range_max=kinds[s % 3][3],
                        position=position,
                        gateway=gateway,
                        period_s=PERIOD_S,
                    )
                    for s in range(PER_MINE)
                ],
                ignore_conflicts=True,
            )
        template = Sensor.objects.get(code="LOAD-00-000")
        for code in [f"LOAD-TRIP-{n:02d}" for n in range(TRIPS)] + ["LOAD-PROBE"]:
            methane_probe(code, template)
        SensorState.objects.bulk_create(
            [SensorState(sensor=s) for s in Sensor.objects.filter(code__startswith="LOAD-")],
            ignore_conflicts=True,
        )
    ids = Sensor.objects.filter(code__regex=r"^LOAD-[0-9]{2}-").values_list("id", flat=True)
    first, last = min(ids), max(ids)
    if last - first + 1 != MINES * PER_MINE:
        raise SystemExit("the load sensors' ids are not contiguous: the stored-readings count would be wrong")
    return _Registry((first, last), mines, template.gateway.site.code)


def _stored(registry: _Registry) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM telemetry_reading WHERE sensor_id BETWEEN %s AND %s",
            list(registry.sensor_ids),
        )
        return cursor.fetchone()[0]


# ---- processes
class _Mosquitto:
    """A Mosquitto of our own on a free port (as root it must stay the user owning its folder)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.log = folder / "mosquitto.log"
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence false\n"
            f"max_queued_messages 1000000\nuser {getpass.getuser()}\n"
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> _Mosquitto:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-1000:]}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "headframe", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"headframe serve exited: {log.read_text()[-1000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"headframe serve did not answer within 60 s: {log.read_text()[-1000:]}")


def _client(port: int, name: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(HOST, port)
    client.loop_start()
    return client


def _topic(site: str, gateway: str) -> str:
    return f"{TOPIC_ROOT}/{site}/{gateway}/readings"


def _wait_subscribed(pub: mqtt.Client, registry: _Registry) -> None:
    """Publish a probe reading until ingest stores one (its start-up time varies on a busy machine)."""
    site, gateway = registry.mines[0]
    probe = SensorState.objects.get(sensor__code="LOAD-PROBE")
    ts = int(time.time() * 1000) - 60_000
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ts += 1
        body = {"gateway": gateway, "readings": [{"sensor": "LOAD-PROBE", "ts": ts, "value": 0.1}]}
        pub.publish(_topic(site, gateway), orjson.dumps(body), qos=1)
        time.sleep(0.25)
        probe.refresh_from_db()
        if probe.last_ts is not None:
            return
    raise SystemExit("headframe ingest did not subscribe within two minutes")


# ---- the load phase: readings, trips, an SSE client, locust
class _Publisher(threading.Thread):
    """Every gateway sends one message of its 500 sensors' readings per second, spread over the second."""

    def __init__(self, pub: mqtt.Client, registry: _Registry) -> None:
        super().__init__(daemon=True)
        self.pub, self.registry = pub, registry
        self.stop = threading.Event()
        self.sent = 0
        self.seconds = 0
        self.behind_s = 0.0  # the worst lag behind the schedule (this machine's CPU, not the broker)

    def run(self) -> None:
        rnd = random.Random(16)
        nominal = (0.2, 2.0, 20.8)
        started = time.monotonic()
        gap = 1.0 / MINES
        while not self.stop.is_set():
            for g, (site, gateway) in enumerate(self.registry.mines):
                due = started + self.seconds + g * gap
                lag = time.monotonic() - due
                if lag < 0:
                    time.sleep(-lag)
                else:
                    self.behind_s = max(self.behind_s, lag)
                ts = int(time.time() * 1000)
                readings = [
                    {
                        "sensor": f"LOAD-{g:02d}-{s:03d}",
                        "ts": ts,
                        "value": round(nominal[s % 3] + rnd.random() * 0.05, 2),
                    }
                    for s in range(PER_MINE)
                ]
                body = orjson.dumps({"gateway": gateway, "seq": self.seconds, "readings": readings})
                self.pub.publish(_topic(site, gateway), body, qos=1)
                self.sent += PER_MINE
            self.seconds += 1


class _AlarmStream(threading.Thread):
    """The trip mine's live-page stream, as an operator's browser holds it: `journal` events of raised trips."""

    def __init__(self, url: str, site: str) -> None:
        super().__init__(daemon=True)
        self.url, self.site = url, site
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.errors = 0

    def run(self) -> None:
        import requests

        session = requests.Session()
        session.get(f"{self.url}/accounts/login/")
        session.post(
            f"{self.url}/accounts/login/",
            data={
                "username": SSE_USER,
                "password": PASSWORD,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": f"{self.url}/accounts/login/"},
        )
        last_id = None
        while not self.stop.is_set():
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with session.get(
                    f"{self.url}/telemetry/{self.site}/stream", stream=True, headers=headers, timeout=(5, 30)
                ) as response:
                    response.raise_for_status()
                    self.connected.set()
                    event = None
                    for line in response.iter_lines():
                        if self.stop.is_set():
                            return
                        if line.startswith(b"id: "):
                            last_id = line[4:].decode()
                        elif line.startswith(b"event: "):
                            event = line[7:].decode()
                        elif line.startswith(b"data: ") and event == "journal":
                            entry = json.loads(line[6:])
                            if entry["event"] == "raised" and entry["sensor"].startswith("LOAD-TRIP-"):
                                self.seen.setdefault(entry["sensor"], time.perf_counter())
            except requests.RequestException:
                self.errors += 1
                time.sleep(0.5)


def _under_load(url: str, pub: mqtt.Client, registry: _Registry, folder: Path):
    """Readings at full rate, locust in a thread, the trips on a fixed schedule (never waiting for one: a
    backlog would stretch the phase), their journal rows polled here and their SSE events caught by the
    stream client; then a bounded wait for the backlog to drain and the last trips to show."""
    stream = _AlarmStream(url, registry.trip_site)
    stream.start()
    stream.connected.wait(30)
    publisher = _Publisher(pub, registry)
    publisher.start()
    time.sleep(3)  # the first seconds of traffic: ingest's batching settles
    before, started = _stored(registry), time.perf_counter()
    result: dict = {}
    runner = threading.Thread(
        target=lambda: result.update(records=_locust(url, LOAD_S, registry, folder / "load.jsonl")),
        daemon=True,
    )
    runner.start()
    site, gateway = registry.mines[0]
    last_id = AlarmJournal.objects.order_by("-id").values_list("id", flat=True).first() or 0
    first_trip = started + min(10, LOAD_S / 4)  # once the users are browsing
    gap = LOAD_S * 0.6 / max(TRIPS, 1)
    sent_at: dict[str, float] = {}
    journal_at: dict[str, float] = {}

    def poll_journal() -> None:
        raised = AlarmJournal.objects.filter(
            id__gt=last_id, event="raised", condition__sensor__code__startswith="LOAD-TRIP-"
        ).values_list("condition__sensor__code", flat=True)
        now = time.perf_counter()
        for code in raised:
            journal_at.setdefault(code, now)

    while runner.is_alive():
        if len(sent_at) < TRIPS and time.perf_counter() >= first_trip + len(sent_at) * gap:
            code = f"LOAD-TRIP-{len(sent_at):02d}"
            reading = {"sensor": code, "ts": int(time.time() * 1000), "value": 1.5}
            sent_at[code] = time.perf_counter()
            pub.publish(
                _topic(site, gateway), orjson.dumps({"gateway": gateway, "readings": [reading]}), qos=1
            )
        poll_journal()
        time.sleep(0.01)
    runner.join(120)
    seconds = time.perf_counter() - started
    stored_rate = (_stored(registry) - before) / seconds
    publisher.stop.set()
    publisher.join(10)
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        poll_journal()
        trips_seen = len(journal_at) == len(sent_at) and len(stream.seen) >= len(sent_at)
        if trips_seen and _stored(registry) >= publisher.sent:
            break
        time.sleep(0.05)
    stream.stop.set()
    trips = [
        (
            journal_at[code] - sent if code in journal_at else None,
            stream.seen[code] - sent if code in stream.seen else None,
        )
        for code, sent in sent_at.items()
    ]
    feed = {
        "sent": publisher.sent,
        "sent_rate": publisher.sent / max(publisher.seconds, 1),
        "stored_rate": stored_rate,
        "stored": _stored(registry),
        "behind_s": publisher.behind_s,
        "stream_errors": stream.errors,
    }
    return result.get("records", []), feed, trips


def _locust(url: str, seconds: int, registry: _Registry, out: Path, users: int = USERS) -> list[dict]:
    env = {
        **os.environ,
        "HEADFRAME_LOAD_RECORDS": str(out),
        "HEADFRAME_LOAD_SESSIONS": ",".join(registry.sessions),
        "HEADFRAME_LOAD_MINES": ",".join(code for code, _ in registry.mines),
        "HEADFRAME_LOAD_COMPANIES": ",".join(registry.companies),
        "HEADFRAME_LOAD_MEETINGS": ",".join(str(m) for m in registry.meetings),
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "load_users.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            url,
            "--only-summary",
            "--stop-timeout",
            "20",
            "--loglevel",
            "ERROR",
        ],
        env=env,
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=(out.parent / "locust.log").open("ab"),
        timeout=seconds + 120,
    )
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


class _Cpu:
    """CPU seconds per wall second in each phase: of serve and ingest (and their children), of the load generator
    on the same machine (this process — the publisher and the SSE client —, locust, the broker), and of the
    whole machine (other programs included): what saturated, and what the pages had left."""

    def __init__(self, procs: dict[str, subprocess.Popen]) -> None:
        import psutil

        self.psutil = psutil
        self.procs = {name: psutil.Process(p.pid) for name, p in procs.items()}
        self.me = psutil.Process()
        self.rows: list[tuple[str, dict[str, float], float]] = []
        self.last = self._now()
        self.started = time.monotonic()

    @staticmethod
    def _tree(proc) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in [proc, *proc.children(recursive=True)])

    def _now(self) -> dict[str, float]:
        out = {name: self._tree(proc) for name, proc in self.procs.items()}
        mine = self.me.cpu_times()  # children_*: locust's finished runs, waited for
        everything = self._tree(self.me) + mine.children_user + mine.children_system
        out["load generator"] = everything - sum(out.values())
        machine = self.psutil.cpu_times()
        out["machine"] = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
        return out

    def mark(self, phase: str) -> None:
        now, wall = self._now(), time.monotonic()
        used = {name: (now[name] - self.last[name]) / (wall - self.started) for name in now}
        self.rows.append((phase, used, os.getloadavg()[0]))
        self.last, self.started = now, wall

    def report(self) -> None:
        cores = os.cpu_count()
        for phase, used, load in self.rows:
            busy = ", ".join(f"{name} {share:4.2f}" for name, share in used.items())
            print(f"  CPU (cores busy) in '{phase}': {busy} of {cores}; machine load average {load:.1f}")


# ---- the report
def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _groups(records: list[dict]) -> tuple[dict[str, list[dict]], float]:
    """Requests per group, pages counted only from when the last user had logged in."""
    logins = [r["end"] for r in records if r["name"] == "log-in"]
    ready = max(logins) if logins else 0.0
    groups: dict[str, list[dict]] = {}
    for r in records:
        if r["name"] != "log-in" and r["start"] < ready:
            continue
        groups.setdefault(r["name"], []).append(r)
    return groups, ready


def _line(name: str, rows: list[dict], target_ms: float | None = None) -> str:
    times = [r["ms"] for r in rows]
    errors = sum(1 for r in rows if r["error"])
    verdict = ""
    if target_ms is not None:
        verdict = "PASS" if _pct(times, 0.95) < target_ms and not errors else "MISS"
        verdict = f"   p95 < {target_ms:.0f} ms and 0 errors: {verdict}"
    return (
        f"    {name:<26} {len(rows):6d} req {errors:4d} err   p50 {_pct(times, 0.5):7.0f}  p95 "
        f"{_pct(times, 0.95):7.0f}  p99 {_pct(times, 0.99):7.0f} ms{verdict}"
    )


def _phase(title: str, records: list[dict]) -> float:
    groups, _ = _groups(records)
    pages = [r for g in PAGE_GROUPS for r in groups.get(g, [])]
    print(f"  {title}:")
    for name in (*PAGE_GROUPS, "live stream: connect", "live stream: first event", "log-in"):
        if groups.get(name):
            print(_line(name, groups[name]))
    print(_line("all pages", pages, PAGE_P95_MS), flush=True)
    if pages:
        # 50 users arriving at once find every process's page cache cold: what the same pages cost once they
        # have been built, shown apart (the target above is judged on the whole phase).
        first = min(r["start"] for r in pages)
        warm = [r for r in pages if r["start"] >= first + WARM_S]
        if warm:
            print(_line(f"all pages after {WARM_S:.0f} s", warm), flush=True)
    errors = [r for r in records if r["error"]]
    for r in errors[:3]:
        print(f"      error: {r['name']}: {r['error'][:160]}")
    return _pct([r["ms"] for r in pages], 0.95)


def _report(alone: list[dict], baseline: list[dict], loaded: list[dict], feed: dict, trips: list) -> None:
    _phase("3 users, no ingest (near service times)", alone)
    base_p95 = _phase("baseline, no ingest", baseline)
    load_p95 = _phase(f"under load, {MINES * PER_MINE:,} readings/s offered", loaded)
    print(f"  page p95 under load ÷ baseline: {load_p95 / base_p95:5.2f}×")
    backlog = feed["sent"] - feed["stored"]
    offered = MINES * PER_MINE
    print(
        f"  readings: sent {feed['sent']:,} ({feed['sent_rate']:,.0f}/s, publisher at worst {feed['behind_s']:.2f} s "
        f"behind), stored during the load phase {feed['stored_rate']:,.0f}/s "
        f"({'PASS' if feed['stored_rate'] >= 0.98 * offered else 'MISS'} {offered:,}/s); at most {DRAIN_S} s after the "
        f"publisher stopped: {feed['stored']:,} stored, "
        + ("all of them" if backlog <= 0 else f"{backlog:,} still queued in the broker (ingest behind)")
    )
    for index, label in ((0, "publish → journal row"), (1, "publish → live-page SSE event")):
        got = [t[index] * 1000 for t in trips if t[index] is not None]
        missing = len(trips) - len(got)
        verdict = "PASS" if got and missing == 0 and _pct(got, 0.99) < ALARM_P99_MS else "MISS"
        print(
            f"  alarm latency {label:<30} {len(got)}/{len(trips)} seen   p50 {_pct(got, 0.5):6.0f} ms  "
            f"p99 {_pct(got, 0.99):6.0f} ms   p99 < {ALARM_P99_MS:.0f} ms: {verdict}"
        )
    print(f"  alarms raised during the load phase: {feed['alarms']:,} (the trips: {len(trips)})")
    if feed["stream_errors"]:
        print(f"  the alarm stream reconnected {feed['stream_errors']} times")


def _on_postgresql() -> None:
    url = os.environ.get("HEADFRAME_BENCH_PG_URL")
    if not url:
        print(
            "  PostgreSQL: set HEADFRAME_BENCH_PG_URL=postgresql://…/postgres to run the load test on it too"
        )
        return
    import psycopg

    name = f"headframe_bench_load_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        print("== bench_load on PostgreSQL", flush=True)
        rerun_module("bench_load", urllib.parse.urlsplit(url)._replace(path=f"/{name}").geturl(), CHILD)
    except subprocess.CalledProcessError as exc:
        print(f"  bench_load on PostgreSQL failed (exit {exc.returncode}, see above)")
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
