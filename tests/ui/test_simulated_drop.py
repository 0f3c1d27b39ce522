"""``Session.simulate_drop`` (behind "Network → Simulate connection drop"), ws:// and wss://.

A real embedded server and real sessions: the dropped client must go through
reconnecting -> reconnected by its heartbeats alone, the other participant must
see it interrupted and back, and nothing it sends meanwhile may reach the server
before the link returns.
"""

import asyncio

import pytest

from app.client import session as session_mod  # noqa: E402
from app.core.errors import ErrorCode, TetherError
from app.core.tokens import new_session_id
from app.server import (
    runner,  # noqa: E402
    tls,  # noqa: E402
)
from tests.ui.media_helpers import until

pytestmark = pytest.mark.timeout(60)


class Recorder:
    def __init__(self):
        self.events = []

    def __getattr__(self, name):
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.events.append((name, *args))

    def names(self, *only):
        return [e[0] for e in self.events if not only or e[0] in only]


async def _drop_and_return(server, ca_file=None):
    sid = new_session_id()
    dropped, other = Recorder(), Recorder()
    a = session_mod.Session(server.url, server.make_token(sid), dropped, ca_file=ca_file)
    b = session_mod.Session(server.url, server.make_token(sid), other, ca_file=ca_file)
    await a.connect()
    await b.connect()
    loop = asyncio.get_running_loop()
    a.simulate_drop(4.0)
    cut_at = loop.time()
    pending = a.send_signal("chat", "said during the drop")
    await until(lambda: "on_reconnection_started" in dropped.names(), what="reconnecting")
    noticed = loop.time() - cut_at
    await until(lambda: "on_connection_interrupted" in other.names(), what="interrupted")
    assert "on_signal_received" not in other.names()  # nothing got through
    await until(lambda: "on_reconnected" in dropped.names(), timeout=20, what="reconnected")
    back = loop.time() - cut_at
    result = await pending
    assert result.ok
    await until(lambda: "on_signal_received" in other.names(), what="the queued signal")
    await until(lambda: "on_connection_resumed" in other.names(), what="resumed")
    lifecycle = ("on_reconnection_started", "on_reconnected", "on_disconnected")
    assert dropped.names(*lifecycle) == ["on_reconnection_started", "on_reconnected"]
    await a.disconnect()
    await b.disconnect()
    return noticed, back


async def test_a_simulated_drop_is_noticed_by_heartbeats_and_resumed_over_ws():
    async with runner.TetherServer(heartbeat_timeout=2.0) as server:
        assert server.url.startswith("ws://")
        noticed, back = await _drop_and_return(server)
    assert 1.5 < noticed < 4.0  # the silence timeout, not a socket close
    assert back >= 4.0  # never before the link returns


async def test_a_simulated_drop_works_over_wss(tmp_path):
    cert, key = tls.write_dev_certificate(tmp_path, ["127.0.0.1"])
    context = tls.server_context(cert, key)
    async with runner.TetherServer(heartbeat_timeout=2.0, ssl_context=context) as server:
        assert server.url.startswith("wss://")
        noticed, back = await _drop_and_return(server, ca_file=str(cert))
    assert back >= 4.0


async def test_a_drop_lasts_a_positive_time():
    session = session_mod.Session("ws://127.0.0.1:9", "token")
    with pytest.raises(TetherError) as err:
        session.simulate_drop(0)
    assert err.value.code == ErrorCode.INVALID_PARAMETER
