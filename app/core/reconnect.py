"""The session's connection states and the one table of transitions between them.

Every change of :class:`State` goes through :meth:`StateMachine.fire`, which
looks the (state, trigger) pair up in :data:`TRANSITIONS`.  A pair that is not
in the table raises :class:`IllegalTransition` and changes nothing.  Each
change is logged as ``old -> new``.

::

    not_connected --connect--> connecting --welcome--> connected
    connecting --join_failed--> disconnected
    connected --link_lost--> reconnecting --resumed--> connected
    reconnecting --give_up--> disconnected          (window over, resume refused)
    connecting | connected | reconnecting --disconnect--> disconnecting --closed--> disconnected
    any live state --server_closed--> disconnected  (the server said ``closing``)
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class State(enum.Enum):
    NOT_CONNECTED = "not_connected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


class Trigger(enum.Enum):
    CONNECT = "connect"  # the application called connect()
    WELCOME = "welcome"  # the server accepted the join
    JOIN_FAILED = "join_failed"  # the server refused the join or could not be reached
    LINK_LOST = "link_lost"  # socket error or silence past the timeout
    RESUMED = "resumed"  # the server accepted the resume
    GIVE_UP = "give_up"  # window over, backoff exhausted, resume refused
    DISCONNECT = "disconnect"  # the application called disconnect()
    CLOSED = "closed"  # the transport is gone after a disconnect()
    SERVER_CLOSED = "server_closed"  # the server ended the connection for good


S, T = State, Trigger
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (S.NOT_CONNECTED, T.CONNECT): S.CONNECTING,
    (S.CONNECTING, T.WELCOME): S.CONNECTED,
    (S.CONNECTING, T.JOIN_FAILED): S.DISCONNECTED,
    (S.CONNECTING, T.DISCONNECT): S.DISCONNECTING,
    (S.CONNECTING, T.SERVER_CLOSED): S.DISCONNECTED,
    (S.CONNECTED, T.LINK_LOST): S.RECONNECTING,
    (S.CONNECTED, T.DISCONNECT): S.DISCONNECTING,
    (S.CONNECTED, T.SERVER_CLOSED): S.DISCONNECTED,
    (S.RECONNECTING, T.RESUMED): S.CONNECTED,
    (S.RECONNECTING, T.GIVE_UP): S.DISCONNECTED,
    (S.RECONNECTING, T.DISCONNECT): S.DISCONNECTING,
    (S.RECONNECTING, T.SERVER_CLOSED): S.DISCONNECTED,
    (S.DISCONNECTING, T.CLOSED): S.DISCONNECTED,
    (S.DISCONNECTING, T.SERVER_CLOSED): S.DISCONNECTED,
}
del S, T


class IllegalTransition(RuntimeError):
    def __init__(self, state: State, trigger: Trigger) -> None:
        super().__init__(f"no transition from {state.value} on {trigger.value}")
        self.state = state
        self.trigger = trigger


@dataclass(frozen=True)
class Transition:
    old: State
    trigger: Trigger
    new: State
    at: float


class StateMachine:
    """Holds the current state; the only place that changes it."""

    def __init__(self, name: str = "session") -> None:
        self.name = name
        self.state = State.NOT_CONNECTED
        self.history: list[Transition] = []

    def can(self, trigger: Trigger) -> bool:
        return (self.state, trigger) in TRANSITIONS

    def fire(self, trigger: Trigger, now: float) -> Transition:
        try:
            new = TRANSITIONS[(self.state, trigger)]
        except KeyError:
            raise IllegalTransition(self.state, trigger) from None
        change = Transition(self.state, trigger, new, now)
        logger.info("%s: %s -> %s (%s)", self.name, self.state.value, new.value, trigger.value)
        self.state = new
        self.history.append(change)
        return change
