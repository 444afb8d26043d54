"""Sending one delivery: e-mail through Django's mail backends, or a signed JSON POST. Network only — no
database access here, so the worker can send from a thread pool while it holds no transaction.

Webhook signature: `X-Headframe-Signature: sha256=<hex>` where hex is HMAC-SHA256, keyed with
HEADFRAME_WEBHOOK_SECRET, of the bytes `<X-Headframe-Timestamp>` + b"." + <raw request body>. A receiver
recomputes it over the raw body it received, compares with hmac.compare_digest, refuses a timestamp more than
five minutes from its clock (replay), and de-duplicates on `X-Headframe-Delivery` (a delivery may arrive twice
if a worker dies between sending and recording it).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from headframe.notify.models import Channel

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Outgoing:
    delivery_id: int
    channel: str
    target: str
    subject: str
    body: str
    document: dict  # the webhook's JSON body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Headframe-Signature value for a body sent at `timestamp` (unix seconds, as sent in the header)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, max_age_s: int = 300) -> bool:
    """What a receiver does (also used by the tests): constant-time compare, and refuse stale timestamps."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    return age <= max_age_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


def send(out: Outgoing) -> str | None:
    """Deliver one message: None when it was accepted, else why not (one line)."""
    try:
        if out.channel == Channel.EMAIL:
            return _send_email(out)
        if out.channel == Channel.WEBHOOK:
            return _send_webhook(out)
        return f"unknown channel {out.channel!r}"
    except Exception as exc:  # any failure is an attempt to journal and retry, never a crash of the worker
        return _one_line(f"{type(exc).__name__}: {exc}")


def _send_email(out: Outgoing) -> str | None:
    # The backend and its timeout come from the EMAIL_* settings (HEADFRAME_EMAIL_*): SMTP by default.
    connection = get_connection(fail_silently=False)
    message = EmailMessage(
        subject=out.subject,
        body=out.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[out.target],
        headers={"X-Headframe-Delivery": str(out.delivery_id)},
        connection=connection,
    )
    if message.send() != 1:
        return "the mail backend accepted no message"
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would re-send the body as a GET, or elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _send_webhook(out: Outgoing) -> str | None:
    secret = settings.WEBHOOK_SECRET
    if not secret:
        return "HEADFRAME_WEBHOOK_SECRET is not set: webhooks are not sent unsigned"
    body = orjson.dumps(out.document)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        out.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "headframe-notify/1",
            "X-Headframe-Delivery": str(out.delivery_id),
            "X-Headframe-Timestamp": timestamp,
            "X-Headframe-Signature": sign(secret, timestamp, body),
        },
    )
    try:
        with _opener.open(request, timeout=settings.NOTIFY_TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        detail = exc.read(200).decode("utf-8", "replace") if exc.fp is not None else ""
        return _one_line(f"HTTP {exc.code} {exc.reason}: {detail}")
    except urllib.error.URLError as exc:
        return _one_line(f"unreachable: {exc.reason}")
    if not 200 <= status < 300:
        return f"HTTP {status}"
    return None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:MAX_ERROR_CHARS]
