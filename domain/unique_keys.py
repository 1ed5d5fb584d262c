"""A unique index's refusal, as the typed error the same write gets when it
comes second in sequence.

Writes check their unique keys before inserting (an external id, a segment's
key, a shared code) and say TAKEN; two writes of one new key at once both pass
that check, and PostgreSQL's unique index refuses the second at insert. That
refusal names its constraint; the constraint's columns name the field.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from domain.errors import DomainError, ErrorCode, camel
from domain.tables import metadata

UNIQUE_VIOLATION = "23505"


def _constraint(exc: IntegrityError) -> str | None:
    """The violated unique constraint's name, when `exc` is a unique violation."""
    driver_error = exc.orig.__cause__ if exc.orig is not None else None
    if getattr(driver_error, "sqlstate", None) != UNIQUE_VIOLATION:
        return None
    return getattr(driver_error, "constraint_name", None)


def _field(constraint: str) -> tuple[str, str]:
    """(the API field, the table's row in words) for a constraint named by
    domain/tables.py's convention: `uq_<table>_[workspace_id_]<column>`."""
    table = max((t for t in metadata.tables if constraint.startswith(f"uq_{t}_")), key=len, default="")
    column = constraint.removeprefix(f"uq_{table}_").removeprefix("workspace_id_")
    return camel(column), table.removesuffix("s").replace("_", " ") or "record"


def taken(exc: IntegrityError) -> DomainError | None:
    """TAKEN naming the field, for a unique violation; None for anything else."""
    constraint = _constraint(exc)
    if constraint is None:
        return None
    field, row = _field(constraint)
    return DomainError(ErrorCode.TAKEN, field, f"another {row} has this {field} (written at the same moment)")
