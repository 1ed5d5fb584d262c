"""Segments: built-in, cluster, rule and manual; their definitions, previews and
analytics. Membership itself lives in `segment_membership`.

Built-in segments (one per named RFM segment, customer type and lifecycle
stage) are created with each workspace and again, if missing, by every full
rescoring. Cluster segments follow the latest clustering. Both are maintained
by Tribe: their rules cannot be edited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import segment_membership, segment_rules
from domain.errors import DomainError, ErrorCode
from domain.tables import (SCORES_OF_CUSTOMER, campaigns as campaign_table, customer_scores, customers,
                           segment_memberships, segments)
from domain.vocab import CampaignStatus, CustomerType, LifecycleStage, SegmentKind
from scoring import RFM_SEGMENTS

MAX_NAME = 200
MAX_SAMPLE = 50
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")
MAINTAINED = {SegmentKind.BUILTIN.value, SegmentKind.CLUSTER.value}


def _is(field: str, value: str) -> dict:
    return {"condition": {"field": field, "op": "eq", "value": value}}


def _title(value: str) -> str:
    return value.replace("_", " ").capitalize()


BUILTIN = [
    *((f"rfm:{s}", f"RFM: {_title(s)}", _is("rfm_segment", s)) for s in RFM_SEGMENTS),
    *((f"type:{t.value}", f"Type: {_title(t.value)}", _is("customer_type", t.value)) for t in CustomerType),
    *((f"stage:{s.value}", f"Stage: {_title(s.value)}", _is("lifecycle_stage", s.value)) for s in LifecycleStage),
]


async def ensure_builtin(conn: AsyncConnection, workspace_id: int) -> set[int]:
    """The built-in segments, made if missing; the ids of those just made."""
    statement = pg_insert(segments).values([
        {"workspace_id": workspace_id, "key": key, "name": name, "kind": SegmentKind.BUILTIN.value, "rule": rule}
        for key, name, rule in BUILTIN])
    return set(await conn.scalars(statement.on_conflict_do_nothing(index_elements=["workspace_id", "key"])
                                  .returning(segments.c.id)))


async def refresh_clusters(conn: AsyncConnection, workspace_id: int, profiles: list[dict] | None) -> set[int]:
    """One CLUSTER segment per cluster of the latest clustering, its persona as
    the profile; clusters that no longer exist are retired. The ids of those
    made or brought back (their members are still to be found)."""
    profiles = profiles or []
    live = set(await conn.scalars(select(segments.c.id).where(
        segments.c.workspace_id == workspace_id, segments.c.kind == SegmentKind.CLUSTER.value,
        segments.c.deleted_at.is_(None))))
    current = set()
    for k, profile in enumerate(profiles):
        statement = pg_insert(segments).values(
            # Named as its key and the scores number it (cluster 0 was "Cluster 1"); renamed at the next run.
            workspace_id=workspace_id, key=f"cluster:{k}", name=f"Cluster {k}", kind=SegmentKind.CLUSTER.value,
            rule={"condition": {"field": "cluster", "op": "eq", "value": k}}, profile=profile)
        current.add(await conn.scalar(statement.on_conflict_do_update(
            index_elements=["workspace_id", "key"],
            set_={"profile": statement.excluded.profile, "name": statement.excluded.name, "deleted_at": None,
                  "updated_at": func.now()})
            .returning(segments.c.id)))
    retired = await conn.scalars(
        update(segments).where(segments.c.workspace_id == workspace_id, segments.c.kind == SegmentKind.CLUSTER.value,
                               segments.c.deleted_at.is_(None),
                               segments.c.key.not_in([f"cluster:{k}" for k in range(len(profiles))]))
        .values(deleted_at=func.now()).returning(segments.c.id))
    for segment_id in retired:
        await segment_membership.close_segment(conn, workspace_id, segment_id, "cluster retired")
    return current - live


# --- reads -----------------------------------------------------------------------------------

def _live(workspace_id: int):
    return select(segments).where(segments.c.workspace_id == workspace_id, segments.c.deleted_at.is_(None))


async def segments_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Row]:
    return {r.id: r for r in await conn.execute(_live(workspace_id).where(segments.c.id.in_(ids)))}


async def list_segments(conn: AsyncConnection, workspace_id: int, kinds: list[str] | None = None) -> list[Row]:
    query = _live(workspace_id).order_by(segments.c.id)
    if kinds:
        query = query.where(segments.c.kind.in_(kinds))
    return list(await conn.execute(query))


async def segment_sizes(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, int]:
    m = segment_memberships.c
    rows = await conn.execute(select(m.segment_id, func.count()).where(
        m.workspace_id == workspace_id, m.segment_id.in_(ids), m.left_at.is_(None)).group_by(m.segment_id))
    return {segment_id: 0 for segment_id in ids} | {segment_id: n for segment_id, n in rows}


async def segments_of(conn: AsyncConnection, workspace_id: int, customer_ids: list[int]) -> dict[int, list[Row]]:
    """Each customer's current segments, in segment id order."""
    rows = await conn.execute(_SEGMENTS_OF, {"workspace_id": workspace_id, "customer_ids": customer_ids})
    found: dict[int, list[Row]] = {cid: [] for cid in customer_ids}
    for row in rows:
        found[row.customer_id].append(row)
    return found


# Made once: `in_` with a list makes a parameter in a reference cycle, left to
# the garbage collector by every customer's segments.
_SEGMENTS_OF = (select(segment_memberships.c.customer_id, segments)
                .join(segments, segments.c.id == segment_memberships.c.segment_id)
                .where(segment_memberships.c.workspace_id == bindparam("workspace_id"),
                       segment_memberships.c.customer_id.in_(bindparam("customer_ids", expanding=True)),
                       segment_memberships.c.left_at.is_(None), segments.c.deleted_at.is_(None))
                .order_by(segment_memberships.c.customer_id, segments.c.id))


# --- writes ------------------------------------------------------------------------------------

def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(ErrorCode.REQUIRED, "name", "a segment needs a name")
    if len(name) > MAX_NAME:
        raise DomainError(ErrorCode.TOO_LONG, "name", f"at most {MAX_NAME} characters")
    return name


async def _check_references(conn: AsyncConnection, workspace_id: int, rule: dict, segment_id: int | None) -> None:
    """Referenced segments exist here, and following references never leads
    back to `segment_id` (a cycle)."""
    refs = segment_rules.segment_references(rule)
    if not refs:
        return
    rows = {r.id: r for r in await conn.execute(
        select(segments.c.id, segments.c.rule).where(segments.c.workspace_id == workspace_id,
                                                     segments.c.deleted_at.is_(None)))}
    missing = sorted(refs - rows.keys())
    if missing:
        raise DomainError(ErrorCode.NOT_FOUND, "rule", f"no segment {missing[0]} in this workspace")
    if segment_id is None:
        return  # a new segment: nothing refers to it yet
    stack, seen = list(refs), set()
    while stack:
        current = stack.pop()
        if current == segment_id:
            raise DomainError(ErrorCode.CYCLE, "rule", "the rule refers back to this segment through inSegment")
        if current not in seen:
            seen.add(current)
            stack.extend(segment_rules.segment_references(rows[current].rule) if rows[current].rule else ())


def _clean_key(key: str | None, name: str) -> str:
    key = key or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:90] or "segment"
    if not _KEY.match(key) or key.split(":")[0] in ("rfm", "type", "stage", "cluster"):
        raise DomainError(ErrorCode.INVALID, "key", "a key is lower-case letters, digits, '_', '.', ':' or '-', "
                                                    "and rfm:, type:, stage: and cluster: are reserved")
    return key


async def create_segment(conn: AsyncConnection, workspace_id: int, name: str, kind: SegmentKind,
                         rule: dict | None = None, description: str | None = None, key: str | None = None) -> Row:
    """A RULE segment (members computed now) or an empty MANUAL one."""
    name = _clean_name(name)
    if kind == SegmentKind.RULE:
        if rule is None:
            raise DomainError(ErrorCode.REQUIRED, "rule", "a rule segment needs a rule")
        rule = segment_rules.validate(rule)
        await _check_references(conn, workspace_id, rule, None)
    elif kind == SegmentKind.MANUAL:
        if rule is not None:
            raise DomainError(ErrorCode.INVALID, "rule", "a manual segment has no rule")
    else:
        raise DomainError(ErrorCode.READ_ONLY, "kind", "built-in and cluster segments are made by Tribe")
    key = _clean_key(key, name)
    taken = await conn.scalar(select(segments.c.id).where(segments.c.workspace_id == workspace_id,
                                                          segments.c.key == key))
    if taken is not None:
        raise DomainError(ErrorCode.TAKEN, "key", f"{key!r} is taken; give another key")
    row = (await conn.execute(insert(segments).values(
        workspace_id=workspace_id, key=key, name=name, description=description, kind=kind.value, rule=rule)
        .returning(segments))).one()
    if rule is not None:
        await segment_membership.sync(conn, workspace_id, "segment created", segment_ids={row.id})
    return row


async def _editable(conn: AsyncConnection, workspace_id: int, segment_id: int) -> Row:
    row = (await segments_by_id(conn, workspace_id, [segment_id])).get(segment_id)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "no such segment in this workspace")
    return row


async def update_segment(conn: AsyncConnection, workspace_id: int, segment_id: int, name: str | None = None,
                         description: str | None = None, rule: dict | None = None) -> Row:
    """Rename, describe, or change a rule segment's rule (its members and every
    segment built on it are recomputed)."""
    row = await _editable(conn, workspace_id, segment_id)
    values: dict = {"updated_at": func.now()}
    if name is not None:
        values["name"] = _clean_name(name)
    if description is not None:
        values["description"] = description.strip() or None
    if rule is not None:
        if row.kind != SegmentKind.RULE.value:
            raise DomainError(ErrorCode.READ_ONLY, "rule", f"a {row.kind} segment's rule cannot be edited")
        values["rule"] = segment_rules.validate(rule)
        await _check_references(conn, workspace_id, values["rule"], segment_id)
    updated = (await conn.execute(update(segments).where(segments.c.workspace_id == workspace_id,
                                                         segments.c.id == segment_id)
                                  .values(**values).returning(segments))).one()
    if rule is not None:
        await segment_membership.sync(conn, workspace_id, "rule edited",
                                      segment_ids=await _with_dependents(conn, workspace_id, segment_id))
    return updated


async def _with_dependents(conn: AsyncConnection, workspace_id: int, segment_id: int) -> set[int]:
    found = await segment_membership.rule_segments(conn, workspace_id)
    wanted, grew = {segment_id}, True
    while grew:
        more = {s.id for s in found if segment_rules.segment_references(s.rule) & wanted} - wanted
        wanted |= more
        grew = bool(more)
    return wanted


async def delete_segment(conn: AsyncConnection, workspace_id: int, segment_id: int) -> Row:
    """Soft delete: members leave (with events); refused while another segment's
    rule refers to it, or a campaign that has not ended aims at it."""
    row = await _editable(conn, workspace_id, segment_id)
    if row.kind in MAINTAINED:
        raise DomainError(ErrorCode.READ_ONLY, "id", f"a {row.kind} segment is maintained by Tribe")
    users = [s.id for s in await segment_membership.rule_segments(conn, workspace_id)
             if segment_id in segment_rules.segment_references(s.rule)]
    if users:
        raise DomainError(ErrorCode.CONFLICT, "id", f"segment {users[0]} refers to this one; change it first")
    campaigns = await _campaigns_aiming_at(conn, workspace_id, segment_id)
    if campaigns:
        raise DomainError(ErrorCode.CONFLICT, "id", f"campaign {campaigns[0]} aims at this segment; end or change it "
                                                    "first")
    await segment_membership.close_segment(conn, workspace_id, segment_id, "segment deleted")
    return (await conn.execute(update(segments).where(segments.c.workspace_id == workspace_id,
                                                      segments.c.id == segment_id)
                               .values(deleted_at=func.now()).returning(segments))).one()


async def _campaigns_aiming_at(conn: AsyncConnection, workspace_id: int, segment_id: int) -> list[int]:
    """Campaigns not yet ended whose audience names this segment."""
    c = campaign_table.c
    return list(await conn.scalars(select(c.id).where(
        c.workspace_id == workspace_id, c.status.notin_([CampaignStatus.ENDED.value, CampaignStatus.ARCHIVED.value]),
        c.include_segment_ids.contains([segment_id]) | c.exclude_segment_ids.contains([segment_id]))))


async def change_manual_members(conn: AsyncConnection, workspace_id: int, segment_id: int, customer_ids: list[int],
                                member: bool) -> Row:
    row = await _editable(conn, workspace_id, segment_id)
    if row.kind != SegmentKind.MANUAL.value:
        raise DomainError(ErrorCode.READ_ONLY, "segmentId", "only a manual segment's members are set by hand")
    if not 0 < len(customer_ids) <= 1000:
        raise DomainError(ErrorCode.INVALID, "customerIds", "1 to 1000 customers at a time")
    known = set(await conn.scalars(select(customers.c.id).where(
        customers.c.workspace_id == workspace_id, customers.c.id.in_(customer_ids), customers.c.deleted_at.is_(None))))
    unknown = [cid for cid in customer_ids if cid not in known]
    if unknown:
        raise DomainError(ErrorCode.NOT_FOUND, "customerIds", f"no customer {unknown[0]} in this workspace")
    await segment_membership.set_manual(conn, workspace_id, segment_id, customer_ids, member,
                                        "added by hand" if member else "removed by hand")
    return row


# --- preview and analytics ----------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    size: int
    workspace_size: int
    sample_ids: list[int]
    total_clv: float
    total_spend: float
    average_clv: float | None


async def preview(conn: AsyncConnection, workspace_id: int, rule: dict, sample: int = 10) -> Preview:
    """What a rule would select, without saving anything."""
    rule = segment_rules.validate(rule)
    await _check_references(conn, workspace_id, rule, None)
    base = (select().select_from(customers.outerjoin(customer_scores, SCORES_OF_CUSTOMER))
            .where(customers.c.workspace_id == workspace_id, customers.c.deleted_at.is_(None)))
    matched = segment_rules.compile_rule(rule)
    cs = customer_scores.c
    totals = (await conn.execute(base.add_columns(
        func.count(), func.count().filter(matched), func.coalesce(func.sum(cs.clv).filter(matched), 0),
        func.coalesce(func.sum(cs.total_spend).filter(matched), 0), func.avg(cs.clv).filter(matched)))).one()
    ids = list(await conn.scalars(base.add_columns(customers.c.id).where(matched).order_by(customers.c.id)
                                  .limit(min(max(sample, 0), MAX_SAMPLE))))
    return Preview(size=totals[1], workspace_size=totals[0], sample_ids=ids, total_clv=float(totals[2]),
                   total_spend=float(totals[3]), average_clv=None if totals[4] is None else float(totals[4]))


@dataclass(frozen=True)
class SegmentValue:
    size: int
    total_clv: float
    total_spend: float
    average_clv: float | None


async def segment_value(conn: AsyncConnection, workspace_id: int, segment_id: int) -> SegmentValue:
    m, cs = segment_memberships.c, customer_scores.c
    row = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(cs.clv), 0), func.coalesce(func.sum(cs.total_spend), 0),
               func.avg(cs.clv))
        .select_from(segment_memberships.outerjoin(customer_scores, and_(cs.workspace_id == m.workspace_id,
                                                                         cs.customer_id == m.customer_id)))
        .where(m.workspace_id == workspace_id, m.segment_id == segment_id, m.left_at.is_(None)))).one()
    return SegmentValue(row[0], float(row[1]), float(row[2]), None if row[3] is None else float(row[3]))


async def size_history(conn: AsyncConnection, workspace_id: int, segment_id: int, moments: list[datetime]
                       ) -> list[int]:
    """Members at each moment, from the stays' history."""
    m = segment_memberships.c
    counts = []
    for moment in moments:
        counts.append(await conn.scalar(select(func.count()).where(
            m.workspace_id == workspace_id, m.segment_id == segment_id, m.entered_at <= moment,
            m.left_at.is_(None) | (m.left_at > moment))))
    return counts


async def overlap(conn: AsyncConnection, workspace_id: int, first: int, second: int) -> tuple[int, int, int]:
    """Current members of the first, of the second, and of both."""
    m = segment_memberships.c
    members = (select(m.customer_id, m.segment_id)
               .where(m.workspace_id == workspace_id, m.left_at.is_(None), m.segment_id.in_([first, second]))
               .cte("members"))
    per_customer = (select(func.bool_or(members.c.segment_id == first).label("a"),
                           func.bool_or(members.c.segment_id == second).label("b"))
                    .group_by(members.c.customer_id).subquery())
    row = (await conn.execute(select(func.count().filter(per_customer.c.a), func.count().filter(per_customer.c.b),
                                     func.count().filter(per_customer.c.a & per_customer.c.b)))).one()
    return row[0], row[1], row[2]


async def migration(conn: AsyncConnection, workspace_id: int, segment_ids: list[int], start: datetime,
                    end: datetime) -> list[tuple[int | None, int | None, int]]:
    """Where members went: (segment at `start`, segment at `end`, customers) over
    the given segments, None meaning "in none of them". A customer in several
    at once counts in the lowest-numbered one."""
    m = segment_memberships.c

    def placed(moment):
        return (select(m.customer_id, func.min(m.segment_id).label("segment_id"))
                .where(m.workspace_id == workspace_id, m.segment_id.in_(segment_ids), m.entered_at <= moment,
                       m.left_at.is_(None) | (m.left_at > moment))
                .group_by(m.customer_id).subquery())

    before, after = placed(start), placed(end)
    rows = await conn.execute(
        select(before.c.segment_id, after.c.segment_id, func.count())
        .select_from(before.join(after, before.c.customer_id == after.c.customer_id, full=True))
        .group_by(before.c.segment_id, after.c.segment_id)
        .order_by(before.c.segment_id.nulls_last(), after.c.segment_id.nulls_last()))
    return [tuple(r) for r in rows]
