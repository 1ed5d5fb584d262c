"""node(id) and nodes(ids): any object by its global id, batched per type."""

from __future__ import annotations

import base64
import binascii

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from domain.campaigns.campaigns import campaigns_by_id
from domain.campaigns.offers import offers_by_id
from domain.campaigns.redemptions import redemptions_by_id
from domain.customers import customers_by_id
from domain.notes import notes_by_id
from domain.recording import interactions_by_id, purchases_by_id
from domain.segments import segments_by_id
from gql_api.campaigns.types import Campaign, Offer, Redemption
from gql_api.customers.types import Customer
from gql_api.errors import bad_input
from gql_api.ids import MalformedId, from_global_id
from gql_api.node import Node
from gql_api.notes.types import Note
from gql_api.permissions import READERS, ReadsNotes, reads_notes
from gql_api.recording.types import Interaction, Purchase
from gql_api.segments.types import Segment

MAX_NODES = 100

# type name -> (batch loader, row -> GraphQL object)
_KINDS = {
    "Customer": (customers_by_id, Customer.from_row),
    "Note": (notes_by_id, Note.from_row),
    "Purchase": (purchases_by_id, lambda found: Purchase.from_rows(found.row, found.items)),
    "Interaction": (interactions_by_id, Interaction.from_row),
    "Segment": (segments_by_id, Segment.from_row),
    "Campaign": (campaigns_by_id, Campaign.from_row),
    "Offer": (offers_by_id, Offer.from_row),
    "Redemption": (redemptions_by_id, Redemption.from_row),
}


def _parse(global_id: str) -> tuple[str, int]:
    try:
        kind = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().partition(":")[0]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        kind = ""
    if kind not in _KINDS:
        raise bad_input(f"{global_id!r} is not an id")
    try:
        return kind, from_global_id(global_id, kind)
    except MalformedId as exc:
        raise bad_input(str(exc)) from None


async def _load(info: Info, ids: list[str]) -> list[Node | None]:
    wanted = [_parse(i) for i in ids]
    if not reads_notes(info.context.api_key) and any(kind == "Note" for kind, _ in wanted):
        raise GraphQLError(ReadsNotes.message, extensions=ReadsNotes.error_extensions)
    found: dict[tuple[str, int], Node] = {}
    async with info.context.transaction() as conn:
        for kind in {k for k, _ in wanted}:
            load, build = _KINDS[kind]
            rows = await load(conn, info.context.api_key.workspace_id, [pk for k, pk in wanted if k == kind])
            found.update({(kind, pk): build(row) for pk, row in rows.items()})
    return [found.get(key) for key in wanted]


@strawberry.type
class NodeQueries:
    @strawberry.field(permission_classes=READERS,
                      description="Any object by its global id; null if it is not there (or not yours).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await _load(info, [id]))[0]

    @strawberry.field(permission_classes=READERS, description=f"Up to {MAX_NODES} objects by global id, "
                                                                        "in the order asked; null where missing.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise bad_input(f"at most {MAX_NODES} ids")
        return await _load(info, ids)
