"""Materialised segment membership, with history and outbox events.

`sync` evaluates rule segments and brings `segment_memberships` in line: a
customer who now matches enters (a new open stay), one who no longer does
leaves (the stay gets `left_at`), and each change is an ENTERED / LEFT event in
the outbox, all in the caller's transaction. One statement per dependency level
does the whole job (match, diff with the open stays, close, open, number and
write the events), whether it runs for one customer after a purchase or for the
whole workspace after a rescoring; both give the same memberships.

Segments that ask for membership of other segments (`inSegment`) are evaluated
after those, level by level.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from sqlalchemy import (BigInteger, Column, Text, and_, any_, bindparam, case, func, literal, or_, select, text, true,
                        tuple_, union_all, update)
from sqlalchemy.dialects.postgresql import ARRAY, array, insert
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import segment_rules
from domain.events import EventKind, notify
from domain.tables import (SCORES_OF_CUSTOMER, customer_scores, customers, event_counters, events, segment_memberships,
                           segments)
from domain.vocab import SegmentKind

m = segment_memberships.c


@dataclass(frozen=True)
class RuleSegment:
    id: int
    rule: dict
    kind: str


async def rule_segments(conn: AsyncConnection, workspace_id: int, only: set[int] | None = None) -> list[RuleSegment]:
    """Live segments defined by a rule (every kind but MANUAL)."""
    query = select(segments.c.id, segments.c.rule, segments.c.kind).where(
        segments.c.workspace_id == workspace_id, segments.c.deleted_at.is_(None),
        segments.c.kind != SegmentKind.MANUAL.value, segments.c.rule.is_not(None)).order_by(segments.c.id)
    if only is not None:
        query = query.where(segments.c.id.in_(only))
    return [RuleSegment(r.id, r.rule, r.kind) for r in await conn.execute(query)]


def score_columns(rules: list[dict]) -> list[str]:
    """The customer_scores columns these rules read."""
    return sorted({element.name for rule in rules for element in visitors.iterate(segment_rules.compile_rule(rule))
                   if isinstance(element, Column) and element.table is customer_scores})


def levels(found: list[RuleSegment]) -> list[list[RuleSegment]]:
    """Segments grouped so that each group only refers to earlier groups (or to
    segments not being evaluated: manual ones, or ones left out of `found`)."""
    by_id = {s.id: s for s in found}
    depth: dict[int, int] = {}
    for s in found:
        _level(s.id, frozenset(), by_id, depth)
    grouped: dict[int, list[RuleSegment]] = {}
    for s in found:
        grouped.setdefault(depth[s.id], []).append(s)
    return [grouped[k] for k in sorted(grouped)]


def _level(segment_id: int, seen: frozenset[int], by_id: dict[int, RuleSegment], depth: dict[int, int]) -> int:
    # (a function of its own: a nested recursive one is a reference cycle, and
    # every purchase recorded left its segments to the garbage collector)
    if segment_id not in depth:
        # Cycles are refused when a rule is saved; `seen` guards against a stored one anyway.
        refs = segment_rules.segment_references(by_id[segment_id].rule) & by_id.keys() - seen
        depth[segment_id] = 1 + max((_level(r, seen | {segment_id}, by_id, depth) for r in refs), default=-1)
    return depth[segment_id]


async def sync(conn: AsyncConnection, workspace_id: int, reason: str, customer_ids: list[int] | None = None,
               segment_ids: set[int] | None = None, found: list[RuleSegment] | None = None) -> int:
    """Bring memberships of the workspace's rule segments (or of `segment_ids`;
    or `found`, the caller's `rule_segments`) up to date for `customer_ids`
    (None: everyone); the number of changes."""
    changed = 0
    for group in levels(found if found is not None else await rule_segments(conn, workspace_id, segment_ids)):
        key = tuple((s.id, json.dumps(s.rule, sort_keys=True)) for s in group)
        if customer_ids is None and len(key) == 1:
            changed += await _sync_one_segment(conn, workspace_id, key[0], reason)
        elif customer_ids is None:
            changed += await conn.scalar(_sync_statement(workspace_id, key, "all"), {"reason": reason})
        elif len(customer_ids) == 1:
            changed += await conn.scalar(_sync_statement(workspace_id, key, "one"),
                                         {"reason": reason, "the_customer": customer_ids[0]})
        else:
            changed += await _sync_some(conn, _sync_statement(workspace_id, key, "some"), customer_ids, reason)
    if changed:
        await notify(conn, workspace_id)
    return changed


async def _sync_some(conn: AsyncConnection, statement, customer_ids: list[int], reason: str) -> int:
    """PostgreSQL planned the statement afresh at each call for some customers
    (a custom plan for the array of ids), which took longer than running it;
    its generic plan is as good for any handful of customers. (One customer is
    compared with `=`, whose generic plan PostgreSQL adopts by itself: two
    round trips fewer while the caller holds the event counter.)"""
    await conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    changed = await conn.scalar(statement, {"reason": reason, "customer_ids": customer_ids})
    await conn.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))
    return changed


async def _sync_one_segment(conn: AsyncConnection, workspace_id: int, segment: tuple[int, str], reason: str) -> int:
    """One segment for everyone (a rule edited, a segment created) in two
    statements: a read-only one finds the changes, which PostgreSQL may run in
    parallel (never a statement that writes), then only those are written."""
    found = (await conn.execute(_changes_statement(workspace_id, segment))).all()
    if not found:
        return 0
    entering = [r.customer_id for r in found if r.entering]
    leaving = [r.customer_id for r in found if not r.entering]
    return await conn.scalar(_listed_changes_statement(workspace_id), {
        "reason": reason, "entering_customers": entering, "entering_segments": [segment[0]] * len(entering),
        "leaving_customers": leaving, "leaving_segments": [segment[0]] * len(leaving)})


@functools.lru_cache(maxsize=512)
def _changes_statement(workspace_id: int, segment: tuple[int, str]):
    """(customer_id, entering) for every customer whose match of the rule and
    open stay in the segment disagree: one pass joining each customer to their
    stay. Deleted customers are not visited: their stays closed when they were
    deleted (leave_all)."""
    c = customers.c
    segment_id, rule = segment
    stay = segment_memberships.alias("stay")
    matches = segment_rules.compile_rule(json.loads(rule))
    return (select(c.id.label("customer_id"), matches.label("entering"))
            .select_from(customers.outerjoin(customer_scores, SCORES_OF_CUSTOMER)
                         .outerjoin(stay, and_(stay.c.customer_id == c.id, stay.c.segment_id == segment_id,
                                               stay.c.left_at.is_(None), stay.c.workspace_id == workspace_id)))
            .where(c.workspace_id == workspace_id, c.deleted_at.is_(None), matches != stay.c.customer_id.is_not(None)))


@functools.lru_cache(maxsize=64)
def _listed_changes_statement(workspace_id: int):
    """apply_changes for (customer, segment) pairs given as arrays."""
    def pairs(name: str):
        listed = func.unnest(bindparam(f"{name}_customers", type_=ARRAY(BigInteger)),
                             bindparam(f"{name}_segments", type_=ARRAY(BigInteger))) \
            .table_valued("customer_id", "segment_id").render_derived(name=name)
        return select(listed.c.customer_id, listed.c.segment_id)
    return apply_changes(workspace_id, bindparam("reason", type_=Text), entering=pairs("entering"),
                         leaving=pairs("leaving"))


@functools.lru_cache(maxsize=512)
def _sync_statement(workspace_id: int, group: tuple[tuple[int, str], ...], customers_: str):
    """The statement for these segments (ids and rules as JSON: an edited rule
    is another key), for "all" customers, "some" (:customer_ids) or "one"
    (:the_customer). Cached: building it is most of the cost of a one-customer
    update."""
    c = customers.c
    # One pass over the customers: each row yields the ids of the segments it matches.
    flags = array([case((segment_rules.compile_rule(json.loads(rule)), literal(segment_id, BigInteger)))
                   for segment_id, rule in group])
    matched = func.unnest(flags).table_valued("segment_id").render_derived(name="matched").lateral()
    matching = (select(c.id.label("customer_id"), matched.c.segment_id)
                .select_from(customers.outerjoin(customer_scores, SCORES_OF_CUSTOMER)
                             .join(matched, true()))
                .where(c.workspace_id == workspace_id, c.deleted_at.is_(None), matched.c.segment_id.is_not(None)))
    current = select(m.customer_id, m.segment_id).where(
        m.workspace_id == workspace_id, m.left_at.is_(None), m.segment_id.in_([segment_id for segment_id, _ in group]))
    if customers_ == "some":
        some = bindparam("customer_ids", type_=ARRAY(BigInteger))
        matching = matching.where(c.id == any_(some))
        current = current.where(m.customer_id == any_(some))
    elif customers_ == "one":
        one = bindparam("the_customer", type_=BigInteger)  # (not a column's name: the UPDATE would set it)
        matching = matching.where(c.id == one)
        current = current.where(m.customer_id == one)
    # One full join finds both differences (two EXCEPTs sorted four million
    # pairs twice each over a workspace of a million customers).
    matching, current = matching.subquery("matching"), current.subquery("current_stays")
    diff = (select(func.coalesce(matching.c.customer_id, current.c.customer_id).label("customer_id"),
                   func.coalesce(matching.c.segment_id, current.c.segment_id).label("segment_id"),
                   matching.c.customer_id.is_not(None).label("entering"))
            .select_from(matching.join(current, and_(matching.c.customer_id == current.c.customer_id,
                                                     matching.c.segment_id == current.c.segment_id), full=True))
            .where(or_(matching.c.customer_id.is_(None), current.c.customer_id.is_(None))).cte("diff"))
    return apply_changes(workspace_id, bindparam("reason", type_=Text),
                         entering=select(diff.c.customer_id, diff.c.segment_id).where(diff.c.entering),
                         leaving=select(diff.c.customer_id, diff.c.segment_id).where(~diff.c.entering))


def apply_changes(workspace_id: int, reason, entering, leaving):
    """One statement: close the stays in `leaving`, open those in `entering`
    (both selects of (customer_id, segment_id)), write an event for each change
    with consecutive seqs; it returns the number of changes."""
    entering, leaving = entering.cte("entering"), leaving.cte("leaving")
    closed = (update(segment_memberships)
              .where(m.workspace_id == workspace_id, m.left_at.is_(None),
                     tuple_(m.customer_id, m.segment_id).in_(select(leaving.c.customer_id, leaving.c.segment_id)))
              .values(left_at=func.now()).returning(m.customer_id, m.segment_id).cte("closed"))
    opened = (insert(segment_memberships)
              .from_select(["workspace_id", "customer_id", "segment_id"],
                           select(literal(workspace_id, BigInteger), entering.c.customer_id, entering.c.segment_id))
              .on_conflict_do_nothing(index_elements=[m.segment_id, m.customer_id], index_where=m.left_at.is_(None))
              .returning(m.customer_id, m.segment_id).cte("opened"))
    changes = union_all(
        select(closed.c.customer_id, closed.c.segment_id, literal(EventKind.SEGMENT_LEFT.value, Text).label("kind")),
        select(opened.c.customer_id, opened.c.segment_id,
               literal(EventKind.SEGMENT_ENTERED.value, Text).label("kind"))).cte("changes")
    total = select(func.count().label("n")).select_from(changes).cte("total")
    counters = event_counters.c
    taken = insert(event_counters).from_select(
        ["workspace_id", "last_seq"],
        select(literal(workspace_id, BigInteger), total.c.n).where(total.c.n > 0))
    counter = taken.on_conflict_do_update(
        index_elements=[counters.workspace_id], set_={"last_seq": counters.last_seq + taken.excluded.last_seq}
    ).returning(counters.last_seq).cte("counter")
    # Leaving before entering, so a customer moving between segments reads in order.
    position = func.row_number().over(order_by=[changes.c.kind.desc(), changes.c.customer_id, changes.c.segment_id])
    written = insert(events).from_select(
        ["workspace_id", "seq", "kind", "customer_id", "segment_id", "payload"],
        select(literal(workspace_id, BigInteger), counter.c.last_seq - total.c.n + position, changes.c.kind,
               changes.c.customer_id, changes.c.segment_id,
               func.jsonb_build_object("reason", reason if isinstance(reason, BindParameter) else literal(reason, Text)))
        .select_from(changes.join(counter, true()).join(total, true()))
    ).returning(events.c.seq).cte("written")
    return select(func.count()).select_from(written)


async def leave_all(conn: AsyncConnection, workspace_id: int, customer_ids: list[int], reason: str) -> int:
    """Close every open stay of these customers (deleted, erased, merged away),
    manual segments included."""
    stays = select(m.customer_id, m.segment_id).where(m.workspace_id == workspace_id, m.left_at.is_(None),
                                                      m.customer_id.in_(customer_ids))
    return await _apply(conn, workspace_id, reason, entering=stays.where(False), leaving=stays)


async def set_manual(conn: AsyncConnection, workspace_id: int, segment_id: int, customer_ids: list[int],
                     member: bool, reason: str) -> int:
    """Add customers to (or remove them from) a manual segment."""
    wanted = select(customers.c.id.label("customer_id"), literal(segment_id, BigInteger).label("segment_id")).where(
        customers.c.workspace_id == workspace_id, customers.c.id.in_(customer_ids), customers.c.deleted_at.is_(None))
    current = select(m.customer_id, m.segment_id).where(
        m.workspace_id == workspace_id, m.segment_id == segment_id, m.left_at.is_(None), m.customer_id.in_(customer_ids))
    if member:
        return await _apply(conn, workspace_id, reason, entering=wanted.except_(current), leaving=current.where(False))
    return await _apply(conn, workspace_id, reason, entering=wanted.where(False), leaving=current)


async def close_segment(conn: AsyncConnection, workspace_id: int, segment_id: int, reason: str) -> int:
    """Everyone leaves (the segment is being deleted)."""
    stays = select(m.customer_id, m.segment_id).where(m.workspace_id == workspace_id, m.segment_id == segment_id,
                                                      m.left_at.is_(None))
    return await _apply(conn, workspace_id, reason, entering=stays.where(False), leaving=stays)


async def _apply(conn: AsyncConnection, workspace_id: int, reason: str, entering, leaving) -> int:
    changed = await conn.scalar(apply_changes(workspace_id, reason, entering, leaving))
    if changed:
        await notify(conn, workspace_id)
    return changed

