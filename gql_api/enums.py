"""The domain's vocabularies as GraphQL enums (names upper-case, values as stored)."""

from __future__ import annotations

from enum import Enum

import strawberry

from domain import vocab
from scoring import RFM_SEGMENTS


def _mirror(source: type[Enum], description: str):
    return strawberry.enum(Enum(source.__name__, {v.name: v.value for v in source}), description=description)


CustomerKind = _mirror(vocab.CustomerKind, "A person or a legal entity.")
LifecycleStage = _mirror(vocab.LifecycleStage, "Where the customer is in the funnel, from lead to lost.")
Temperament = _mirror(vocab.Temperament, "How staff should talk to them: warm/friendly or serious.")
Trait = _mirror(vocab.Trait, "Behaviour types staff set (and scoring infers).")
CustomerType = _mirror(vocab.CustomerType, "The four customer types (Allan Dib), or STANDARD.")
SalesChannel = _mirror(vocab.SalesChannel, "Where a purchase was made.")
InteractionKind = _mirror(vocab.InteractionKind, "A kind of service-history event.")
NoteKind = _mirror(vocab.NoteKind, "What a note records: a call, a meeting, a complaint, ...")
RfmSegment = strawberry.enum(Enum("RfmSegment", {s.upper(): s for s in RFM_SEGMENTS}),
                             description="Named RFM segment (grid in the README).")
