"""`customer_scores` has one partition per workspace, so that a full rescoring
can rebuild a workspace's scores in a fresh table and swap it in.

Writing a million rows into the shared, indexed table took 23 s (every row
entering three indexes and the write-ahead log one by one). A new table
filled by COPY FREEZE and indexed once the rows are in takes 5.5-8 s for the
whole step, indexes and ANALYZE included (10^6 customers, this 2-core machine).

A rebuild, all in the caller's transaction:
1. `start`: an empty table shaped like the partition, named `customer_scores`
   in a schema of its own (`tribe_rescoring_w<id>`); the caller fills it.
2. `finish`: index it, take the newer rows that incremental rescoring wrote
   after the run's snapshot, and put that schema first on the search path, so
   that the statements after it (the segment sync) read the new scores as
   `customer_scores`.
3. `swap`: drop the old partition, attach the new one.
A run that fails or is killed rolls all of it back and leaves the old
partition as it was. The swap holds an exclusive lock on `customer_scores`
(every workspace) from the drop to the commit that follows it: milliseconds,
but it waits for the reads under way.

The API's role gets no privilege on the partitions: it reads and writes them
through `customer_scores`, under its row-level security.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PARENT = "customer_scores"
_PARTITION = re.compile(r"customer_scores_w\d+")


def partition_name(workspace_id: int) -> str:
    return f"{PARENT}_w{int(workspace_id)}"


def compared_by_alembic(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's `include_name`: everything but the partitions, which the
    application creates, one per workspace, outside the table metadata."""
    return not (type_ == "table" and name is not None and _PARTITION.fullmatch(name))


async def create_partition(conn: AsyncConnection, workspace_id: int) -> None:
    await conn.execute(text(f"CREATE TABLE {partition_name(workspace_id)} PARTITION OF {PARENT} "
                            f"FOR VALUES IN ({int(workspace_id)})"))


class Rebuild:
    """One workspace's partition, built anew (see the module docstring)."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = int(workspace_id)
        self.schema = f"tribe_rescoring_w{self.workspace_id}"
        self.table = f"{self.schema}.{PARENT}"
        self.live = partition_name(self.workspace_id)
        self._search_path = ""  # the transaction's own, while `finish` puts the new table first

    async def start(self, conn: AsyncConnection) -> None:
        # The CHECK lets the attach skip reading the table to prove its rows belong.
        await conn.execute(text(f"CREATE SCHEMA {self.schema}"))
        await conn.execute(text(
            f"CREATE TABLE {self.table} (LIKE public.{PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
            f"CONSTRAINT {self.live}_workspace CHECK (workspace_id = {self.workspace_id}))"))

    async def finish(self, conn: AsyncConnection, computed_at) -> None:
        """Index the new rows and take over those rescored since `computed_at`.

        From here to the commit, incremental rescoring in this workspace waits
        (the old partition is locked against writes, so none of its rows can be
        lost). That lock comes before the workspace's event counter (taken by
        the segment sync), in the order incremental rescoring takes them (its
        score, then its events); the other way round, each could wait for the
        other."""
        for statement in (
            f"ALTER TABLE {self.table} ADD CONSTRAINT {self.live}_pkey PRIMARY KEY (workspace_id, customer_id)",
            f"CREATE INDEX {self.live}_clv ON {self.table} (workspace_id, clv)",
            f"CREATE INDEX {self.live}_customer_type ON {self.table} (workspace_id, customer_type)",
            f"LOCK TABLE public.{self.live} IN SHARE MODE",
            f"DELETE FROM {self.table} s USING public.{self.live} live "
            "WHERE live.customer_id = s.customer_id AND live.computed_at > :at",
            f"INSERT INTO {self.table} SELECT * FROM public.{self.live} WHERE computed_at > :at",
            # Coarse statistics (3,000 rows sampled, not 30,000: 0.04 s instead of
            # 0.5 at 10^6) plan the segment sync; autovacuum analyzes the new
            # partition in full soon after the commit, as any table that just
            # took a million rows.
            "SET LOCAL default_statistics_target = 10",
            f"ANALYZE {self.table}",
            "SET LOCAL default_statistics_target = DEFAULT",
        ):
            await conn.execute(text(statement), {"at": computed_at})
        self._search_path = await conn.scalar(text("SELECT current_setting('search_path')"))
        await _set_search_path(conn, f"{self.schema}, {self._search_path}")

    async def moved(self, conn: AsyncConnection, columns: list[str]) -> list[int]:
        """Customers whose new row differs from their old one in these columns,
        or who had none."""
        differs = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in columns) or "false"
        return list(await conn.scalars(text(
            f"SELECT n.customer_id FROM {self.table} n LEFT JOIN public.{self.live} o "
            f"ON o.customer_id = n.customer_id WHERE o.customer_id IS NULL OR {differs}")))

    async def swap(self, conn: AsyncConnection) -> None:
        await _set_search_path(conn, self._search_path)
        for statement in (
            f"DROP TABLE public.{self.live}",
            f"ALTER TABLE {self.table} RENAME TO {self.live}",
            f"ALTER TABLE {self.schema}.{self.live} SET SCHEMA public",
            f"ALTER TABLE public.{PARENT} ATTACH PARTITION public.{self.live} "
            f"FOR VALUES IN ({self.workspace_id})",
            f"DROP SCHEMA {self.schema}",
        ):
            await conn.execute(text(statement))


async def _set_search_path(conn: AsyncConnection, path: str) -> None:
    await conn.execute(text("SELECT set_config('search_path', :path, true)"), {"path": path})
