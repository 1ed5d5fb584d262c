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
reason. A preview runs the classification alone. Customers who enter an
included segment while the campaign runs go through the same statement,
restricted to them (domain/campaigns/lifecycle.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns.offers import offers_of
from domain.campaigns.policies import Policy, campaign_policies, workspace_policies
from domain.campaigns.settings import control_group_salt
from domain.events import EventKind, notify
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
_MATCHES = f"(p.customer_type = s.customer_type OR p.trait = ANY({_TRAITS}))"


@functools.lru_cache(maxsize=64)
def _statement(channel: CampaignChannel, joining: bool, only: bool, capped: bool, write: bool):
    """The statement's text for one shape (every value is a bind parameter)."""
    consent, unreachable = _CONSENT[channel]
    restrict = " AND m.customer_id = ANY(CAST(:only AS bigint[]))" if only else ""
    joiners = f"""
    UNION
    SELECT c.id FROM customers c
    LEFT JOIN customer_scores s ON s.workspace_id = c.workspace_id AND s.customer_id = c.id
    WHERE c.workspace_id = :w AND c.deleted_at IS NULL
      AND EXISTS (SELECT 1 FROM policy p WHERE p.joins AND {_MATCHES})""" if joining else ""
    cap = """
    capped AS (
      SELECT customer_id FROM campaign_assignments
      WHERE workspace_id = :w AND arm = 'treatment' AND campaign_id <> :campaign
        AND assigned_at > now() - make_interval(days => CAST(:cap_days AS int))
      GROUP BY customer_id HAVING count(*) >= :cap),""" if capped else """
    capped AS (SELECT NULL::bigint AS customer_id WHERE false),"""
    head = f"""
    WITH policy AS (
      SELECT * FROM unnest(CAST(:p_labels AS text[]), CAST(:p_types AS text[]), CAST(:p_traits AS text[]),
                           CAST(:p_excludes AS boolean[]), CAST(:p_joins AS boolean[]), CAST(:p_early AS int[]))
             WITH ORDINALITY AS p(label, customer_type, trait, excludes, joins, early_hours, position)),
    in_segments AS (
      SELECT DISTINCT m.customer_id FROM segment_memberships m
      WHERE m.workspace_id = :w AND m.left_at IS NULL AND m.segment_id = ANY(CAST(:include AS bigint[])){restrict}),
    candidates AS (SELECT customer_id FROM in_segments{joiners}),
    excluded AS (
      SELECT DISTINCT m.customer_id FROM segment_memberships m
      WHERE m.workspace_id = :w AND m.left_at IS NULL AND m.segment_id = ANY(CAST(:exclude AS bigint[]))),{cap}
    classified AS MATERIALIZED (
      SELECT k.customer_id, (i.customer_id IS NOT NULL) AS from_segments, joined_by.label AS joined_by,
             CASE WHEN x.customer_id IS NOT NULL THEN 'excluded_segment'
                  WHEN NOT {consent} THEN 'no_consent'
                  WHEN {unreachable} THEN 'unreachable'
                  WHEN f.customer_id IS NOT NULL THEN 'frequency_cap'
                  WHEN left_by.label IS NOT NULL THEN 'policy' END AS reason,
             left_by.label AS policy_label, early.hours AS early_hours,
             (((h.v % 10000) + 10000 + CASE WHEN h.v < 0 THEN 1616 ELSE 0 END) % 10000)::smallint AS bucket
      FROM (SELECT DISTINCT customer_id FROM candidates) k
      JOIN customers c ON c.workspace_id = :w AND c.id = k.customer_id AND c.deleted_at IS NULL
                          AND c.erased_at IS NULL
      LEFT JOIN customer_scores s ON s.workspace_id = :w AND s.customer_id = c.id
      LEFT JOIN in_segments i ON i.customer_id = k.customer_id
      LEFT JOIN excluded x ON x.customer_id = k.customer_id
      LEFT JOIN capped f ON f.customer_id = k.customer_id
      LEFT JOIN LATERAL (SELECT p.label FROM policy p WHERE p.excludes AND {_MATCHES}
                         ORDER BY p.position LIMIT 1) left_by ON true
      LEFT JOIN LATERAL (SELECT p.label FROM policy p WHERE p.joins AND {_MATCHES}
                         ORDER BY p.position LIMIT 1) joined_by ON i.customer_id IS NULL
      LEFT JOIN LATERAL (SELECT max(p.early_hours) AS hours FROM policy p WHERE p.early_hours > 0 AND {_MATCHES})
                early ON true
      -- sha256 -> the first 8 bytes as a signed bigint; the CASE above makes it unsigned mod 10000
      CROSS JOIN LATERAL (SELECT ('x' || encode(substr(sha256(convert_to(:salt || c.id::text, 'UTF8')), 1, 8),
                                                'hex'))::bit(64)::bigint AS v) h
      WHERE NOT EXISTS (SELECT 1 FROM campaign_assignments a
                        WHERE a.campaign_id = :campaign AND a.customer_id = k.customer_id)),"""
    counts = """
    SELECT 'left_out' AS what, reason AS key, CASE WHEN reason = 'policy' THEN policy_label END AS detail,
           count(*) AS n FROM classified WHERE reason IS NOT NULL GROUP BY 2, 3
    UNION ALL SELECT 'joined', joined_by, NULL, count(*) FROM classified WHERE joined_by IS NOT NULL GROUP BY joined_by
    UNION ALL SELECT 'from_segments', NULL, NULL, count(*) FROM classified WHERE from_segments
    UNION ALL SELECT 'candidates', NULL, NULL, count(*) FROM classified"""
    if not write:
        return text(head.rstrip(",") + counts + """
    UNION ALL SELECT 'arm', CASE WHEN bucket < :holdout_bp THEN 'holdout' ELSE 'treatment' END, NULL, count(*)
      FROM classified WHERE reason IS NULL GROUP BY 2""")
    return text(head + """
    assigned AS (
      INSERT INTO campaign_assignments (workspace_id, campaign_id, customer_id, arm, bucket, opens_at, joined)
      SELECT :w, :campaign, customer_id, CASE WHEN bucket < :holdout_bp THEN 'holdout' ELSE 'treatment' END, bucket,
             CASE WHEN early_hours > 0 THEN CAST(:opens_at AS timestamptz) - make_interval(hours => early_hours) END,
             :joined
      FROM classified WHERE reason IS NULL
      ON CONFLICT DO NOTHING
      RETURNING customer_id, arm, opens_at),
    treated AS MATERIALIZED (
      SELECT customer_id, opens_at, row_number() OVER (ORDER BY customer_id) AS position
      FROM assigned WHERE arm = 'treatment'),
    offer_ids AS (SELECT * FROM unnest(CAST(:unique_ids AS bigint[]), CAST(:unique_gids AS text[])) AS u(id, gid)),
    coded AS (
      INSERT INTO offer_codes (workspace_id, offer_id, customer_id, code)
      SELECT :w, u.id, t.customer_id,
             upper(substr(g.hex, 1, 4) || '-' || substr(g.hex, 5, 4) || '-' || substr(g.hex, 9, 4) || '-'
                   || substr(g.hex, 14, 3) || substr(g.hex, 18, 1))
      FROM treated t CROSS JOIN offer_ids u
      -- gen_random_uuid draws from the server's strong random source; hex 13 and 17 are fixed, so skipped
      CROSS JOIN LATERAL (SELECT replace(gen_random_uuid()::text, '-', '') AS hex OFFSET 0) g
      RETURNING customer_id, offer_id, code),
    codes_of AS (
      SELECT c.customer_id, jsonb_object_agg(u.gid, c.code) AS codes
      FROM coded c JOIN offer_ids u ON u.id = c.offer_id GROUP BY c.customer_id),
    total AS (SELECT count(*) AS n FROM treated),
    counter AS (
      INSERT INTO event_counters AS ec (workspace_id, last_seq) SELECT :w, n FROM total WHERE n > 0
      ON CONFLICT (workspace_id) DO UPDATE SET last_seq = ec.last_seq + EXCLUDED.last_seq
      RETURNING last_seq),
    written AS (
      INSERT INTO events (workspace_id, seq, kind, customer_id, payload)
      SELECT :w, counter.last_seq - total.n + t.position, :event_kind, t.customer_id,
             jsonb_build_object('campaignId', CAST(:campaign_gid AS text), 'channel', CAST(:channel AS text), 'offerIds',
                                CAST(:offer_gids AS jsonb), 'codes', CAST(:shared_codes AS jsonb)
                                || coalesce(k.codes, '{}'::jsonb), 'opensAt', t.opens_at, 'reason', CAST(:reason AS text))
      FROM treated t CROSS JOIN counter CROSS JOIN total LEFT JOIN codes_of k ON k.customer_id = t.customer_id
      RETURNING 1)""" + counts + """
    UNION ALL SELECT 'arm', arm, NULL, count(*) FROM assigned GROUP BY arm
    UNION ALL SELECT 'events', NULL, NULL, count(*) FROM written""")


def _parameters(t: Targeting) -> dict:
    policies = list(dict.fromkeys([*t.excluding, *t.joining, *t.early]))
    return {"w": t.workspace_id, "campaign": t.campaign_id, "include": t.include, "exclude": t.exclude,
            "salt": t.salt, "holdout_bp": t.holdout_bp, "cap": t.frequency_cap, "cap_days": t.frequency_cap_days,
            "p_labels": [p.label for p in policies],
            "p_types": [p.customer_type.value if p.customer_type else None for p in policies],
            "p_traits": [p.trait.value if p.trait else None for p in policies],
            "p_excludes": [p in t.excluding for p in policies], "p_joins": [p in t.joining for p in policies],
            "p_early": [p.early_access_hours for p in policies]}


def _report(rows) -> tuple[AudienceReport, int]:
    report, events = AudienceReport(), 0
    for what, key, detail, n in rows:
        if what == "left_out":
            report.left_out.append((key, detail, n))
        elif what == "joined":
            report.joined[key] = n
        elif what == "from_segments":
            report.from_segments = n
        elif what == "candidates":
            report.candidates = n
        elif what == "arm":
            setattr(report, key, n)
        else:
            events = n
    report.left_out.sort(key=lambda x: (REASONS.index(x[0]), x[1] or ""))
    return report, events


async def preview(conn: AsyncConnection, t: Targeting) -> AudienceReport:
    """What a launch now would find, writing nothing."""
    statement = _statement(t.channel, bool(t.joining), False, t.frequency_cap is not None, write=False)
    return _report(await conn.execute(statement, _parameters(t)))[0]


async def assign(conn: AsyncConnection, t: Targeting, reason: str, only: list[int] | None = None) -> AudienceReport:
    """Assign the audience (or, with `only`, those of these customers who
    qualify and are not assigned yet): their rows, codes and events."""
    statement = _statement(t.channel, bool(t.joining) and only is None, only is not None,
                           t.frequency_cap is not None, write=True)
    parameters = _parameters(t) | {
        "only": only, "opens_at": t.opens_at, "joined": only is not None, "event_kind": EventKind.CAMPAIGN_TARGETED.value,
        "unique_ids": [i for i, _ in t.unique_offers], "unique_gids": [g for _, g in t.unique_offers],
        "campaign_gid": t.campaign_gid, "channel": t.channel.name, "offer_gids": json.dumps(t.offer_gids),
        "shared_codes": json.dumps(t.shared_codes), "reason": reason}
    report, events = _report(await conn.execute(statement, parameters))
    if events:
        await notify(conn, t.workspace_id)
    return report


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
