"""Real servers for the notification tests — an SMTP server (aiosmtpd) and an HTTP receiver that checks the
webhook signature the way a receiver should — plus a mine with a sensor, on-call entries and alarm rows."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from headframe.notify import services as notify
from headframe.telemetry import services as telemetry
from headframe.telemetry.models import Alarm, AlarmCondition, Gateway
from tests.factories import make_user

SECRET = "webhook-secret-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Mailbox:
    """aiosmtpd handler: keeps every message it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.got = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        self.got.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port; Django's SMTP backend pointed at it."""
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # pytest-django swaps in locmem
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "canh-bao@headframe.test"
    yield mailbox
    controller.stop()


class Receiver:
    """A webhook receiver: verifies X-Headframe-Signature over the raw body (HMAC-SHA256 of "timestamp.body")
    and answers `status`. Created stopped on a reserved port, so a test can have it down, then up."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = free_port()
        self.status = 200
        self.delay_s = 0.0
        self.received: list[dict] = []
        self.got = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/headframe?token=abc"

    def _verified(self, timestamp: str, body: bytes, signature: str) -> bool:
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        fresh = abs(time.time() - int(timestamp)) <= 300
        return fresh and hmac.compare_digest(f"sha256={expected}", signature)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver._lock:
                    receiver.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": json.loads(body),
                            "verified": receiver._verified(
                                self.headers.get("X-Headframe-Timestamp", "0"),
                                body,
                                self.headers.get("X-Headframe-Signature", ""),
                            ),
                        }
                    )
                receiver.got.set()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver(settings):
    """A webhook receiver, stopped: call .start()."""
    settings.WEBHOOK_SECRET = SECRET
    r = Receiver(SECRET)
    yield r
    r.stop()


@pytest.fixture
def people(users):
    return SimpleNamespace(
        admin_a=users.admin_a,
        admin_b=users.admin_b,
        viewer_a=users.viewer_a,
        safety_a=make_user("an_toan_a", ("safety_officer", "A")),
    )


@pytest.fixture
def mine(tree, limit_profiles):
    gateway = Gateway.objects.create(code="GW-A1", site=tree.a_m1, name="Trạm A1")
    ch4 = telemetry.sensor_create(
        actor=None,
        code="A1-CH4-01",
        kind="ch4_pct",
        location="face_return",
        position=tree.a_m1_k1_f1,
        gateway=gateway,
    )
    return SimpleNamespace(site=tree.a_m1, company=tree.a, group=tree.group, gateway=gateway, ch4=ch4)


@pytest.fixture
def make_alarm(mine):
    """An Alarm row as the engine writes it (one open alarm per condition, so each gets its own condition)."""
    counter = itertools.count(1)

    def make(*, priority="urgent", raised_at=None, on_gateway=False, value=1.62, threshold=1.5) -> Alarm:
        n = next(counter)
        target = {"gateway": mine.gateway} if on_gateway else {"sensor": mine.ch4}
        condition = AlarmCondition.objects.create(limit_code=f"test_limit_{n}", **target)
        message = (
            f"{mine.gateway.code}: mất kết nối" if on_gateway else f"A1-CH4-01 {value:g} ≥ {threshold:g} %"
        )
        return Alarm.objects.create(
            condition=condition,
            site=mine.site,
            site_path=mine.site.path,
            limit_code=condition.limit_code,
            priority=priority,
            threshold=None if on_gateway else threshold,
            message=message,
            raised_at=raised_at or timezone.now(),
            raised_value=None if on_gateway else value,
            **target,
        )

    return make


@pytest.fixture
def on_call(mine):
    """on_call(unit, level, email=..., webhook_url=..., min_priority=...) as the system (no permission check)."""

    def put(unit, level=1, *, name=None, email="", webhook_url="", min_priority="high"):
        return notify.oncall_create(
            actor=None,
            unit_code=unit.code,
            level=level,
            name=name or f"Trực ca {unit.code} cấp {level}",
            email=email,
            webhook_url=webhook_url,
            min_priority=min_priority,
        )

    return put
