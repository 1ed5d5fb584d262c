"""A TCP front for the tests' PostgreSQL that can go down and come back.

Down, it closes every connection through it and refuses new ones: what the
clients of a PostgreSQL that restarts see (`pg_ctl restart -m fast` ends the
sessions, then nothing listens until the server is up again). The server
behind it is shared by the whole test session, so the tests restart this
link instead of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy import make_url


class FlakyLink:
    def __init__(self, database_url: str):
        url = make_url(database_url)
        socket_dir = url.query.get("host")
        self._unix = str(Path(socket_dir) / f".s.PGSQL.{url.port or 5432}") if socket_dir else None
        self._tcp = (url.host or "127.0.0.1", url.port or 5432)
        self._url = url
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The database's URL through the link."""
        return self._url.set(host="127.0.0.1", port=self.port, query={}).render_as_string(hide_password=False)

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._unix:
            server_reader, server_writer = await asyncio.open_unix_connection(self._unix)
        else:
            server_reader, server_writer = await asyncio.open_connection(*self._tcp)
        self._writers |= {client_writer, server_writer}
        try:
            await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        finally:
            for writer in (client_writer, server_writer):
                self._writers.discard(writer)
                writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
