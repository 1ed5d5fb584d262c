"""Contact details (email, phone) as the caller may see them.

ADMIN, ANALYST and AGENT keys see them; INTEGRATOR keys see them masked
unless their key carries the grant (`tribe keys create --contact-details`).
A masked value keeps enough to recognise it (the email's first letter and
domain, the phone's last two digits) and nothing to reach the customer with.

What a key may not read it may not query by either: this module is the one
place that says so for every route that selects customers by a value —
search (`search_contacts`), segment rules and their previews
(`require_readable_rule`); filters and orders have no contact fields.
"""

from __future__ import annotations

from graphql import GraphQLError

from domain.segment_rules import fields_read, validate
from gql_api.permissions import STAFF

CONTACT_FIELDS = frozenset({"email", "phone", "phone_e164"})
_FORBIDDEN = {"code": "FORBIDDEN"}
_NEEDS_GRANT = "needs a key that sees contact details (integrator keys: created with --contact-details)"


def sees_contacts(api_key) -> bool:
    return api_key is not None and (api_key.role in STAFF or api_key.contact_details)


def search_contacts(api_key, search: str, looks_like_contact: bool) -> bool:
    """Whether a search may match emails and phones; a search that is plainly
    one (an address, a number) is refused outright to a key that may not."""
    if sees_contacts(api_key):
        return True
    if looks_like_contact:
        raise GraphQLError(f"searching by email or phone {_NEEDS_GRANT}", extensions=_FORBIDDEN)
    return False


def require_readable_rule(api_key, rule: dict) -> None:
    """A segment rule (or its preview) may test only fields the key may read."""
    hidden = sorted(fields_read(validate(rule)) & CONTACT_FIELDS) if not sees_contacts(api_key) else []
    if hidden:
        raise GraphQLError(f"a rule on {', '.join(hidden)} {_NEEDS_GRANT}", extensions=_FORBIDDEN)


def hidden_rule_fields(api_key) -> frozenset[str]:
    """The rule fields a key may not test, left out of segmentRuleFields."""
    return frozenset() if sees_contacts(api_key) else CONTACT_FIELDS


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """Digits but the last two become '*'; a leading '+' stays."""
    keep = len(phone) - 2
    return "".join("*" if ch.isdigit() and i < keep else ch for i, ch in enumerate(phone))
