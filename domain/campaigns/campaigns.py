"""Campaign definitions: create, change, read.

What can change depends on the state (domain/campaigns/lifecycle.py):
everything in DRAFT; the start too while SCHEDULED; the name, objective, end
and budget limit until the campaign ends; nothing after. The audience (segments,
channel, policies, frequency cap), the holdout share, the attribution window,
the goal and the kind of budget are fixed at launch, so the measured results
compare what was planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns import offers as offer_terms
from domain.campaigns.policies import Policy, validate as validate_policies
from domain.campaigns.settings import valid_time_zone, workspace_time_zone
from domain.errors import DomainError, ErrorCode, camel
from domain.tables import campaigns, segments
from domain.vocab import BudgetKind, CampaignChannel, CampaignObjective, CampaignStatus
from domain.workspaces import workspace_currency

MAX_NAME = 200
MAX_SEGMENTS = 50
MAX_PAGE = 100
S = CampaignStatus

AUDIENCE = {"channel", "time_zone", "include_segment_ids", "exclude_segment_ids", "holdout_bp", "attribution_days",
            "goal_categories", "budget_kind", "frequency_cap", "frequency_cap_days", "policies"}
SCHEDULE = {"starts_at"}
LIVE = {"name", "objective", "ends_at", "budget_limit"}
EDITABLE = {S.DRAFT: AUDIENCE | SCHEDULE | LIVE, S.SCHEDULED: SCHEDULE | LIVE, S.RUNNING: LIVE, S.PAUSED: LIVE}


@dataclass(frozen=True)
class CampaignInput:
    name: str
    channel: CampaignChannel
    objective: CampaignObjective = CampaignObjective.RETENTION
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    time_zone: str | None = None  # the workspace's when not given
    include_segment_ids: list[int] = field(default_factory=list)
    exclude_segment_ids: list[int] = field(default_factory=list)
    holdout_bp: int = 1000
    attribution_days: int = 14
    goal_categories: list[str] | None = None  # None: any purchase converts
    budget_kind: BudgetKind | None = None
    budget_limit: Decimal | None = None
    frequency_cap: int | None = None
    frequency_cap_days: int | None = None
    policies: list[Policy] | None = None  # None: the workspace's


FIELD_NAMES = [f.name for f in fields(CampaignInput)]
# The input fields whose API names are not their camelCase spelling.
_API_FIELDS = {"holdout_bp": "holdoutBasisPoints", "budget_kind": "budget.kind", "budget_limit": "budget.limit",
               "frequency_cap_days": "frequencyCap"}


def api_field(name: str) -> str:
    return _API_FIELDS.get(name) or camel(name)



def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


async def _check_segments(conn: AsyncConnection, workspace_id: int, data: CampaignInput) -> None:
    for name in ("include_segment_ids", "exclude_segment_ids"):
        ids = getattr(data, name)
        if len(ids) > MAX_SEGMENTS:
            raise DomainError(ErrorCode.INVALID, camel(name), f"at most {MAX_SEGMENTS} segments")
        found = set(await conn.scalars(select(segments.c.id).where(
            segments.c.workspace_id == workspace_id, segments.c.id.in_(ids), segments.c.deleted_at.is_(None))))
        for i, segment_id in enumerate(ids):
            if segment_id not in found:
                raise DomainError(ErrorCode.NOT_FOUND, f"{camel(name)}.{i}", "no such segment in this workspace")
    both = set(data.include_segment_ids) & set(data.exclude_segment_ids)
    if both:
        raise DomainError(ErrorCode.CONFLICT, "excludeSegmentIds", "a segment cannot be both included and excluded")


def validate(data: CampaignInput) -> CampaignInput:
    name = (data.name or "").strip()
    if not name:
        raise DomainError(ErrorCode.REQUIRED, "name", "a campaign needs a name")
    if len(name) > MAX_NAME:
        raise DomainError(ErrorCode.TOO_LONG, "name", f"at most {MAX_NAME} characters")
    starts, ends = _aware(data.starts_at), _aware(data.ends_at)
    if starts and ends and ends <= starts:
        raise DomainError(ErrorCode.INVALID_DATE, "endsAt", "after startsAt")
    if not 0 <= data.holdout_bp <= 5000:
        raise DomainError(ErrorCode.INVALID, "holdoutBasisPoints", "0 to 5000 (0% to 50%)")
    if not 1 <= data.attribution_days <= 365:
        raise DomainError(ErrorCode.INVALID, "attributionDays", "1 to 365 days")
    goal = data.goal_categories
    if goal is not None:
        goal = sorted({c.strip() for c in goal if c.strip()})
        if not goal or len(goal) > offer_terms.MAX_CATEGORIES:
            raise DomainError(ErrorCode.INVALID, "goalCategories", "1 to 50 categories (or none: any purchase)")
    if (data.budget_kind is None) != (data.budget_limit is None):
        raise DomainError(ErrorCode.INVALID, "budget.limit", "a budget has a kind and a limit, or neither")
    if data.budget_limit is not None:
        whole = data.budget_kind == BudgetKind.COUNT
        if not 0 < data.budget_limit < offer_terms.MAX_MONEY or (whole and data.budget_limit % 1):
            raise DomainError(ErrorCode.INVALID, "budget.limit",
                              "a whole number of redemptions" if whole else "an amount above 0")
    if (data.frequency_cap is None) != (data.frequency_cap_days is None):
        raise DomainError(ErrorCode.INVALID, "frequencyCap", "a cap has a count and a period in days, or neither")
    if data.frequency_cap is not None and not (1 <= data.frequency_cap <= 1000 and 1 <= data.frequency_cap_days <= 365):
        raise DomainError(ErrorCode.INVALID, "frequencyCap", "1 to 1000 contacts in 1 to 365 days")
    if data.policies is not None:
        validate_policies(data.policies)
    return replace(data, name=name, starts_at=starts, ends_at=ends, goal_categories=goal,
                   time_zone=valid_time_zone(data.time_zone) if data.time_zone else None)


def _row_values(data: CampaignInput) -> dict:
    values = {name: getattr(data, name) for name in FIELD_NAMES}
    for name in ("channel", "objective", "budget_kind"):
        values[name] = values[name].value if values[name] is not None else None
    values["policies"] = [p.to_json() for p in data.policies] if data.policies is not None else None
    return values


async def create_campaign(conn: AsyncConnection, workspace_id: int, data: CampaignInput,
                          offers: list[offer_terms.OfferTerms]) -> Row:
    """A DRAFT campaign with its offers."""
    data = validate(data)
    await _check_segments(conn, workspace_id, data)
    values = _row_values(data) | {"time_zone": data.time_zone or await workspace_time_zone(conn, workspace_id)}
    row = (await conn.execute(insert(campaigns).values(workspace_id=workspace_id, **values)
                              .returning(campaigns))).one()
    await offer_terms.add_offers(conn, workspace_id, row.id, offers, await workspace_currency(conn, workspace_id))
    return row


def input_of(row: Row) -> CampaignInput:
    """A stored campaign as the input that would make it."""
    values = {name: getattr(row, name) for name in FIELD_NAMES}
    values["channel"] = CampaignChannel(row.channel)
    values["objective"] = CampaignObjective(row.objective)
    values["budget_kind"] = BudgetKind(row.budget_kind) if row.budget_kind else None
    values["policies"] = [Policy.from_json(p) for p in row.policies] if row.policies is not None else None
    return CampaignInput(**values)


async def locked_campaign(conn: AsyncConnection, workspace_id: int, campaign_id: int, field_name: str = "id") -> Row:
    """The campaign, locked until commit (state changes and launches wait for each other)."""
    row = (await conn.execute(select(campaigns).where(campaigns.c.workspace_id == workspace_id,
                                                      campaigns.c.id == campaign_id).with_for_update())).one_or_none()
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, field_name, "no such campaign in this workspace")
    return row


async def update_campaign(conn: AsyncConnection, workspace_id: int, campaign_id: int, changes: dict) -> Row:
    """Change the fields in `changes` (input field name -> value), if the
    campaign's state allows each of them."""
    row = await locked_campaign(conn, workspace_id, campaign_id)
    status = CampaignStatus(row.status)
    allowed = EDITABLE.get(status, set())
    for name in sorted(changes):
        if name not in allowed:
            why = "ended campaigns do not change" if not allowed else \
                "fixed at launch (audience, holdout, attribution window, goal)" if name in AUDIENCE else \
                "fixed once the campaign runs"
            raise DomainError(ErrorCode.READ_ONLY, api_field(name), f"{why}: this campaign is {status.name}")
    data = validate(replace(input_of(row), **changes))
    if "budget_limit" in changes and data.budget_limit is not None and data.budget_limit < row.budget_used:
        raise DomainError(ErrorCode.INVALID, "budget.limit", f"{row.budget_used} of the budget is used already")
    if "ends_at" in changes and data.ends_at is not None and status is not S.DRAFT \
            and data.ends_at <= datetime.now(UTC):
        raise DomainError(ErrorCode.INVALID_DATE, "endsAt", "in the past: end it with campaignEnd")
    if changes.keys() & {"include_segment_ids", "exclude_segment_ids"}:
        await _check_segments(conn, workspace_id, data)
    values = {k: v for k, v in _row_values(data).items() if k in changes}
    if "time_zone" in values and values["time_zone"] is None:
        values["time_zone"] = await workspace_time_zone(conn, workspace_id)
    return (await conn.execute(update(campaigns).where(campaigns.c.id == campaign_id)
                               .values(**values, updated_at=func.now()).returning(campaigns))).one()


# --- reads -----------------------------------------------------------------------------------------

async def campaigns_by_id(conn: AsyncConnection, workspace_id: int, ids: list[int]) -> dict[int, Row]:
    rows = await conn.execute(select(campaigns).where(campaigns.c.workspace_id == workspace_id,
                                                      campaigns.c.id.in_(ids)))
    return {r.id: r for r in rows}


@dataclass(frozen=True)
class CampaignFilter:
    statuses: list[CampaignStatus] | None = None
    channels: list[CampaignChannel] | None = None
    objectives: list[CampaignObjective] | None = None
    segment_id: int | None = None  # aimed at this segment
    name: str | None = None  # contains, ignoring case


def _filtered(workspace_id: int, where: CampaignFilter):
    query = select(campaigns).where(campaigns.c.workspace_id == workspace_id)
    if where.statuses:
        query = query.where(campaigns.c.status.in_([s.value for s in where.statuses]))
    else:  # archived campaigns only when asked for
        query = query.where(campaigns.c.status != S.ARCHIVED.value)
    if where.channels:
        query = query.where(campaigns.c.channel.in_([c.value for c in where.channels]))
    if where.objectives:
        query = query.where(campaigns.c.objective.in_([o.value for o in where.objectives]))
    if where.segment_id is not None:
        query = query.where(campaigns.c.include_segment_ids.contains([where.segment_id]))
    if where.name:
        query = query.where(func.lower(campaigns.c.name).contains(where.name.lower(), autoescape=True))
    return query


async def list_campaigns(conn: AsyncConnection, workspace_id: int, where: CampaignFilter, first: int,
                         before_id: int | None) -> tuple[list[Row], bool, int]:
    """A page, newest first (ids below `before_id`), whether more follow, and the total."""
    query = _filtered(workspace_id, where)
    total = await conn.scalar(select(func.count()).select_from(query.subquery()))
    if before_id is not None:
        query = query.where(campaigns.c.id < before_id)
    rows = list(await conn.execute(query.order_by(campaigns.c.id.desc()).limit(first + 1)))
    return rows[:first], len(rows) > first, total


# --- a campaign's offers ---------------------------------------------------------------------------

OFFERS_OPEN = {S.DRAFT, S.SCHEDULED}  # offers are added and removed before launch only


async def _offer_and_campaign(conn: AsyncConnection, workspace_id: int, offer_id: int) -> tuple[Row, Row]:
    found = (await offer_terms.offers_by_id(conn, workspace_id, [offer_id])).get(offer_id)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "id", "no such offer in this workspace")
    return found, await locked_campaign(conn, workspace_id, found.campaign_id)


def _require_offers_open(campaign: Row, field_name: str) -> None:
    status = CampaignStatus(campaign.status)
    if status not in OFFERS_OPEN:
        raise DomainError(ErrorCode.READ_ONLY, field_name,
                          f"offers are added and removed before launch: this campaign is {status.name}")


async def create_offer(conn: AsyncConnection, workspace_id: int, campaign_id: int,
                       terms: offer_terms.OfferTerms) -> Row:
    campaign = await locked_campaign(conn, workspace_id, campaign_id, "campaignId")
    _require_offers_open(campaign, "campaignId")
    rows = await offer_terms.add_offers(conn, workspace_id, campaign_id, [terms],
                                        await workspace_currency(conn, workspace_id), "offer.")
    return rows[0]


async def update_offer(conn: AsyncConnection, workspace_id: int, offer_id: int, changes: dict) -> Row:
    """Change an offer's terms: any of them before launch, only the live-editable
    ones (titles, texts, validTo, totalLimit) while the campaign runs or pauses."""
    row, campaign = await _offer_and_campaign(conn, workspace_id, offer_id)
    status = CampaignStatus(campaign.status)
    if status in (S.ENDED, S.ARCHIVED):
        raise DomainError(ErrorCode.READ_ONLY, "id", f"ended campaigns do not change: this one is {status.name}")
    return await offer_terms.change_offer(conn, workspace_id, row, changes, launched=status not in OFFERS_OPEN)


async def delete_offer(conn: AsyncConnection, workspace_id: int, offer_id: int) -> Row:
    row, campaign = await _offer_and_campaign(conn, workspace_id, offer_id)
    _require_offers_open(campaign, "id")
    return await offer_terms.remove_offer(conn, workspace_id, row.id)
