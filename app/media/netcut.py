"""Cut and restore this client's media path, for "Simulate connection drop".

The media counterpart of :meth:`app.client.session.Session.simulate_drop`: every
datagram the peer connections send is dropped and every one that arrives is ignored,
as on a dead network, until :meth:`MediaCut.restore`.  Unlike
:func:`app.media.faults.drop_outgoing` it can be undone.  Peer connections made while
the cut lasts are not cut; none can be, as the signalling they need is cut too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

logger = logging.getLogger(__name__)


def _drop_datagram(*_: Any) -> None:
    return None


def _ice_protocols(pc: Any) -> Iterator[Any]:
    transports = set()
    for transceiver in pc.getTransceivers():
        dtls = getattr(transceiver.sender, "transport", None)
        if dtls is not None:
            transports.add(dtls.transport)
    if pc.sctp is not None:
        transports.add(pc.sctp.transport.transport)
    for ice in transports:
        yield from list(ice._connection._protocols)


class MediaCut:
    """One cut; :meth:`restore` undoes it (again is harmless)."""

    def __init__(self, peer_connections: Iterable[Any]) -> None:
        self._patched: list[Any] = []
        for pc in peer_connections:
            if pc.connectionState == "closed":
                continue
            for protocol in _ice_protocols(pc):
                transport = getattr(protocol, "transport", None)
                if transport is None:
                    continue
                transport.sendto = _drop_datagram
                protocol.datagram_received = _drop_datagram
                self._patched.append(protocol)
        logger.info("media cut: %d ICE sockets silent", len(self._patched))

    @property
    def sockets(self) -> int:
        return len(self._patched)

    def restore(self) -> None:
        patched, self._patched = self._patched, []
        for protocol in patched:
            # Instance attributes shadowed the class methods; removing them restores those.
            for owner, name in ((protocol.transport, "sendto"), (protocol, "datagram_received")):
                if owner is not None and name in vars(owner):
                    delattr(owner, name)
