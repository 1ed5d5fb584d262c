"""Parse and validate each distinct query text once per process.

Clients send the same few documents over and over; parsing and validating one
took 40% of a server process's time for a customer by id. The parsed document
and its validation errors depend only on the text, the parser's options and
the validation rules in force (which depend on the caller: introspection is
refused to most keys), so those are the key. A bounded memo: unique texts
sent to flood it only push older entries out.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import parse, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gql_api.recent import Recent

_documents = Recent(1_000)  # (text, parser options) -> document
_verdicts = Recent(2_000)  # (text, parser options, rule names) -> validation errors


class DocumentCache(SchemaExtension):
    """Listed after the extensions that add validation rules or parser options."""

    def _text_key(self) -> tuple:
        context = self.execution_context
        return context.query, tuple(sorted(context.parse_options.items()))

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            key = self._text_key()
            document = _documents.recall(key)
            if document is None:  # a text that does not parse raises here, and is not remembered
                document = _documents.remember(key, parse(context.query, **context.parse_options))
            context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.validation_rules:
            # By name: a rule class made again (a limiter's, say) is the same rule.
            key = (*self._text_key(), tuple(rule.__name__ for rule in context.validation_rules))
            errors = _verdicts.recall(key)
            if errors is None:
                # strawberry's validate_document, with graphql-core's hide_suggestions for a caller the schema is
                # closed to: a message edited afterwards was already on its way to a WebSocket subscriber.
                errors = _verdicts.remember(key, tuple(validate(
                    context.schema._schema, context.graphql_document,
                    (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule),
                    hide_suggestions=not getattr(context.context, "schema_open", True))))
            context.pre_execution_errors = list(errors)
        yield
