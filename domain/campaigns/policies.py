"""Customer-type policies: how each kind of customer is treated by campaigns.

The domain notes say what the four customer types need: stop feeding churners
discounts, give vampires service-standard messages rather than discounts, tell
bargainers whenever a discount is on, and strengthen the tribe. A policy names
a customer type (from scoring) or a trait (staff-set, else inferred) and says:

- `exclude_offer_kinds`: left out of any campaign offering one of these kinds;
- `join_offer_kinds`: brought into any campaign offering one of these kinds,
  even when outside its segments (still subject to the excluded segments,
  consent and the frequency cap);
- `early_access_hours`: their offers open this many hours before everyone's.

A workspace has one set (the defaults below until it sets its own), applied
to every campaign unless the campaign carries a set of its own. When several
policies match a customer, exclusion wins over joining; the first matching
exclusion (in the set's order) is the one the audience report names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns.settings import campaign_settings, change_campaign_settings
from domain.errors import DomainError, ErrorCode
from domain.vocab import DISCOUNT_KINDS, CustomerType, OfferKind, Trait

MAX_POLICIES = 20
MAX_EARLY_HOURS = 24 * 14
MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class Policy:
    customer_type: CustomerType | None = None
    trait: Trait | None = None
    exclude_offer_kinds: frozenset[OfferKind] = frozenset()
    join_offer_kinds: frozenset[OfferKind] = frozenset()
    early_access_hours: int = 0
    description: str = ""

    @property
    def label(self) -> str:
        """What the audience report calls it: CHURNER, BARGAINER, ..."""
        return (self.customer_type or self.trait).name

    def excludes(self, kinds: set[OfferKind]) -> bool:
        return bool(self.exclude_offer_kinds & kinds)

    def joins(self, kinds: set[OfferKind]) -> bool:
        return bool(self.join_offer_kinds & kinds)

    def to_json(self) -> dict:
        return {"customerType": self.customer_type and self.customer_type.value,
                "trait": self.trait and self.trait.value,
                "excludeOfferKinds": sorted(k.value for k in self.exclude_offer_kinds),
                "joinOfferKinds": sorted(k.value for k in self.join_offer_kinds),
                "earlyAccessHours": self.early_access_hours, "description": self.description}

    @classmethod
    def from_json(cls, raw: dict) -> Policy:
        return cls(customer_type=CustomerType(raw["customerType"]) if raw.get("customerType") else None,
                   trait=Trait(raw["trait"]) if raw.get("trait") else None,
                   exclude_offer_kinds=frozenset(OfferKind(k) for k in raw.get("excludeOfferKinds", [])),
                   join_offer_kinds=frozenset(OfferKind(k) for k in raw.get("joinOfferKinds", [])),
                   early_access_hours=raw.get("earlyAccessHours", 0), description=raw.get("description", ""))


DEFAULT_POLICIES = (
    Policy(customer_type=CustomerType.CHURNER, exclude_offer_kinds=DISCOUNT_KINDS,
           description="Churners cost more than they bring and ask for discounts: do not feed them more."),
    Policy(customer_type=CustomerType.VAMPIRE, exclude_offer_kinds=DISCOUNT_KINDS,
           description="Vampires get service-standard messages (notices, points), not discounts."),
    Policy(trait=Trait.BARGAINER, join_offer_kinds=DISCOUNT_KINDS,
           description="Bargainers always ask for a discount: tell them whenever one is on."),
    Policy(customer_type=CustomerType.TRIBE, join_offer_kinds=frozenset({OfferKind.CASHBACK}), early_access_hours=48,
           description="The tribe gets every cashback campaign, and its offers 48 hours early."),
)


def validate(policies: list[Policy]) -> list[Policy]:
    if len(policies) > MAX_POLICIES:
        raise DomainError(ErrorCode.INVALID, "policies", f"at most {MAX_POLICIES} policies")
    seen = set()
    for i, policy in enumerate(policies):
        path = f"policies.{i}"
        if (policy.customer_type is None) == (policy.trait is None):
            raise DomainError(ErrorCode.INVALID, path, "a policy names exactly one of customerType and trait")
        if policy.label in seen:
            raise DomainError(ErrorCode.DUPLICATE, path, f"{policy.label} has a policy already")
        seen.add(policy.label)
        if not 0 <= policy.early_access_hours <= MAX_EARLY_HOURS:
            raise DomainError(ErrorCode.INVALID, f"{path}.earlyAccessHours", f"0 to {MAX_EARLY_HOURS} hours")
        if policy.exclude_offer_kinds & policy.join_offer_kinds:
            raise DomainError(ErrorCode.CONFLICT, path, "an offer kind cannot both exclude and bring in")
        if len(policy.description) > MAX_DESCRIPTION:
            raise DomainError(ErrorCode.TOO_LONG, f"{path}.description", f"at most {MAX_DESCRIPTION} characters")
    return policies


async def workspace_policies(conn: AsyncConnection, workspace_id: int) -> tuple[Policy, ...]:
    """The workspace's set (the defaults until it sets one)."""
    stored = (await campaign_settings(conn, workspace_id)).get("policies")
    return DEFAULT_POLICIES if stored is None else tuple(Policy.from_json(p) for p in stored)


async def set_workspace_policies(conn: AsyncConnection, workspace_id: int, policies: list[Policy]
                                 ) -> tuple[Policy, ...]:
    """Replace the workspace's set (an empty list: no policies at all)."""
    validate(policies)
    await change_campaign_settings(conn, workspace_id, policies=[p.to_json() for p in policies])
    return tuple(policies)


def campaign_policies(stored: list[dict] | None, workspace: tuple[Policy, ...]) -> tuple[Policy, ...]:
    """A campaign's own set when it has one, else the workspace's."""
    return workspace if stored is None else tuple(Policy.from_json(p) for p in stored)
