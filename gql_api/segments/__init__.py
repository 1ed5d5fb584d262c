"""Segments: types, queries, mutations."""
