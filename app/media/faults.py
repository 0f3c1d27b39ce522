"""Fault injection for tests and benchmarks: make a peer connection's path go dead.

The media counterpart of :mod:`app.client.faultproxy`.  Not used by the app itself.
"""

from __future__ import annotations

from aiortc import RTCPeerConnection


def drop_outgoing(pc: RTCPeerConnection) -> None:
    """Drop every datagram ``pc`` sends from now on — media, RTCP, DTLS, SCTP and ICE
    consent checks — as a dead network path would.  aiortc itself keeps the PC
    "connected" for ~30 s more; the other side sees silence.  Irreversible."""
    transports = {t.sender.transport.transport for t in pc.getTransceivers()}
    if pc.sctp is not None:
        transports.add(pc.sctp.transport.transport)
    for ice in transports:
        for protocol in ice._connection._protocols:
            protocol.transport.sendto = lambda *args: None
