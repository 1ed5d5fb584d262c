"""API keys this server process has recently authenticated.

Looking a key up cost every request a transaction of its own (a pool checkout,
BEGIN, a SELECT, COMMIT) before any of its work. A key seen less than
`KEY_CACHE_SECONDS` ago is taken from memory instead, so a revoked key keeps
working for at most that long on a process that had just seen it (the CLI
says so). Only keys that authenticated are remembered: made-up keys are looked
up each time, and cannot fill the memo.
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.db import unit_of_work
from domain.workspaces import ApiKey, authenticate, hash_key
from gql_api.recent import Recent

KEY_CACHE_SECONDS = 2.0


class KnownKeys:
    def __init__(self, seconds: float = KEY_CACHE_SECONDS):
        self.seconds = seconds
        self._seen = Recent(10_000)  # key hash -> (ApiKey, when it was looked up)

    async def authenticate(self, engine: AsyncEngine, header: str | None) -> ApiKey | None:
        """The key in an `Authorization: Bearer ...` header, or None."""
        scheme, _, key = (header or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return None
        digest = hash_key(key)
        now = time.monotonic()
        seen = self._seen.get(digest)
        if seen is not None and now - seen[1] < self.seconds:
            return seen[0]
        async with unit_of_work(engine) as conn:
            found = await authenticate(conn, key)
        if found is None:
            self._seen.pop(digest, None)
        else:
            self._seen.remember(digest, (found, now))
        return found
