"""Contact details (email, phone) as the caller may see them.

ADMIN, ANALYST and AGENT keys see them; INTEGRATOR keys see them masked
unless their key carries the grant (`tribe keys create --contact-details`).
A masked value keeps enough to recognise it (the email's first letter and
domain, the phone's last two digits) and nothing to reach the customer with.
"""

from __future__ import annotations

from domain.vocab import Role

_SEE_CONTACTS = {Role.ADMIN, Role.ANALYST, Role.AGENT}


def sees_contacts(api_key) -> bool:
    return api_key is not None and (api_key.role in _SEE_CONTACTS or api_key.contact_details)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """Digits but the last two become '*'; a leading '+' stays."""
    keep = len(phone) - 2
    return "".join("*" if ch.isdigit() and i < keep else ch for i, ch in enumerate(phone))
