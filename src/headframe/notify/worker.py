"""The notifier: a daemon thread that delivers the outbox, in `headframe serve` and `headframe ingest`.

It runs in its own thread with its own database connection, so a channel that is down (an SMTP server that
times out, a webhook receiver that is gone) slows only this thread, never ingest or the alarm engine. Running
it in several processes at once is safe: deliveries are claimed (see services._claim)."""

from __future__ import annotations

import logging
import threading

from headframe.core.background import repeat_in_thread
from headframe.notify import services

log = logging.getLogger(__name__)

BATCH = 100


def notifier_round() -> int:
    """One round: deliver what is due (in batches until nothing is due); returns the attempts made."""
    total = 0
    while (attempted := services.notifications_deliver(limit=BATCH)) > 0:
        total += attempted
        if attempted < BATCH:
            break
    return total


def start_notifier(every_s: float = 2.0) -> threading.Event:
    """Run the delivery worker every `every_s` seconds — at once when this process enqueues a notification —
    in a daemon thread; set the returned event to stop it."""

    def round_() -> None:
        attempted = notifier_round()
        if attempted:
            log.info("notifier: %d delivery attempts", attempted)

    return repeat_in_thread(
        "notifier", every_s, round_, log, thread_name="headframe-notifier", wake=services.wake
    )
