"""Who a campaign targets, and in which arm.

The audience, in this order (each customer is counted under the first reason
that leaves them out):

1. candidates: the current members of the included segments, plus customers
   a policy brings in (`join_offer_kinds`, e.g. bargainers into any discount
   campaign); deleted and erased customers never;
2. minus members of an excluded segment;
3. minus those without consent for the channel (IN_APP needs none), and those
   the channel cannot reach (SMS without a phone, EMAIL without an address);
4. minus those over the frequency cap: already treated by `frequency_cap`
   campaigns in the last `frequency_cap_days` days;
5. minus those a customer-type policy leaves out of this campaign's offers;
6. then the holdout split: `bucket = uint64(first 8 bytes, big-endian, of
   sha256(salt || customer id as decimal text)) mod 10000`, held out when
   `bucket < holdout basis points`. The salt is "<campaign id>:", or the
   workspace's global control group salt. Eligibility runs before the split,
   so both arms are filtered alike, and a customer's arm can be recomputed
   from the hash at any time (`bucket`).

One statement does it all in PostgreSQL (the launch of a million customers
moves no row through Python): classify, write the assignments, the UNIQUE
codes and one `campaign.targeted` event per treated customer, and count each
reason. A preview runs the classification alone. The statement's text is made
per shape (channel, policies, segments, UNIQUE offers) so that each policy is
a plain comparison in a CASE, not a join: the plan is scans and hash joins. Customers who enter an
included segment while the campaign runs go through the same statement,
restricted to them (domain/campaigns/lifecycle.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns.offers import offers_of
from domain.campaigns.policies import Policy, campaign_policies, workspace_policies
from domain.campaigns.settings import control_group_salt
from domain.events import EventKind, notify
from domain.tables import campaign_assignments
from domain.vocab import CampaignChannel, CodeMode, OfferKind

BUCKETS = 10_000
REASONS = ("excluded_segment", "no_consent", "unreachable", "frequency_cap", "policy")


def bucket(salt: str, customer_id: int) -> int:
    """The customer's holdout bucket, 0-9999 (what the SQL computes)."""
    digest = hashlib.sha256(f"{salt}{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def campaign_salt(campaign_id: int) -> str:
    return f"{campaign_id}:"


@dataclass(frozen=True)
class Targeting:
    """Everything the statement needs about one campaign."""
    workspace_id: int
    campaign_id: int
    channel: CampaignChannel
    include: list[int]
    exclude: list[int]
    holdout_bp: int
    salt: str
    frequency_cap: int | None
    frequency_cap_days: int | None
    kinds: frozenset[OfferKind]
    excluding: tuple[Policy, ...]  # the policies that leave customers out of this campaign
    joining: tuple[Policy, ...]  # those that bring customers in
    early: tuple[Policy, ...]  # those with early access
    opens_at: datetime | None  # when everyone's offers open (early access counts back from it)
    campaign_gid: str = ""
    offer_gids: list[str] = field(default_factory=list)
    unique_offers: list[tuple[int, str]] = field(default_factory=list)  # (id, global id)
    shared_codes: dict[str, str] = field(default_factory=dict)  # global id -> code


async def targeting_for(conn: AsyncConnection, row: Row, salt: str | None = None,
                        global_id=lambda kind, pk: f"{kind}:{pk}") -> Targeting:
    """The targeting of a campaign row; `salt` when it is frozen already."""
    found = (await offers_of(conn, row.workspace_id, [row.id]))[row.id]
    kinds = frozenset(OfferKind(o.kind) for o in found)
    policies = campaign_policies(row.policies, await workspace_policies(conn, row.workspace_id))
    salt = salt or row.holdout_salt or await control_group_salt(conn, row.workspace_id) or campaign_salt(row.id)
    opens = [o.valid_from for o in found if o.valid_from is not None]
    return Targeting(
        workspace_id=row.workspace_id, campaign_id=row.id, channel=CampaignChannel(row.channel),
        include=list(row.include_segment_ids), exclude=list(row.exclude_segment_ids), holdout_bp=row.holdout_bp,
        salt=salt, frequency_cap=row.frequency_cap, frequency_cap_days=row.frequency_cap_days, kinds=kinds,
        excluding=tuple(p for p in policies if p.excludes(kinds)),
        joining=tuple(p for p in policies if p.joins(kinds) and not p.excludes(kinds)),
        early=tuple(p for p in policies if p.early_access_hours > 0),
        opens_at=max([row.starts_at, *opens]) if row.starts_at else (min(opens) if opens else None),
        campaign_gid=global_id("Campaign", row.id), offer_gids=[global_id("Offer", o.id) for o in found],
        unique_offers=[(o.id, global_id("Offer", o.id)) for o in found if o.code_mode == CodeMode.UNIQUE.value],
        shared_codes={global_id("Offer", o.id): o.shared_code for o in found if o.shared_code})


@dataclass
class AudienceReport:
    candidates: int = 0
    from_segments: int = 0
    joined: dict[str, int] = field(default_factory=dict)  # policy label -> customers it brought in
    left_out: list[tuple[str, str | None, int]] = field(default_factory=list)  # (reason, policy label, customers)
    treatment: int = 0
    holdout: int = 0

    def to_json(self) -> dict:
        return {"candidates": self.candidates, "fromSegments": self.from_segments, "joined": self.joined,
                "leftOut": [list(x) for x in self.left_out], "treatment": self.treatment, "holdout": self.holdout}

    @classmethod
    def from_json(cls, raw: dict) -> AudienceReport:
        return cls(raw["candidates"], raw["fromSegments"], raw["joined"], [tuple(x) for x in raw["leftOut"]],
                   raw["treatment"], raw["holdout"])


# --- the statement ------------------------------------------------------------------------------

_CONSENT = {CampaignChannel.SMS: ("c.consent_sms", "c.phone_e164 IS NULL"),
            CampaignChannel.EMAIL: ("c.consent_email", "c.email IS NULL"),
            CampaignChannel.PUSH: ("c.consent_push", "false"),
            CampaignChannel.IN_APP: ("true", "false")}

_TRAITS = "CASE WHEN cardinality(c.staff_traits) > 0 THEN c.staff_traits ELSE coalesce(s.inferred_traits, '{}') END"
# sha256 -> its first 8 bytes as a signed bigint, then unsigned mod 10000 (2^64 mod 10000 = 1616). OFFSET 0
# keeps the subquery apart, so the digest is computed once a customer rather than once a use of `v`.
_BUCKET = """CROSS JOIN LATERAL (
      SELECT ('x' || encode(substr(sha256(convert_to(:salt || customer_id::text, 'UTF8')), 1, 8), 'hex'))::bit(64)
             ::bigint AS v OFFSET 0) h"""
_BUCKET_OF_V = "(((h.v % 10000) + 10000 + CASE WHEN h.v < 0 THEN 1616 ELSE 0 END) % 10000)::smallint"


def _matches(group: str, i: int, on: str) -> str:
    """Whether a customer matches policy i of a group (a type or a trait, bound as :{group}{i})."""
    return f"s.customer_type = :{group}{i}" if on == "type" else f":{group}{i} = ANY({_TRAITS})"


def _first_label(group: str, ons: tuple[str, ...]) -> str:
    """The label of the first policy of the group the customer matches, or NULL."""
    if not ons:
        return "CAST(NULL AS text)"
    whens = " ".join(f"WHEN {_matches(group, i, on)} THEN :{group}{i}_label" for i, on in enumerate(ons))
    return f"CASE {whens} END"


def _most_hours(ons: tuple[str, ...]) -> str:
    if not ons:
        return "CAST(NULL AS int)"
    return "GREATEST(" + ", ".join(f"CASE WHEN {_matches('e', i, on)} THEN CAST(:e{i}_hours AS int) END"
                                   for i, on in enumerate(ons)) + ")"


def _on(policy: Policy) -> str:
    return "type" if policy.customer_type is not None else "trait"


def _members(name: str, several: bool, restrict: str = "") -> str:
    """The open members of the segments bound as :name (DISTINCT only when
    several: one segment's open memberships are unique already)."""
    return (f"SELECT {'DISTINCT ' if several else ''}customer_id FROM segment_memberships "
            f"WHERE workspace_id = :w AND left_at IS NULL AND segment_id = ANY(CAST(:{name} AS bigint[])){restrict}")


def _codes(unique_offers: int) -> tuple[str, str]:
    """Each treated customer's code for each UNIQUE offer i (column code{i}):
    the lateral join that makes them, and the columns. A code is the first 8
    bytes of sha256(launch seed, offer, customer) in hex, as XXXX-XXXX-XXXX-XXXX:
    the seed is drawn anew for each launch and never stored, so codes cannot be
    guessed, and computing them costs a digest (a uuid each cost 12 times more)."""
    if not unique_offers:
        return "", ""
    digests = ", ".join(f"encode(substr(sha256(convert_to(:code_seed || ':' || CAST(:u{i} AS bigint)::text || ':' || "
                        f"a.customer_id::text, 'UTF8')), 1, 8), 'hex') AS h{i}" for i in range(unique_offers))
    formatted = ", ".join(f"upper(substr(h{i}, 1, 4) || '-' || substr(h{i}, 5, 4) || '-' || substr(h{i}, 9, 4) || '-' "
                          f"|| substr(h{i}, 13, 4)) AS code{i}" for i in range(unique_offers))
    lateral = f" CROSS JOIN LATERAL (SELECT {formatted} FROM (SELECT {digests} OFFSET 0) d) g"
    return lateral, ", " + ", ".join(f"g.code{i}" for i in range(unique_offers))


@functools.lru_cache(maxsize=256)
def _statement(channel: CampaignChannel, excluding: tuple[str, ...], joining: tuple[str, ...],
               early: tuple[str, ...], several_included: bool, several_excluded: bool, unique_offers: int,
               only: bool, capped: bool, write: bool):
    """The statement's text for one shape: the channel, whether each policy of
    each group matches on a type or a trait, how many segments, UNIQUE offers,
    joiners only, a frequency cap, a launch or a preview (every value is a bind
    parameter).

    Each customer goes through hash joins and CASE expressions, with no
    per-customer subquery but the digests: a million customers are classified
    in one pass over customers and their scores, and counted in one more."""
    consent, unreachable = _CONSENT[channel]
    restrict = " AND customer_id = ANY(CAST(:only AS bigint[]))" if only else ""
    cap = """
    capped AS (
      SELECT customer_id FROM campaign_assignments
      WHERE workspace_id = :w AND arm = 'treatment' AND campaign_id <> :campaign
        AND assigned_at > now() - make_interval(days => CAST(:cap_days AS int))
      GROUP BY customer_id HAVING count(*) >= :cap),""" if capped else ""
    # Joiners come from anywhere in the workspace: every customer is read. Otherwise the segments' members only.
    segment_join = "LEFT JOIN" if joining else "JOIN"
    head = f"""
    WITH included AS ({_members("include", several_included, restrict)}),
    excluded AS ({_members("exclude", several_excluded)}),{cap}
    people AS (
      SELECT c.id AS customer_id, i.customer_id IS NOT NULL AS from_segments,
             x.customer_id IS NOT NULL AS excluded, {consent} AS consented, {unreachable} AS unreachable,
             {"f.customer_id IS NOT NULL" if capped else "false"} AS capped,
             {_first_label("x", excluding)} AS policy_label,
             CASE WHEN i.customer_id IS NULL THEN {_first_label("j", joining)} END AS joined_by,
             {_most_hours(early)} AS early_hours
      FROM customers c
      {segment_join} included i ON i.customer_id = c.id
      LEFT JOIN customer_scores s ON s.workspace_id = :w AND s.customer_id = c.id
      LEFT JOIN excluded x ON x.customer_id = c.id{" LEFT JOIN capped f ON f.customer_id = c.id" if capped else ""}
      WHERE c.workspace_id = :w AND c.deleted_at IS NULL AND c.erased_at IS NULL{
        " AND NOT EXISTS (SELECT 1 FROM campaign_assignments a WHERE a.campaign_id = :campaign "
        "AND a.customer_id = c.id)" if only else ""}),
    classified AS MATERIALIZED (
      SELECT customer_id, from_segments, joined_by, policy_label, early_hours,
             CASE WHEN excluded THEN 'excluded_segment' WHEN NOT consented THEN 'no_consent'
                  WHEN unreachable THEN 'unreachable' WHEN capped THEN 'frequency_cap'
                  WHEN policy_label IS NOT NULL THEN 'policy' END AS reason
      FROM people WHERE from_segments OR joined_by IS NOT NULL),
    split AS (
      SELECT customer_id, early_hours, {_BUCKET_OF_V} AS bucket
      FROM classified {_BUCKET} WHERE reason IS NULL),"""
    # One pass counts candidates by reason, policy, who brought them in and whether from the segments.
    counts = """
    SELECT 'classified' AS what, reason AS key, CASE WHEN reason = 'policy' THEN policy_label END AS detail,
           joined_by, from_segments, count(*) AS n
    FROM classified GROUP BY 2, 3, 4, 5"""
    if not write:
        return text(head.rstrip(",") + counts + """
    UNION ALL SELECT 'arm', CASE WHEN bucket < :holdout_bp THEN 'holdout' ELSE 'treatment' END, NULL, NULL, NULL,
                     count(*)
      FROM split GROUP BY 2""")
    # A launch writes into a campaign with no assignments yet (its row is locked); joiners may race a repeat.
    on_conflict = "ON CONFLICT DO NOTHING" if only else ""
    lateral, code_columns = _codes(unique_offers)
    offer_codes = ", ".join(f"(CAST(:u{i} AS bigint), t.code{i})" for i in range(unique_offers))
    event_codes = "".join(f" || jsonb_build_object(CAST(:u{i}_gid AS text), t.code{i})"
                          for i in range(unique_offers))
    coded = f"""
    coded AS (
      INSERT INTO offer_codes (workspace_id, offer_id, customer_id, code)
      SELECT :w, v.offer_id, t.customer_id, v.code
      FROM treated t CROSS JOIN LATERAL (VALUES {offer_codes}) v(offer_id, code)
      RETURNING 1),""" if unique_offers else ""
    return text(head + f"""
    assigned AS (
      INSERT INTO campaign_assignments (workspace_id, campaign_id, customer_id, arm, bucket, opens_at, joined)
      SELECT :w, :campaign, customer_id, CASE WHEN bucket < :holdout_bp THEN 'holdout' ELSE 'treatment' END, bucket,
             CASE WHEN early_hours > 0 THEN CAST(:opens_at AS timestamptz) - make_interval(hours => early_hours) END,
             :joined
      FROM split {on_conflict}
      RETURNING customer_id, arm, opens_at),
    treated AS MATERIALIZED (
      SELECT a.customer_id, a.opens_at, row_number() OVER () AS position{code_columns}
      FROM assigned a{lateral} WHERE a.arm = 'treatment'),{coded}
    total AS (SELECT count(*) AS n FROM treated),
    counter AS (
      INSERT INTO event_counters AS ec (workspace_id, last_seq) SELECT :w, n FROM total WHERE n > 0
      ON CONFLICT (workspace_id) DO UPDATE SET last_seq = ec.last_seq + EXCLUDED.last_seq
      RETURNING last_seq),
    written AS (
      INSERT INTO events (workspace_id, seq, kind, customer_id, payload)
      SELECT :w, counter.last_seq - total.n + t.position, :event_kind, t.customer_id,
             jsonb_build_object('campaignId', CAST(:campaign_gid AS text), 'channel', CAST(:channel AS text), 'offerIds',
                                CAST(:offer_gids AS jsonb), 'codes', CAST(:shared_codes AS jsonb){event_codes},
                                'opensAt', t.opens_at, 'reason', CAST(:reason AS text))
      FROM treated t CROSS JOIN counter CROSS JOIN total
      RETURNING 1)""" + counts + """
    UNION ALL SELECT 'arm', arm, NULL, NULL, NULL, count(*) FROM assigned GROUP BY arm
    UNION ALL SELECT 'events', NULL, NULL, NULL, NULL, count(*) FROM written""")


def _shape(t: Targeting, joining: bool, only: bool, write: bool) -> tuple:
    return (t.channel, tuple(_on(p) for p in t.excluding), tuple(_on(p) for p in t.joining) if joining else (),
            tuple(_on(p) for p in t.early), len(t.include) > 1, len(t.exclude) > 1, len(t.unique_offers), only,
            t.frequency_cap is not None, write)


def _parameters(t: Targeting) -> dict:
    values = {"w": t.workspace_id, "campaign": t.campaign_id, "include": t.include, "exclude": t.exclude,
              "salt": t.salt, "holdout_bp": t.holdout_bp, "cap": t.frequency_cap, "cap_days": t.frequency_cap_days}
    for group, policies in (("x", t.excluding), ("j", t.joining), ("e", t.early)):
        for i, p in enumerate(policies):
            values[f"{group}{i}"] = p.customer_type.value if p.customer_type is not None else p.trait.value
            values[f"{group}{i}_label"] = p.label
            values[f"{group}{i}_hours"] = p.early_access_hours
    return values


def _report(rows) -> tuple[AudienceReport, int]:
    report, events = AudienceReport(), 0
    left_out: dict[tuple[str, str | None], int] = {}
    for what, key, detail, joined_by, from_segments, n in rows:
        if what == "classified":
            report.candidates += n
            report.from_segments += n if from_segments else 0
            if joined_by is not None:
                report.joined[joined_by] = report.joined.get(joined_by, 0) + n
            if key is not None:
                left_out[(key, detail)] = left_out.get((key, detail), 0) + n
        elif what == "arm":
            setattr(report, key, n)
        else:
            events = n
    report.left_out = sorted(((reason, label, n) for (reason, label), n in left_out.items()),
                             key=lambda x: (REASONS.index(x[0]), x[1] or ""))
    return report, events


# Classifying a million customers is a plan of plain scans and hash joins: compiling it to machine code
# (PostgreSQL's JIT, on above a cost) took seconds and saved none; its hash tables fit in memory with room.
_BIG_STATEMENT = text("SELECT set_config('jit', 'off', true), set_config('work_mem', '256MB', true)")


async def preview(conn: AsyncConnection, t: Targeting) -> AudienceReport:
    """What a launch now would find, writing nothing."""
    await conn.execute(_BIG_STATEMENT)
    statement = _statement(*_shape(t, joining=True, only=False, write=False))
    return _report(await conn.execute(statement, _parameters(t)))[0]


async def assign(conn: AsyncConnection, t: Targeting, reason: str, only: list[int] | None = None) -> AudienceReport:
    """Assign the audience (or, with `only`, those of these customers who
    qualify and are not assigned yet): their rows, codes and events."""
    await conn.execute(_BIG_STATEMENT)
    statement = _statement(*_shape(t, joining=only is None, only=only is not None, write=True))
    parameters = _parameters(t) | {
        "only": only, "opens_at": t.opens_at, "joined": only is not None, "event_kind": EventKind.CAMPAIGN_TARGETED.value,
        "code_seed": secrets.token_hex(16), "campaign_gid": t.campaign_gid, "channel": t.channel.name,
        "offer_gids": json.dumps(t.offer_gids), "shared_codes": json.dumps(t.shared_codes), "reason": reason}
    for i, (offer_id, gid) in enumerate(t.unique_offers):
        parameters[f"u{i}"], parameters[f"u{i}_gid"] = offer_id, gid
    report, events = _report(await conn.execute(statement, parameters))
    if events:
        await notify(conn, t.workspace_id)
    return report


async def assigned_count(conn: AsyncConnection, workspace_id: int, campaign_id: int) -> int:
    """Customers assigned so far (both arms)."""
    return await conn.scalar(select(func.count()).select_from(campaign_assignments).where(
        campaign_assignments.c.workspace_id == workspace_id, campaign_assignments.c.campaign_id == campaign_id))


def explain(reason: str, policy: Policy | None, count: int, channel: CampaignChannel) -> str:
    """A sentence for the audience report: "1,240 left out by the CHURNER policy (...)"."""
    what = {"excluded_segment": "left out as members of an excluded segment",
            "no_consent": f"left out without consent to {channel.name} messages",
            "unreachable": f"left out with no {'phone' if channel == CampaignChannel.SMS else 'email address'}",
            "frequency_cap": "left out by the frequency cap (contacted often enough lately)"}.get(reason)
    if what is None:
        kinds = ", ".join(sorted(k.name for k in policy.exclude_offer_kinds)) if policy else "these"
        what = f"left out by the {policy.label if policy else '?'} policy (no {kinds} offers)"
    return f"{count:,} {what}"
