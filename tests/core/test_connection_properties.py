"""Random outages against the message-level server: the exactly-once promise holds.

Whatever the sequence of resets, black-holes and restores, every signal is either
delivered to the other participant exactly once, in send order relative to the other
delivered ones, with the sender told ``sent`` — or the sender is told ``failed``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import events as ev
from app.core.errors import TetherError
from app.core.reconnect import State
from tests.core.fakes import FakeServer, Net

steps = st.lists(
    st.tuples(
        st.sampled_from(["send", "send_no_retry", "cut", "reset", "black_hole", "restore"]),
        st.floats(min_value=0.0, max_value=6.0),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, window=st.sampled_from([3.0, 10.0, 30.0]))
def test_every_signal_is_delivered_once_in_order_or_reported_failed(steps, window):
    net = Net(FakeServer(window=window, heartbeat_timeout=5.0))
    a, b = net.add("a"), net.add("b")
    sent: dict[int, str] = {}
    for n, (action, dt) in enumerate(steps):
        if action.startswith("send"):
            try:
                rid = a.conn.send_signal(
                    "n", str(n), retry_after_reconnect=action == "send", now=net.now
                )
            except TetherError:
                pass  # not connected any more: refused at once, nothing to track
            else:
                sent[rid] = str(n)
            net.pump()
        elif action == "cut":
            net.cut("a")
        elif action == "reset":
            net.reset("a")
        elif action == "black_hole":
            net.black_hole("a")
        else:
            net.restore("a")
        net.advance(dt)
    net.restore("a")
    net.advance(window + 40)

    outcomes = {e.request_id: e for e in a.events(ev.RequestDone)}
    assert set(outcomes) == set(sent), "every signal gets exactly one outcome"
    assert len(a.events(ev.RequestDone)) == len(outcomes)
    received = [e.data for e in b.events(ev.SignalReceived) if e.from_id == "c1"]
    assert len(received) == len(set(received)), "nothing delivered twice"
    delivered_ok = [sent[rid] for rid in sorted(sent) if outcomes[rid].status == "sent"]
    assert received == delivered_ok, "delivered = acknowledged, in send order"
    assert a.conn.state in (State.CONNECTED, State.DISCONNECTED)
    if a.conn.state is State.DISCONNECTED:
        # Only the window can end it here; the link is back, so nothing may linger after.
        assert a.events()[-1] in (
            ev.Disconnected("network_disconnected", None),
            ev.Disconnected("resume_rejected", 1012),
        )
        assert a.conn.get_timer() is None
