"""Invite links and server addresses, parsed without touching the network.

An invite link carries both the server and the token::

    tether://join?server=ws%3A%2F%2Fhost%3A8765&token=eyJ…

A plain web-style link to the server with the token in the query or fragment
(``http://host:8765/?token=…``, ``wss://host/#token=…``) is accepted too; its
scheme, host and path name the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

INVITE_SCHEME = "tether"
_WS_FOR = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}


@dataclass(frozen=True)
class Invite:
    server: str
    token: str


class AddressError(ValueError):
    """The server address cannot be used; ``str()`` says how to fix it."""


def normalize_server(address: str) -> str:
    """Return a ``ws://`` / ``wss://`` URL for what a person typed, or raise :class:`AddressError`.

    ``host:port`` gets ``ws://``; ``http(s)://`` becomes ``ws(s)://``.
    """
    text = (address or "").strip()
    if not text:
        raise AddressError("Enter the server address, for example ws://127.0.0.1:8765")
    if "://" not in text:
        text = "ws://" + text
    parts = urlsplit(text)
    scheme = _WS_FOR.get(parts.scheme.lower())
    if scheme is None:
        raise AddressError(
            f"The server address must start with ws:// or wss://, not {parts.scheme}://"
        )
    try:
        port = parts.port
    except ValueError:
        raise AddressError("The server address has a bad port number") from None
    if not parts.hostname:
        raise AddressError("The server address has no host name")
    del port
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def parse_invite(text: str) -> Invite | None:
    """An :class:`Invite` if ``text`` is an invite link, else ``None`` (a bare token, say)."""
    text = (text or "").strip()
    if "://" not in text:
        return None
    parts = urlsplit(text)
    params = parse_qs(parts.query)
    params.update({k: v for k, v in parse_qs(parts.fragment).items() if k not in params})
    token = (params.get("token") or [""])[0].strip()
    if not token:
        return None
    if parts.scheme.lower() == INVITE_SCHEME:
        server = (params.get("server") or [""])[0]
    else:
        server = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    try:
        return Invite(server=normalize_server(server), token=token)
    except AddressError:
        return None


def make_invite(server: str, token: str) -> str:
    """The invite link for ``server`` and ``token`` (the inverse of :func:`parse_invite`)."""
    return (
        f"{INVITE_SCHEME}://join?server={quote(normalize_server(server), safe='')}"
        f"&token={quote(token, safe='')}"
    )
