"""The GraphQL schema, composed from the domains' query classes."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.workspaces import workspace_by_id
from gql_api.customers.queries import CustomerQueries
from gql_api.permissions import IsAuthenticated
from gql_api.recording.mutations import RecordingMutations
from gql_api.scoring_queries import ScoringQueries


@strawberry.type(description="Who is asking.")
class Viewer:
    workspace_slug: str
    role: str


@strawberry.type
class Query(CustomerQueries, ScoringQueries):
    @strawberry.field(permission_classes=[IsAuthenticated], description="The API key's workspace and role.")
    async def viewer(self, info: Info) -> Viewer:
        async with info.context.transaction() as conn:
            workspace = await workspace_by_id(conn, info.context.api_key.workspace_id)
        return Viewer(workspace_slug=workspace.slug, role=info.context.api_key.role.value.upper())


@strawberry.type
class Mutation(RecordingMutations):
    pass


schema = strawberry.Schema(query=Query, mutation=Mutation)


if __name__ == "__main__":
    print(schema.as_str())
