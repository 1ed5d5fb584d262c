"""Customers in the GraphQL schema."""
