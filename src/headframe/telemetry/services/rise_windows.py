"""The rate-of-rise look-back of the alarm engine: per sensor, the lowest value of its last rise window (e.g. CO
from spontaneous heating), kept in memory as a monotonic queue and read from the reading store once per process —
or, while the store answers only in part (VictoriaMetrics down), bounded from below by the SQL minute aggregates."""

from __future__ import annotations

import threading
import time
from collections import deque

from headframe.telemetry.models import STEP_MS, Step
from headframe.telemetry.storage import VictoriaMetricsReadingStore, reading_store
from headframe.telemetry.storage.victoria import LOCKED_READ_DEADLINE_S

INCOMPLETE_WINDOW_REREAD_S = 30.0


class _RiseWindows:
    """Per sensor, the lowest value of the last rate-of-rise window this process has seen, kept as a monotonic
    queue (values increasing from the oldest; a new value drops every older value that is not lower), so each
    reading costs O(1) and no query; a sensor's window is read once from storage when this process first
    evaluates it (read again every INCOMPLETE_WINDOW_REREAD_S while the store answers only in part, see `_window_before`).
    Several ingest processes each see a share of a sensor's readings: the lowest value each one
    sees is never below the true one, so a steady rise is still seen by the process that gets its readings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[int, deque] = {}
        self._incomplete_since: dict[int, float] = {}  # sensor id -> when its window was read in part

    @staticmethod
    def _push(window: deque, ts: int, value: float, window_ms: int) -> float:
        while window and window[-1][1] >= value:
            window.pop()
        window.append((ts, value))
        while window[0][0] < ts - window_ms:
            window.popleft()
        return window[0][1]

    def lowest(self, sid: int, window_ms: int, points: list[tuple[int, float]]) -> list[float]:
        """The lowest value in the window ending at each point (points in time order), points included."""
        with self._lock:
            window = self._windows.get(sid)
            read_at = self._incomplete_since.get(sid)
        if window is None or (
            read_at is not None and time.monotonic() - read_at > INCOMPLETE_WINDOW_REREAD_S
        ):
            first = points[0][0]
            window = deque()
            earlier, complete = _window_before(sid, first - window_ms, first)
            for ts, value in earlier:
                self._push(window, ts, value, window_ms)
            with self._lock:
                self._windows[sid] = window
                # An incomplete window (lower bounds from the minute aggregates) is already fail safe; it is read
                # again every few seconds until the store answers in full, not on every flush.
                if complete:
                    self._incomplete_since.pop(sid, None)
                else:
                    self._incomplete_since[sid] = time.monotonic()
        with self._lock:
            return [self._push(window, ts, value, window_ms) for ts, value in points]

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
            self._incomplete_since.clear()


rise_windows = _RiseWindows()


def _window_before(sid: int, start_ms: int, end_ms: int) -> tuple[list[tuple[int, float]], bool]:
    """A sensor's readings in [start, end) for its rate-of-rise window, and whether they are all there.

    When the raw store could not be read in full (VictoriaMetrics down: only the outbox answered), the window
    also gets the `min` of every 1-minute aggregate (kept in SQL) that overlaps it, placed at the last instant of
    its minute that is still inside the window: a lower bound of the missing readings that stays in the window as
    long as any of its minute does, so the rise is over-estimated rather than missed (fail safe)."""
    store = reading_store()
    if isinstance(store, VictoriaMetricsReadingStore):
        # Read under the ingest's sensor lock: a store that does not answer soon gets the minute lows instead.
        rows = store.read_raw(sid, start_ms, end_ms, 100_000, timeout=LOCKED_READ_DEADLINE_S)
    else:
        rows = store.read_raw(sid, start_ms, end_ms, 100_000)
    if getattr(rows, "complete", True):
        return list(rows), True
    minute = STEP_MS[Step.MINUTE]
    lows = [
        (min(bucket + minute, end_ms) - 1, low)
        for bucket, low, *_rest in store.read_aggregates(sid, Step.MINUTE, start_ms, end_ms)
    ]
    return sorted([*rows, *lows]), False
