"""The sans-I/O client against a message-level server, on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from app.core import events as ev
from app.core import protocol as p
from app.core.connection import ClientConnection
from app.core.errors import ErrorCode, TetherError
from app.core.reconnect import State
from tests.core.fakes import FakeServer, Net

FINE = dict(backoff=lambda: itertools.repeat(0.05))  # retry every 50 ms: exact boundaries


def _signals(peer):
    return [(e.type, e.data) for e in peer.events(ev.SignalReceived)]


def _results(peer):
    return [(e.request_id, e.status, e.code) for e in peer.events(ev.RequestDone)]


# --- joining ---------------------------------------------------------------------------


def test_join_reports_connected_then_everyone_already_there():
    net = Net()
    a = net.add("a")
    a_stream = a.conn.publish("cam", True, True, now=net.now)
    net.pump()
    b = net.add("b")
    assert b.conn.state is State.CONNECTED
    assert b.names() == ["Connected", "ConnectionCreated", "StreamReceived"]
    assert b.events(ev.StreamReceived)[0].stream.connection_id == a.conn.connection.id
    assert a.names() == ["Connected", "RequestDone", "ConnectionCreated"]
    done = a.events(ev.RequestDone)[0]
    assert (done.request_id, done.status) == (a_stream, "sent")
    assert list(a.conn.own_streams) == [done.stream_id]


def test_join_refused_is_connect_failed_not_retried():
    net = Net()
    peer = net.add("x", token="forged")
    assert peer.names() == ["ConnectFailed"]
    assert peer.events()[0].code == ErrorCode.AUTHORIZATION_FAILURE
    assert peer.conn.state is State.DISCONNECTED
    net.advance(60)
    assert peer.names() == ["ConnectFailed"]


def test_drop_while_connecting():
    net = Net()
    peer = net.add("x", connect=False)
    net.black_hole("x")
    peer.conn.connect(net.now)
    net.pump()
    net.advance(5)  # the socket never opens: each attempt times out, and is tried again
    assert peer.names() == []
    net.advance(6)  # past the 10 s connect deadline
    assert peer.names() == ["ConnectFailed"]
    assert peer.events()[0].code == ErrorCode.CONNECT_FAILED
    assert peer.conn.state is State.DISCONNECTED


def test_a_blink_during_connect_costs_only_the_blink():
    net = Net()
    peer = net.add("x", connect=False)
    net.black_hole("x")
    peer.conn.connect(net.now)
    net.pump()
    net.advance(2.5)
    net.restore("x")
    net.advance(3)
    assert peer.names()[:1] == ["Connected"]
    assert peer.conn.state is State.CONNECTED


def test_reset_after_socket_opened_but_before_welcome_is_tried_again_until_the_deadline():
    conn = ClientConnection("ok")
    conn.connect(0.0)
    (open_,) = conn.take_commands()
    conn.transport_opened(open_.transport_id, 0.1)
    assert isinstance(conn.take_commands()[0].message, p.Join)
    conn.transport_lost(open_.transport_id, 0.2, "reset")
    assert [type(e).__name__ for e in conn.take_events()] == ["StateChanged"]  # connecting
    assert conn.state is State.CONNECTING
    assert conn.get_timer() == pytest.approx(0.7)
    conn.handle_timer(0.7)
    (again,) = conn.take_commands()
    assert isinstance(again, ev.OpenTransport) and again.transport_id != open_.transport_id
    conn.transport_failed(again.transport_id, 9.8, "refused")  # no time left for another
    assert [type(e).__name__ for e in conn.take_events()] == ["StateChanged", "ConnectFailed"]
    assert conn.state is State.DISCONNECTED
    assert conn.get_timer() is None


def test_server_silent_after_join_times_out():
    net = Net()
    net.server.receive = lambda *a: None  # swallows the join
    peer = net.add("x", connect_timeout=10.0)
    net.advance(9.9)
    assert peer.names() == []
    net.advance(0.2)
    assert peer.names() == ["ConnectFailed"]


# --- losing the link -------------------------------------------------------------------


def test_drop_while_connected_reset_reconnects_at_once():
    net = Net()
    a, b = net.add("a"), net.add("b")
    net.advance(2)
    t_cut = net.now
    net.reset("a")
    assert a.names() == ["Connected", "ConnectionCreated", "ReconnectionStarted", "Reconnected"]
    started, back = a.events(ev.ReconnectionStarted, ev.Reconnected)
    assert started.window_deadline == t_cut + 30.0
    assert back.attempts == 1
    assert [t for t, e in a.history if isinstance(e, ev.Reconnected)] == [t_cut]
    assert b.names() == [
        "Connected",
        "ConnectionCreated",
        "ConnectionInterrupted",
        "ConnectionResumed",
    ]
    assert a.conn.connection.id in b.conn.connections


def test_black_hole_detected_after_silence_timeout_and_resumed_after_restore():
    net = Net()
    a, b = net.add("a"), net.add("b")
    b.conn.publish("cam", True, False, now=net.now)
    net.advance(2)
    net.black_hole("b")
    t0 = net.now
    net.advance(10)
    ((t_lost, started),) = [(t, e) for t, e in b.history if isinstance(e, ev.ReconnectionStarted)]
    # Last frame from the server came at most one ping interval before the black-hole.
    assert 2.0 <= t_lost - t0 <= 3.0 + 1e-9
    assert "no message" in started.reason
    # The server noticed too (5 s of silence) and told a, stream first-class.
    assert [type(e).__name__ for e in a.events()][-2:] == [
        "ConnectionInterrupted",
        "StreamInterrupted",
    ]
    net.restore("b")
    net.advance(3)
    assert b.names()[-2:] == ["ReconnectionStarted", "Reconnected"]
    assert [type(e).__name__ for e in a.events()][-2:] == ["ConnectionResumed", "StreamResumed"]
    assert b.conn.progress()["attempt"] == 0


@pytest.mark.parametrize(("outage", "comes_back"), [(29.9, True), (30.1, False)])
def test_restore_at_29_9_vs_30_1_of_a_30_s_window(outage, comes_back):
    net = Net(FakeServer(window=30.0))
    a, b = net.add("a", **FINE), net.add("b")
    net.advance(1)
    # A cut that refuses new connections: both ends start their window at the same
    # instant and every 50 ms attempt fails fast, so the boundary is exact on both sides.
    net.cut("a")
    t_lost = [t for t, e in a.history if isinstance(e, ev.ReconnectionStarted)][-1]
    assert t_lost == net.now
    net.run_until(t_lost + outage)
    net.restore("a")
    net.advance(5)
    tail = a.names()[2:]
    if comes_back:
        assert tail == ["ReconnectionStarted", "Reconnected"]
        assert a.conn.state is State.CONNECTED
        assert b.names()[-2:] == ["ConnectionInterrupted", "ConnectionResumed"]
    else:
        assert tail == ["ReconnectionStarted", "Disconnected"]
        (gone,) = a.events(ev.Disconnected)
        assert gone.reason == "network_disconnected"
        assert [t for t, e in a.history if isinstance(e, ev.Disconnected)] == [t_lost + 30.0]
        assert a.conn.get_timer() is None
        assert b.names()[-2:] == ["ConnectionInterrupted", "ConnectionDropped"]
        net.advance(60)
        assert a.names()[-1] == "Disconnected"  # no retry loop


def test_window_over_fails_pending_signals_then_disconnects_and_others_see_drop():
    net = Net(FakeServer(window=3.0))
    a, b = net.add("a"), net.add("b")
    a.conn.publish("cam", True, True, now=net.now)
    net.advance(1)
    net.black_hole("a")
    net.advance(4)  # lost after 3 s silence; window announced by the server is 3 s
    ids = [a.conn.send_signal("chat", str(i), now=net.now) for i in range(3)]
    assert a.conn.progress()["queued"] == 3
    net.advance(10)
    tail = a.events()[-4:]
    assert [type(e).__name__ for e in tail] == ["RequestDone"] * 3 + ["Disconnected"]
    assert [(e.request_id, e.status, e.code, e.message) for e in tail[:3]] == [
        (i, "failed", ErrorCode.SIGNAL_NOT_SENT, "network_disconnected") for i in ids
    ]
    assert tail[3] == ev.Disconnected("network_disconnected", None)
    assert b.names()[-4:] == [
        "ConnectionInterrupted",
        "StreamInterrupted",
        "StreamDropped",
        "ConnectionDropped",
    ]
    assert {e.reason for e in b.events(ev.StreamDropped, ev.ConnectionDropped)} == {
        "network_disconnected"
    }
    assert b.conn.connections == {} and b.conn.streams == {}


def test_resume_rejected_when_server_forgot():
    net = Net()
    a, _ = net.add("a"), net.add("b")
    net.advance(1)
    net.server.forget(a.conn.connection.id)
    net.reset("a")
    assert a.names()[-3:] == ["ReconnectionStarted", "ErrorReceived", "Disconnected"]
    assert a.events()[-1] == ev.Disconnected("resume_rejected", ErrorCode.RESUME_REJECTED)
    net.advance(60)
    assert a.names()[-1] == "Disconnected"


def test_closing_from_server_means_no_resume():
    net = Net()
    a = net.add("a")
    sock = ("a", next(iter(a.open)))
    net.server.out.append((sock, p.Closing(code=2000, reason="server_shutdown")))
    net.pump()
    net.cut("a")
    net.advance(60)
    assert a.names() == ["Connected", "Disconnected"]
    assert a.events()[-1] == ev.Disconnected("server_shutdown", 2000)


def test_flapping_every_second_for_a_minute_delivers_everything_once_in_order():
    net = Net()
    a, b = net.add("a"), net.add("b")
    sent = []
    for second in range(60):
        if second % 2 == 0:
            net.cut("a")
        else:
            net.restore("a")
        for tenth in range(10):
            rid = a.conn.send_signal("n", f"{second}.{tenth}", now=net.now)
            sent.append((rid, f"{second}.{tenth}"))
            net.advance(0.1)
    net.restore("a")
    net.advance(5)
    starts = a.names().count("ReconnectionStarted")
    assert starts >= 25
    assert a.names().count("Reconnected") == starts
    assert "Disconnected" not in a.names()
    assert [d for _, d in sent] == [d for t, d in _signals(b) if t == "n"]
    assert _signals(a) == _signals(b)  # the sender sees its own broadcast once too
    assert _results(a) == [(rid, "sent", None) for rid, _ in sent]
    # The server acted on each csq exactly once.
    assert [m.data for _, m in net.server.received] == [d for _, d in sent]


def _lost_at(peer):
    (t_lost,) = [t for t, e in peer.history if isinstance(e, ev.ReconnectionStarted)]
    return t_lost


def _black_holed_until(net, name, offset):
    """Black-hole ``name`` until ``offset`` s after it noticed; the most attempts open at once."""
    net.black_hole(name)
    net.advance(3.5)
    end = _lost_at(net.peers[name]) + offset
    most = 0
    while net.now < end:
        net.run_until(min(net.now + 0.05, end))
        most = max(most, net.opening(name))
    return most


def test_on_a_dead_link_attempts_overlap_and_a_returning_link_is_tried_at_once():
    # Every attempt waits out the driver's 1 s connect timeout on a black-holed link.
    # Another starts every 0.25 s beside it (four at once, each living 1 s), so the link
    # is tried four times a second, not once every 1 s timeout + 1 s wait.
    net = Net()
    a = net.add("a")
    net.advance(1)
    assert _black_holed_until(net, "a", 2.6) == 4
    t_lost = _lost_at(a)
    assert a.conn.progress()["attempt"] == 11  # started at +0, +0.25, ... +2.5
    assert a.conn.progress()["trying"] is True
    net.restore("a")
    net.run_until(t_lost + 2.75)  # the next one, a quarter second later, gets through
    assert a.conn.state is State.CONNECTED
    assert a.events(ev.Reconnected) == [ev.Reconnected(attempts=12, replay_count=0)]
    assert net.opening("a") == 0  # the attempts still opening were closed
    resumes = [m for _, m in net.server.received if isinstance(m, p.Resume)]
    assert len(resumes) <= 1  # the fake records requests of joined sockets only


def test_a_slow_link_is_not_given_up_on_the_first_socket_to_open_resumes():
    # A socket that takes 0.6 s to open (a long round trip) is not cut off by the
    # attempts beside it: it resumes, and those still opening are closed.
    net = Net()
    a, b = net.add("a"), net.add("b")
    net.advance(1)
    net.slow("a", open_after=0.6)
    net.reset("a")
    t_lost = _lost_at(a)
    assert t_lost == net.now
    net.run_until(t_lost + 0.6)
    assert a.conn.state is State.CONNECTED
    assert a.events(ev.Reconnected) == [ev.Reconnected(attempts=3, replay_count=0)]
    assert net.opening("a") == 0
    net.advance(5)
    assert a.conn.state is State.CONNECTED
    assert b.names()[-2:] == ["ConnectionInterrupted", "ConnectionResumed"]


def test_an_unreachable_network_is_tried_every_quarter_second_a_refusal_is_not():
    net = Net()
    a = net.add("a", backoff=lambda: itertools.chain([0, 0.25, 0.5], itertools.repeat(1.0)))
    net.advance(1)
    net.unreachable("a")  # no answer at all: retried a quarter second after each start
    t_lost = _lost_at(a)
    net.run_until(t_lost + 1.1)
    assert a.conn.progress()["attempt"] == 5  # +0, +0.25, +0.5, +0.75, +1.0
    net.cut("a")  # now the server's host answers "refused": the schedule's 1 s pace
    net.run_until(t_lost + 3.1)
    assert a.conn.progress()["attempt"] == 7  # +1.25 (refused), then +2.25
    net.restore("a")
    net.run_until(t_lost + 3.25)
    assert a.conn.state is State.CONNECTED


def test_attempts_at_once_have_a_ceiling():
    net = Net()
    a = net.add("a", max_dials=2)
    net.advance(1)
    assert _black_holed_until(net, "a", 2.9) == 2
    # Two at a time, each living 1 s: +0, +0.25, then +1, +1.25, +2, +2.25
    assert a.conn.progress()["attempt"] == 6


def test_a_finite_schedule_bounds_overlapping_attempts_too():
    net = Net()
    a = net.add("a", backoff=[0, 0, 0])
    net.advance(1)
    net.black_hole("a")
    net.advance(3.5)
    t_lost = _lost_at(a)
    assert net.opening("a") == 3
    net.run_until(t_lost + 1.0)  # all three time out together
    assert a.names()[-2:] == ["ReconnectionStarted", "Disconnected"]
    assert a.events(ev.Disconnected)[0].reason == "network_disconnected"
    assert a.conn.get_timer() is None


def test_flapping_during_attempts_uses_the_schedule():
    schedule = [0, 0.25, 0.5, 1.0, 1.0, 1.0]
    net = Net()
    a = net.add("a", backoff=schedule)
    net.advance(1)
    t0 = net.now
    net.cut("a")  # refused until restored
    assert a.conn.progress()["attempt"] == 1  # tried at once and failed
    assert a.conn.progress()["next_retry_at"] == pytest.approx(t0 + 0.25)
    net.advance(2)
    # attempts at +0, +0.25, +0.75, +1.75; the next is due at +2.75
    assert a.conn.progress()["attempt"] == 4
    assert a.conn.progress()["next_retry_at"] == pytest.approx(t0 + 2.75)
    net.restore("a")
    net.advance(0.5)
    assert a.conn.state is State.RECONNECTING
    net.advance(0.5)
    assert a.conn.state is State.CONNECTED
    assert a.events(ev.Reconnected) == [ev.Reconnected(attempts=5, replay_count=0)]


# --- signals across an outage ----------------------------------------------------------


def test_queued_signals_flushed_in_order_exactly_once():
    net = Net()
    a, b = net.add("a", **FINE), net.add("b")
    net.advance(1)
    net.black_hole("a")
    early = a.conn.send_signal("chat", "in-flight", now=net.now)  # swallowed by the hole
    net.advance(4)
    assert a.conn.state is State.RECONNECTING
    queued = [a.conn.send_signal("chat", f"q{i}", now=net.now) for i in range(5)]
    assert a.conn.progress()["queued"] == 5
    net.restore("a")
    net.advance(1)
    assert _signals(b) == [("chat", "in-flight")] + [("chat", f"q{i}") for i in range(5)]
    assert _results(a) == [(rid, "sent", None) for rid in [early, *queued]]
    net.advance(10)
    assert len(_signals(b)) == 6


def test_signals_others_sent_while_away_arrive_after_resume_once():
    net = Net()
    a, b = net.add("a", **FINE), net.add("b")
    net.advance(1)
    net.black_hole("a")
    for i in range(3):
        b.conn.send_signal("chat", f"b{i}", to=a.conn.connection.id, now=net.now)
        net.advance(2)
    net.restore("a")
    net.advance(2)
    names = a.names()
    assert names.index("Reconnected") < names.index("SignalReceived")
    assert _signals(a) == [("chat", "b0"), ("chat", "b1"), ("chat", "b2")]


def test_retry_after_reconnect_false_fails_at_once_and_is_never_sent():
    net = Net()
    a, b = net.add("a", **FINE), net.add("b")
    net.advance(1)
    net.black_hole("a")
    in_flight = a.conn.send_signal("chat", "lost", retry_after_reconnect=False, now=net.now)
    net.advance(4)
    rid = a.conn.send_signal("chat", "now-or-never", retry_after_reconnect=False, now=net.now)
    net.pump()
    assert _results(a) == [(rid, "failed", ErrorCode.NOT_CONNECTED)]
    net.restore("a")
    net.advance(2)
    assert _results(a) == [
        (rid, "failed", ErrorCode.NOT_CONNECTED),
        (in_flight, "failed", ErrorCode.NOT_CONNECTED),
    ]
    assert _signals(b) == []


def test_outbox_overflow_is_an_error_never_a_silent_drop():
    net = Net()
    a = net.add("a", max_pending=3)
    net.advance(1)
    net.black_hole("a")
    net.advance(4)
    for i in range(3):
        a.conn.send_signal("chat", str(i), now=net.now)
    with pytest.raises(TetherError) as err:
        a.conn.send_signal("chat", "3", now=net.now)
    assert err.value.code is ErrorCode.SIGNAL_QUEUE_FULL
    assert a.conn.progress()["queued"] == 3


def test_local_misuse_raises_at_once():
    net = Net()
    a = net.add("a", connect=False)
    with pytest.raises(TetherError) as err:
        a.conn.send_signal("chat", "x", now=net.now)
    assert err.value.code is ErrorCode.NOT_CONNECTED
    a.conn.connect(net.now)
    net.pump()
    for args, code in [
        (("bad type!", ""), ErrorCode.SIGNAL_INVALID_TYPE),
        (("t" * 129, ""), ErrorCode.SIGNAL_TYPE_TOO_LONG),
        (("t", "x" * 8193), ErrorCode.SIGNAL_DATA_TOO_LONG),
    ]:
        with pytest.raises(TetherError) as err:
            a.conn.send_signal(*args, now=net.now)
        assert err.value.code is code
    assert a.conn.outbox.next_csq == 1  # nothing numbered


def test_signal_to_unknown_connection_fails_with_server_code():
    net = Net()
    a = net.add("a")
    rid = a.conn.send_signal("chat", "x", to="nobody", now=net.now)
    net.pump()
    assert _results(a) == [(rid, "failed", ErrorCode.UNKNOWN_CONNECTION)]


# --- inbound -----------------------------------------------------------------------------


def test_duplicate_inbound_messages_are_dropped():
    conn = ClientConnection("ok")
    conn.connect(0.0)
    tid = conn.take_commands()[0].transport_id
    conn.transport_opened(tid, 0.0)
    me = p.ConnectionInfo(id="c1", data="", created_at=0, role="publisher")
    other = p.ConnectionInfo(id="c2", data="", created_at=0, role="publisher")
    conn.receive(tid, p.Welcome("ses_x1234567", me, "k", 30.0, 1.0, 5.0, [], []), 0.0)
    conn.take_events()
    msgs = [
        p.ConnectionCreated(connection=other, seq=1),
        p.SignalReceived(from_="c2", type="t", data="1", seq=2),
        p.SignalReceived(from_="c2", type="t", data="1", seq=2),
        p.ConnectionCreated(connection=other, seq=1),
        p.SignalReceived(from_="c2", type="t", data="2", seq=3),
    ]
    for m in msgs:
        conn.receive(tid, m, 0.5)
    assert conn.take_events() == [
        ev.ConnectionCreated(other),
        ev.SignalReceived("t", "1", "c2", None),
        ev.SignalReceived("t", "2", "c2", None),
    ]
    assert conn.last_seq == 3


def test_replay_of_seen_messages_is_not_delivered_twice():
    net = Net()
    a, b = net.add("a", **FINE), net.add("b")
    b.conn.send_signal("chat", "before", now=net.now)
    net.pump()
    # a never acked "before" (no ping yet), so the server replays it after the resume.
    net.reset("a")
    net.advance(2)
    assert _signals(a) == [("chat", "before")]
    assert net.peers["a"].conn.connection.id in b.conn.connections


# --- no ghosts ------------------------------------------------------------------------


def test_changes_while_away_are_reported_even_without_replay():
    server = FakeServer()
    net = Net(server)
    a, b = net.add("a", **FINE), net.add("b")
    b.conn.publish("cam", True, True, now=net.now)
    net.advance(1)
    net.black_hole("a")
    net.advance(4)
    net.cut("b")  # b goes away for good while a is away
    b.conn.disconnect(net.now)
    server._drop(next(c for c in server.held if c != a.conn.connection.id), "client_disconnected")
    c = net.add("c")
    c.conn.publish("screen", False, True, now=net.now)
    net.pump()
    server.forget_buffers = True  # the replay is lost; the resume lists must still tell
    net.restore("a")
    net.advance(2)
    after = a.events()[[type(e) for e in a.events()].index(ev.Reconnected) + 1 :]
    kinds = [(type(e).__name__, getattr(e, "reason", None)) for e in after]
    assert kinds == [
        ("StreamDropped", "network_disconnected"),
        ("ConnectionDropped", "network_disconnected"),
        ("ConnectionCreated", None),
        ("StreamReceived", None),
    ]
    assert set(a.conn.connections) == {c.conn.connection.id}
    assert [s.name for s in a.conn.streams.values()] == ["screen"]


# --- leaving ---------------------------------------------------------------------------


def test_disconnect_waits_for_acks_then_reports():
    net = Net()
    a, b = net.add("a"), net.add("b")
    rid = a.conn.send_signal("chat", "bye", now=net.now)
    a.conn.disconnect(net.now)
    net.pump()
    assert a.names() == ["Connected", "ConnectionCreated", "RequestDone", "Disconnected"]
    assert _results(a) == [(rid, "sent", None)]
    assert a.events()[-1] == ev.Disconnected("client_disconnected", None)
    assert b.names()[-2:] == ["SignalReceived", "ConnectionDropped"]
    a.conn.disconnect(net.now)  # idempotent
    assert a.conn.state is State.DISCONNECTED


def test_disconnect_while_reconnecting_fails_queue():
    net = Net()
    a = net.add("a")
    net.black_hole("a")
    net.advance(4)
    rid = a.conn.send_signal("chat", "x", now=net.now)
    a.conn.disconnect(net.now)
    net.pump()
    assert a.names()[-2:] == ["RequestDone", "Disconnected"]
    assert _results(a) == [(rid, "failed", ErrorCode.SIGNAL_NOT_SENT)]
    assert a.conn.get_timer() is None


def test_progress_while_reconnecting_and_retry_now():
    net = Net()
    a = net.add("a", backoff=[0, 5, 5, 5])
    net.advance(1)
    net.cut("a")
    net.pump()
    progress = a.conn.progress()
    assert progress["state"] == "reconnecting"
    assert progress["attempt"] == 1
    assert progress["trying"] is False  # refused at once; waiting for the next step
    assert progress["next_retry_at"] == pytest.approx(net.now + 5)
    assert progress["window_deadline"] == pytest.approx(net.now + 30)
    net.restore("a")
    assert a.conn.retry_now(net.now) is True
    net.pump()
    assert a.conn.state is State.CONNECTED
    assert a.conn.retry_now(net.now) is False


def test_who_is_away_at_join_and_after_resume_is_known():
    net = Net()
    a, b = net.add("a", **FINE), net.add("b")
    a.conn.publish("cam", True, True, now=net.now)
    net.advance(1)
    net.black_hole("a")
    net.advance(6)  # the server has noticed a is away
    c = net.add("c")
    assert c.conn.interrupted == {a.conn.connection.id}
    # b goes away while c is away too; without a replay, only the resume lists tell c.
    net.black_hole("c")
    net.advance(1)
    net.cut("b")
    net.advance(1)
    net.server.forget_buffers = True
    net.restore("c")
    net.advance(4)
    assert c.conn.state is State.CONNECTED
    assert c.conn.interrupted == {a.conn.connection.id, b.conn.connection.id}
    assert c.names()[-1] == "ConnectionInterrupted"


def _joined(window: float = 30.0):
    conn = ClientConnection("ok", backoff=[0, 100])
    conn.connect(0.0)
    tid = conn.take_commands()[0].transport_id
    conn.transport_opened(tid, 0.0)
    me = p.ConnectionInfo(id="c1", data="", created_at=0, role="publisher")
    conn.receive(tid, p.Welcome("ses_x1234567", me, "k1", window, 1.0, 5.0, [], []), 0.0)
    conn.take_commands()
    conn.take_events()
    return conn, tid


def test_a_resume_answered_after_the_window_is_ignored():
    conn, tid = _joined(window=10.0)
    conn.transport_lost(tid, 1.0, "reset")  # window ends at 11.0
    (open_,) = conn.take_commands()  # the lost socket needs no close
    assert isinstance(open_, ev.OpenTransport)
    conn.transport_opened(open_.transport_id, 2.0)
    assert isinstance(conn.take_commands()[0].message, p.Resume)
    assert conn.get_timer() == pytest.approx(5.0)  # 4 s after the attempt began
    conn.handle_timer(5.0)  # no answer: the attempt is abandoned; the next is after the window
    assert conn.progress()["next_retry_at"] is None
    assert conn.get_timer() == 11.0
    conn.handle_timer(11.0)
    late = p.Resumed("k2", 0, 1, 0, [], [])
    conn.receive(open_.transport_id, late, 11.5)  # a stale socket: ignored
    names = [type(e).__name__ for e in conn.take_events() if not isinstance(e, ev.StateChanged)]
    assert names == ["ReconnectionStarted", "Disconnected"]
    assert conn.state is State.DISCONNECTED


def test_a_resume_answered_just_inside_the_window_wins():
    conn, tid = _joined(window=10.0)
    conn.transport_lost(tid, 1.0, "reset")
    open_ = conn.take_commands()[-1]
    conn.transport_opened(open_.transport_id, 10.5)
    conn.receive(open_.transport_id, p.Resumed("k2", 0, 1, 0, [], []), 10.999)
    conn.handle_timer(11.0)
    names = [type(e).__name__ for e in conn.take_events() if not isinstance(e, ev.StateChanged)]
    assert names == ["ReconnectionStarted", "Reconnected"]
    assert conn.state is State.CONNECTED
