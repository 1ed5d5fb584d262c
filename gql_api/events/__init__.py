"""Events: the outbox as queries (for polling) and subscriptions (for listening)."""
