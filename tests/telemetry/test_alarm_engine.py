"""The ISA-18.2 state machine: hand-written cases plus hypothesis properties over random sequences."""

from hypothesis import given, settings
from hypothesis import strategies as st

from headframe.telemetry import engine
from headframe.telemetry.engine import ConditionState, LimitRule

WARN = LimitRule(direction="high", threshold=0.8, deadband=0.05, on_delay_ms=10_000, off_delay_ms=5_000)
TRIP = LimitRule(direction="high", threshold=1.0, deadband=0.05, latching=True)
O2_LOW = LimitRule(direction="low", threshold=20.0, deadband=0.1)


def run(rule, points, state=None):
    state = state or ConditionState()
    events = [engine.evaluate(state, rule, ts, v) for ts, v in points]
    return state, [e for e in events if e]


def test_on_delay_needs_the_limit_exceeded_for_the_whole_delay():
    state, events = run(WARN, [(0, 0.9), (5_000, 0.9), (9_999, 0.9)])
    assert events == [] and not state.active
    state, events = run(WARN, [(10_000, 0.9)], state)
    assert events == ["raised"] and state.active and not state.acked


def test_a_dip_below_the_limit_restarts_the_on_delay():
    state, events = run(WARN, [(0, 0.9), (6_000, 0.7), (12_000, 0.9), (21_000, 0.9)])
    assert events == [] and state.pending_since == 12_000


def test_deadband_keeps_a_value_hovering_at_the_limit_from_chattering():
    rule = LimitRule(direction="high", threshold=0.8, deadband=0.05)
    _state, events = run(rule, [(0, 0.81), (1, 0.78), (2, 0.81), (3, 0.77), (4, 0.74)])
    assert events == ["raised", "returned"]  # 0.78 and 0.77 are inside the deadband; 0.74 clears


def test_return_unacked_then_ack_closes():
    state, events = run(O2_LOW, [(0, 19.5), (1, 20.5)])
    assert events == ["raised", "returned"]
    assert (
        engine.display_state(state, shelved=False, suppressed=False, out_of_service=False)
        == "returned_unacked"
    )
    assert engine.acknowledge(state) == "closed" and not state.has_open_alarm


def test_ack_while_active_then_return_closes_by_itself():
    state, _ = run(O2_LOW, [(0, 19.5)])
    assert engine.acknowledge(state) == "acked"
    assert engine.acknowledge(state) is None  # a second ack changes nothing
    _, events = run(O2_LOW, [(1, 20.5)], state)
    assert events == ["closed"]


def test_latching_trip_stays_active_until_reset():
    state, events = run(TRIP, [(0, 1.2), (1, 0.5), (2, 0.4)])
    assert events == ["raised", "latched"] and state.active and state.latched
    assert engine.display_state(state, shelved=False, suppressed=False, out_of_service=False) == "latched"
    assert engine.reset(state) == "reset" and not state.active  # still unacked: the operator must ack
    assert engine.acknowledge(state) == "closed"


def test_a_latched_trip_that_exceeds_again_is_no_longer_resettable():
    state, _ = run(TRIP, [(0, 1.2), (1, 0.5), (2, 1.3)])
    assert state.active and not state.latched
    assert engine.reset(state) is None


def test_active_again_before_the_ack_is_the_same_occurrence():
    state, events = run(O2_LOW, [(0, 19.5), (1, 20.5), (2, 19.0)])
    assert events == ["raised", "returned", "reactivated"]
    assert state.active and not state.acked


def test_readings_at_or_before_the_last_one_are_ignored():
    state, events = run(O2_LOW, [(10, 19.0), (10, 19.0), (5, 21.0)])
    assert events == ["raised"] and state.active


rules = st.sampled_from(
    [WARN, TRIP, O2_LOW, LimitRule(direction="low", threshold=0.25, on_delay_ms=3, off_delay_ms=2)]
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("reading"), st.integers(0, 40), st.floats(0, 25, allow_nan=False)),
        st.tuples(st.just("ack"), st.just(0), st.just(0.0)),
        st.tuples(st.just("reset"), st.just(0), st.just(0.0)),
        st.tuples(st.just("late"), st.just(0), st.just(0.0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(rule=rules, steps=actions)
def test_random_sequences_never_reach_an_impossible_state_nor_open_two_alarms(rule, steps):
    state = ConditionState()
    open_alarms = 0
    ts = 0
    for kind, dt_ms, value in steps:
        if kind == "reading":
            ts += dt_ms
            event = engine.evaluate(state, rule, ts, value)
        elif kind == "ack":
            event = engine.acknowledge(state)
        elif kind == "reset":
            event = engine.reset(state)
        else:
            event = engine.late_excursion(state)
            if event is not None:  # a late excursion opens an occurrence that is already over
                assert open_alarms == 0, "a late excursion on a condition with an open alarm"
                open_alarms = 1
        if event == "raised":
            assert open_alarms == 0, "a second alarm for one condition"
            open_alarms = 1
        if event == "reactivated":
            assert open_alarms == 1, "reactivated an occurrence that was not open"
        if event == "closed":
            open_alarms = 0
        state.check()
        assert open_alarms == (1 if state.has_open_alarm else 0)
        shown = engine.display_state(state, shelved=False, suppressed=False, out_of_service=False)
        assert shown in {"normal", "active_unacked", "active_acked", "returned_unacked", "latched"}
