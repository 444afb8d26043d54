"""The command line: `headframe ingest` options, logging, signals and the worker thread."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from django.db import connections

from headframe.core.commandline import OneLineParser
from headframe.notify.worker import start_notifier
from headframe.telemetry.mqtt._common import (
    JSON_PREFIX,
    Options,
    log,
)
from headframe.telemetry.mqtt.worker import IngestWorker


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = OneLineParser(
        prog="headframe ingest",
        description="Subscribe to the MQTT broker (persistent session) and store the "
        "readings of headframe JSON messages (headframe/v1/<site>/<gateway>/readings) and Sparkplug B "
        "gateways (spBv1.0/...). A message is acknowledged only once stored. Stop with SIGTERM or Ctrl-C.",
    )
    parser.add_argument(
        "--host", default=env("HEADFRAME_MQTT_HOST") or "127.0.0.1", help="broker (env HEADFRAME_MQTT_HOST)"
    )
    parser.add_argument(
        "--port", type=int, default=int(env("HEADFRAME_MQTT_PORT") or 1883), help="broker port (1883)"
    )
    parser.add_argument(
        "--client-id",
        default="",
        help="MQTT client id; the broker keeps this id's session while it is away "
        "(default headframe-ingest-<hostname>; give each process its own)",
    )
    parser.add_argument(
        "--share-group",
        default=env("HEADFRAME_MQTT_SHARE_GROUP", ""),
        metavar="NAME",
        help="spread the load over several ingest processes through the shared subscription $share/NAME/... "
        "(env HEADFRAME_MQTT_SHARE_GROUP; default none: one process with a plain subscription, which the broker "
        "persists and queues for across its own restart). CAVEAT: Mosquitto 2.0.x does not persist shared "
        "subscriptions: what gateways publish after a broker restart and before ingest re-subscribes is dropped "
        "by the broker, acknowledged or not. Use a group only with a broker that keeps shared subscriptions "
        "(EMQX, HiveMQ clusters) or where that gap is acceptable",
    )
    parser.add_argument(
        "--topic-root",
        default=env("HEADFRAME_MQTT_TOPIC_ROOT") or JSON_PREFIX,
        help=f"JSON readings arrive on <root>/<site>/<gateway>/readings ({JSON_PREFIX}); "
        "two headframe installations on one broker each keep their own root",
    )
    parser.add_argument(
        "--username",
        default=env("HEADFRAME_MQTT_USERNAME", ""),
        help="env HEADFRAME_MQTT_USERNAME; the password comes from env HEADFRAME_MQTT_PASSWORD only "
        "(see `headframe mqtt-config`)",
    )
    parser.add_argument(
        "--tls-cafile",
        default=env("HEADFRAME_MQTT_CAFILE", ""),
        metavar="PEM",
        help="connect over TLS and trust this CA certificate (env HEADFRAME_MQTT_CAFILE; use the TLS port, 8883)",
    )
    parser.add_argument("--max-batch", type=_positive, default=200, help="messages per transaction (200)")
    parser.add_argument(
        "--max-batch-readings",
        type=_positive,
        default=50_000,
        help="about this many readings per transaction at most (50000): an alarm waits for at most one flush",
    )
    parser.add_argument(
        "--flush-target-ms",
        type=_positive,
        default=100,
        help="size flushes to take about this long at the speed of the last ones (100): an alarm waits for one",
    )
    parser.add_argument(
        "--fast-path-backlog",
        type=_non_negative,
        default=2,
        help="with this many messages waiting, a message that may raise an alarm jumps the queue together with "
        "its gateway's earlier messages, in order (2; 0 = never)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=_non_negative,
        default=20,
        help="wait at most this long to fill a batch (20; it bounds the alarm latency, so keep it small)",
    )
    parser.add_argument(
        "--max-bytes",
        type=_positive,
        default=1024 * 1024,
        help="larger messages are quarantined unread (1048576)",
    )
    parser.add_argument(
        "--session-expiry",
        type=_non_negative,
        default=86_400,
        help="seconds the broker keeps messages for this client while it is away (86400)",
    )
    parser.add_argument("--scan-every", type=float, default=5.0, help="seconds between stale-data scans (5)")
    parser.add_argument("--log-every", type=float, default=10.0, help="seconds between progress lines (10)")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(INFO)"
    )
    parser.add_argument("--ack-delay-ms", type=_non_negative, default=0, help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _configure_logging(level: str) -> None:
    logger = logging.getLogger("headframe.telemetry")
    logger.setLevel(level)
    if not any(getattr(h, "_headframe_ingest", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._headframe_ingest = True
        logger.addHandler(handler)
        logger.propagate = False


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    options = Options(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        share_group=args.share_group,
        topic_root=args.topic_root.strip("/") or JSON_PREFIX,
        username=args.username,
        password=os.environ.get("HEADFRAME_MQTT_PASSWORD", ""),
        tls_cafile=args.tls_cafile,
        max_batch=args.max_batch,
        max_batch_readings=args.max_batch_readings,
        max_wait_ms=args.max_wait_ms,
        fast_path_backlog=args.fast_path_backlog,
        flush_target_ms=args.flush_target_ms,
        max_bytes=args.max_bytes,
        session_expiry_s=args.session_expiry,
        scan_every_s=args.scan_every,
        log_every_s=args.log_every,
        ack_delay_ms=args.ack_delay_ms,
    )
    worker = IngestWorker(options)
    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        log.info("%s: finishing the current batch and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if options.share_group:
        log.warning(
            "shared subscription (group %s): Mosquitto 2.0.x drops what is published between its own restart "
            "and the re-subscription; without --share-group nothing is lost",
            options.share_group,
        )
    log.info(
        "ingest starting: broker %s:%s, client id %s, share group %s, batches of %d messages / %d ms",
        options.host,
        options.port,
        options.client_id,
        options.share_group or "none (plain subscription)",
        options.max_batch,
        options.max_wait_ms,
    )
    thread = threading.Thread(target=worker.run, name="ingest-worker", daemon=True)
    worker.start_network()
    thread.start()
    start_notifier()  # alarm e-mails and webhooks from their own thread: a dead channel never holds up ingest
    crashed = False
    while not stop.wait(0.5):
        if not thread.is_alive():
            log.error("the ingest worker stopped unexpectedly")
            crashed = True
            break
    worker.stopping.set()
    thread.join()
    worker.close_network()  # after the worker's last acknowledgements, which are queued before DISCONNECT
    connections.close_all()
    return 1 if crashed else 0
