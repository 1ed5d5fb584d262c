"""Execute a subscription event once for all the subscribers that asked the same.

graphql-core runs a subscription's selection set once per event per
subscriber. When a thousand subscribers follow a hundred segments, most of them
sent the same document with the same variables, so the same event is executed
again and again for identical results: that was most of a server process's time
in the fan-out benchmark. Here the result of an event whose root value carries
an `event_id` is remembered, keyed by the operation (printed once per
subscription), the variables, the subscriber's workspace and role, and the
event; the next subscriber with the same key gets the same result, without
even the copy of the executor graphql-core makes for each event.

The result depends on nothing else: event fields are plain values read from the
event, and the role is in the key in case a field ever depends on it.
"""

from __future__ import annotations

import asyncio
import json
from functools import cached_property

from graphql import OperationType, print_ast

from gql_api.plain_fields import PlainFieldExecution
from gql_api.recent import Recent


class SharedEventExecution(PlainFieldExecution):
    results = Recent()

    @cached_property
    def operation_key(self) -> tuple | None:
        """What makes two subscriptions execute an event alike (computed on the
        subscription's executor, before it is copied for each event)."""
        if self.operation.operation is not OperationType.SUBSCRIPTION:
            return None
        api_key = getattr(self.context_value, "api_key", None)
        if api_key is None:
            return None
        document = print_ast(self.operation) + "".join(print_ast(f) for _, f in sorted(self.fragments.items()))
        variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
        return document, variables, api_key.workspace_id, api_key.role

    def build_per_event_executor(self, payload):
        event_id = getattr(payload, "event_id", None)
        key = (self.operation_key, type(payload), event_id) if event_id and self.operation_key else None
        if key is not None and (shared := self.results.get(key)) is not None:
            return _Executed(shared)  # no copy of the executor, no execution
        executor = super().build_per_event_executor(payload)
        executor.event_key = key  # (the copy inherits operation_key, computed once above)
        # graphql-core's copy shares the subscription's memo of collected
        # subfields, keyed by the identity of lists made afresh for each event:
        # it grew by an entry per event for the life of the subscription.
        executor._relevant_sub_fields = {}
        return executor

    def execute_operation(self, serially=None):
        key = getattr(self, "event_key", None)
        result = super().execute_operation(serially)
        if key is None:
            return result
        if self.is_awaitable(result):
            # Subscribers woken by the same event execute it in turn before any
            # finishes: share the pending execution itself, not just its result.
            result = asyncio.ensure_future(result)
            result.add_done_callback(lambda done: self._forget_failed(key, done))
        elif result.errors:  # an error may concern this subscriber alone; never share one
            return result
        return self.results.remember(key, result)

    def _forget_failed(self, key, done: asyncio.Future) -> None:
        if done.cancelled() or done.exception() is not None or done.result().errors:
            self.results.pop(key, None)


class _Executed:
    """Stands in for a per-event executor when the event's result is known."""

    def __init__(self, result):
        self.result = result

    def execute_operation(self, serially=None):
        return self.result
