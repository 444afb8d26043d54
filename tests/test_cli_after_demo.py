"""After `make demo`, the README's commands work as printed from the demo checkout (issue 13, item 11).

A demo-style checkout is built in a temporary folder the way `headframe demo` builds it (HEADFRAME_MODE=demo:
var/demo-secret-key, var/headframe.sqlite3 migrated, the organisation demo with users and sensors; without the
three years of figures, which only cost time). Then every `headframe` line of the README's ```sh blocks runs in
a clean environment (no HEADFRAME_SECRET_KEY, no HEADFRAME_DATABASE_URL, no pytest variables) with the
checkout's .venv/bin on PATH, as `source .venv/bin/activate` leaves it. Lines that need a running server, an MQTT
broker or PostgreSQL are skipped by name (SKIPPED below); a README line this test does not know fails it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

# The demo checkout is an embedded SQLite database whatever the suite runs on: the PostgreSQL pass of CI would
# repeat the SQLite pass exactly, so it leaves this module to it.
pytestmark = pytest.mark.skipif(
    os.environ.get("HEADFRAME_DATABASE_URL", "").startswith("postgres"),
    reason="the demo checkout is SQLite: covered by the SQLite pass",
)

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# README lines not run here, and why (matched on the line's start, after the prompt-less command).
SKIPPED = {
    "make demo": "what this test's checkout stands for (built the same way, without three years of figures)",
    "headframe serve": "serves until stopped (needs a free port and a client)",
    "headframe demo": "serves until stopped; the checkout here was built the way it builds one",
    "headframe ingest": "needs an MQTT broker",
    "headframe simulate": "publishes to an MQTT broker",
    "headframe lamp-readers": "subscribes to an MQTT broker until stopped (tests/workforce/test_tag_reader.py)",
    "headframe readings-to-victoriametrics": "needs VictoriaMetrics as the store (tests/telemetry/test_victoria_store.py)",
    "createdb": "PostgreSQL section",
    "export HEADFRAME_": "PostgreSQL section",
    ".venv/bin/headframe migrate": "PostgreSQL section (run here as `headframe migrate`)",
    ".venv/bin/headframe createuser admin": "PostgreSQL section: the demo already has an admin",
    ".venv/bin/headframe serve": "serves until stopped",
    "curl ": "needs a running server",
    "make ": "development targets",
    "bash .ci/run": "development target",
    "headframe restore /srv/backup/headframe-2026-12-06    #": "into an empty database: the demo's is not",
}


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    lines: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        joined = re.sub(r"\\\n\s*", " ", block)  # continuation lines
        lines += [line for line in joined.splitlines() if line.strip()]
    return lines


def without_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def runnable(line: str, tmp: Path) -> list[str]:
    """The README line as it is run here: optional [..] parts dropped, example paths moved under tmp."""
    command = without_comment(line)
    if command.startswith("headframe restore"):  # the demo's database is not empty: the [--force] form
        command = command.replace("[", "").replace("]", "")
    command = re.sub(r"\s*\[[^\]]*\]", "", command)
    for example, here in (
        ("/srv/backup/headframe-$(date +%F)", f"{tmp}/backup-b"),
        ("/srv/backup/headframe-2026-12-06", f"{tmp}/backup-b"),
        ("/srv/backup/2026-12-06", f"{tmp}/backup-a"),
        ("/etc/mosquitto/headframe", f"{tmp}/mosquitto"),
    ):
        command = command.replace(example, here)
    if (
        " | " in command
    ):  # "token list an | headframe token revoke PREFIX": two commands, the second fed by hand
        return [part.strip() for part in command.split(" | ")]
    return [command]


def clean_env(checkout: Path, **extra) -> dict:
    return {
        "PATH": f"{checkout / '.venv' / 'bin'}:/usr/bin:/bin",
        "HOME": str(checkout),
        "LANG": "C.UTF-8",
        **extra,
    }


def sh(command: str, checkout: Path, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=checkout,
        env=clean_env(checkout, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo-checkout")
    (root / ".venv").symlink_to(VENV_BIN.parent)
    build = (
        "import os; os.environ['HEADFRAME_MODE'] = 'demo'\n"
        "from headframe.cli import _setup_django; _setup_django()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', interactive=False, verbosity=0)\n"
        "from headframe.demo import load_demo; load_demo()\n"
    )
    done = sh(f'.venv/bin/python -c "{build}"', root)
    assert done.returncode == 0, done.stderr
    assert (root / "var" / "demo-secret-key").is_file() and (root / "var" / "headframe.sqlite3").is_file()
    _sample_files(root)
    return root


def _sample_files(root: Path) -> None:
    db = sqlite3.connect(root / "var" / "headframe.sqlite3")
    code, kind, position, location, gateway = db.execute(
        "select s.code, s.kind, u.code, s.location, g.code from telemetry_sensor s "
        "join org_unit u on u.id = s.position_id join telemetry_gateway g on g.id = s.gateway_id "
        "where u.path like '/HFG/NDA/NDA-M1/%' order by s.code limit 1"
    ).fetchone()
    db.close()
    wb = Workbook()
    wb.active.append(["code", "kind", "position", "location", "gateway"])
    wb.active.append([code, kind, position, location, gateway])
    wb.save(root / "sensors.xlsx")

    yesterday = dt.date.today() - dt.timedelta(days=1)
    wb = Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    ws.append(["Mã đơn vị", "Ngày", "Ca", "Công lao động (công)\nman_shifts"])
    # a transport position: the faces wait for their restart inspection (readiness gate) in the demo
    ws.append(["NDA-M1-TG-TB1", yesterday.strftime("%d/%m/%Y"), 0, 25])
    wb.save(root / "so-lieu-thang-10.xlsx")


def test_readme_commands_work_as_printed_after_the_demo(checkout):
    ran, skipped = [], []
    prefix = None
    for line in readme_commands():
        reason = next((why for start, why in SKIPPED.items() if line.startswith(start)), None)
        if reason is not None:
            skipped.append((line, reason))
            continue
        assert line.startswith(("headframe ", ".venv/bin/headframe ")), (
            f"a README command this test does not know: {line}"
        )
        for command in runnable(line, checkout):
            if command.endswith(" PREFIX"):
                assert prefix, "token list printed no token"
                command = command.replace("PREFIX", prefix)
            stdin = "a-long-enough-demo-password\n" if "--password-stdin" in line else None
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=checkout,
                env=clean_env(checkout),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, f"{command!r} → exit {result.returncode}: {result.stderr}"
            assert "HEADFRAME_SECRET_KEY" not in result.stderr
            if command.startswith("headframe token list"):
                prefix = result.stdout.split()[0] if result.stdout.split() else None
            ran.append(command)
    subcommands = {c.split()[1] for c in ran if c.startswith("headframe ")}
    assert {
        "migrate",
        "createuser",
        "token",
        "check",
        "import-sensors",
        "import-actuals",
        "backup",
    } <= subcommands
    assert {"mqtt-config", "restore"} <= subcommands
    assert any(c.startswith(".venv/bin/headframe --help") for c in ran)
    assert len(skipped) >= 5


def test_commands_use_the_demo_database_and_key(checkout):
    token = sh("headframe token create admin --name after-demo", checkout)
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("hf_")
    listed = sh("headframe token list admin", checkout)
    assert "after-demo" in listed.stdout  # the demo's database, not a new one
    # the key is the demo's: its file is read, never rewritten
    key = (checkout / "var" / "demo-secret-key").read_text()
    assert sh("headframe check", checkout).returncode == 0
    assert (checkout / "var" / "demo-secret-key").read_text() == key


def test_outside_a_demo_checkout_the_key_is_still_required(tmp_path):
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)
    result = sh("headframe check", tmp_path)
    assert result.returncode == 1
    assert "HEADFRAME_SECRET_KEY is required" in result.stderr
    assert not (tmp_path / "var" / "demo-secret-key").exists()


def test_no_pytest_variables_reach_the_commands(checkout):
    assert "PYTEST_VERSION" not in clean_env(checkout)
    assert os.environ.get("PYTEST_VERSION")  # the settings' test-only key would otherwise hide the bug
