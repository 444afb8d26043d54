"""The rounds of the background threads (watchdog, notifier, page warmer): a failing round never ends the thread,
and a wake event starts a round before its time."""

from __future__ import annotations

import logging
import threading

from headframe.core.background import repeat_in_thread

log = logging.getLogger(__name__)


def test_a_round_that_fails_is_followed_by_the_next():
    rounds: list[int] = []
    second = threading.Event()

    def work() -> None:
        rounds.append(1)
        if len(rounds) == 1:
            raise ValueError("the first round breaks")
        second.set()

    stop = repeat_in_thread("test", 0.01, work, log, thread_name="test-rounds", at_once=True)
    try:
        assert second.wait(10)
    finally:
        stop.set()
    assert len(rounds) >= 2


def test_a_wake_starts_a_round_long_before_its_time():
    wake, ran = threading.Event(), threading.Event()
    stop = repeat_in_thread("test", 3600, ran.set, log, thread_name="test-wake", wake=wake)
    try:
        assert not ran.is_set()  # not at once: the first round waits for its time or a wake
        wake.set()
        assert ran.wait(10)
    finally:
        stop.set()
        wake.set()
