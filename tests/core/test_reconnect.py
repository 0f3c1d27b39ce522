import logging

import pytest

from app.core.reconnect import TRANSITIONS, IllegalTransition, State, StateMachine, Trigger


def test_happy_path_and_log(caplog):
    sm = StateMachine("alice")
    with caplog.at_level(logging.INFO, logger="app.core.reconnect"):
        for trigger in (Trigger.CONNECT, Trigger.WELCOME, Trigger.LINK_LOST, Trigger.RESUMED):
            sm.fire(trigger, now=1.0)
    assert sm.state is State.CONNECTED
    assert [(t.old, t.new) for t in sm.history] == [
        (State.NOT_CONNECTED, State.CONNECTING),
        (State.CONNECTING, State.CONNECTED),
        (State.CONNECTED, State.RECONNECTING),
        (State.RECONNECTING, State.CONNECTED),
    ]
    assert "alice: connected -> reconnecting (link_lost)" in caplog.text


@pytest.mark.parametrize("state", list(State))
def test_every_illegal_pair_raises_and_changes_nothing(state):
    for trigger in Trigger:
        if (state, trigger) in TRANSITIONS:
            continue
        sm = StateMachine()
        sm.state = state
        with pytest.raises(IllegalTransition):
            sm.fire(trigger, now=0.0)
        assert sm.state is state
        assert sm.history == []


def test_disconnected_is_terminal():
    assert not [pair for pair in TRANSITIONS if pair[0] is State.DISCONNECTED]
