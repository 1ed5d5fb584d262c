"""noteCreate, noteUpdate, noteDelete: ADMIN and AGENT keys; typed userErrors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from domain import vocab
from domain.notes import create_note, delete_note, update_note
from gql_api.errors import UserError, attempt, input_pk
from gql_api.notes.types import Note, NoteCreateInput, NoteDeleteInput, NoteUpdateInput
from gql_api.permissions import role_in


@strawberry.type
class NotePayload:
    note: Note | None
    user_errors: list[UserError]


async def _run(info: Info, change: Callable[..., Awaitable]) -> NotePayload:
    row, errors = await attempt(info, change)
    return NotePayload(note=None if errors else Note.from_row(row), user_errors=errors)


WRITERS = role_in(vocab.Role.ADMIN, vocab.Role.AGENT)


@strawberry.type
class NoteMutations:
    @strawberry.mutation(permission_classes=WRITERS, description="Add a note to a customer's profile.")
    async def note_create(self, info: Info, input: NoteCreateInput) -> NotePayload:
        async def change(conn, workspace_id):
            return await create_note(conn, workspace_id, input_pk(input.customer_id, "Customer", "customerId"),
                                     input.author or info.context.api_key.name, input.body,
                                     vocab.NoteKind(input.kind.value), input.pinned)
        return await _run(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Edit, re-kind, pin or unpin a note.")
    async def note_update(self, info: Info, input: NoteUpdateInput) -> NotePayload:
        async def change(conn, workspace_id):
            return await update_note(conn, workspace_id, input_pk(input.id, "Note", "id"), input.body,
                                     vocab.NoteKind(input.kind.value) if input.kind else None, input.pinned)
        return await _run(info, change)

    @strawberry.mutation(permission_classes=WRITERS, description="Delete a note (it is hidden, not erased).")
    async def note_delete(self, info: Info, input: NoteDeleteInput) -> NotePayload:
        async def change(conn, workspace_id):
            return await delete_note(conn, workspace_id, input_pk(input.id, "Note", "id"))
        return await _run(info, change)
