"""The Customer type and its connection."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from functools import partial

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gql_api.customers.contacts import mask_email, mask_phone, sees_contacts
from gql_api.customers.scores import CustomerScores
from gql_api.dataloaders import when_loaded
from gql_api.enums import CustomerKind, LifecycleStage, Temperament, Trait
from gql_api.errors import bad_input
from gql_api.ids import MalformedId
from gql_api.limits import MAX_PAGE
from gql_api.node import Node
from gql_api.notes.types import Note, NoteConnection, NoteEdge, note_cursor, note_position
from gql_api.pagination import Edge, PageInfo
from gql_api.permissions import ReadsNotes
from gql_api.recording.types import (Interaction, InteractionConnection, InteractionEdge, Purchase,
                                     PurchaseConnection, PurchaseEdge, history_position, interaction_cursor,
                                     purchase_cursor)
from gql_api.segments.types import Segment

CONTACT_NOTE = "Masked (m***@example.com, *********89) for INTEGRATOR keys without the contact details grant."


@strawberry.type(description="A customer of the workspace: an individual or an organisation.")
class Customer(Node):
    external_id: str | None = strawberry.field(description="The id in the business's own system.")
    kind: CustomerKind
    first_name: str | None
    last_name: str | None
    company_name: str | None
    contact_person: str | None = strawberry.field(description="For organisations: who to talk to.")
    registration_number: str | None
    # Contact details, shown through the resolvers below (masked for some keys).
    stored_email: strawberry.Private[str | None]
    stored_phone: strawberry.Private[str | None]
    stored_phone_e164: strawberry.Private[str | None]
    birth_date: datetime.date | None
    gender: str | None
    occupation: str | None
    marital_status: str | None
    education: str | None
    income_band: str | None
    province: str | None
    city: str | None
    neighbourhood: str | None
    interests: list[str]
    lifestyle: str | None
    temperament: Temperament | None
    staff_traits: list[Trait] = strawberry.field(description="Traits set by staff.")
    tags: list[str]
    lifecycle_stage: LifecycleStage
    consent_sms: bool
    consent_email: bool
    consent_push: bool
    attributes: JSON = strawberry.field(description="Custom attributes (a JSON object).")
    created_at: datetime.datetime
    updated_at: datetime.datetime


    @strawberry.field(description="Scores from the last full or incremental rescoring; null before the first.")
    def scores(self, info: Info) -> CustomerScores | None:
        return when_loaded(info.context.loaders.scores_by_customer.load(self.pk), CustomerScores.from_row_if_any)

    @strawberry.field(description="The traits to go by: staff-set ones when staff set any (staff win), else "
                                  "those inferred by scoring.")
    def traits(self, info: Info) -> list[Trait]:
        if self.staff_traits:
            return self.staff_traits
        return when_loaded(info.context.loaders.scores_by_customer.load(self.pk),
                           lambda row: [Trait(t) for t in row.inferred_traits] if row is not None else [])

    @strawberry.field(description="The segments the customer is in now.")
    def segments(self, info: Info) -> list[Segment]:
        return when_loaded(info.context.loaders.segments_by_customer.load(self.pk),
                           lambda rows: [Segment.from_row(r) for r in rows])

    @strawberry.field(permission_classes=[ReadsNotes],
                      description="Notes on the profile, pinned first, then newest first (at most 100 a page). Staff "
                                  "keys; an integrator key with the notes grant.")
    def notes(self, info: Info, first: int = 10, after: str | None = None) -> NoteConnection:
        return when_loaded(_page(info.context.loaders.notes_by_customer, self.pk, first, after, note_position),
                           partial(_note_page, first))

    @strawberry.field(description="Purchases and refunds, newest first (at most 100 a page).")
    def purchases(self, info: Info, first: int = 10, after: str | None = None) -> PurchaseConnection:
        return purchase_page(info, self.pk, first, after)

    @strawberry.field(description="Service history, newest first (at most 100 a page).")
    def interactions(self, info: Info, first: int = 10, after: str | None = None) -> InteractionConnection:
        return when_loaded(_page(info.context.loaders.interactions_by_customer, self.pk, first, after),
                           partial(_interaction_page, first))

    @strawberry.field(description=CONTACT_NOTE)
    def email(self, info: Info) -> str | None:
        return _shown(info, self.stored_email, mask_email)

    @strawberry.field(description="As typed. " + CONTACT_NOTE)
    def phone(self, info: Info) -> str | None:
        return _shown(info, self.stored_phone, mask_phone)

    @strawberry.field(description="The phone in E.164 form. " + CONTACT_NOTE)
    def phone_e164(self, info: Info) -> str | None:
        return _shown(info, self.stored_phone_e164, mask_phone)

    @strawberry.field(description="Name to show: the person's or the company's, else the email or phone "
                                  "(masked like them).")
    def display_name(self, info: Info) -> str:
        person = " ".join(p for p in (self.first_name, self.last_name) if p)
        return (self.company_name or person or _shown(info, self.stored_email, mask_email)
                or _shown(info, self.stored_phone, mask_phone) or "")

    @classmethod
    def from_row(cls, row) -> Customer:
        return cls(
            pk=row.id, external_id=row.external_id, kind=CustomerKind(row.kind), first_name=row.first_name,
            last_name=row.last_name, company_name=row.company_name, contact_person=row.contact_person,
            registration_number=row.registration_number, stored_email=row.email, stored_phone=row.phone,
            stored_phone_e164=row.phone_e164, birth_date=row.birth_date, gender=row.gender, occupation=row.occupation,
            marital_status=row.marital_status, education=row.education, income_band=row.income_band,
            province=row.province, city=row.city, neighbourhood=row.neighbourhood, interests=row.interests,
            lifestyle=row.lifestyle, temperament=Temperament(row.temperament) if row.temperament else None,
            staff_traits=[Trait(t) for t in row.staff_traits], tags=row.tags,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage), consent_sms=row.consent_sms,
            consent_email=row.consent_email, consent_push=row.consent_push, attributes=row.attributes,
            created_at=row.created_at, updated_at=row.updated_at,
        )


def _shown(info: Info, value: str | None, mask) -> str | None:
    return value if value is None or sees_contacts(info.context.api_key) else mask(value)


def purchase_page(info: Info, pk: int, first: int,
                  after: str | None) -> PurchaseConnection | Awaitable[PurchaseConnection]:
    return when_loaded(_page(info.context.loaders.purchases_by_customer, pk, first, after),
                       partial(_purchase_page, first))


def _page(loader, pk: int, first: int, after: str | None, position_of=history_position) -> Awaitable[list]:
    """Loads a page of the customer's notes, purchases or interactions
    (`position_of` reads the list's cursors), one more row than asked for:
    whether more follow."""
    if not 0 <= first <= MAX_PAGE:
        raise bad_input(f"first must be between 0 and {MAX_PAGE}")
    try:
        position = position_of(after) if after else None
    except (MalformedId, ValueError):
        raise bad_input(f"{after!r} is not a cursor of this list") from None
    return loader.load((pk, first, position))


def _note_page(first: int, rows: list) -> NoteConnection:
    rows, has_next = rows[:first], len(rows) > first
    edges = [NoteEdge(row=r, cursor_of=note_cursor, node=Note.from_row(r)) for r in rows]
    return NoteConnection(edges=edges, page_info=PageInfo(
        has_next_page=has_next, end_cursor=note_cursor(rows[-1]) if rows else None))


def _purchase_page(first: int, rows: list) -> PurchaseConnection:
    rows, has_next = rows[:first], len(rows) > first
    edges = [PurchaseEdge(row=r, cursor_of=purchase_cursor, node=Purchase.from_rows(r.row, r.items)) for r in rows]
    return PurchaseConnection(edges=edges, page_info=PageInfo(
        has_next_page=has_next, end_cursor=purchase_cursor(rows[-1]) if rows else None))


def _interaction_page(first: int, rows: list) -> InteractionConnection:
    rows, has_next = rows[:first], len(rows) > first
    edges = [InteractionEdge(row=r, cursor_of=interaction_cursor, node=Interaction.from_row(r)) for r in rows]
    return InteractionConnection(edges=edges, page_info=PageInfo(
        has_next_page=has_next, end_cursor=interaction_cursor(rows[-1]) if rows else None))


@strawberry.type
class CustomerEdge(Edge):
    node: Customer


@strawberry.type(description="A page of customers.")
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo
    # Counting every match can cost more than the page: only when asked for.
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Customers matching, on all pages.")
    async def total_count(self) -> int:
        return await self.counter()
