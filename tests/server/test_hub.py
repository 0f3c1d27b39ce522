"""The hub's rules, with a hand-moved clock and no sockets."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from app.core import protocol as p
from app.core.errors import ErrorCode
from app.core.tokens import make_token, new_session_id
from app.server.hub import Close, Hub, Send

SECRET = "s3cret-for-tests-only-0123456789abcdef"
T0 = 1_800_000_000.0


class Net:
    """Sockets as the driver would see them: records every frame and close."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.ids = itertools.count(1)
        self.inbox: dict[int, list[p.ServerMessage]] = {}
        self.closed: dict[int, tuple[int, str]] = {}

    def open(self, now: float) -> int:
        link = next(self.ids)
        self.inbox[link] = []
        self.hub.link_opened(link, now)
        self.pump()
        return link

    def send(self, link: int, message: p._Msg | bytes, now: float) -> None:
        data = message if isinstance(message, bytes) else p.encode(message)
        self.hub.receive(link, data, now)
        self.pump()

    def drop(self, link: int, now: float) -> None:
        self.hub.link_closed(link, now)
        self.pump()

    def tick(self, now: float) -> None:
        self.hub.handle_timer(now)
        self.pump()

    def pump(self) -> None:
        for action in self.hub.actions():
            if isinstance(action, Send):
                self.inbox[action.link].append(p.decode_server(action.data))
            elif isinstance(action, Close):
                self.closed[action.link] = (action.code, action.reason)

    def take(self, link: int) -> list[p.ServerMessage]:
        out, self.inbox[link] = self.inbox[link], []
        return out


@pytest.fixture
def hub() -> Hub:
    counter = itertools.count(1)
    return Hub(
        SECRET,
        reconnection_window=30.0,
        heartbeat_timeout=5.0,
        new_id=lambda prefix: f"{prefix}{next(counter)}",
    )


@pytest.fixture
def net(hub: Hub) -> Net:
    return Net(hub)


SESSION = new_session_id()


def token(
    data: str = "",
    role: str = "publisher",
    session: str = SESSION,
    now: float = T0,
    ttl: float = 3600,
) -> str:
    return make_token(SECRET, session, now=now, role=role, data=data, ttl=ttl)


def join(net: Net, data: str, now: float = T0, tok: str | None = None) -> tuple[int, p.Welcome]:
    link = net.open(now)
    net.send(link, p.Join(token=tok or token(data)), now)
    welcome = net.take(link)[0]
    assert isinstance(welcome, p.Welcome), welcome
    return link, welcome


def ops(messages: list[p.ServerMessage]) -> list[str]:
    return [type(m).__name__ for m in messages]


def test_join_tells_others_and_lists_existing(net: Net) -> None:
    a, wa = join(net, "alice")
    b, wb = join(net, "bob")
    assert wa.connections == [] and wa.connection.data == "alice"
    assert [c.data for c in wb.connections] == ["alice"]
    created = net.take(a)
    assert ops(created) == ["ConnectionCreated"]
    assert created[0].connection == wb.connection and created[0].seq == 1


def test_signal_to_all_includes_sender_and_to_one_only_target(net: Net) -> None:
    a, wa = join(net, "alice")
    b, wb = join(net, "bob")
    c, wc = join(net, "carol")
    for link in (a, b, c):
        net.take(link)
    net.send(a, p.Signal(csq=1, type="chat", data="hello"), T0 + 1)
    assert ops(net.take(a)) == ["Ack", "SignalReceived"]
    for link in (b, c):
        (msg,) = net.take(link)
        assert (msg.from_, msg.type, msg.data, msg.to) == (wa.connection.id, "chat", "hello", None)
    net.send(a, p.Signal(csq=2, type="dm", data="psst", to=wb.connection.id), T0 + 2)
    assert ops(net.take(a)) == ["Ack"]
    assert [m.data for m in net.take(b)] == ["psst"]
    assert net.take(c) == []


@pytest.mark.parametrize(
    ("signal", "code"),
    [
        (p.Signal(csq=1, type="x" * 129), ErrorCode.SIGNAL_TYPE_TOO_LONG),
        (p.Signal(csq=1, type="bad type!"), ErrorCode.SIGNAL_INVALID_TYPE),
        (p.Signal(csq=1, type="t", data="é" * 4097), ErrorCode.SIGNAL_DATA_TOO_LONG),
        (p.Signal(csq=1, type="t", to="con_nobody"), ErrorCode.UNKNOWN_CONNECTION),
    ],
)
def test_bad_signals_are_refused_with_a_code_and_nothing_relayed(net: Net, signal, code) -> None:
    a, _ = join(net, "alice")
    b, _ = join(net, "bob")
    net.take(a)
    net.send(a, signal, T0 + 1)
    (err,) = net.take(a)
    assert isinstance(err, p.Error) and err.code == code and err.csq == 1
    assert net.take(b) == []
    assert a not in net.closed


def test_signal_limits_accept_the_edges(net: Net) -> None:
    a, _ = join(net, "alice")
    net.send(a, p.Signal(csq=1, type="A-z_0~" + "x" * 122, data="d" * 8192), T0)
    assert ops(net.take(a)) == ["Ack", "SignalReceived"]


def test_duplicate_csq_is_acked_but_not_relayed_again(net: Net) -> None:
    a, _ = join(net, "alice")
    b, _ = join(net, "bob")
    net.take(a)
    net.send(a, p.Signal(csq=1, type="t", data="once"), T0)
    net.send(a, p.Signal(csq=1, type="t", data="once"), T0)
    got_a = net.take(a)
    assert ops(got_a) == ["Ack", "SignalReceived", "Ack"]
    assert got_a[2].duplicate is True
    assert [m.data for m in net.take(b)] == ["once"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"{not json", ErrorCode.MALFORMED_MESSAGE),
        (b'{"op":"signal"}', ErrorCode.MALFORMED_MESSAGE),
        (b'{"op":"signal","csq":"one"}', ErrorCode.MALFORMED_MESSAGE),
        (b'{"op":"teleport"}', ErrorCode.UNKNOWN_MESSAGE),
        (b"[]", ErrorCode.MALFORMED_MESSAGE),
    ],
)
def test_bad_frames_after_join_get_an_error_and_the_socket_stays(net: Net, frame, code) -> None:
    a, _ = join(net, "alice")
    net.send(a, frame, T0)
    (err,) = net.take(a)
    assert isinstance(err, p.Error) and err.code == code
    assert a not in net.closed
    net.send(a, p.Signal(csq=1, type="t"), T0)
    assert ops(net.take(a)) == ["Ack", "SignalReceived"]


def test_bad_tokens_are_refused_and_the_socket_closed(net: Net, hub: Hub) -> None:
    cases = {
        "garbage": ErrorCode.AUTHORIZATION_FAILURE,
        make_token(
            "another-secret-0123456789abcdefghij", SESSION, now=T0
        ): ErrorCode.AUTHORIZATION_FAILURE,
        token("x", now=T0 - 7200, ttl=3600): ErrorCode.TOKEN_EXPIRED,
    }
    for tok, code in cases.items():
        link = net.open(T0)
        net.send(link, p.Join(token=tok), T0)
        (err,) = net.take(link)
        assert err.code == code, tok
        assert net.closed[link][0] == 4000 + code - 1000
    assert hub.rejected_joins == {"authorization_failure": 2, "token_expired": 1}


def test_requests_before_join_are_refused(net: Net) -> None:
    link = net.open(T0)
    net.send(link, p.Signal(csq=1, type="t"), T0)
    (err,) = net.take(link)
    assert err.code == ErrorCode.NOT_JOINED and link in net.closed


def test_a_socket_that_never_joins_is_closed(net: Net, hub: Hub) -> None:
    link = net.open(T0)
    assert hub.get_timer() == T0 + hub.auth_timeout
    net.tick(T0 + hub.auth_timeout)
    assert link in net.closed


def test_subscriber_cannot_publish(net: Net) -> None:
    link, _ = join(net, "sub", tok=token("sub", role="subscriber"))
    net.send(link, p.Publish(csq=1, name="cam"), T0)
    (err,) = net.take(link)
    assert err.code == ErrorCode.PUBLISH_FORBIDDEN and "subscriber" in err.message


def test_publish_update_unpublish(net: Net) -> None:
    a, wa = join(net, "alice")
    b, _ = join(net, "bob")
    net.take(a)
    net.send(a, p.Publish(csq=1, name="cam", has_audio=True, has_video=True), T0)
    (ack,) = net.take(a)
    (created,) = net.take(b)
    assert created.stream.id == ack.stream_id and created.stream.connection_id == wa.connection.id
    net.send(a, p.UpdateStream(csq=2, stream_id=ack.stream_id, has_video=False), T0)
    net.take(a)
    (updated,) = net.take(b)
    assert updated.stream.has_video is False and updated.stream.video_reason == "publish_video_off"
    net.send(b, p.Unpublish(csq=1, stream_id=ack.stream_id), T0)
    assert net.take(b)[0].code == ErrorCode.NOT_STREAM_OWNER
    net.send(a, p.Unpublish(csq=3, stream_id=ack.stream_id), T0)
    net.take(a)
    (dropped,) = net.take(b)
    assert (dropped.stream_id, dropped.reason) == (ack.stream_id, "unpublished")


def _interrupt_then(net: Net, hub: Hub, away: float) -> tuple[int, int, p.Welcome, p.Welcome, str]:
    """alice publishes, drops at T0+1; bob sends her a signal; returns after `away` s."""
    a, wa = join(net, "alice")
    b, wb = join(net, "bob")
    net.take(a)
    net.send(a, p.Publish(csq=1, name="cam"), T0)
    stream_id = net.take(a)[0].stream_id
    net.take(b)
    net.send(a, p.Ping(t=1, ack=2), T0 + 0.5)
    net.take(a)
    net.drop(a, T0 + 1)
    (interrupted,) = net.take(b)
    assert interrupted == p.ConnectionInterrupted(
        connection_id=wa.connection.id, seq=interrupted.seq
    )
    net.send(b, p.Signal(csq=1, type="chat", data="are you there?", to=wa.connection.id), T0 + 2)
    net.send(b, p.Ping(t=0), T0 + 1 + away)  # bob stays alive throughout
    net.tick(T0 + 1 + away)
    return a, b, wa, wb, stream_id


def test_resume_at_29_9_s_keeps_place_and_replays_missed_messages_once(net: Net, hub: Hub) -> None:
    a, b, wa, wb, stream_id = _interrupt_then(net, hub, 29.9)
    net.take(b)
    a2 = net.open(T0 + 30.9)
    net.send(
        a2,
        p.Resume(connection_id=wa.connection.id, resume_key=wa.resume_key, last_seq=2),
        T0 + 30.9,
    )
    got = net.take(a2)
    assert ops(got) == ["Resumed", "SignalReceived"]
    resumed, signal = got
    assert resumed.replay_from == 3 and resumed.replay_count == 1 and resumed.last_csq == 1
    assert [s.id for s in resumed.streams] == [stream_id]
    assert signal.data == "are you there?" and signal.seq == 3
    assert ops(net.take(b)) == ["ConnectionResumed"]
    # The same key cannot be used twice.
    a3 = net.open(T0 + 31)
    net.send(
        a3, p.Resume(connection_id=wa.connection.id, resume_key=wa.resume_key, last_seq=3), T0 + 31
    )
    assert net.take(a3)[0].code == ErrorCode.RESUME_REJECTED
    # The resumed connection goes on as before.
    net.send(a2, p.Signal(csq=2, type="chat", data="back"), T0 + 31)
    assert ops(net.take(a2)) == ["Ack", "SignalReceived"]
    assert [m.data for m in net.take(b)] == ["back"]


def test_expiry_at_30_1_s_drops_connection_and_streams_with_reason(net: Net, hub: Hub) -> None:
    a, b, wa, wb, stream_id = _interrupt_then(net, hub, 30.1)
    got = net.take(b)
    assert ops(got) == ["Ack", "Pong", "StreamDropped", "ConnectionDropped"]
    assert (got[2].stream_id, got[2].reason) == (stream_id, "network_disconnected")
    assert (got[3].connection_id, got[3].reason) == (wa.connection.id, "network_disconnected")
    a2 = net.open(T0 + 32)
    net.send(
        a2, p.Resume(connection_id=wa.connection.id, resume_key=wa.resume_key, last_seq=2), T0 + 32
    )
    assert net.take(a2)[0].code == ErrorCode.RESUME_REJECTED
    assert hub.counters["expiries"] == 1


def test_window_boundary_is_exactly_30_s(net: Net, hub: Hub) -> None:
    a, wa = join(net, "alice")
    net.drop(a, T0)
    assert hub.get_timer() == T0 + 30.0
    net.tick(T0 + 29.999)
    assert hub.connection(wa.connection.id) is not None
    net.tick(T0 + 30.0)
    assert hub.connection(wa.connection.id) is None


def test_resume_with_wrong_key_is_refused_and_the_owner_is_unaffected(net: Net, hub: Hub) -> None:
    a, wa = join(net, "alice")
    b, _ = join(net, "bob")
    thief = net.open(T0)
    net.send(
        thief, p.Resume(connection_id=wa.connection.id, resume_key="guess" * 8, last_seq=0), T0
    )
    assert net.take(thief)[0].code == ErrorCode.RESUME_REJECTED and thief in net.closed
    net.take(a)
    net.send(a, p.Signal(csq=1, type="t"), T0)
    assert ops(net.take(a)) == ["Ack", "SignalReceived"]


def test_silence_past_heartbeat_timeout_interrupts(net: Net, hub: Hub) -> None:
    a, wa = join(net, "alice")
    b, _ = join(net, "bob")
    net.take(a)
    net.send(a, p.Ping(t=1), T0 + 4)
    net.send(b, p.Ping(t=1), T0 + 4)
    net.send(b, p.Ping(t=1), T0 + 8.5)
    net.tick(T0 + 8.9)
    assert ops(net.take(b)) == ["Pong", "Pong"]
    net.tick(T0 + 9.0)
    assert ops(net.take(b)) == ["ConnectionInterrupted"]
    assert a in net.closed


def test_resume_on_half_open_socket_replaces_the_old_socket(net: Net, hub: Hub) -> None:
    a, wa = join(net, "alice")
    b, _ = join(net, "bob")
    net.take(a)
    # bob's signal reaches the server but alice's old socket is dead without knowing it.
    net.send(b, p.Signal(csq=1, type="t", data="lost in transit", to=wa.connection.id), T0 + 1)
    net.take(a)  # sent into the void
    a2 = net.open(T0 + 2)
    net.send(
        a2, p.Resume(connection_id=wa.connection.id, resume_key=wa.resume_key, last_seq=1), T0 + 2
    )
    assert ops(net.take(a2)) == ["Resumed", "SignalReceived"]
    assert a in net.closed
    net.drop(a, T0 + 2.1)  # the old socket's close must not interrupt the new one
    assert not hub.connection(wa.connection.id).interrupted
    assert ops(net.take(b)) == ["Ack"]  # bob never saw alice go


def test_resume_that_needs_trimmed_messages_is_refused(hub: Hub) -> None:
    hub.replay_limit = 3
    net = Net(hub)
    a, wa = join(net, "alice")
    b, _ = join(net, "bob")
    net.drop(a, T0)
    for i in range(5):
        net.send(b, p.Signal(csq=i + 1, type="t", data=str(i)), T0 + 1)
    a2 = net.open(T0 + 2)
    net.send(
        a2, p.Resume(connection_id=wa.connection.id, resume_key=wa.resume_key, last_seq=0), T0 + 2
    )
    assert net.take(a2)[0].code == ErrorCode.RESUME_REJECTED
    got = net.take(b)
    assert got[-1] == p.ConnectionDropped(
        connection_id=wa.connection.id, reason="network_disconnected", seq=got[-1].seq
    )


def test_fresh_join_with_same_token_replaces_interrupted_connection(net: Net) -> None:
    tok = token("alice")
    a, wa = join(net, "alice", tok=tok)
    b, _ = join(net, "bob")
    net.drop(a, T0 + 1)
    net.take(b)
    a2, wa2 = join(net, "alice", now=T0 + 2, tok=tok)
    assert wa2.connection.id != wa.connection.id
    got = net.take(b)
    assert ops(got) == ["ConnectionDropped", "ConnectionCreated"]
    assert (got[0].connection_id, got[0].reason) == (wa.connection.id, "replaced")
    assert [c.data for c in wa2.connections] == ["bob"]


def test_same_token_twice_while_both_live_is_allowed(net: Net) -> None:
    tok = token("alice")
    a, wa = join(net, "alice", tok=tok)
    a2, wa2 = join(net, "alice", tok=tok)
    assert [c.id for c in wa2.connections] == [wa.connection.id]


def test_token_expired_while_away_refuses_resume(net: Net) -> None:
    a, wa = join(net, "alice", tok=token("alice", ttl=60))
    net.drop(a, T0 + 50)
    a2 = net.open(T0 + 65)
    net.send(
        a2, p.Resume(connection_id=wa.connection.id, resume_key=wa.resume_key, last_seq=0), T0 + 65
    )
    assert net.take(a2)[0].code == ErrorCode.TOKEN_EXPIRED


def test_leave_drops_at_once_with_client_disconnected(net: Net, hub: Hub) -> None:
    a, wa = join(net, "alice")
    b, _ = join(net, "bob")
    net.send(a, p.Leave(), T0)
    (dropped,) = net.take(b)
    assert (dropped.connection_id, dropped.reason) == (wa.connection.id, "client_disconnected")
    assert hub.connection(wa.connection.id) is None
    assert hub.gauges()["sessions"] == 1
    net.send(b, p.Leave(), T0)
    assert hub.gauges()["sessions"] == 0


def test_ack_trims_the_replay_buffer(net: Net, hub: Hub) -> None:
    a, wa = join(net, "alice")
    for i in range(4):
        net.send(a, p.Signal(csq=i + 1, type="t"), T0)
    conn = hub.connection(wa.connection.id)
    assert [s for s, _ in conn.unacked] == list(range(1, 9))
    net.send(a, p.Ping(t=0, ack=6), T0)
    assert [s for s, _ in conn.unacked] == [7, 8]


def test_rtc_relays_payload_to_one_connection(net: Net) -> None:
    a, wa = join(net, "alice")
    b, wb = join(net, "bob")
    net.take(a)
    net.send(a, p.Rtc(csq=1, to=wb.connection.id, payload={"sdp": "v=0", "kind": "offer"}), T0)
    assert ops(net.take(a)) == ["Ack"]
    (relay,) = net.take(b)
    assert relay.from_ == wa.connection.id and relay.payload == {"sdp": "v=0", "kind": "offer"}


def test_shutdown_tells_everyone_it_is_final(net: Net, hub: Hub) -> None:
    a, _ = join(net, "alice")
    hub.shutdown()
    net.pump()
    assert ops(net.take(a)) == ["Closing"]
    assert net.closed[a] == (1001, "server_shutdown")


def test_frames_are_json_objects_tagged_by_op() -> None:
    raw = msgspec.json.decode(p.encode(p.SignalReceived(from_="c", type="t", data="d", seq=4)))
    assert raw == {"op": "signal_received", "from": "c", "type": "t", "data": "d", "seq": 4}
