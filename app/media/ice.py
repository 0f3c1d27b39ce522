"""Which local addresses media may use: ICE host candidates, for this process.

aioice offers every interface's address except loopback.  Two participants on
one machine talking through a server on 127.0.0.1 (a local test call, a bot
beside the app) are better served by loopback alone, and someone with several
interfaces may want to pin media to one.  aioice has no setting for this, so
:func:`use_host_addresses` replaces its address discovery for the whole
process; call it before the first peer connection gathers candidates.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from urllib.parse import urlparse

import aioice.ice

logger = logging.getLogger(__name__)

_discover = aioice.ice.get_host_addresses  # aioice's own, kept to restore it


def use_host_addresses(addresses: Sequence[str] | None) -> None:
    """Offer only ``addresses`` as host candidates; ``None`` restores aioice's choice."""
    if addresses is None:
        aioice.ice.get_host_addresses = _discover
        return
    chosen = [str(ipaddress.ip_address(a)) for a in addresses]  # ValueError on a bad one

    def fixed(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = fixed
    logger.info("media host candidates: %s", ", ".join(chosen))


def addresses_for_server(url: str) -> list[str] | None:
    """Loopback when the session server is on loopback (so every peer is on this
    machine too); otherwise ``None``: let aioice choose."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return ["127.0.0.1"]
    try:
        if ipaddress.ip_address(host).is_loopback:
            return ["127.0.0.1"]
    except ValueError:
        pass
    return None
