"""A throw-away PostgreSQL 15 primary and its streaming replica, for tests that need real replication.

Both clusters live under a temporary folder owned by `postgres` (the server refuses to run as root), listen on
free 127.0.0.1 ports, and are stopped and removed by `stop()`. `fsync` is off: nothing here must survive a
crash, and it keeps initdb, the base backup and commits fast on a shared machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import psycopg.sql

PG_BIN = Path(os.environ.get("HEADFRAME_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "pg_restore")
RUN_AS = ["runuser", "-u", "postgres", "--"]
START_TIMEOUT_S = 30


def missing_tools() -> str | None:
    """Why the clusters cannot be made here, or None."""
    for tool in PG_TOOLS:
        if not (PG_BIN / tool).is_file():
            return f"PostgreSQL binary {PG_BIN / tool} not found"
    if shutil.which("runuser") is None:
        return "runuser not found (the servers must run as user postgres)"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user to run the servers as"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RUN_AS, *map(str, args)], check=check, capture_output=True, text=True, timeout=START_TIMEOUT_S * 2
    )


@dataclass
class Cluster:
    data: Path
    port: int
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def query(self, sql: str, database: str = "postgres"):
        """The first row of the answer (None for a statement that answers none)."""
        with self.connect(database) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchone() if cursor.description else None

    def start(self) -> None:
        _as_postgres(
            PG_BIN / "pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S), "-D", self.data, "-l", self.log
        )

    def stop(self) -> None:
        _as_postgres(PG_BIN / "pg_ctl", "stop", "-m", "immediate", "-w", "-D", self.data, check=False)

    def running(self) -> bool:
        return _as_postgres(PG_BIN / "pg_ctl", "status", "-D", self.data, check=False).returncode == 0


@dataclass
class ReplicatedPair:
    root: Path
    primary: Cluster
    replica: Cluster
    _stopped: bool = field(default=False)
    _primary_conninfo: str = field(default="")

    def wait_streaming(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until the replica is in recovery and its WAL receiver streams from the primary."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                row = self.replica.query(
                    "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver LIMIT 1)"
                )
                if row == (True, "streaming"):
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"replica not streaming after {timeout_s} s: {self.replica.log.read_text()}"
                )
            time.sleep(0.05)

    def wait_replayed(self, timeout_s: float = 20.0) -> float:
        """Until the replica has replayed everything the primary wrote so far; the seconds that took."""
        started = time.monotonic()
        (target,) = self.primary.query("SELECT pg_current_wal_lsn()::text")
        while True:
            (done,) = self.replica.query(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            if done:
                return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"replica did not replay up to {target} within {timeout_s} s")
            time.sleep(0.005)

    def pause_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.replica.query("SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError("replica replay did not pause")
            time.sleep(0.01)

    def resume_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_resume()")

    def stop_streaming(self) -> None:
        """Stop the replica's WAL receiver (as when it cannot reach the primary) and wait until it is gone: an
        empty primary_conninfo stops it without starting another. The replica keeps answering queries."""
        (self._primary_conninfo,) = self.replica.query("SHOW primary_conninfo")
        self.replica.query("ALTER SYSTEM SET primary_conninfo = ''")
        self.replica.query("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 10
        while self.replica.query("SELECT count(*) FROM pg_stat_wal_receiver") != (0,):
            if time.monotonic() > deadline:
                raise TimeoutError("the replica's WAL receiver did not stop")
            time.sleep(0.02)

    def resume_streaming(self) -> None:
        """Give the replica its primary_conninfo back and wait until it streams again."""
        with self.replica.connect() as conn:
            conn.execute(
                psycopg.sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(
                    psycopg.sql.Literal(self._primary_conninfo)
                )
            )
            conn.execute("SELECT pg_reload_conf()")
        self.wait_streaming()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_replicated_pair(ports: tuple[int, int] | None = None) -> ReplicatedPair:
    """A primary (wal_level=replica) and a hot-standby replica made from it by `pg_basebackup -R`, streaming, on
    the given (primary, replica) ports or free ones."""
    primary_port, replica_port = ports or (free_port(), free_port())
    root = Path(tempfile.mkdtemp(prefix="hf-pg-pair-"))
    shutil.chown(root, "postgres", "postgres")
    primary = Cluster(root / "primary", primary_port, root / "primary.log")
    replica = Cluster(root / "replica", replica_port, root / "replica.log")
    pair = ReplicatedPair(root, primary, replica)
    try:
        _as_postgres(
            PG_BIN / "initdb", "-D", primary.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"
        )
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {primary.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n"
                "full_page_writes = off\nshared_buffers = 32MB\nmax_connections = 30\n"
            )
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("\nhost replication postgres 127.0.0.1/32 trust\n")
        primary.start()
        _as_postgres(
            PG_BIN / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            replica.data,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        with (replica.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {replica.port}\n")
        replica.start()
        pair.wait_streaming()
    except BaseException:
        pair.stop()
        raise
    return pair


def copy_database(source: dict, target_url: str) -> None:
    """Copy a database (schema and rows) of another server into `target_url` with pg_dump | pg_restore.
    `source` is a Django settings_dict of PostgreSQL: an already migrated test database is copied in seconds,
    where running every migration again would take most of a minute on a busy machine."""
    env = {**os.environ, "PGPASSWORD": str(source.get("PASSWORD") or "")}
    dump = subprocess.Popen(
        [
            PG_BIN / "pg_dump",
            "-Fc",
            "--no-owner",
            "--no-acl",
            "-h",
            str(source.get("HOST") or "127.0.0.1"),
            "-p",
            str(source.get("PORT") or 5432),
            "-U",
            str(source.get("USER") or "postgres"),
            str(source["NAME"]),
        ],
        stdout=subprocess.PIPE,
        env=env,
    )
    restore = subprocess.run(
        [PG_BIN / "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "-d", target_url],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait(timeout=120) != 0 or restore.returncode != 0:
        raise RuntimeError(f"copying {source['NAME']} failed: {restore.stderr.strip()}")
