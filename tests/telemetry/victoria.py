"""A VictoriaMetrics of the test's own: Debian's binary on a free 127.0.0.1 port, data under a temporary
folder, the flags headframe needs (see headframe.telemetry.storage.victoria); stopped at teardown."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from headframe.telemetry.storage.victoria import server_flags

BINARY = "/usr/bin/victoria-metrics"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VictoriaMetrics:
    def __init__(self, folder: Path) -> None:
        binary = BINARY if Path(BINARY).exists() else shutil.which("victoria-metrics")
        if binary is None:
            pytest.skip("victoria-metrics is not installed (apt-get install victoria-metrics)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.log = folder / "victoria-metrics.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> VictoriaMetrics:
        """Start (again, on the same port and data) and wait until /health answers."""
        command = [
            self.binary,
            f"-storageDataPath={self.folder / 'data'}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            *server_flags(),  # deduplication and the raw retention of the settings
            "-loggerLevel=ERROR",
            "-memory.allowedBytes=64MB",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited: {self.log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"victoria-metrics did not answer on {self.port}: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """A crash: SIGKILL, nothing written to disk on the way out."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
