"""Notes staff write on a customer's profile: the latest state and the history
of what was done with them. Deleting a note hides it (soft delete)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.direct_reads import fetch, one_of
from domain.errors import DomainError, ErrorCode
from domain.tables import customers, notes
from domain.vocab import NoteKind

MAX_BODY = 10_000
MAX_AUTHOR = 200


def _check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise DomainError(ErrorCode.REQUIRED, "body", "a note needs a body")
    if len(body) > MAX_BODY:
        raise DomainError(ErrorCode.TOO_LONG, "body", f"at most {MAX_BODY} characters")
    return body


async def create_note(conn: AsyncConnection, workspace_id: int, customer_id: int, author: str, body: str,
                      kind: NoteKind = NoteKind.NOTE, pinned: bool = False) -> Row:
    found = await conn.scalar(select(customers.c.id).where(customers.c.workspace_id == workspace_id,
                                                           customers.c.id == customer_id,
                                                           customers.c.deleted_at.is_(None)))
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "customerId", "no such customer in this workspace")
    author = author.strip()
    if not author or len(author) > MAX_AUTHOR:
        raise DomainError(ErrorCode.INVALID, "author", f"an author is 1 to {MAX_AUTHOR} characters")
    return (await conn.execute(insert(notes).values(
        workspace_id=workspace_id, customer_id=customer_id, author=author, body=_check_body(body), kind=kind.value,
        pinned=pinned).returning(notes))).one()


async def update_note(conn: AsyncConnection, workspace_id: int, note_id: int, body: str | None = None,
                      kind: NoteKind | None = None, pinned: bool | None = None) -> Row:
    values: dict = {"updated_at": func.now()}
    if body is not None:
        values["body"] = _check_body(body)
    if kind is not None:
        values["kind"] = kind.value
    if pinned is not None:
        values["pinned"] = pinned
    row = (await conn.execute(update(notes).where(notes.c.workspace_id == workspace_id, notes.c.id == note_id,
                                                  notes.c.deleted_at.is_(None))
                              .values(**values).returning(notes))).one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "no such note in this workspace")
    return row


async def delete_note(conn: AsyncConnection, workspace_id: int, note_id: int) -> Row:
    row = (await conn.execute(update(notes).where(notes.c.workspace_id == workspace_id, notes.c.id == note_id,
                                                  notes.c.deleted_at.is_(None))
                              .values(deleted_at=func.now()).returning(notes))).one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "no such note in this workspace")
    return row


# A profile's order: pinned notes first, then newest first.
NEWEST_NOTES_FIRST = "pinned DESC, created_at DESC, id DESC"


async def latest_notes(conn: AsyncConnection, workspace_id: int, customer_ids: list[int],
                       limit: int) -> dict[int, list[Row]]:
    """Up to `limit` + 1 newest notes of each customer (pinned first), in one
    query whatever the number of customers."""
    chosen, key = one_of("customer_id", "$2", customer_ids)
    rows = await fetch(conn, f"""
        SELECT * FROM (
            SELECT n.*, row_number() OVER (PARTITION BY customer_id ORDER BY {NEWEST_NOTES_FIRST}) AS position
            FROM notes n
            WHERE workspace_id = $1 AND {chosen} AND deleted_at IS NULL) ranked
        WHERE position <= $3
        ORDER BY customer_id, position""", workspace_id, key, limit + 1)
    found: dict[int, list[Row]] = {pk: [] for pk in customer_ids}
    for row in rows:
        found[row.customer_id].append(row)
    return found


async def notes_after(conn: AsyncConnection, workspace_id: int, customer_id: int, limit: int,
                      after: tuple[bool, datetime, int]) -> list[Row]:
    """The next `limit` + 1 notes of one customer after (pinned, created_at, id),
    in the same order as `latest_notes` (keyset: no OFFSET)."""
    pinned, created_at, note_id = after
    rows = await conn.execute(
        select(notes).where(notes.c.workspace_id == workspace_id, notes.c.customer_id == customer_id,
                            notes.c.deleted_at.is_(None),
                            tuple_(notes.c.pinned, notes.c.created_at, notes.c.id) < tuple_(pinned, created_at, note_id))
        .order_by(notes.c.pinned.desc(), notes.c.created_at.desc(), notes.c.id.desc()).limit(limit + 1))
    return list(rows)


async def notes_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Row]:
    rows = await conn.execute(select(notes).where(notes.c.workspace_id == workspace_id, notes.c.id.in_(ids),
                                                  notes.c.deleted_at.is_(None)))
    return {r.id: r for r in rows}
