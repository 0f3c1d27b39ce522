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
import json
import logging
import os
from collections.abc import Mapping, Sequence
from urllib.parse import urlparse

import aioice.ice
from aiortc import RTCIceServer

from app.core.errors import ErrorCode, TetherError

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


ICE_SERVERS_ENV = "TETHER_ICE_SERVERS"


def ice_servers_from_environment(environ: Mapping[str, str] = os.environ) -> list[RTCIceServer]:
    """STUN / TURN servers (coturn works) for calls across real networks.

    ``TETHER_ICE_SERVERS`` holds a JSON list in the WebRTC shape, e.g.
    ``[{"urls": "stun:stun.example.org:3478"},
    {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "u", "credential": "p"}]``.
    Unset or empty: none (a LAN call needs none).  Raises :class:`TetherError` 1011
    with what is wrong.
    """
    text = environ.get(ICE_SERVERS_ENV, "").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TetherError(
            ErrorCode.INVALID_PARAMETER, f"{ICE_SERVERS_ENV} is not JSON: {exc}"
        ) from None
    if not isinstance(items, list):
        raise TetherError(ErrorCode.INVALID_PARAMETER, f"{ICE_SERVERS_ENV} must be a JSON list")
    servers = []
    for n, item in enumerate(items):
        urls = item.get("urls") if isinstance(item, dict) else None
        url_list = [urls] if isinstance(urls, str) else urls
        if not url_list or not all(
            isinstance(u, str) and u.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
            for u in url_list
        ):
            raise TetherError(
                ErrorCode.INVALID_PARAMETER,
                f"{ICE_SERVERS_ENV}[{n}]: 'urls' must be stun:, stuns:, turn: or turns: URLs",
            )
        servers.append(
            RTCIceServer(
                urls=urls, username=item.get("username"), credential=item.get("credential")
            )
        )
    return servers
