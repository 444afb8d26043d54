"""The run loop and the command line (`headframe simulate`)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from headframe.core.commandline import OneLineParser
from headframe.telemetry.simulator._common import MAX_BATCH, PROG, SCENARIOS, SimulatorError, sensors_from_db
from headframe.telemetry.simulator.model import World
from headframe.telemetry.simulator.transports import (
    HttpTransport,
    MqttTransport,
    PrintTransport,
    Transport,
    messages_of,
)


@dataclass
class RunStats:
    readings: int = 0
    messages: int = 0
    wall_s: float = 0.0


def run(
    world: World,
    transport: Transport,
    *,
    duration: float = 0.0,
    rate: float = 1.0,
    batch: int = MAX_BATCH,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    out=None,
    status_every: float = 60.0,
    stop: threading.Event | None = None,
) -> RunStats:
    """Advance the world with the clock and send each gateway's readings at most `rate` times a second,
    in batches of at most `batch`. `duration` 0 runs until interrupted (or `stop` is set)."""
    out = out or sys.stdout
    start = clock()
    interval = 1.0 / rate
    gateways = sorted({s.gateway for s in world.sensors})
    # spread the gateways over the interval so they do not all send at the same instant
    next_send = {g: i * interval / max(1, len(gateways)) for i, g in enumerate(gateways)}
    pending: dict[str, list] = defaultdict(list)
    seq: dict[str, int] = defaultdict(int)
    stats = RunStats()
    next_status = status_every
    tick = min(0.1, interval / 2)

    def flush(gateway: str) -> None:
        for site, gw, readings in messages_of(pending.pop(gateway, []), batch=batch):
            seq[gw] += 1
            transport.send(site, gw, seq[gw], readings)
            stats.messages += 1
            stats.readings += len(readings)

    try:
        while True:
            elapsed = clock() - start
            finished = (duration and elapsed >= duration) or (stop is not None and stop.is_set())
            if finished:
                elapsed = duration or elapsed
            for item in world.advance(elapsed * world.speedup):
                pending[item[0].gateway].append(item)
            for event in world.take_events():
                print(
                    f"simulate: [{_clock_text(event.t)}] {event.scenario}: {event.text}", file=out, flush=True
                )
            for gateway in gateways:
                if finished or elapsed >= next_send[gateway]:
                    if pending.get(gateway):
                        flush(gateway)
                    next_send[gateway] = max(next_send[gateway] + interval, elapsed)
            transport.pump()
            if status_every and elapsed >= next_status:
                next_status += status_every
                print(
                    f"simulate: {stats.readings:,} readings in {stats.messages:,} messages so far "
                    f"({stats.readings / max(elapsed, 1e-9):,.0f}/s), {transport.buffered} buffered",
                    file=out,
                    flush=True,
                )
            if finished:
                break
            sleep(tick)
    finally:
        stats.wall_s = clock() - start
    return stats


def _clock_text(t: float) -> str:
    t = int(t)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Publish realistic readings for the registered in-service sensors, with scripted incidents. "
        "Each gateway sends one JSON batch per message: over MQTT (QoS 1, topic "
        "headframe/v1/<site>/<gateway>/readings) or POST /api/v1/telemetry/readings.",
    )
    p.add_argument("--transport", choices=("mqtt", "http", "print"), default="mqtt", help="default mqtt")
    p.add_argument(
        "--host", default=os.environ.get("HEADFRAME_MQTT_HOST", "127.0.0.1"), help="MQTT broker host"
    )
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("HEADFRAME_MQTT_PORT", "1883")),
        help="MQTT broker port",
    )
    p.add_argument("--client-id", default="", help="MQTT client id (default headframe-sim-<pid>)")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the app's base URL for --transport http")
    p.add_argument(
        "--token",
        default=None,
        help="bearer token of a user with the gateway role (default: $HEADFRAME_TOKEN)",
    )
    p.add_argument(
        "--site", action="append", default=[], metavar="CODE", help="only this site's sensors (repeat)"
    )
    p.add_argument("--rate", type=float, default=1.0, help="messages per gateway per second (default 1)")
    p.add_argument("--batch", type=int, default=MAX_BATCH, help=f"readings per message, at most {MAX_BATCH}")
    p.add_argument("--speedup", type=float, default=1.0, help="simulated time runs N× faster (default 1)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (default: until Ctrl-C)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        choices=SCENARIOS,
        metavar="NAME",
        help=f"{', '.join(SCENARIOS)}",
    )
    p.add_argument(
        "--scenarios", choices=("all", "none"), default="none", help="all: every scenario, repeating"
    )
    p.add_argument(
        "--scenario-start",
        type=float,
        default=30.0,
        help="simulated seconds before the first scenario (default 30)",
    )
    p.add_argument(
        "--scenario-gap",
        type=float,
        default=300.0,
        help="simulated seconds between scenario starts (default 300)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv or []))
    try:
        return _main(args)
    except SimulatorError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


def _main(args) -> int:
    if args.rate <= 0 or args.speedup <= 0 or args.duration < 0:
        raise SimulatorError("--rate and --speedup must be positive, --duration not negative")
    if not 1 <= args.batch <= MAX_BATCH:
        raise SimulatorError(f"--batch must be 1..{MAX_BATCH}")
    token = args.token or os.environ.get("HEADFRAME_TOKEN", "")
    if args.transport == "http" and not token:
        raise SimulatorError(
            "--transport http needs --token (or HEADFRAME_TOKEN) of a user with the gateway role"
        )
    sensors = sensors_from_db(args.site)
    if not sensors:
        where = f" at {', '.join(args.site)}" if args.site else ""
        raise SimulatorError(
            f"no in-service sensors{where}: load the demo (headframe demo) or register sensors"
        )
    names = list(SCENARIOS) if args.scenarios == "all" else list(dict.fromkeys(args.scenario))
    world = World(
        sensors,
        seed=args.seed,
        start_ms=int(time.time() * 1000),
        speedup=args.speedup,
        scenarios=names,
        repeat=args.scenarios == "all",
        scenario_start=args.scenario_start,
        scenario_gap=args.scenario_gap,
    )
    gateways = sorted({s.gateway for s in sensors})
    per_s = sum(1.0 / s.period_s for s in sensors) * args.speedup
    print(
        f"simulate: {len(sensors)} sensors on {len(gateways)} gateway(s), ~{per_s:,.0f} readings/s, "
        f"over {args.transport}" + (f", scenarios: {', '.join(names)}" if names else ""),
        flush=True,
    )
    if args.transport == "mqtt":
        transport: Transport = MqttTransport(args.host, args.port, args.client_id)
    elif args.transport == "http":
        transport = HttpTransport(args.url, token)
    else:
        transport = PrintTransport()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (headframe demo stopping us) and Ctrl-C: finish the tick, send what is pending, wait for acks
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    try:
        run(world, transport, duration=args.duration, rate=args.rate, batch=args.batch, stop=stop)
    except KeyboardInterrupt:
        pass
    finally:
        left = transport.close()
    print(
        f"simulate: sent {transport.sent_readings:,} readings in {transport.sent_messages:,} messages"
        + (f", {left} undelivered" if left else ""),
        flush=True,
    )
    return 1 if left else 0
