"""Campaigns, offers and redemptions in the GraphQL schema."""
