"""Tribe business layer."""
