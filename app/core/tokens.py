"""Join tokens: HS256 JWTs that name a session, a role and connection data.

Pure functions: the current time is passed in, never read.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import jwt

from app.core.errors import ErrorCode, TetherError
from app.core.limits import CONNECTION_DATA_MAX

# publisher: publish, subscribe, signal.  subscriber: subscribe and signal only.
# broadcaster: publish and signal, never subscribe (a stage camera, a recorder's feed).
# moderator: all of it, plus force-disconnect and force-unpublish.
ROLES = ("publisher", "subscriber", "broadcaster", "moderator")
DEFAULT_TTL = 24 * 3600.0
MAX_TTL = 30 * 24 * 3600.0
ISSUER = "tether"
_SESSION_PREFIX = "ses_"


@dataclass(frozen=True)
class TokenClaims:
    session_id: str
    role: str
    data: str
    issued_at: float
    expires_at: float
    nonce: str
    can_signal: bool = True  # False: the connection may not send signals

    @property
    def can_publish(self) -> bool:
        return can_publish(self.role)


def can_publish(role: str) -> bool:
    return role in ("publisher", "broadcaster", "moderator")


def can_subscribe(role: str) -> bool:
    return role != "broadcaster"


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return _SESSION_PREFIX + secrets.token_urlsafe(16)


def is_session_id(value: str) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(_SESSION_PREFIX)
        and 8 <= len(value) <= 64
        and all(c.isalnum() or c in "-_" for c in value)
    )


def make_token(
    secret: str,
    session_id: str,
    *,
    now: float,
    role: str = "publisher",
    data: str = "",
    ttl: float = DEFAULT_TTL,
    can_signal: bool = True,
) -> str:
    """Sign a join token.  Raises :class:`TetherError` (local) on bad arguments."""
    if not secret:
        raise TetherError(ErrorCode.INVALID_PARAMETER, "a secret is required to sign tokens")
    if not is_session_id(session_id):
        raise TetherError(ErrorCode.INVALID_SESSION, f"not a session id: {session_id!r}")
    if role not in ROLES:
        raise TetherError(ErrorCode.INVALID_PARAMETER, f"role must be one of {', '.join(ROLES)}")
    if len(data) > CONNECTION_DATA_MAX:
        raise TetherError(
            ErrorCode.INVALID_PARAMETER,
            f"connection data is {len(data)} characters; the limit is {CONNECTION_DATA_MAX}",
        )
    if not 0 < ttl <= MAX_TTL:
        raise TetherError(ErrorCode.INVALID_PARAMETER, "expiry must be between 1 s and 30 days")
    claims = {
        "iss": ISSUER,
        "sid": session_id,
        "role": role,
        "data": data,
        "iat": int(now),
        "exp": int(now + ttl),
        "nonce": secrets.token_urlsafe(12),
    }
    if not can_signal:
        claims["signal"] = False
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(secret: str, token: str, *, now: float) -> TokenClaims:
    """Verify a token and return its claims, or raise :class:`TetherError`.

    Expiry is checked against ``now``, not the machine clock.
    """
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise TetherError(ErrorCode.AUTHORIZATION_FAILURE, "token is missing or malformed")
    try:
        raw = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={
                "verify_exp": False,  # checked below against `now`
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["sid", "exp", "iat", "nonce"],
            },
        )
    except jwt.InvalidSignatureError:
        raise TetherError(ErrorCode.AUTHORIZATION_FAILURE, "token signature is invalid") from None
    except jwt.PyJWTError as exc:
        raise TetherError(ErrorCode.AUTHORIZATION_FAILURE, f"token is malformed: {exc}") from None
    try:
        claims = TokenClaims(
            session_id=str(raw["sid"]),
            role=str(raw.get("role", "publisher")),
            data=str(raw.get("data", "")),
            issued_at=float(raw["iat"]),
            expires_at=float(raw["exp"]),
            nonce=str(raw["nonce"]),
            can_signal=raw.get("signal", True) is not False,
        )
    except (TypeError, ValueError):
        raise TetherError(ErrorCode.AUTHORIZATION_FAILURE, "token claims are malformed") from None
    if claims.role not in ROLES or not is_session_id(claims.session_id):
        raise TetherError(ErrorCode.AUTHORIZATION_FAILURE, "token claims are malformed")
    if now >= claims.expires_at:
        raise TetherError(ErrorCode.TOKEN_EXPIRED, "token has expired; ask for a new one")
    return claims
