"""Recording purchases and interactions through GraphQL."""
