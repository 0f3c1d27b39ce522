"""Media is encrypted: every negotiated m-line is DTLS-SRTP, and the DTLS handshake completed."""

from __future__ import annotations

import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport

from app.media.engine import MediaEngine
from app.media.publisher import Publisher
from app.media.signalling import LoopbackHub
from app.media.sources import TestPatternTrack, ToneTrack
from tests.media.recording import Recorder

pytestmark = pytest.mark.timeout(60)


async def test_offer_and_answer_are_dtls_srtp_and_the_handshake_completes():
    hub = LoopbackHub()
    pub_engine, sub_engine = MediaEngine(hub.endpoint("pub")), MediaEngine(hub.endpoint("a"))
    try:
        publisher = await pub_engine.publish(
            "s1", Publisher(video=TestPatternTrack(320, 240, 30), audio=ToneTrack())
        )
        rec = Recorder()
        sub_engine.subscribe("s1", "pub", rec)
        await rec.frames(5)
        sdps = {
            p["t"]: p["sdp"]
            for _, _, p in hub.sent
            if p.get("t") in ("media_offer", "media_answer")
        }
        assert set(sdps) == {"media_offer", "media_answer"}
        for kind, sdp in sdps.items():
            m_lines = [line for line in sdp.splitlines() if line.startswith("m=")]
            rtp = [m for m in m_lines if not m.startswith("m=application")]
            assert rtp and all(" UDP/TLS/RTP/SAVPF " in m for m in rtp), (kind, m_lines)
            assert "a=fingerprint:sha-256 " in sdp, kind
        (pc,) = publisher.peer_connections
        transports = {t.sender.transport for t in pc.getTransceivers()}
        assert transports and all(isinstance(t, RTCDtlsTransport) for t in transports)
        assert {t.state for t in transports} == {"connected"}
    finally:
        await sub_engine.close()
        await pub_engine.close()
