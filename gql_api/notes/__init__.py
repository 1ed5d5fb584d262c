"""Notes in the GraphQL schema."""
