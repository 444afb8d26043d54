"""TEMPORARY (helper D): end-to-end latency measurement, deleted after the run."""
import json, statistics, sys, time, http.client
import pytest
from django.conf import settings
from django.test import Client
from headframe.org import services as org
from tests.factories import make_user
from tests.telemetry.test_live_workers import Stream, _listeners, two_workers, postgresql, dispatcher, _now_ms  # noqa

pytestmark = pytest.mark.django_db(transaction=True)


def test_latency(two_workers, mine, dispatcher):
    port = two_workers
    gateway_user = make_user("gw", ("gateway", "A-M1"))
    _, token = org.token_create(actor=None, user=gateway_user, name="test")
    client = Client(); client.force_login(dispatcher)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    streams = []
    deadline = time.monotonic() + 20
    while _listeners() < 2 and time.monotonic() < deadline:
        s = Stream(port, session); s.start(); assert s.wait_for("event: sensors", 5); streams.append(s)
        time.sleep(0.1)
    print("streams", len(streams), file=sys.stderr)
    time.sleep(1.5)
    tile, alarm = [], []
    ts = _now_ms() - 200_000
    for i in range(60):
        value = 1.5 if i % 2 == 0 else 0.2
        ts += 1000
        body = json.dumps({"gateway": "GW-A1", "readings": [{"sensor": "A1-CH4-01", "ts": ts, "value": value}]})
        sent = time.monotonic()
        api = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        api.request("POST", "/api/v1/telemetry/readings", body=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = api.getresponse(); r.read(); api.close(); assert r.status == 200
        answered = time.monotonic()
        text = '"text":"1,5"' if value == 1.5 else '"text":"0,2"'
        for s in streams:
            ev = s.wait_for(text, 5)
            if ev is not None:
                tile.append((time.monotonic() - sent) * 1000)
        time.sleep(1.1)
    for s in streams: s.close()
    tile.sort()
    q = statistics.quantiles(tile, n=100)
    print(f"POST->tile on {len(streams)} streams: n={len(tile)} p50={q[49]:.1f} ms p95={q[94]:.1f} ms max={tile[-1]:.1f}", file=sys.stderr)
