"""The `headframe` command (also `python -m headframe`).

Each subcommand prints help with --help and fails with one clear line on bad arguments or errors
(exit 2 for usage, 1 for a refused operation).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

PROG = "headframe"
DELEGATED = ("ingest", "simulate")  # subcommands whose options their own module parses
# Commands that run against a database ahead of this code (see core/schema_guard.py): copying it out or in, and
# the maintainers' escape hatch. Every other command refuses to start there.
UNGUARDED = ("backup", "restore", "manage")


class CommandError(Exception):
    """A refused operation: printed as one line, exit code 1."""


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage and the error on two lines; a script wants one clear line."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headframe.settings")
    import django

    django.setup()


# --- subcommands -----------------------------------------------------------------------------------


def cmd_migrate(args) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def cmd_serve(args) -> int:
    import uvicorn
    from django.conf import settings

    db = settings.DATABASES["default"]
    print(
        f"headframe on http://{args.host}:{args.port}/  (database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']})"
    )
    if not getattr(args, "no_watchdog", False):
        from headframe.telemetry.watchdog import start_watchdog

        start_watchdog()  # stale-data alarms fire even when readings only arrive over HTTP
    if not getattr(args, "no_notifier", False):
        from headframe.notify.worker import start_notifier

        start_notifier()  # alarm e-mails and webhooks, in a thread of their own
    uvicorn.run(
        "headframe.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning" if not args.access_log else "info",
        access_log=args.access_log,
        lifespan="off",
        # The client's address (X-Forwarded-For) reaches REMOTE_ADDR only from these proxies: log-in throttling
        # counts by it.
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips or settings.FORWARDED_ALLOW_IPS,
    )
    return 0


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def cmd_demo(args) -> int:
    from django.core.management import call_command

    from headframe.demo import DEMO_PASSWORD, DEMO_USERS, MACHINE_USERS, load_demo

    call_command("migrate", interactive=False, verbosity=0)
    print("loading demo data (the first run generates three years of daily figures, ~20 s)…", file=sys.stderr)
    result = load_demo(production_years=3)
    print(
        f"demo data: {result.created_units} units, {result.created_bridge_points} bridge points, "
        f"{result.created_people} people, {len(result.created_users)} users created, "
        f"{result.production.get('actuals', 0):,} daily figures added (existing data left unchanged)"
    )
    print(
        f"demo login: user 'admin', password '{DEMO_PASSWORD}'  "
        f"(also: {', '.join(u for u in DEMO_USERS if u not in ('admin', *MACHINE_USERS))})"
    )
    if result.telemetry is not None:
        print(f"demo telemetry: {result.telemetry.sensors} sensors on {result.telemetry.gateways} gateways")
    if args.no_serve:
        return 0
    telemetry = None if args.no_telemetry else DemoTelemetry(args)
    if telemetry is not None:
        # uvicorn shuts down on SIGTERM and then raises the signal again: without a handler of ours the process
        # would die there, skip the `finally` and leave ingest and the simulator running.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if telemetry is not None:
            from headframe.telemetry.demo import sensors_registered_now

            sensors_registered_now()
            telemetry.start()
        return cmd_serve(args)
    finally:
        if telemetry is not None:
            telemetry.stop()


def _mqtt_broker(timeout: float = 1.0) -> tuple[str, int] | None:
    """HEADFRAME_MQTT_HOST:PORT (default 127.0.0.1:1883) if a broker accepts a connection there."""
    import socket

    host = os.environ.get("HEADFRAME_MQTT_HOST", "127.0.0.1")
    port = int(os.environ.get("HEADFRAME_MQTT_PORT", "1883"))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return host, port
    except OSError:
        return None


class DemoTelemetry:
    """Live telemetry for `headframe demo`: with an MQTT broker, `headframe ingest` and the simulator over MQTT;
    without one, the simulator posting to this server's API as the demo gateway account. Child processes with
    the same Python and environment, stopped when serve exits."""

    def __init__(self, args) -> None:
        import threading

        self.args = args
        self.children: list = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        command = [sys.executable, "-m", "headframe"]
        scenarios = ["--scenarios", "all"]
        broker = _mqtt_broker()
        if broker is not None:
            import hashlib

            host, port = broker
            where = ["--host", host, "--port", str(port)]
            print(
                f"demo telemetry: MQTT broker at {host}:{port}: starting `headframe ingest` and the simulator"
            )
            # One persistent session per demo database, on the plain (not shared) subscription that loses
            # nothing on a broker restart: two demos on one broker each get every message.
            from django.conf import settings

            tag = hashlib.sha1(str(settings.DATABASES["default"]["NAME"]).encode()).hexdigest()[:8]
            ingest = ["--client-id", f"headframe-demo-ingest-{tag}"]
            self._spawn([*command, "ingest", *where, *ingest])
            self._spawn([*command, "simulate", "--transport", "mqtt", *where, *scenarios])
            return
        from headframe.telemetry.demo import simulator_token

        host = "127.0.0.1" if self.args.host in ("0.0.0.0", "::", "") else self.args.host
        url = f"http://{f'[{host}]' if ':' in host else host}:{self.args.port}"
        env = {**os.environ, "HEADFRAME_TOKEN": simulator_token()}  # not on the command line (ps shows it)
        print(
            "demo telemetry: no MQTT broker at "
            f"{os.environ.get('HEADFRAME_MQTT_HOST', '127.0.0.1')}:{os.environ.get('HEADFRAME_MQTT_PORT', '1883')}: "
            f"the simulator posts to {url} as the demo gateway account (--no-telemetry to skip)"
        )
        simulate = [*command, "simulate", "--transport", "http", "--url", url, *scenarios]
        # wait until the server answers, so the simulator's first messages are not refused
        self._background(self._spawn_when_listening, host, self.args.port, simulate, env)

    def _background(self, target, *args) -> None:
        import threading

        threading.Thread(target=target, args=args, daemon=True).start()

    def _spawn_when_listening(self, host: str, port: int, command: list[str], env: dict) -> None:
        import socket

        for _ in range(600):
            if self._stopping.wait(0.1):
                return
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    break
            except OSError:
                continue
        self._spawn(command, env)

    def _spawn(self, command: list[str], env: dict | None = None) -> None:
        import subprocess

        with self._lock:
            if not self._stopping.is_set():
                self.children.append(subprocess.Popen(command, env=env))

    def stop(self, timeout: float = 15.0) -> None:
        import subprocess

        with self._lock:
            self._stopping.set()
            children = list(self.children)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _read_password_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin: no password on standard input")
    return password


def cmd_createuser(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.services import user_create

    if len(args.role) != len(args.unit):
        raise CommandError(
            f"give --role and --unit in pairs: got {len(args.role)} --role and {len(args.unit)} --unit"
        )
    password = _read_password_stdin() if args.password_stdin else None
    with channel("cli"):
        user = user_create(
            actor=None,
            username=args.name,
            grants=list(zip(args.role, args.unit, strict=True)),
            password=password,
            email=args.email or "",
        )
    roles = ", ".join(f"{r}@{u}" for r, u in zip(args.role, args.unit, strict=True))
    print(
        f"created user {user.username}: {roles}" + ("" if password else " (no password: token login only)"),
        file=sys.stderr,
    )
    return 0


def cmd_token(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.models import ApiToken
    from headframe.org.services import token_create, token_revoke, user_by_username

    with channel("cli"):
        if args.token_command == "create":
            user = user_by_username(args.user)
            _, raw = token_create(actor=None, user=user, name=args.name or "")
            print(raw)  # only the token on stdout, so scripts can capture it
        elif args.token_command == "revoke":
            prefix = args.token.removeprefix("hf_").split("_", 1)[0]
            token = ApiToken.objects.filter(prefix=prefix).first()
            if token is None:
                raise CommandError(f"no token with prefix {prefix!r}")
            changed = token_revoke(actor=None, token=token)
            print(f"token {prefix} {'revoked' if changed else 'was already revoked'}", file=sys.stderr)
        else:
            user = user_by_username(args.user)
            for token in ApiToken.objects.filter(user=user):
                state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                print(
                    f"{token.prefix}\t{token.name or '-'}\t{token.created_at:%Y-%m-%d}\tlast used {used}\t{state}"
                )
    return 0


def cmd_unlock_login(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.login import login_unlock
    from headframe.org.models import LoginThrottle

    kind = LoginThrottle.Kind.ADDRESS if args.address else LoginThrottle.Kind.ACCOUNT
    throttle = LoginThrottle.objects.filter(kind=kind, key=args.name).first()
    if throttle is None:
        print(f"no failed log-ins recorded for {kind} {args.name!r}: nothing to unlock", file=sys.stderr)
        return 0
    with channel("cli"):
        was_locked = login_unlock(actor=None, throttle=throttle)
    state = "unlocked" if was_locked else "was not locked; its failure count is cleared"
    print(f"{kind} {args.name} {state}", file=sys.stderr)
    return 0


def cmd_import_actuals(args) -> int:
    from headframe.core.audit import channel
    from headframe.core.errors import PermissionDenied, ValidationFailed
    from headframe.org.services import user_by_username
    from headframe.production.excel import error_line, import_actuals_workbook

    actor = user_by_username(args.as_user) if args.as_user else None
    try:
        with open(args.file, "rb") as fh:
            content = fh.read()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    try:
        with channel("cli"):
            result = import_actuals_workbook(
                actor=actor, file=content, confirm_implausible=args.confirm_implausible
            )
    except (ValidationFailed, PermissionDenied) as exc:
        for item in exc.items:
            print(error_line(item), file=sys.stderr)
        print(
            f"{PROG} import-actuals: error: {args.file} refused ({len(exc.items)} error(s)), nothing stored",
            file=sys.stderr,
        )
        return 1
    total = result.created + result.updated + result.unchanged
    print(
        f"imported {total} figures: {result.created} new, {result.updated} corrected, "
        f"{result.unchanged} unchanged ({result.late} late)"
    )
    return 0


def cmd_check(args) -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    call_command("check", deploy=args.deploy, fail_level="ERROR")
    try:
        connection.ensure_connection()
    except Exception as exc:
        raise CommandError(f"cannot connect to the database: {exc}") from None
    pending = MigrationExecutor(connection).migration_plan(
        MigrationExecutor(connection).loader.graph.leaf_nodes()
    )
    if pending:
        raise CommandError(f"{len(pending)} migration(s) not applied: run `headframe migrate`")
    print(f"ok: configuration valid, database {connection.vendor} reachable, migrations applied")
    return 0


def cmd_import_sensors(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.services import user_by_username
    from headframe.telemetry.registry_io import sensors_import

    try:
        content = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    actor = user_by_username(args.as_user) if args.as_user else None
    with channel("cli"):
        result = sensors_import(actor=actor, content=content, filename=Path(args.file).name)
    print(f"{result['created']} sensor(s) created, {result['updated']} updated from {args.file}")
    return 0


def _delegate(module: str):
    """Subcommands that own their options (telemetry ingest, simulator): module.main(argv) -> exit code."""

    def run(args) -> int:
        import importlib

        return importlib.import_module(module).main(list(args.args))

    return run


def cmd_mqtt_config(args) -> int:
    from headframe.telemetry.broker_config import BrokerConfigError, Listener, generate

    listener = Listener(
        port=args.port,
        bind=args.bind,
        tls_port=args.tls_port,
        cafile=args.tls_cafile or "",
        certfile=args.tls_certfile or "",
        keyfile=args.tls_keyfile or "",
    )
    try:
        result = generate(
            Path(args.outdir),
            ingest_user=args.ingest_user,
            topic_root=args.topic_root,
            config_dir=Path(args.config_dir) if args.config_dir else None,
            listener=listener,
            persistence_location=args.persistence_location or "",
            rotate=tuple(args.rotate or ()),
            rotate_all=args.rotate_all,
            hasher=args.hasher,
        )
    except (BrokerConfigError, OSError) as exc:
        raise CommandError(str(exc)) from None
    print(
        f"{result.accounts} gateway account(s) and the ingest account written to {result.folder} "
        f"(mosquitto.conf, passwd, acl): {len(result.created)} new, {len(result.rotated)} new password(s), "
        f"{len(result.removed)} removed"
    )
    if result.created or result.rotated:
        print(
            f"new passwords ({result.hasher}) are in {result.folder / 'credentials.txt'}: hand them out, "
            "then delete that file",
            file=sys.stderr,
        )
    return 0


def cmd_backup(args) -> int:
    from headframe.core.backup import BackupError, backup

    try:
        manifest = backup(Path(args.dir))
    except (BackupError, OSError) as exc:
        raise CommandError(str(exc)) from None
    database = manifest["database"]
    media = len(manifest["files"]) - 1
    print(
        f"backup written to {args.dir}: {database['engine']} database ({sum(database['tables'].values()):,} rows in "
        f"{len(database['tables'])} tables, {len(database['migrations'])} migrations applied), {media} media "
        f"file(s), checksums in {args.dir}/manifest.json"
    )
    return 0


def cmd_restore(args) -> int:
    from headframe.core.backup import BackupError, restore

    try:
        manifest = restore(Path(args.dir), force=args.force)
    except (BackupError, OSError) as exc:
        raise CommandError(str(exc)) from None
    from headframe.core.schema_guard import known_migrations

    applied = {tuple(m) for m in manifest["database"]["migrations"]}
    pending = len(known_migrations() - applied)
    print(
        f"restored the backup of {manifest['created_at']} ({manifest['database']['engine']}, "
        f"{len(manifest['files']) - 1} media file(s)); checksums, integrity and row counts verified"
        + (
            f"; {pending} migration(s) of this version not applied yet: run `headframe migrate`"
            if pending
            else ""
        )
    )
    return 0


def cmd_manage(args) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line([f"{PROG} manage", *args.args])
    return 0


# --- parser --------------------------------------------------------------------------------------------


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
    p.set_defaults(func=_delegate("headframe.telemetry.mqtt"))

    p = sub.add_parser(
        "simulate",
        help="publish simulated sensor readings with scenarios (see `simulate --help`)",
        add_help=False,
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_delegate("headframe.telemetry.simulator"))

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
        "--hasher",
        choices=["auto", "mosquitto_passwd", "builtin"],
        default="auto",
        help="hash with mosquitto_passwd when installed (auto), or in Python (same $7$ PBKDF2-SHA512 format)",
    )
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

        from headframe.core.errors import HeadframeError

        if isinstance(exc, CommandError | HeadframeError | ImproperlyConfigured | DjangoCommandError):
            print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
            return 1
        from django.db import DatabaseError

        if isinstance(exc, DatabaseError):
            print(f"{PROG} {args.command}: database error: {exc}".rstrip(), file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    raise SystemExit(main())
