"""Running headframe: migrate, serve, the demo (with its simulated telemetry), check, manage."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from headframe.cli.common import PROG, CommandError


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
    if args.workers > 1 and db["ENGINE"].endswith("sqlite3"):
        # Allowed (WAL lets the processes share the file), but nothing carries a change from the worker that
        # wrote it to the others: live pages poll the file each second (an alarm: each worker's journal watcher,
        # every 0,1 s). PostgreSQL wakes them.
        print(
            f"note: {args.workers} workers on SQLite: live pages poll the database every second; use PostgreSQL "
            "(HEADFRAME_DATABASE_URL) for many workers, whose live pages follow LISTEN/NOTIFY",
            file=sys.stderr,
        )
    background = False
    if not getattr(args, "no_watchdog", False):
        from headframe.telemetry.watchdog import start_watchdog

        register_scans()
        start_watchdog()  # stale-data alarms fire even when readings only arrive over HTTP
        background = True
    if not getattr(args, "no_notifier", False):
        from headframe.notify.worker import start_notifier

        start_notifier()  # alarm e-mails and webhooks, in a thread of their own
        background = True
        # And one in each web worker (headframe.asgi): a notification queued there — an alarm raised by readings
        # sent over HTTP — is woken in that process, not at this one's next round. Deliveries are claimed.
        os.environ[WEB_NOTIFIER_ENV] = "1"
    else:  # --no-notifier holds for the workers too, whatever this process inherited
        os.environ.pop(WEB_NOTIFIER_ENV, None)
    if settings.PAGE_CACHE:
        from headframe.briefing.warm import start_page_warmer

        start_page_warmer()  # the briefing's usual pages built ahead, into the cache the workers share
        background = True
    options = dict(
        host=args.host,
        port=args.port,
        log_level="warning" if not args.access_log else "info",
        access_log=args.access_log,
        lifespan="off",
        # The client's address (X-Forwarded-For) reaches REMOTE_ADDR only from these proxies: log-in throttling
        # counts by it.
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips or settings.FORWARDED_ALLOW_IPS,
        # Stopped (SIGTERM: a restart, a deploy), a worker waits this long for the requests under way, then ends
        # them: a live page's stream would otherwise hold the worker for up to its 5 minutes, and a supervisor
        # that kills the serve process meanwhile leaves the worker running without it. The browser reconnects
        # and resumes after its last journal event.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    if args.workers == 1 and background:
        return serve_beside_background(options)
    uvicorn.run(WEB_APPLICATION, workers=args.workers, **options)
    return 0


WEB_NOTIFIER_ENV = "HEADFRAME_WEB_NOTIFIER"  # read by headframe.asgi in a web worker process
# What the web workers load: the ASGI application at a lower CPU priority than this process (the watchdog, the
# notifier) and ingest (headframe.web_worker).
WEB_APPLICATION = "headframe.web_worker:application"
SHUTDOWN_GRACE_S = 10
WORKER_HEALTHCHECK_S = 30.0  # uvicorn's 5 s would kill a worker whose pages hold its interpreter that long


def serve_beside_background(options: dict) -> int:
    """One web worker in a process of its own — as `--workers N` runs N —, this process keeping the watchdog, the
    notifier and the page warmer. In the web process they would share its interpreter lock with the pages: every
    few seconds a scan of all sensors or a pack rebuilt ahead would hold every page up behind it (bench_load saw
    the pages' p50 jump from ~0,1 s to ~2 s in those seconds; docs/SCALING.md §8). uvicorn's supervisor handles
    the signals meanwhile (TERM and INT stop, HUP restarts the worker); ours are put back after it, the worker is
    never left serving the port, and a worker that could not start is this command's failure (exit 3)."""
    from uvicorn import Config
    from uvicorn.main import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess
    from uvicorn.supervisors.multiprocess import SIGNALS

    config = Config(WEB_APPLICATION, workers=1, timeout_worker_healthcheck=WORKER_HEALTHCHECK_S, **options)
    socket = config.bind_socket()
    ours = {sig: signal.getsignal(sig) for sig in SIGNALS}
    supervisor = Multiprocess(config, sockets=[socket])
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the supervisor stops the worker
            supervisor.run()
    finally:
        supervisor.terminate_all()  # those still running only (an exception, say): never one left on the port
        supervisor.join_all()
        for sig, handler in ours.items():
            if handler is not None:
                signal.signal(sig, handler)
    failed = any(worker.process.exitcode == STARTUP_FAILURE for worker in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


def register_scans() -> None:
    """The scans of apps above telemetry that run with its watchdog (`serve`, `demo`, `ingest`): people
    overdue underground raise an urgent alarm (workforce.services.overdue); grievances past their answer
    deadline escalate a step up the tree (workforce.services.voice), checked every ten minutes."""
    from headframe.telemetry.watchdog import register_scan
    from headframe.workforce.services.overdue import overdue_scan
    from headframe.workforce.services.voice import grievances_escalate

    def grievances() -> int:
        grievances_escalate()
        return 0  # the watchdog counts alarms raised: an escalated grievance is a notification, not an alarm

    register_scan("workforce.overdue", overdue_scan, every_s=30.0)
    register_scan("workforce.grievances", grievances, every_s=600.0)


def cmd_lamp_readers(args) -> int:
    """`headframe lamp-readers`: the lamp rooms' tag readers over MQTT, until SIGTERM or Ctrl-C."""
    import threading

    from headframe.telemetry.mqtt import Options
    from headframe.workforce.mqtt import TagReaderBridge

    options = Options(
        host=args.host,
        port=args.port,
        client_id=args.client_id or f"headframe-lamp-readers-{os.uname().nodename}",
        username=args.username,
        password=os.environ.get("HEADFRAME_MQTT_PASSWORD", ""),
        tls_cafile=args.tls_cafile,
    )
    bridge = TagReaderBridge(options)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    worker = threading.Thread(target=bridge.run, name="lamp-readers", daemon=True)
    bridge.start_network()
    worker.start()
    print(f"lamp readers: {args.host}:{args.port}, topics headframe/lamp/<site>/<reader>", file=sys.stderr)
    try:
        while not stop.wait(0.5):
            if not worker.is_alive():
                raise CommandError("the lamp-reader bridge stopped unexpectedly (see the log)")
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stopping.set()
        worker.join(timeout=15)
        bridge.close_network()
    return 0


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def cmd_demo(args) -> int:
    from django.core.management import call_command

    from headframe.demo import DEMO_PASSWORD, DEMO_USERS, MACHINE_USERS, load_demo

    call_command("migrate", interactive=False, verbosity=0)
    print("loading demo data (the first run generates three years of daily figures, ~20 s)…", file=sys.stderr)
    result = load_demo(production_years=3, workforce_full=True)
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
    _demo_lamp_rooms()
    try:
        if telemetry is not None:
            from headframe.telemetry.demo import sensors_registered_now

            sensors_registered_now()
            telemetry.start()
        return cmd_serve(args)
    finally:
        if telemetry is not None:
            telemetry.stop()


def _demo_lamp_rooms() -> None:
    """The demo's lamp rooms over the shifts, with the watchdog: crews come up after their shift and the next
    go down, so the demo does not leave everyone overdue underground hours after it started."""
    from django.utils import timezone

    from headframe.telemetry.watchdog import register_scan
    from headframe.workforce.demo.people import demo_lamp_room

    started = timezone.now()

    def shift_change() -> int:
        demo_lamp_room(since=started)
        return 0  # the watchdog counts alarms raised: people moving raise none

    register_scan("workforce.demo_lamp_room", shift_change, every_s=60.0)


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
            self._spawn([*command, "lamp-readers", *where, "--client-id", f"headframe-demo-lamp-{tag}"])
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


def cmd_check(args) -> int:
    from django.conf import settings
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
    if settings.READING_STORE == "victoriametrics":
        from headframe.telemetry.storage.victoria import VictoriaMetricsUnavailable, check_line

        try:
            print(f"ok: {check_line()}")
        except VictoriaMetricsUnavailable as exc:
            raise CommandError(str(exc)) from None
    print(f"ok: configuration valid, database {connection.vendor} reachable, migrations applied")
    return 0


def cmd_manage(args) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line([f"{PROG} manage", *args.args])
    return 0
