"""strawberry's schema extension hooks, entered without rebuilding their wrappers
for every request.

For every stage of every operation (the operation, parsing, validation,
execution), strawberry inspects each extension's class again (is the hook
overridden? a generator function? an async one?) and wraps the bound hook in
contextlib's decorator, functools.update_wrapper and all; it also awaits every
extension's `get_results`, overridden or not. With the seven extensions we had, that
was an eighth of a customer by id. Here the inspection is done once per class
and stage, the decorator is applied once to the class's function, and each
request only calls it: the hooks themselves still run inside contextlib's
context managers and exit stacks, so exceptions, suppression and the order of
exit are contextlib's, as before.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import ExtensionContextManagerBase
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.utils.await_maybe import await_maybe

# How to open an extension's hook for a stage, and whether it must be awaited.
_Opener = tuple[Callable[[SchemaExtension], Any], bool]
_openers: dict[tuple[type, str], _Opener | None] = {}


def _opener(extension_type: type, stage: str) -> _Opener | None:
    key = (extension_type, stage)
    if key not in _openers:
        _openers[key] = _inspect(getattr(extension_type, stage), stage)
    return _openers[key]


def _inspect(hook: Any, stage: str) -> _Opener | None:
    if hook is getattr(SchemaExtension, stage):
        return None
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    if not callable(hook):
        raise ValueError(f"Hook {stage} must be callable, received {hook!r}")

    def from_callable(extension: SchemaExtension):  # a plain function or coroutine: strawberry's wrapping
        return ExtensionContextManagerBase.from_callable(extension, hook).hook()
    return from_callable, inspect.iscoroutinefunction(hook)


class _Stage:
    """One stage's hooks, entered in order and exited in reverse."""

    __slots__ = ("_hooks", "_stack")

    def __init__(self, extensions: list[SchemaExtension], stage: str):
        self._hooks = [(opener, extension) for extension in extensions
                       if (opener := _opener(type(extension), stage)) is not None]

    async def __aenter__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        for (open_hook, is_async), extension in self._hooks:
            if is_async:
                await self._stack.enter_async_context(open_hook(extension))
            else:
                self._stack.enter_context(open_hook(extension))

    async def __aexit__(self, *exc_info) -> None:
        await self._stack.__aexit__(*exc_info)  # like strawberry's: a hook does not swallow the stage's error

    def __enter__(self) -> None:
        self._stack = contextlib.ExitStack()
        for (open_hook, is_async), extension in self._hooks:
            if is_async:
                raise RuntimeError(f"SchemaExtension hook {extension} failed to complete synchronously.")
            self._stack.enter_context(open_hook(extension))

    def __exit__(self, *exc_info) -> None:
        self._stack.__exit__(*exc_info)


class ExtensionsRunner(SchemaExtensionsRunner):
    def operation(self) -> _Stage:
        return _Stage(self.extensions, "on_operation")

    def parsing(self) -> _Stage:
        return _Stage(self.extensions, "on_parse")

    def validation(self) -> _Stage:
        return _Stage(self.extensions, "on_validate")

    def executing(self) -> _Stage:
        return _Stage(self.extensions, "on_execute")

    async def get_extensions_results(self, ctx) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self.extensions:
            if type(extension).get_results is not SchemaExtension.get_results:
                data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data
