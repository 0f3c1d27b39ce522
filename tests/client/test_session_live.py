"""Real server + fault proxy + real Sessions on loopback.

Bounds are generous: these tests check what happens and in what order, not how fast.
"""

from __future__ import annotations

import asyncio

import pytest

from app.client.session import Session
from app.core.errors import ErrorCode, TetherError
from app.core.reconnect import State
from tests.client.conftest import WAIT, Recorder, SubRecorder, runner

pytestmark = pytest.mark.timeout(90)


async def test_join_signal_and_leave(live):
    call = await live()
    a, ra = await call.join(name="a")
    b, rb = await call.join(name="b")
    assert ra.names() == ["on_connected", "on_connection_created"]
    assert rb.names() == ["on_connected", "on_connection_created"]
    to_all = await a.send_signal("chat", "hi all")
    to_b = await a.send_signal("chat", "hi b", to=b.connection.id)
    assert (to_all.status, to_b.status) == ("sent", "sent")
    await rb.wait_for("on_signal_received", 2)
    assert rb.args("on_signal_received") == [
        ("chat", "hi all", a.connection.id),
        ("chat", "hi b", a.connection.id),
    ]
    await a.disconnect()
    assert ra.names()[-1] == "on_disconnected"
    assert ra.args("on_disconnected") == [("client_disconnected",)]
    await rb.wait_for("on_connection_dropped")
    assert rb.args("on_connection_dropped")[0][1] == "client_disconnected"


async def test_join_failures_raise_with_codes(live):
    call = await live()
    rec = Recorder()
    bad = Session(call.server.url, "not-a-token", rec)
    with pytest.raises(TetherError) as err:
        await bad.connect()
    assert err.value.code is ErrorCode.AUTHORIZATION_FAILURE
    assert rec.names() == ["on_error"]
    assert bad.state is State.DISCONNECTED

    proxy = await call.proxy()
    proxy.cut()  # refuses every connection
    rec = Recorder()
    nowhere = Session(proxy.url, call.server.make_token(call.session_id), rec)
    with pytest.raises(TetherError) as err:
        await nowhere.connect()
    assert err.value.code is ErrorCode.CONNECT_FAILED


async def test_black_hole_5s_reconnects_and_the_other_side_sees_subscriber_blink(live):
    # The server notices silence after 2 s, the client after 3 s: both sides see the outage.
    call = await live(heartbeat_timeout=2.0)
    proxy = await call.proxy()
    a, ra = await call.join(via=proxy, name="a")
    b, rb = await call.join(name="b")
    stream = await a.publish_stream("cam", True, True)
    await rb.wait_for("on_stream_received")
    sub_rec = SubRecorder()
    sub = b.subscribe(stream.id, sub_rec)

    proxy.black_hole()
    await ra.wait_for("on_reconnection_started", timeout=WAIT)
    await sub_rec.wait_for("on_disconnected")
    await asyncio.sleep(5.0 - 3.0)
    proxy.restore()
    await ra.wait_for("on_reconnected")
    await sub_rec.wait_for("on_reconnected")

    assert ra.names() == [
        "on_connected",
        "on_connection_created",
        "on_reconnection_started",
        "on_reconnected",
    ]
    assert sub_rec.names() == ["on_disconnected", "on_reconnected"]
    assert rb.names("on_connection_interrupted", "on_connection_resumed") == [
        "on_connection_interrupted",
        "on_connection_resumed",
    ]
    assert sub.state == "connected"
    assert a.connection.id in b.connections and stream.id in b.streams
    # Still a working session both ways.
    assert (await a.send_signal("chat", "back")).ok
    await rb.wait_for("on_signal_received")


async def test_a_long_round_trip_still_joins_and_reconnects(live):
    # 0.6 s each way: the WebSocket upgrade alone takes 1.2 s, longer than the 1 s a
    # silent SYN is given.  Only the TCP connect is held to that second.
    call = await live()
    b, rb = await call.join(name="b")
    proxy = await call.proxy()
    proxy.latency = 0.6
    a, ra = await call.join(via=proxy, name="a")
    proxy.cut()
    await ra.wait_for("on_reconnection_started")
    proxy.restore()
    await ra.wait_for("on_reconnected")
    sent = await a.send_signal("chat", "still here", to=b.connection.id)
    assert sent.status == "sent"
    await rb.wait_for("on_signal_received")
    assert rb.args("on_signal_received") == [("chat", "still here", a.connection.id)]
    assert ra.names() == [
        "on_connected",
        "on_connection_created",
        "on_reconnection_started",
        "on_reconnected",
    ]


async def test_black_hole_longer_than_window_disconnects_and_others_see_drops(live):
    call = await live(reconnection_window=3.0, heartbeat_timeout=2.0)
    proxy = await call.proxy()
    a, ra = await call.join(via=proxy, name="a")
    b, rb = await call.join(name="b")
    stream = await a.publish_stream("cam", True, False)
    await rb.wait_for("on_stream_received")
    sub_rec = SubRecorder()
    b.subscribe(stream.id, sub_rec)

    proxy.black_hole()
    await ra.wait_for("on_disconnected", timeout=WAIT)
    pending = a.progress
    assert pending.state == "disconnected"
    assert ra.names() == [
        "on_connected",
        "on_connection_created",
        "on_reconnection_started",
        "on_disconnected",
    ]
    assert ra.args("on_disconnected") == [("network_disconnected",)]
    await rb.wait_for("on_connection_dropped")
    assert rb.args("on_stream_dropped")[0][1] == "network_disconnected"
    assert rb.args("on_connection_dropped")[0][1] == "network_disconnected"
    assert rb.names().index("on_stream_dropped") < rb.names().index("on_connection_dropped")
    assert sub_rec.names() == ["on_disconnected", "on_closed"]
    assert b.connections == {} and b.streams == {}
    proxy.restore()
    await asyncio.sleep(2.0)
    assert ra.names()[-1] == "on_disconnected"  # no retry after the end


@pytest.mark.parametrize("fault", ["cut", "black_hole"])
async def test_signals_sent_during_an_outage_arrive_once_in_order(live, fault):
    call = await live(heartbeat_timeout=2.0)
    proxy = await call.proxy()
    a, ra = await call.join(via=proxy, name="a")
    b, rb = await call.join(name="b")
    handles = [a.send_signal("n", f"before-{i}") for i in range(5)]
    await asyncio.gather(*handles)
    getattr(proxy, fault)()
    # Some go into the dead socket before the loss is noticed, some wait in the outbox.
    for i in range(10):
        handles.append(a.send_signal("n", f"during-{i}"))
        await asyncio.sleep(0.4)
    assert a.state is State.RECONNECTING
    assert a.progress.queued > 0
    proxy.restore()
    results = await asyncio.wait_for(asyncio.gather(*handles), WAIT)
    assert [r.status for r in results] == ["sent"] * 15
    expected = [f"before-{i}" for i in range(5)] + [f"during-{i}" for i in range(10)]
    await rb.until(lambda: len(rb.args("on_signal_received")) >= 15)
    await asyncio.sleep(0.5)  # room for a duplicate to show up, if there were one
    assert [d for t, d, _ in rb.args("on_signal_received")] == expected
    assert [d for t, d, _ in ra.args("on_signal_received")] == expected


async def test_retry_after_reconnect_false_fails_at_once_and_never_arrives(live):
    call = await live()
    proxy = await call.proxy()
    a, ra = await call.join(via=proxy, name="a")
    b, rb = await call.join(name="b")
    proxy.cut()
    await ra.wait_for("on_reconnection_started")
    result = await a.send_signal("chat", "now-or-never", retry_after_reconnect=False)
    assert (result.status, result.code) == ("failed", ErrorCode.NOT_CONNECTED)
    proxy.restore()
    a.retry_now()
    await ra.wait_for("on_reconnected")
    assert (await a.send_signal("chat", "after")).ok
    await rb.wait_for("on_signal_received")
    await asyncio.sleep(0.3)
    assert [d for _, d, _ in rb.args("on_signal_received")] == ["after"]


async def test_server_forgot_the_connection_gives_a_clear_disconnect(live):
    call = await live()
    proxy = await call.proxy()
    a, ra = await call.join(via=proxy, name="a", backoff=[0, 30])
    proxy.cut()
    await ra.wait_for("on_reconnection_started")
    # The server restarts on the same port and secret: it has never heard of `a`.
    old = call.server
    await old.stop()
    call.server = runner.TetherServer(host="127.0.0.1", port=old.port, secret=old.secret)
    await call.server.start()
    proxy.restore()
    assert a.retry_now()
    await ra.wait_for("on_disconnected")
    assert ra.names() == [
        "on_connected",
        "on_reconnection_started",
        "on_error",
        "on_disconnected",
    ]
    assert ra.args("on_error")[0][0] == ErrorCode.RESUME_REJECTED
    assert ra.args("on_disconnected") == [("resume_rejected",)]
    await asyncio.sleep(1.0)
    assert ra.names()[-1] == "on_disconnected"


async def test_server_shutdown_ends_the_session_without_retrying(live):
    call = await live()
    a, ra = await call.join(name="a")
    await call.server.stop()
    await ra.wait_for("on_disconnected")
    assert ra.names() == ["on_connected", "on_disconnected"]
    assert ra.args("on_disconnected") == [("server_shutdown",)]


async def test_a_raising_callback_does_not_kill_the_session(live):
    call = await live()

    class Boom(Recorder):
        def on_signal_received(self, *args):
            self.calls.append((0.0, "on_signal_received", args))
            raise RuntimeError("user bug")

    rec = Boom()
    a = Session(call.server.url, call.server.make_token(call.session_id), rec)
    call.sessions.append(a)
    await a.connect()
    for i in range(3):
        assert (await a.send_signal("chat", str(i))).ok
    await rec.until(lambda: len(rec.args("on_signal_received")) == 3)
    assert a.state is State.CONNECTED


async def test_token_for_another_session_is_refused_when_session_named(live):
    call = await live()
    other = Session(
        call.server.url,
        call.server.make_token(call.session_id),
        Recorder(),
        session_id="ses_someotherroom1234",
    )
    with pytest.raises(TetherError) as err:
        await other.connect()
    assert err.value.code is ErrorCode.INVALID_SESSION


async def test_moderation_and_rtc_relay(live):
    call = await live()
    mod, rmod = await call.join(name="mod", role="moderator")
    pub, rpub = await call.join(name="pub")
    sub, rsub = await call.join(name="sub", role="subscriber")
    relayed: list[tuple[str, dict]] = []
    pub.add_rtc_listener(lambda frm, payload: relayed.append((frm, payload)))
    assert (await sub.send_rtc(pub.connection.id, {"type": "offer", "sdp": "v=0"})).ok
    await rpub.until(lambda: bool(relayed))
    assert relayed == [(sub.connection.id, {"type": "offer", "sdp": "v=0"})]

    with pytest.raises(TetherError) as err:
        await sub.publish_stream("cam", True, True)
    assert err.value.code is ErrorCode.PUBLISH_FORBIDDEN
    stream = await pub.publish_stream("cam", True, True)
    await pub.update_stream(stream.id, has_video=False)
    await rsub.wait_for("on_stream_updated")
    assert rsub.args("on_stream_updated")[0][0].has_video is False
    with pytest.raises(TetherError) as err:
        await sub.force_unpublish(stream.id)
    assert err.value.code is ErrorCode.MODERATION_FORBIDDEN
    await mod.force_unpublish(stream.id)
    await rsub.wait_for("on_stream_dropped")
    assert rsub.args("on_stream_dropped")[0][1] == "force_unpublished"
    await mod.force_disconnect(pub.connection.id)
    await rpub.wait_for("on_disconnected")
    assert rpub.args("on_disconnected") == [("force_disconnected",)]
    await rsub.wait_for("on_connection_dropped")
    assert rsub.args("on_connection_dropped")[0][1] == "force_disconnected"
    assert "on_reconnection_started" not in rpub.names()
