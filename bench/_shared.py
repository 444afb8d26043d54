"""Set-up shared by the benchmarks that run servers of their own or probe the alarm engine."""

from __future__ import annotations

import socket

from headframe.telemetry.models import Sensor

HOST = "127.0.0.1"  # every benchmark server listens here, and only here


def free_port() -> int:
    """A TCP port free on HOST right now, for a server the benchmark starts."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def methane_probe(code: str, template: Sensor) -> Sensor:
    """A face-return methane sensor on `template`'s gateway and position that only the benchmark's probe writes
    to: its period of an hour keeps the stale-data scan from alarming on it between probes."""
    sensor, _ = Sensor.objects.get_or_create(
        code=code,
        defaults={
            "kind": "ch4_pct",
            "location": "face_return",
            "range_min": 0,
            "range_max": 100,
            "position": template.position,
            "gateway": template.gateway,
            "period_s": 3600,
        },
    )
    return sensor
