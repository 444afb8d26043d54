"""The `headframe` command (also `python -m headframe`).

Each subcommand prints help with --help and fails with one clear line on bad arguments or errors
(exit 2 for usage, 1 for a refused operation). The subcommands live by topic in this package: serving (serve,
demo, migrate, check, manage), accounts (users, tokens, log-in locks), data (imports, broker config, backup).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from headframe.cli.accounts import cmd_createuser, cmd_token, cmd_unlock_login
from headframe.cli.common import DELEGATED, PROG, UNGUARDED, CommandError, _setup_django
from headframe.cli.data import (
    cmd_backup,
    cmd_import_actuals,
    cmd_import_sensors,
    cmd_ingest,
    cmd_mqtt_config,
    cmd_readings_to_victoriametrics,
    cmd_restore,
    cmd_simulate,
)
from headframe.cli.serving import (
    DemoTelemetry,
    cmd_check,
    cmd_demo,
    cmd_lamp_readers,
    cmd_manage,
    cmd_migrate,
    cmd_serve,
)
from headframe.core.commandline import OneLineParser

__all__ = ["CommandError", "DemoTelemetry", "_setup_django", "build_parser", "main"]


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For (the client's "
        "address, which log-in throttling counts by) and X-Forwarded-Proto are believed; '*' for any "
        "(default $HEADFRAME_FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)",
    )
    parser.add_argument(
        "--no-watchdog",
        action="store_true",
        help="do not run the stale-data alarm scan in this process (when `headframe ingest` runs it)",
    )
    parser.add_argument(
        "--no-notifier",
        action="store_true",
        help="do not deliver alarm notifications from this process (when `headframe ingest` delivers them)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="headframe: production control and mine safety.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3])
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("serve", help="serve the web app and API (uvicorn)")
    _add_serve_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="migrate, load demo data (idempotent) and serve")
    _add_serve_options(p)
    p.add_argument("--no-serve", action="store_true", help="load the demo data and exit")
    p.add_argument(
        "--no-telemetry",
        action="store_true",
        help="do not start live telemetry (by default: `headframe ingest` and the simulator over MQTT when a "
        "broker answers at HEADFRAME_MQTT_HOST:PORT, else the simulator over HTTP to this server)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "createuser",
        help="create a user with roles scoped to units",
        description="Create a user. --role and --unit come in pairs and may repeat: "
        "headframe createuser an --role reporter --unit NDA-M1 --role viewer --unit HFG",
    )
    p.add_argument("name", help="user name")
    p.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help="viewer, reporter, dispatcher, safety_officer, planner or admin",
    )
    p.add_argument(
        "--unit", action="append", required=True, metavar="CODE", help="unit code the role applies to"
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    p.add_argument("--email", help="e-mail address")
    p.set_defaults(func=cmd_createuser)

    p = sub.add_parser("token", help="create, list or revoke API tokens")
    token_sub = p.add_subparsers(dest="token_command", metavar="ACTION", parser_class=OneLineParser)
    token_sub.required = True
    t = token_sub.add_parser("create", help="create a token for USER and print only the token")
    t.add_argument("user")
    t.add_argument("--name", help="what the token is for (e.g. the gateway or script)")
    t = token_sub.add_parser("revoke", help="revoke a token (the token itself or its prefix)")
    t.add_argument("token")
    t = token_sub.add_parser("list", help="list USER's tokens (prefix, name, dates; never the secret)")
    t.add_argument("user")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser(
        "unlock-login",
        help="lift a log-in lock (too many failed log-ins) on a user name or an address",
        description="Lift the lock that failed log-ins put on a user name (or, with --address, on a client "
        "address) before it runs out, and clear its count. Audited.",
    )
    p.add_argument("name", metavar="NAME", help="the user name (or the address with --address)")
    p.add_argument("--address", action="store_true", help="NAME is a client address, not a user name")
    p.set_defaults(func=cmd_unlock_login)

    p = sub.add_parser(
        "import-actuals",
        help="import production figures from an Excel workbook (all or nothing)",
        description="Import the figures of an .xlsx workbook (the monthly template's layout). Every error "
        "is printed as SHEET!ROW COLUMN: reason and nothing is stored if there is one.",
    )
    p.add_argument("file", metavar="FILE.xlsx", help="the workbook")
    p.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help="import with USER's rights and name (default: the system, full rights)",
    )
    p.add_argument(
        "--confirm-implausible",
        action="store_true",
        help="store figures outside their plausible range after you have checked them (each is audited as "
        "confirmed); impossible figures are refused whatever this says",
    )
    p.set_defaults(func=cmd_import_actuals)

    p = sub.add_parser("check", help="check configuration, database connection and migrations")
    p.add_argument("--deploy", action="store_true", help="also run Django's deployment checks")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "import-sensors", help="create or update sensors from a CSV or XLSX file (all or none)"
    )
    p.add_argument("file", help="the .csv or .xlsx file")
    p.add_argument("--as-user", help="act as this user (default: the system)")
    p.set_defaults(func=cmd_import_sensors)

    p = sub.add_parser(
        "ingest", help="subscribe to MQTT and store telemetry (see `ingest --help`)", add_help=False
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "lamp-readers",
        help="answer the lamp rooms' tag readers over MQTT: check people in and out (docs/LAMP-ROOM-MQTT.md)",
        description="Subscribe to headframe/lamp/<site>/<reader>, check the person of each tag read in or out "
        "and publish the answer on .../result (QoS 1). The password comes from $HEADFRAME_MQTT_PASSWORD.",
    )
    p.add_argument("--host", default=os.environ.get("HEADFRAME_MQTT_HOST", "127.0.0.1"), help="broker host")
    p.add_argument(
        "--port", type=int, default=int(os.environ.get("HEADFRAME_MQTT_PORT", "1883")), help="broker port"
    )
    p.add_argument("--username", default="", help="MQTT user (e.g. the ingest account)")
    p.add_argument("--client-id", default="", help="MQTT client id (default headframe-lamp-readers-<host>)")
    p.add_argument("--tls-cafile", default="", metavar="PEM", help="connect over TLS trusting this CA")
    p.set_defaults(func=cmd_lamp_readers)

    p = sub.add_parser(
        "simulate",
        help="publish simulated sensor readings with scenarios (see `simulate --help`)",
        add_help=False,
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "mqtt-config",
        help="generate a Mosquitto configuration (accounts, ACL) from the gateway registry",
        description="Write OUTDIR/mosquitto.conf, OUTDIR/passwd (one password per gateway, user name = gateway "
        "code, and one for ingest), OUTDIR/acl (a gateway publishes only its own topics and Sparkplug messages) "
        "and, for new passwords, OUTDIR/credentials.txt. Re-running keeps existing passwords.",
    )
    p.add_argument("outdir", metavar="OUTDIR", help="folder for the generated files (created if missing)")
    p.add_argument(
        "--config-dir",
        metavar="DIR",
        help="where passwd and acl will be on the broker host, as written into mosquitto.conf (default OUTDIR)",
    )
    p.add_argument("--ingest-user", default="headframe-ingest", help="MQTT user of `headframe ingest`")
    p.add_argument(
        "--topic-root",
        default=os.environ.get("HEADFRAME_MQTT_TOPIC_ROOT") or "headframe/v1",
        help="root of the JSON topics (headframe/v1)",
    )
    p.add_argument("--port", type=int, default=1883, help="plain MQTT listener port (1883)")
    p.add_argument(
        "--bind", help="address of the plain listener (default: all; 127.0.0.1 when a TLS listener is set up)"
    )
    p.add_argument("--tls-port", type=int, default=8883, help="TLS listener port (8883)")
    p.add_argument("--tls-cafile", metavar="PEM", help="CA certificate (TLS listener)")
    p.add_argument("--tls-certfile", metavar="PEM", help="the broker's certificate (TLS listener)")
    p.add_argument("--tls-keyfile", metavar="PEM", help="the broker's private key (TLS listener)")
    p.add_argument("--persistence-location", metavar="DIR", help="(default: Debian's /var/lib/mosquitto/)")
    p.add_argument("--rotate", action="append", metavar="USER", help="give USER a new password (repeatable)")
    p.add_argument("--rotate-all", action="store_true", help="give every account a new password")
    p.add_argument(
        "--lamp-readers",
        action="store_true",
        help="also one account per underground mine for its lamp-room tag readers (lamp-<SITE>: publishes "
        "headframe/lamp/<SITE>/+, reads its answers); the ingest user runs `headframe lamp-readers`",
    )
    p.add_argument(
        "--hasher",
        choices=["auto", "mosquitto_passwd", "builtin"],
        default="auto",
        help="hash with mosquitto_passwd when installed (auto), or in Python (same $7$ PBKDF2-SHA512 format)",
    )
    p.add_argument(
        "--bridge-accounts",
        action="store_true",
        help="(group broker) also one account per site with gateways for its mine broker's bridge (bridge-<SITE>: "
        "publishes under that site only)",
    )
    p.add_argument(
        "--bridge-to",
        metavar="HOST:PORT",
        help="(mine broker) also write OUTDIR/bridge.conf: forward --site's topics to the group broker at HOST:PORT, "
        "QoS 1, queued at the mine for a day while the group is unreachable (docs/MINE-EDGE-BRIDGE.md)",
    )
    p.add_argument("--site", metavar="CODE", help="the mine whose broker gets bridge.conf (with --bridge-to)")
    p.set_defaults(func=cmd_mqtt_config)

    p = sub.add_parser(
        "backup",
        help="back up the database and media files into a new folder (while the server runs)",
        description="SQLite through its online backup API, PostgreSQL through pg_dump (custom format, one "
        "snapshot); then the media files; manifest.json lists migrations, row counts and SHA-256 of every file.",
    )
    p.add_argument("dir", metavar="DIR", help="a new (or empty) folder")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="restore a backup into an empty database and media folder (checksums verified first)",
        description="Verifies every checksum, then restores the database (PostgreSQL: in one transaction) and "
        "the media files, and checks the result against the manifest. Stop `serve` and `ingest` first.",
    )
    p.add_argument("dir", metavar="DIR", help="a folder written by `headframe backup`")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a database that is not empty (and move existing media files aside)",
    )
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "readings-to-victoriametrics",
        help="copy the raw readings kept in SQL into VictoriaMetrics after switching to it (resumable)",
        description="Copies telemetry_reading (on partitioned PostgreSQL one day's partition after the other) "
        "into the VictoriaMetrics of HEADFRAME_VICTORIAMETRICS_URL, printing progress with a resume point. Safe "
        "to run again (VictoriaMetrics keeps a reading once); the SQL rows stay until retention drops them.",
    )
    p.add_argument("--after", metavar="TABLE:SENSOR:TS", help="carry on from a resume point it printed")
    p.add_argument("--batch", type=int, default=20_000, help="readings per request (20000)")
    p.set_defaults(func=cmd_readings_to_victoriametrics)

    p = sub.add_parser("manage", help="run a Django management command (for maintainers)", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        # argparse's REMAINDER does not take arguments that start with "--": hand them over untouched.
        args = parser.parse_args(argv[:1])
        args.args = argv[1:]
    else:
        args = parser.parse_args(argv)
    if args.command == "demo":
        os.environ["HEADFRAME_MODE"] = "demo"
    try:
        _setup_django()
        if args.command not in UNGUARDED:
            from headframe.core.schema_guard import check_schema

            check_schema()  # code older than the database's migrations never starts
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, not a traceback, for anything the user can act on
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management.base import CommandError as DjangoCommandError

        # Settings that cannot load come first: the application's modules read them at import.
        if isinstance(exc, CommandError | ImproperlyConfigured | DjangoCommandError):
            print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
            return 1
        from headframe.core.errors import HeadframeError

        if isinstance(exc, HeadframeError):
            print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
            return 1
        from django.db import DatabaseError

        if isinstance(exc, DatabaseError):
            print(f"{PROG} {args.command}: database error: {exc}".rstrip(), file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    raise SystemExit(main())
