"""Who may do what: small permission classes with an error code."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission

from domain.vocab import Role


UNAUTHENTICATED = {"code": "UNAUTHENTICATED"}
# Staff's roles: they read notes and contact details by role, where an
# INTEGRATOR key needs a grant for each.
STAFF = frozenset({Role.ADMIN, Role.ANALYST, Role.AGENT})


class IsAuthenticated(BasePermission):
    message = "an API key is required: send `Authorization: Bearer <key>`"
    error_extensions = UNAUTHENTICATED

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        if info.context.api_key is not None:
            return True
        if info.context.key_sent:  # the same code, and a message that says what is wrong
            raise GraphQLError("this API key is not valid or was revoked", extensions=UNAUTHENTICATED)
        return False


def role_in(*roles: Role) -> list[type[BasePermission]]:
    """Permissions for authenticated keys of the given roles (checked in order,
    so a missing key is UNAUTHENTICATED and a wrong role FORBIDDEN)."""
    allowed = set(roles)

    class HasRole(BasePermission):
        message = "this API key's role may not do this"
        error_extensions = {"code": "FORBIDDEN"}

        def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
            return info.context.api_key.role in allowed

    return [IsAuthenticated, HasRole]


class ReadsNotes(BasePermission):
    """Notes are staff's working memory: staff roles read them; an INTEGRATOR
    key only with the notes grant."""
    message = "this API key may not read notes: an integrator key needs the notes grant (tribe keys create --notes)"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        return reads_notes(info.context.api_key)


def reads_notes(api_key) -> bool:
    return api_key is not None and (api_key.role in STAFF or (api_key.role is Role.INTEGRATOR and api_key.notes))


# Who reads the workspace's customers, segments and analytics: everyone but
# APP keys, which only see their signed-in customer (gql_api/signed_in.py).
READERS = role_in(*STAFF, Role.INTEGRATOR)
