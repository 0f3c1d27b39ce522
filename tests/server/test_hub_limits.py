"""Limits and moderation in the hub, with a hand-moved clock."""

from __future__ import annotations

import itertools

import pytest

from app.core import protocol as p
from app.core.errors import ErrorCode
from app.core.ratelimit import TokenBucket
from app.core.tokens import new_session_id
from app.server.hub import Hub, Limits
from tests.server.test_hub import SECRET, SESSION, T0, Net, join, ops, token


def make(limits: Limits) -> tuple[Hub, Net]:
    counter = itertools.count(1)
    hub = Hub(
        "s3cret-for-tests-only-0123456789abcdef",
        limits=limits,
        new_id=lambda x: f"{x}{next(counter)}",
    )
    return hub, Net(hub)


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, now=0.0)
    assert [bucket.allow(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.allow(0.49) is False
    assert bucket.allow(0.5) is True
    assert bucket.full(0.5 + 1.5) is True


def test_session_full_refuses_the_next_join_and_keeps_the_others() -> None:
    hub, net = make(Limits(connections_per_session=2))
    a, _ = join(net, "a")
    b, _ = join(net, "b")
    c = net.open(T0)
    net.send(c, p.Join(token=token("c")), T0)
    assert net.take(c)[0].code == ErrorCode.SESSION_FULL and c in net.closed
    net.take(a)
    net.send(a, p.Signal(csq=1, type="t"), T0)
    assert ops(net.take(a)) == ["Ack", "SignalReceived"]


def test_server_full_refuses_a_new_session_but_not_an_existing_one() -> None:
    hub, net = make(Limits(sessions=1))
    join(net, "a")
    other = net.open(T0)
    net.send(other, p.Join(token=token("x", session=new_session_id())), T0)
    assert net.take(other)[0].code == ErrorCode.SERVER_FULL
    join(net, "b")  # same session: fine


def test_signal_flood_is_refused_with_a_code_and_recovers_with_time() -> None:
    hub, net = make(Limits(signal_burst=5, signal_rate=1.0))
    a, _ = join(net, "a")
    b, _ = join(net, "b")
    net.take(a)
    for i in range(8):
        net.send(a, p.Signal(csq=i + 1, type="t", data=str(i)), T0)
    got = net.take(a)
    errors = [m for m in got if isinstance(m, p.Error)]
    assert [e.csq for e in errors] == [6, 7, 8]
    assert {e.code for e in errors} == {ErrorCode.TOO_MANY_REQUESTS}
    assert [m.data for m in net.take(b)] == ["0", "1", "2", "3", "4"]
    net.send(a, p.Signal(csq=9, type="t", data="later"), T0 + 1.0)
    assert [m.data for m in net.take(b)] == ["later"]
    assert hub.counters["rate_limited"] == 3


def test_failed_joins_from_one_address_are_slowed_and_others_are_not() -> None:
    hub, net = make(Limits(failed_joins_per_minute=3))

    def attempt(address: str, tok: str, now: float) -> int:
        link = next(net.ids)
        net.inbox[link] = []
        hub.link_opened(link, now, address)
        net.send(link, p.Join(token=tok), now)
        return net.take(link)[0]

    for _ in range(3):
        assert attempt("10.0.0.9", "forged", T0).code == ErrorCode.AUTHORIZATION_FAILURE
    # The guesser is refused even with a good token, for a while.
    assert attempt("10.0.0.9", token("g"), T0 + 1).code == ErrorCode.TOO_MANY_REQUESTS
    # Another address is unaffected.
    assert isinstance(attempt("10.0.0.7", token("h"), T0 + 1), p.Welcome)
    # After the bucket refills (20 s for one attempt at 3 per minute) it may try again.
    assert isinstance(attempt("10.0.0.9", token("g"), T0 + 21), p.Welcome)


def test_moderator_can_force_disconnect_and_others_cannot() -> None:
    hub, net = make(Limits())
    mod, wm = join(net, "mod", tok=token("mod", role="moderator"))
    a, wa = join(net, "alice")
    b, wb = join(net, "bob")
    for link in (mod, a, b):
        net.take(link)
    net.send(a, p.ForceDisconnect(csq=1, connection_id=wb.connection.id), T0)
    assert net.take(a)[0].code == ErrorCode.MODERATION_FORBIDDEN
    net.send(mod, p.ForceDisconnect(csq=1, connection_id=wb.connection.id), T0)
    assert ops(net.take(b)) == ["Closing"] and b in net.closed
    dropped = net.take(a)[-1]
    assert (dropped.connection_id, dropped.reason) == (wb.connection.id, "force_disconnected")
    # No way back: the connection is gone.
    b2 = net.open(T0 + 1)
    net.send(
        b2, p.Resume(connection_id=wb.connection.id, resume_key=wb.resume_key, last_seq=0), T0 + 1
    )
    assert net.take(b2)[0].code == ErrorCode.RESUME_REJECTED


def test_moderator_can_force_unpublish_and_the_owner_is_told() -> None:
    hub, net = make(Limits())
    mod, _ = join(net, "mod", tok=token("mod", role="moderator"))
    a, _ = join(net, "alice")
    net.take(mod)
    net.send(a, p.Publish(csq=1, name="cam"), T0)
    stream_id = net.take(a)[0].stream_id
    net.take(mod)
    net.send(mod, p.ForceUnpublish(csq=1, stream_id=stream_id), T0)
    assert ops(net.take(mod)) == ["Ack", "StreamDropped"]
    (told,) = net.take(a)
    assert (told.stream_id, told.reason) == (stream_id, "force_unpublished")


@pytest.mark.parametrize("role", ["publisher", "subscriber"])
def test_force_unpublish_needs_a_moderator(role: str) -> None:
    hub, net = make(Limits())
    a, _ = join(net, "alice")
    net.send(a, p.Publish(csq=1, name="cam"), T0)
    stream_id = net.take(a)[0].stream_id
    x, _ = join(net, "x", tok=token("x", role=role))
    net.send(x, p.ForceUnpublish(csq=1, stream_id=stream_id), T0)
    assert net.take(x)[0].code == ErrorCode.MODERATION_FORBIDDEN


def test_broadcaster_publishes_but_may_not_subscribe() -> None:
    hub, net = make(Limits())
    a, wa = join(net, "alice")
    net.send(a, p.Publish(csq=1, name="cam"), T0)
    stream_id = net.take(a)[0].stream_id
    cast, _ = join(net, "stage", tok=token("stage", role="broadcaster"))
    net.take(a)
    net.send(cast, p.Publish(csq=1, name="stage-cam"), T0)
    assert ops(net.take(cast)) == ["Ack"]
    offer = {"t": "media_offer", "stream_id": stream_id, "sub_id": "x", "gen": 1, "sdp": "v=0"}
    net.send(cast, p.Rtc(csq=2, to=wa.connection.id, payload=offer), T0)
    (err,) = net.take(cast)
    assert err.code == ErrorCode.SUBSCRIBE_FORBIDDEN and "broadcaster" in err.message
    assert ops(net.take(a)) == ["StreamCreated"]  # the offer never reached alice
    # Answering a subscriber is what a broadcaster does: that relay is allowed.
    net.send(cast, p.Rtc(csq=3, to=wa.connection.id, payload={"t": "media_answer"}), T0)
    assert ops(net.take(cast)) == ["Ack"]


def test_a_token_without_the_signal_right_cannot_signal_but_can_receive() -> None:
    from app.core.tokens import make_token as sign

    hub, net = make(Limits())
    a, _ = join(net, "alice")
    mute_token = sign(SECRET, SESSION, now=T0, data="quiet", can_signal=False)
    q, _ = join(net, "quiet", tok=mute_token)
    net.take(a)
    net.send(q, p.Signal(csq=1, type="chat", data="hi"), T0)
    (err,) = net.take(q)
    assert err.code == ErrorCode.SIGNAL_FORBIDDEN
    assert net.take(a) == []
    net.send(a, p.Signal(csq=1, type="chat", data="to all"), T0)
    assert [m.data for m in net.take(q)] == ["to all"]
