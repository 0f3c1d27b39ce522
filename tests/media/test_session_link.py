from dataclasses import dataclass

import pytest

from app.core.errors import ErrorCode, TetherError
from app.media.session_link import SessionSignalling


@dataclass
class Outcome:
    status: str
    code: int | None = None
    message: str = ""


class FakeSession:
    def __init__(self):
        self.sent = []
        self.listeners = []
        self.connected = True

    async def send_rtc(self, to, payload):
        if not self.connected:
            return Outcome("failed", 1010, "not connected")
        self.sent.append((to, payload))
        return Outcome("sent")

    def add_rtc_listener(self, handler):
        self.listeners.append(handler)
        return lambda: self.listeners.remove(handler)


def link(session):
    return SessionSignalling(
        local_id=lambda: "c1", send_rtc=session.send_rtc, add_rtc_listener=session.add_rtc_listener
    )


async def test_send_and_listen_pass_through():
    session = FakeSession()
    signalling = link(session)
    got = []
    unsubscribe = signalling.add_payload_listener(lambda frm, p: got.append((frm, p)))
    await signalling.send("c2", {"t": "media_bye", "stream_id": "s", "sub_id": "x"})
    session.listeners[0]("c2", {"t": "x"})
    unsubscribe()
    assert signalling.local_id == "c1"
    assert session.sent == [("c2", {"t": "media_bye", "stream_id": "s", "sub_id": "x"})]
    assert got == [("c2", {"t": "x"})] and session.listeners == []


async def test_failed_outcome_raises_with_its_code():
    session = FakeSession()
    session.connected = False
    with pytest.raises(TetherError) as info:
        await link(session).send("c2", {})
    assert info.value.code == ErrorCode.NOT_CONNECTED
