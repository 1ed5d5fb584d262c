"""Who may do what: small permission classes with an error code."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission


class IsAuthenticated(BasePermission):
    message = "an API key is required: send `Authorization: Bearer <key>`"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        return info.context.api_key is not None
