"""Webhook endpoints: types, the query and the mutations."""
