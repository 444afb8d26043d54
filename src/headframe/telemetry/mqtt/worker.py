"""The ingest worker: the message queue and the thread that stores (one transaction per step) and acknowledges."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable

from django.db import DatabaseError, connection, connections

from headframe.telemetry import services
from headframe.telemetry.models import Sensor
from headframe.telemetry.mqtt._common import (
    BYTES_PER_READING,
    DATABASE_ERROR_ATTEMPTS,
    RETRYABLE,
    Incoming,
    Options,
    Stats,
    _Death,
    _Ingest,
    _one_line,
    _printable,
    _Quarantine,
    log,
)
from headframe.telemetry.mqtt.decoding import DecodingMixin
from headframe.telemetry.mqtt.network import NetworkMixin
from headframe.telemetry.sparkplug import SparkplugDecoder
from headframe.telemetry.storage import ensure_shipper
from headframe.telemetry.watchdog import watchdog_tick


class IngestWorker(NetworkMixin, DecodingMixin):
    """The MQTT client, the message queue and the worker that stores and acknowledges.

    `run()` is the worker thread's loop; tests drive `pump()` from their own thread instead."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.queue: queue.Queue[Incoming] = queue.Queue()
        # Messages that may raise an alarm, taken before the bulk queue when ingest is behind (the fast path).
        self.urgent: queue.Queue[Incoming] = queue.Queue()
        # Bytes of messages per flush: what the recent flushes stored in flush_target_ms, so that an alarm
        # candidate waits for one short flush however busy the machine is (~60 bytes of JSON per reading).
        self._flush_bytes = options.max_batch_readings * BYTES_PER_READING
        self.stats = Stats()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.stopping = threading.Event()
        self._generation = 0
        self._link = threading.Lock()  # orders acknowledgements against (re)connections
        self._live_generation: int | None = None  # None while disconnected
        self._pending_subscribe: set[int] = set()
        self._gateways: dict[str, str] = {}  # code -> site code
        self._nodes: dict[tuple[str, str], str] = {}  # (sparkplug group, node) -> gateway code
        self._gateways_at = 0.0
        self._gateway_miss_at = 0.0
        self._rebirth_asked: dict[tuple[str, str], float] = {}
        self.decoder = SparkplugDecoder(self._gateway_for_node)
        self.client = self._make_client()

    # ------------------------------------------------------------------ worker thread

    def collect(self, timeout: float) -> list[Incoming]:
        """Up to max_batch messages (and about max_batch_readings readings): alarm candidates first, alone and
        at once; else wait `timeout` for the first, then at most max_wait_ms for the rest."""
        urgent = self._drain(self.urgent)
        if urgent:
            return urgent
        try:
            first = self.queue.get(timeout=timeout) if timeout > 0 else self.queue.get_nowait()
        except queue.Empty:
            return self._drain(self.urgent)
        messages = [first]
        budget = self._flush_bytes
        size = len(first.payload)
        deadline = time.monotonic() + self.options.max_wait_ms / 1000
        while len(messages) < self.options.max_batch and size < budget and self.urgent.empty():
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    message = self.queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if self._after_urgent(message):
                self.urgent.put(
                    message
                )  # it came after an alarm candidate of its gateway: it stays behind it
                break
            messages.append(message)
            size += len(message.payload)
        return messages

    def _after_urgent(self, message: Incoming) -> bool:
        """An alarm candidate of this message's gateway jumped the queue while we were taking this message."""
        if self.urgent.empty():
            return False
        with self.urgent.mutex:
            return any(waiting.topic == message.topic for waiting in self.urgent.queue)

    def _adapt(self, size: int, seconds: float) -> None:
        """Move the flush size towards what this flush's speed stores in flush_target_ms (smoothed)."""
        o = self.options
        if seconds <= 0 or size < BYTES_PER_READING * 100:
            return  # too small to say anything about the speed
        wanted = size / seconds * o.flush_target_ms / 1000
        ceiling = o.max_batch_readings * BYTES_PER_READING
        smoothed = 0.7 * self._flush_bytes + 0.3 * wanted
        self._flush_bytes = int(min(ceiling, max(BYTES_PER_READING * 500, smoothed)))

    def _drain(self, source: queue.Queue) -> list[Incoming]:
        messages: list[Incoming] = []
        while len(messages) < self.options.max_batch:
            try:
                messages.append(source.get_nowait())
            except queue.Empty:
                break
        return messages

    def process(self, messages: list[Incoming]) -> bool:
        """Store the messages, then acknowledge them. False (nothing acknowledged) if stopped while the
        database was unavailable: the broker delivers them again later."""
        started = time.perf_counter()
        steps = self._with_retry(lambda: self._plan(messages))
        if steps is None:
            return False
        index = 0
        backoff = self.options.retry_first_s
        while index < len(steps):
            step = steps[index]
            try:
                self._execute(step)
                index += 1
                backoff = self.options.retry_first_s
            except RETRYABLE as exc:
                if not self._wait_for_database(exc, backoff):
                    return False
                backoff = min(backoff * 2, self.options.retry_max_s)
            except Exception as exc:  # a message that breaks ingest must not stop the others
                steps[index : index + 1] = self._isolate(step, exc)
        self._adapt(sum(len(m.payload) for m in messages), time.perf_counter() - started)
        if self.options.ack_delay_ms:
            time.sleep(self.options.ack_delay_ms / 1000)
        self._ack(messages)
        self.stats.add(messages=len(messages), flushes=1)
        return True

    def pump(self, until: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Process messages in the calling thread until `until()` is true (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.collect(0.05)
            if messages:
                self.process(messages)
            if until():
                return True
        return until()

    def run(self) -> None:
        """The worker thread: store and acknowledge until stopped, then drain what was received."""
        o = self.options
        next_log = time.monotonic() + o.log_every_s
        # The watchdog (stale data, lost gateways, expiries, escalation) runs beside the worker, never in it: a
        # flood of no-data alarms must not hold up the readings, and the alarms, queued behind it.
        threading.Thread(target=self._maintenance_loop, name="ingest-watchdog", daemon=True).start()
        try:
            while not self.stopping.is_set():
                messages = self.collect(0.25)
                if messages and not self.process(messages):
                    break
                now = time.monotonic()
                if now >= next_log:
                    log.info("ingest: %s", self.stats.line(self.queue.qsize()))
                    next_log = now + o.log_every_s
            else:
                while messages := self.collect(0):  # what already arrived is stored and acknowledged
                    if not self.process(messages):
                        break
            log.info("ingest stopped: %s", self.stats.line(self.queue.qsize()))
        finally:
            connections.close_all()

    # ------------------------------------------------------------------ executing: one transaction per step

    def _execute(self, step) -> None:
        if isinstance(step, _Ingest):
            results = services.ingest([batch for batch, _ in step.items])
            self.stats.add(
                stored=sum(r.stored for r in results),
                duplicates=sum(r.duplicates for r in results),
                quarantined=sum(sum(r.quarantined.values()) for r in results),
            )
        elif isinstance(step, _Quarantine):
            services.quarantine_message(
                gateway_code=step.gateway_code,
                detail=step.detail,
                raw=_printable(step.message),
                channel=step.channel,
            )
            self.stats.add(malformed=1)
            log.info("quarantined a message on %s: %s", step.message.topic, step.detail)
        elif isinstance(step, _Death):
            death = step.death
            if death.device:
                prefix = f"{death.device}/"
                sensor_ids = list(
                    Sensor.objects.filter(
                        gateway__code=death.gateway_code, sparkplug_metric__startswith=prefix
                    ).values_list("id", flat=True)
                )
                raised = services.sensors_offline(gateway_code=death.gateway_code, sensor_ids=sensor_ids)
                log.warning("device %s of %s died: %d stale alarms", death.device, death.gateway_code, raised)
            else:
                raised = services.gateway_death(gateway_code=death.gateway_code)
                log.warning("gateway %s died: %d stale alarms", death.gateway_code, raised)

    def _isolate(self, step, exc: Exception) -> list:
        """Ingest refused a step with an unexpected error: retry its messages one by one; a single message
        that still fails is quarantined with the error, so one bad message never blocks the stream."""
        if isinstance(step, _Ingest) and len(step.items) > 1:
            log.warning("a flush failed (%r): storing its %d messages one by one", exc, len(step.items))
            return [_Ingest(step.channel, [item]) for item in step.items]
        if isinstance(step, _Ingest):
            batch, message = step.items[0]
            if isinstance(exc, DatabaseError) and step.attempts < DATABASE_ERROR_ATTEMPTS:
                # A constraint, a schema not yet migrated during a deploy...: not the message's fault.
                # Retry it (unacknowledged) before giving up on it; readings are never dropped lightly.
                self._wait_for_database(exc, self.options.retry_first_s * 2**step.attempts)
                return [_Ingest(step.channel, step.items, attempts=step.attempts + 1)]
            log.exception("message on %s could not be stored: quarantined whole, to replay", message.topic)
            return [_Quarantine(batch.gateway_code, f"ingest failed: {exc!r}", message, step.channel)]
        if isinstance(step, _Death):
            log.exception("handling the death of %s failed", step.death.gateway_code)
            return []
        raise exc  # quarantining itself failed for a reason other than the database: a bug, stop loudly

    def _with_retry(self, work: Callable):
        backoff = self.options.retry_first_s
        while True:
            try:
                return work()
            except RETRYABLE as exc:
                if not self._wait_for_database(exc, backoff):
                    return None
                backoff = min(backoff * 2, self.options.retry_max_s)

    def _wait_for_database(self, exc: Exception, backoff: float) -> bool:
        self.stats.add(db_retries=1)
        log.warning(
            "database unavailable (%s); nothing acknowledged, retrying in %.1f s", _one_line(exc), backoff
        )
        if not connection.in_atomic_block:
            with contextlib.suppress(Exception):
                connection.close()  # reconnect on the next query
        return not self.stopping.wait(backoff)

    def _ack(self, messages: list[Incoming]) -> None:
        with self._link:
            live = self._live_generation
            if live is None:
                return  # disconnected: the broker delivers them again on the next connection
            for message in messages:
                if message.qos and message.generation == live:
                    # A message from an earlier connection is not acknowledged on this one (its packet id may
                    # name another message now): the broker delivers it again and ingest sees a duplicate.
                    self.client.ack(message.mid, message.qos)

    def _maintenance_loop(self) -> None:
        try:
            while not self.stopping.wait(self.options.scan_every_s):
                self._maintenance()
        finally:
            connections.close_all()

    def _maintenance(self) -> None:
        ensure_shipper()  # raw readings to VictoriaMetrics when configured (restarted here should it die)
        try:
            raised, expired = watchdog_tick()
        except RETRYABLE as exc:
            log.warning("stale scan skipped: database unavailable (%s)", _one_line(exc))
            if not connection.in_atomic_block:
                connection.close()
            return
        except Exception:
            log.exception("stale scan failed")
            return
        if raised or expired:
            log.info("stale scan: %d no-data alarms raised, %d shelvings expired", raised, expired)
