"""Media negotiation payloads carried opaquely by the session's ``rtc`` relay.

The subscriber drives: it sends ``media_offer`` to the publisher's connection for one
stream, and the publisher answers on a fresh peer connection.  Each offer carries the
subscription id (stable for the life of a ``Subscriber``) and a generation number that
grows with every renegotiation, so a late answer or offer for an older peer connection
is recognised and ignored.  aiortc gathers candidates before the offer / answer is
made, so they travel inside the SDP; ``media_candidate`` exists for trickling peers.

Also the heartbeat a publisher sends on each peer connection's data channel.
Pure: shapes and checks only.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.core.errors import ErrorCode, TetherError


class _Payload(msgspec.Struct, tag_field="t", frozen=True, forbid_unknown_fields=False):
    pass


class MediaOffer(_Payload, tag="media_offer"):
    stream_id: str
    sub_id: str
    gen: int
    sdp: str


class MediaAnswer(_Payload, tag="media_answer"):
    stream_id: str
    sub_id: str
    gen: int
    sdp: str


class MediaCandidate(_Payload, tag="media_candidate"):
    stream_id: str
    sub_id: str
    gen: int
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


class MediaBye(_Payload, tag="media_bye"):
    """The subscriber is done: close the peer connection for this subscription."""

    stream_id: str
    sub_id: str


class MediaRefused(_Payload, tag="media_refused"):
    """The publisher cannot serve this offer (e.g. 1405: it does not publish the stream)."""

    stream_id: str
    sub_id: str
    gen: int
    code: int
    message: str


MediaPayload = MediaOffer | MediaAnswer | MediaCandidate | MediaBye | MediaRefused


def to_payload(message: MediaPayload) -> dict[str, Any]:
    return msgspec.to_builtins(message)


def from_payload(payload: dict[str, Any]) -> MediaPayload:
    """Parse a relayed payload or raise :class:`TetherError` (1400) naming what is wrong."""
    try:
        message = msgspec.convert(payload, MediaPayload)
    except msgspec.ValidationError as exc:
        raise TetherError(ErrorCode.MALFORMED_MESSAGE, f"bad media payload: {exc}") from None
    if getattr(message, "gen", 0) < 0:
        raise TetherError(ErrorCode.MALFORMED_MESSAGE, "bad media payload: negative gen")
    return message


def is_media_payload(payload: dict[str, Any]) -> bool:
    """Whether a relayed payload belongs to the media layer (its ``t`` starts ``media_``)."""
    t = payload.get("t")
    return isinstance(t, str) and t.startswith("media_")


class Heartbeat(msgspec.Struct, frozen=True):
    """Sent by the publisher on the data channel every ``interval`` seconds."""

    video: bool
    audio: bool
    seq: int = 0


_hb_encoder = msgspec.json.Encoder()
_hb_decoder = msgspec.json.Decoder(Heartbeat)


def encode_heartbeat(heartbeat: Heartbeat) -> str:
    return _hb_encoder.encode(heartbeat).decode()


def decode_heartbeat(data: str | bytes) -> Heartbeat:
    try:
        return _hb_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise TetherError(ErrorCode.MALFORMED_MESSAGE, f"bad heartbeat: {exc}") from None
