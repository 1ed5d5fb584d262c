"""The GraphQL schema, composed from the domains' query classes."""

from __future__ import annotations

import datetime
import decimal
import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import Info

from domain.db import is_unavailable
from domain.workspaces import workspace_by_id
from gql_api import limits
from gql_api.analytics_queries import AnalyticsQueries
from gql_api.campaigns.mutations import CampaignMutations
from gql_api.campaigns.queries import CampaignQueries
from gql_api.campaigns.redemptions import CheckoutMutations, CheckoutQueries
from gql_api.campaigns.types import Campaign, Offer, Redemption
from gql_api.customers.mutations import CustomerMutations
from gql_api.customers.queries import CustomerQueries
from gql_api.customers.types import Customer
from gql_api.document_cache import DocumentCache
from gql_api.events.queries import EventQueries
from gql_api.events.subscriptions import Subscription
from gql_api.extension_runner import ExtensionsRunner
from gql_api.notes.types import Note
from gql_api.recording.types import Interaction, Purchase
from gql_api.node_queries import NodeQueries
from gql_api.notes.mutations import NoteMutations
from gql_api.observability import OperationMetrics
from gql_api.scalars import Money, PeopleDate
from gql_api.permissions import IsAuthenticated
from gql_api.recording.mutations import RecordingMutations
from gql_api.query_connection import SharedQueryConnection
from gql_api.scoring_queries import ScoringQueries
from gql_api.segments.mutations import SegmentMutations
from gql_api.segments.queries import SegmentQueries
from gql_api.segments.types import Segment
from gql_api.shared_execution import SharedEventExecution
from gql_api.signed_in import SignedInMutations, SignedInQueries
from gql_api.webhooks.schema import WebhookMutations, WebhookQueries


UNAVAILABLE = "the database is not reachable right now: try again in a moment"
log = logging.getLogger("tribe.graphql")


@strawberry.type(description="Who is asking.")
class Viewer:
    workspace_slug: str
    role: str


@strawberry.type
class Query(CustomerQueries, ScoringQueries, NodeQueries, AnalyticsQueries, SegmentQueries, EventQueries,
            WebhookQueries, SignedInQueries, CampaignQueries, CheckoutQueries):
    @strawberry.field(permission_classes=[IsAuthenticated], description="The API key's workspace and role.")
    async def viewer(self, info: Info) -> Viewer:
        async with info.context.transaction() as conn:
            workspace = await workspace_by_id(conn, info.context.api_key.workspace_id)
        return Viewer(workspace_slug=workspace.slug, role=info.context.api_key.role.value.upper())


@strawberry.type
class Mutation(CustomerMutations, RecordingMutations, NoteMutations, SegmentMutations, WebhookMutations,
               SignedInMutations, CampaignMutations, CheckoutMutations):
    pass


def _unexpected(error: GraphQLError) -> bool:
    """An exception a resolver did not mean to raise (a bug, the database gone),
    as opposed to errors with a message meant for the client: validation, limits,
    permissions and bad input all arrive as GraphQLError."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """MaskErrors, without its isinstance check against a runtime Protocol:
    that check ran for every subscription message and cost more than the rest."""

    def __init__(self):
        super().__init__(should_mask_error=_unexpected, error_message="Internal error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if not is_unavailable(error.original_error):
            return super().anonymise_error(error)
        # A restart or an outage: not a bug, and the client can do something about it (try again).
        return GraphQLError(UNAVAILABLE, nodes=error.nodes, source=error.source, positions=error.positions,
                            path=error.path, extensions={"code": "SERVICE_UNAVAILABLE"})

    def _process_result(self, result: object) -> None:
        if errors := getattr(result, "errors", None):
            result.errors = self._process_errors(errors)


class TribeSchema(strawberry.Schema):
    def create_extensions_runner(self, execution_context, extensions) -> ExtensionsRunner:
        return ExtensionsRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        # Log what needs a developer's attention; a client's bad query does not.
        for error in errors:
            if not _unexpected(error):
                continue
            if is_unavailable(error.original_error):
                log.warning("database unavailable in %s: %s", error.path, error.original_error)
            else:
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


schema = TribeSchema(query=Query, mutation=Mutation, subscription=Subscription,
                     types=[Customer, Note, Purchase, Interaction, Segment, Campaign, Offer, Redemption],
                     extensions=[limits.QueryLimits, DocumentCache, SharedQueryConnection, OperationMetrics,
                                 MaskUnexpectedErrors],
                     execution_context_class=SharedEventExecution, scalar_overrides={datetime.date: PeopleDate,
                                                                                        decimal.Decimal: Money})


if __name__ == "__main__":
    print(schema.as_str())
