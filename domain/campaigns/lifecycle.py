"""A campaign's states and the moves between them.

    DRAFT -> SCHEDULED -> RUNNING <-> PAUSED -> ENDED -> ARCHIVED

| move     | from               | to        |
| -------- | ------------------ | --------- |
| schedule | DRAFT              | SCHEDULED |
| launch   | DRAFT, SCHEDULED   | RUNNING   |
| pause    | RUNNING            | PAUSED    |
| resume   | PAUSED             | RUNNING   |
| end      | RUNNING, PAUSED    | ENDED     |
| archive  | DRAFT, ENDED       | ARCHIVED  |

The dates move campaigns too (`tick`, run by every server's scheduler): a
SCHEDULED campaign launches at its start, a RUNNING or PAUSED one ends at its
end. Any other move is refused (INVALID_TRANSITION) and changes nothing.

Launching freezes the audience (domain/campaigns/audience.py): assignments,
codes and events are written with the state change, in one transaction. While
the campaign runs, customers who enter an included segment join it: `follow`
reads the outbox's `segment.entered` events after the campaign's
`followed_seq` and puts those customers through the same statement.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns import audience
from domain.campaigns.campaigns import locked_campaign
from domain.campaigns.offers import offers_of
from domain.errors import DomainError, ErrorCode
from domain.events import EventKind, last_seq
from domain.tables import campaigns, events
from domain.vocab import CampaignStatus

S = CampaignStatus
MOVES = {
    "schedule": ({S.DRAFT}, S.SCHEDULED),
    "launch": ({S.DRAFT, S.SCHEDULED}, S.RUNNING),
    "pause": ({S.RUNNING}, S.PAUSED),
    "resume": ({S.PAUSED}, S.RUNNING),
    "end": ({S.RUNNING, S.PAUSED}, S.ENDED),
    "archive": ({S.DRAFT, S.ENDED}, S.ARCHIVED),
}
FOLLOW_BATCH = 10_000  # segment events read per campaign per round


def _now() -> datetime:
    return datetime.now(UTC)


def _require_move(row: Row, move: str) -> CampaignStatus:
    sources, target = MOVES[move]
    status = CampaignStatus(row.status)
    if status not in sources:
        allowed = " or ".join(sorted(s.name for s in sources))
        raise DomainError(ErrorCode.INVALID_TRANSITION, "id",
                          f"a {status.name} campaign cannot {move}: only a {allowed} one can")
    return target


async def _set(conn: AsyncConnection, campaign_id: int, **values) -> Row:
    return (await conn.execute(update(campaigns).where(campaigns.c.id == campaign_id)
                               .values(**values, updated_at=func.now()).returning(campaigns))).one()


async def _require_launchable(conn: AsyncConnection, row: Row, targeting: audience.Targeting, now: datetime) -> None:
    if not (await offers_of(conn, row.workspace_id, [row.id]))[row.id]:
        raise DomainError(ErrorCode.REQUIRED, "offers",
                          "a campaign needs at least one offer (a NOTICE for a message without a discount)")
    if not row.include_segment_ids and not targeting.joining:
        raise DomainError(ErrorCode.REQUIRED, "includeSegmentIds", "a campaign is aimed at one segment or more")
    if row.ends_at is not None and row.ends_at <= now:
        raise DomainError(ErrorCode.INVALID_DATE, "endsAt", "the campaign's end has passed: move it first")


async def schedule(conn: AsyncConnection, workspace_id: int, campaign_id: int, global_id) -> Row:
    row = await locked_campaign(conn, workspace_id, campaign_id)
    target = _require_move(row, "schedule")
    now = _now()
    if row.starts_at is None or row.starts_at <= now:
        raise DomainError(ErrorCode.INVALID_DATE, "startsAt", "a scheduled campaign starts in the future; "
                                                              "launch it to start now")
    await _require_launchable(conn, row, await audience.targeting_for(conn, row, global_id=global_id), now)
    return await _set(conn, campaign_id, status=target.value)


async def launch(conn: AsyncConnection, workspace_id: int, campaign_id: int, global_id,
                 reason: str = "campaign launched") -> Row:
    """Start now: the audience is found, split and written, and the treated
    get their `campaign.targeted` events."""
    row = await locked_campaign(conn, workspace_id, campaign_id)
    target = _require_move(row, "launch")
    now = _now()
    targeting = await audience.targeting_for(conn, row, global_id=global_id)
    await _require_launchable(conn, row, targeting, now)
    # Read before the audience: whoever enters an included segment after this
    # is picked up by `follow` (a repeat of a launched customer is skipped).
    followed = await last_seq(conn, workspace_id)
    starts = now if row.starts_at is None or row.starts_at > now else row.starts_at
    report = await audience.assign(conn, targeting, reason)
    return await _set(conn, campaign_id, status=target.value, starts_at=starts, launched_at=now,
                      holdout_salt=targeting.salt, audience_report=report.to_json(), followed_seq=followed)


async def move(conn: AsyncConnection, workspace_id: int, campaign_id: int, name: str) -> Row:
    """pause, resume, end or archive."""
    row = await locked_campaign(conn, workspace_id, campaign_id)
    target = _require_move(row, name)
    values: dict = {"status": target.value}
    if target is S.ENDED:
        values["ended_at"] = _now()
        if row.ends_at is None or row.ends_at > values["ended_at"]:
            values["ends_at"] = values["ended_at"]
    if name == "resume" and row.ends_at is not None and row.ends_at <= _now():
        raise DomainError(ErrorCode.INVALID_DATE, "endsAt", "the campaign's end has passed: it cannot resume")
    return await _set(conn, campaign_id, **values)


# --- what the dates and the segments do ---------------------------------------------------------

async def due(conn: AsyncConnection) -> list[tuple[int, int, str]]:
    """(workspace, campaign, move) for every campaign whose dates call for a move now."""
    c = campaigns.c
    now = func.now()
    starting = select(c.workspace_id, c.id).where(c.status == S.SCHEDULED.value, c.starts_at <= now)
    ending = select(c.workspace_id, c.id).where(c.status.in_([S.RUNNING.value, S.PAUSED.value]), c.ends_at <= now)
    return ([(w, i, "launch") for w, i in await conn.execute(starting)]
            + [(w, i, "end") for w, i in await conn.execute(ending)])


async def follow(conn: AsyncConnection, row: Row, global_id) -> audience.AudienceReport | None:
    """Put the customers who entered the campaign's included segments since
    `followed_seq` through the audience statement; None when nobody did.
    The caller holds the campaign's follower lock."""
    upto = await last_seq(conn, row.workspace_id)
    if upto <= row.followed_seq:
        return None
    entered = list(await conn.execute(
        select(events.c.seq, events.c.customer_id).where(
            events.c.workspace_id == row.workspace_id, events.c.seq > row.followed_seq, events.c.seq <= upto,
            events.c.kind == EventKind.SEGMENT_ENTERED.value,
            events.c.segment_id.in_(row.include_segment_ids or [0]))
        .order_by(events.c.seq).limit(FOLLOW_BATCH)))
    reached = entered[-1].seq if len(entered) == FOLLOW_BATCH else upto
    report = None
    if entered:
        targeting = await audience.targeting_for(conn, row, global_id=global_id)
        report = await audience.assign(conn, targeting, "entered a segment",
                                       only=sorted({e.customer_id for e in entered}))
    await conn.execute(update(campaigns).where(campaigns.c.id == row.id).values(followed_seq=reached))
    return report


async def try_follow_lock(conn: AsyncConnection, campaign_id: int) -> bool:
    """One follower per campaign at a time, across processes, until commit (the
    campaign's row stays unlocked: redemptions update it)."""
    return await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _FOLLOW_LOCKS + campaign_id})


_FOLLOW_LOCKS = 0x7463 << 40  # "tc": keeps these advisory locks apart from anyone else's


async def running(conn: AsyncConnection) -> list[Row]:
    return list(await conn.execute(select(campaigns).where(campaigns.c.status == S.RUNNING.value)
                                   .order_by(campaigns.c.id)))
