"""The ISA-18.2 alarm state machine for one condition, as pure functions (no database, no clock).

Persistence, locking and the journal live in telemetry.services; this module only decides transitions, so the
hypothesis tests can drive it with any sequence of readings and operator actions.

Per condition the state is (active, acked, latched) plus the running on-/off-delay timers:

    normal ──exceeded ≥ on-delay──▶ active_unacked ──ack──▶ active_acked
      ▲                                 │                        │
      │                       cleared ≥ off-delay      cleared ≥ off-delay
      │                                 ▼                        │
      └──────────ack──────────── returned_unacked                │
      └──────────────────────────────────────────────────────────┘

A latching (trip) limit does not return by itself: once the value has cleared it is `latched` and stays active
until an operator resets it. A new excursion beyond the trip while latched and acknowledged is a new event: it
re-annunciates (a new unacknowledged occurrence), it is never swallowed by the old one. Shelving, suppression and
out-of-service change what is annunciated, not this state.
"""

from __future__ import annotations

from dataclasses import dataclass

RAISED = "raised"
REANNUNCIATED = "reannunciated"  # latched and acknowledged, then beyond the trip again: a new occurrence
REACTIVATED = "reactivated"  # active again before the returned occurrence was acknowledged: same occurrence
RETURNED = "returned"
LATCHED = "latched"
ACKED = "acked"
RESET = "reset"
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class LimitRule:
    direction: str  # "high" | "low" | "rise" (the value given is then the rise over window_ms)
    threshold: float
    deadband: float = 0.0
    on_delay_ms: int = 0
    off_delay_ms: int = 0
    latching: bool = False
    window_ms: int = 0

    def exceeded(self, value: float) -> bool:
        return value <= self.threshold if self.direction == "low" else value >= self.threshold

    def cleared(self, value: float) -> bool:
        """Back inside the limit by more than the deadband (hysteresis against chatter)."""
        if self.direction != "low":
            return value < self.threshold - self.deadband
        return value > self.threshold + self.deadband


@dataclass(slots=True)
class ConditionState:
    active: bool = False
    acked: bool = True
    latched: bool = False
    pending_since: int | None = None
    clearing_since: int | None = None
    last_eval_ts: int | None = None
    last_value: float | None = None

    @property
    def has_open_alarm(self) -> bool:
        """An occurrence stays open until it is both inactive and acknowledged."""
        return self.active or not self.acked

    def check(self) -> None:
        """The invariants the state machine guarantees (used by tests)."""
        assert not (self.latched and not self.active), "latched implies active"
        assert not (self.active and self.pending_since is not None), "on-delay runs only while inactive"
        assert not (not self.active and self.clearing_since is not None), "off-delay runs only while active"


def evaluate(state: ConditionState, rule: LimitRule, ts: int, value: float) -> str | None:
    """Apply one reading (in time order). Returns the transition it caused, if any.

    Readings at or before the last evaluated time are ignored: a re-sent or out-of-order reading never raises
    a second alarm nor moves the state back in time.
    """
    if state.last_eval_ts is not None and ts <= state.last_eval_ts:
        return None
    state.last_eval_ts = ts
    state.last_value = value
    if not state.active:
        if not rule.exceeded(value):
            state.pending_since = None
            return None
        if state.pending_since is None:
            state.pending_since = ts
        if ts - state.pending_since < rule.on_delay_ms:
            return None
        reopened = not state.acked
        state.active, state.acked, state.latched = True, False, False
        state.pending_since = state.clearing_since = None
        return REACTIVATED if reopened else RAISED
    # active
    if not rule.cleared(value):
        state.clearing_since = None
        if state.latched and rule.exceeded(value):
            state.latched = False  # back over the trip level: no longer resettable
            if state.acked:  # the operator saw the first excursion, not this one: annunciate it again
                state.acked = False
                return REANNUNCIATED
        return None
    if state.latched:
        return None
    if state.clearing_since is None:
        state.clearing_since = ts
    if ts - state.clearing_since < rule.off_delay_ms:
        return None
    state.clearing_since = None
    if rule.latching:
        state.latched = True
        return LATCHED
    state.active = False
    return CLOSED if state.acked else RETURNED


def late_excursion(state: ConditionState) -> str | None:
    """A value beyond the limit that arrived late (after newer readings): the excursion is over, but it must be
    acknowledged. Only an idle condition takes it; live state and timers are untouched."""
    if state.active or not state.acked:
        return None
    state.acked = False
    return RETURNED


def acknowledge(state: ConditionState) -> str | None:
    """Operator ack. Returns "acked" (still active), "closed" (it had returned) or None (nothing to ack)."""
    if state.acked:
        return None
    state.acked = True
    return ACKED if state.active else CLOSED


def reset(state: ConditionState) -> str | None:
    """Reset a latched trip once the value is back to normal. Unacked, it stays to be acknowledged."""
    if not state.latched:
        return None
    state.active = state.latched = False
    state.clearing_since = None
    return CLOSED if state.acked else RESET


def force_active(state: ConditionState, ts: int) -> str | None:
    """Raise a condition that has no value (stale data, gateway death) — no delay, fail safe."""
    if state.active:
        return None
    reopened = not state.acked
    state.active, state.acked, state.latched = True, False, False
    state.pending_since = state.clearing_since = None
    state.last_eval_ts = max(ts, state.last_eval_ts or ts)
    return REACTIVATED if reopened else RAISED


def force_clear(state: ConditionState) -> str | None:
    """Fresh data came back: clear a stale condition."""
    if not state.active:
        return None
    state.active = state.latched = False
    state.clearing_since = None
    return CLOSED if state.acked else RETURNED


def display_state(state: ConditionState, *, shelved: bool, suppressed: bool, out_of_service: bool) -> str:
    """The ISA-18.2 state shown to an operator (see models.AlarmState)."""
    if out_of_service:
        return "out_of_service"
    if shelved:
        return "shelved"
    if suppressed:
        return "suppressed"
    if state.active and state.latched:
        return "latched"
    if state.active:
        return "active_acked" if state.acked else "active_unacked"
    if not state.acked:
        return "returned_unacked"
    return "normal"
