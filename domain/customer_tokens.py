"""Short-lived tokens that name a mobile app's signed-in customer.

The business's backend signs its user in, then asks Tribe for a token
(`customerTokenCreate`, or signs one itself with the workspace's secret) and
hands it to the app, which sends it with the workspace's APP key. A token is a
JWT (HS256) with the claims `sub` (the customer's id in the API), `ws` (the
workspace id), `iat` and `exp`; it is checked against the workspace's
`app_token_secret`, so it cannot be forged, moved to another workspace or used
after it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.tables import workspaces

MAX_LIFETIME = timedelta(hours=24)
_HEADER = {"alg": "HS256", "typ": "JWT"}


class InvalidToken(ValueError):
    """The token is malformed, forged, for another workspace or expired (the message says which)."""


def sign(secret: bytes, workspace_id: int, subject: str, now: datetime, lifetime: timedelta) -> str:
    claims = {"sub": subject, "ws": workspace_id, "iat": int(now.timestamp()),
              "exp": int((now + lifetime).timestamp())}
    signing_input = f"{_encode(_HEADER)}.{_encode(claims)}"
    return f"{signing_input}.{_b64(_signature(secret, signing_input))}"


def verify(secret: bytes, workspace_id: int, token: str, now: datetime) -> str:
    """The token's subject, if the token is genuine, this workspace's and current."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("a customer token has three dot-separated parts")
    try:
        header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except ValueError:
        raise InvalidToken("the customer token is not valid base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":  # never "none", nor another algorithm
        raise InvalidToken("a customer token is signed with HS256")
    if not hmac.compare_digest(signature, _signature(secret, f"{parts[0]}.{parts[1]}")):
        raise InvalidToken("the customer token's signature does not match this workspace's secret")
    if not isinstance(claims, dict) or claims.get("ws") != workspace_id or not isinstance(claims.get("sub"), str):
        raise InvalidToken("the customer token is not for this workspace")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now.timestamp():
        raise InvalidToken("the customer token has expired")
    return claims["sub"]


async def workspace_secret(conn: AsyncConnection, workspace_id: int) -> bytes:
    return await conn.scalar(select(workspaces.c.app_token_secret).where(workspaces.c.id == workspace_id))


async def rotate_secret(conn: AsyncConnection, workspace_id: int) -> bytes:
    """A new secret: every token signed with the old one stops working."""
    secret = secrets.token_bytes(32)
    await conn.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(app_token_secret=secret))
    return secret


def secret_text(secret: bytes) -> str:
    """The secret as a backend configures it for signing tokens itself (base64url)."""
    return _b64(secret)


def _signature(secret: bytes, signing_input: str) -> bytes:
    return hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()


def _encode(value: dict) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # binascii.Error is a ValueError
