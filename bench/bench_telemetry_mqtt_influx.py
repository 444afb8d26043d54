"""InfluxDB 1.x (Debian `influxdb`) ingesting the same readings as bench_telemetry_mqtt, for the side-by-side
figure of issue 4. An `influxd` of our own runs as a child process on a generated config in a temp dir (data,
wal and meta under it, HTTP on a free 127.0.0.1 port, no auth, reporting disabled, the WAL fsynced on every
write as shipped); the Debian service plays no part. One client posts the MQTT bench's messages — 500
readings each, converted to line protocol `reading,sensor=<code>,gateway=<gw> value=<v> <ts_ms>` before the
clock starts — one HTTP request per message over a keep-alive `http.client` connection (the same batching as
MQTT), then again with 10 messages per request (InfluxDB's best case from one client), each into its own
database; `SELECT count(value)` confirms every reading is stored. The ratio printed is headframe end to end
over Mosquitto (bench_telemetry_mqtt.LAST_E2E_RATE, measured earlier in the same run) / InfluxDB; on Linux also
readings per CPU-second of the `headframe ingest` process / of `influxd` (steadier than wall-clock rates on a
machine shared with other work: neither counts its client, nor the broker on headframe's side).
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import orjson

from bench import bench_telemetry_mqtt as mqtt_bench
from bench._shared import HOST, free_port
from bench.bench_telemetry import _registry

GROUPS = (1, 10)  # messages per HTTP request


def _config(root: Path, http_port: int, rpc_port: int) -> Path:
    path = root / "influxdb.conf"
    path.write_text(
        f"""reporting-disabled = true
bind-address = "{HOST}:{rpc_port}"

[meta]
  dir = "{root / "meta"}"
  logging-enabled = false

[data]
  dir = "{root / "data"}"
  wal-dir = "{root / "wal"}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "{HOST}:{http_port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
"""
    )
    return path


def _line_protocol(body: bytes) -> bytes:
    message = orjson.loads(body)
    gateway = message["gateway"]
    return "".join(
        f"reading,sensor={r['sensor']},gateway={gateway} value={float(r['value'])} {r['ts']}\n"
        for r in message["readings"]
    ).encode()


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None):
    conn.request(method, path, body=body)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"InfluxDB {method} {path[:60]}: {response.status} {data[:200]!r}")
    return data


def _query(conn: http.client.HTTPConnection, q: str, db: str | None = None) -> dict:
    params = {"q": q} | ({"db": db} if db else {})
    return orjson.loads(_request(conn, "POST", "/query?" + urllib.parse.urlencode(params)))


def _count(conn: http.client.HTTPConnection, db: str) -> int:
    result = _query(conn, "SELECT count(value) FROM reading", db)["results"][0]
    if "error" in result:
        raise RuntimeError(result["error"])
    series = result.get("series") or [{"values": [[0, 0]]}]
    return int(series[0]["values"][0][1])


def _wait_ready(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"influxd exited with {proc.returncode}: {log.read_text()[-500:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 204:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"influxd did not answer /ping within 30 s: {log.read_text()[-500:]}")


def run() -> None:
    influxd = shutil.which("influxd")
    if not influxd:
        print("  influxd not installed (`make bench-deps` installs Debian's influxdb): skipped")
        return
    _registry()
    start_ms = int(time.time() * 1000) - 3_600_000
    payloads = mqtt_bench._payloads(start_ms, mqtt_bench.MESSAGES)
    bodies = [_line_protocol(body) for _, body in payloads]
    total = mqtt_bench.MESSAGES * mqtt_bench.PER_MESSAGE

    root = Path(tempfile.mkdtemp(prefix="headframe-bench-influx-"))
    proc = None
    try:
        http_port, rpc_port = free_port(), free_port()
        log = root / "influxd.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [influxd, "run", "-config", str(_config(root, http_port, rpc_port))],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        _wait_ready(proc, http_port, log)
        conn = http.client.HTTPConnection(HOST, http_port, timeout=60)
        version = ""
        rates = {}
        per_cpu_s = {}
        for group in GROUPS:
            db = "bench" if group == 1 else f"bench_x{group}"
            _query(conn, f"CREATE DATABASE {db}")
            path = f"/write?db={db}&precision=ms"
            requests = [b"".join(bodies[i : i + group]) for i in range(0, len(bodies), group)]
            cpu_before = mqtt_bench.cpu_seconds(proc.pid)
            started = time.perf_counter()
            for body in requests:
                conn.request("POST", path, body=body)
                response = conn.getresponse()
                data = response.read()
                if response.status != 204:
                    raise RuntimeError(f"InfluxDB write: {response.status} {data[:200]!r}")
                version = response.getheader("X-Influxdb-Version", version)
            seconds = time.perf_counter() - started
            cpu_after = mqtt_bench.cpu_seconds(proc.pid)
            stored = _count(conn, db)
            rates[group] = total / seconds
            if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
                per_cpu_s[group] = total / (cpu_after - cpu_before)
            what = (
                "one request per 500-reading message (as MQTT)"
                if group == 1
                else f"{group} messages ({group * mqtt_bench.PER_MESSAGE:,} readings) per request"
            )
            print(
                f"  InfluxDB {version} line protocol, {what}, 1 keep-alive client: "
                f"{rates[group]:12,.0f} readings/s   ({stored:,}/{total:,} stored)"
                + (f", {per_cpu_s[group]:,.0f} per influxd CPU-second" if group in per_cpu_s else ""),
                flush=True,
            )
            if stored != total:
                print(f"  InfluxDB stored {stored:,} of {total:,} readings in {db}: figure not comparable")
        conn.close()
        headframe = mqtt_bench.LAST_E2E_RATE
        if headframe is None:
            print(
                "  headframe end to end: no complete measurement earlier in this run "
                "(bench_telemetry_mqtt skipped, not selected, or not every reading stored): no ratio"
            )
            return
        print(
            f"  headframe end to end over Mosquitto {headframe:12,.0f} readings/s   "
            f"{headframe / rates[1]:5.2f}× InfluxDB at the same batching   "
            f"{headframe / rates[GROUPS[-1]]:5.2f}× InfluxDB with {GROUPS[-1]} messages per request",
            flush=True,
        )
        if mqtt_bench.LAST_E2E_PER_CPU_S and 1 in per_cpu_s:
            print(
                f"  per CPU-second: headframe ingest {mqtt_bench.LAST_E2E_PER_CPU_S:12,.0f} readings   "
                f"{mqtt_bench.LAST_E2E_PER_CPU_S / per_cpu_s[1]:5.2f}× influxd at the same batching",
                flush=True,
            )
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
