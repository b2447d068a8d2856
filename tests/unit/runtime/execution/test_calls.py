"""call() (opframe.runtime.execution.calls): a handler gets the keyword arguments it names."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest

from opframe.handlers.handler import Handler, Kind
from opframe.runtime.execution.calls import call

KWARGS = {"body": {"spec": {}}, "name": "x", "namespace": "default", "logger": None, "memo": None, "retry": 0}


def handler(fn: Any) -> Handler:
    return Handler(id="h", fn=fn, kind=Kind.CREATE, resource=("websites",))


# -- call ------------------------------------------------------------------------------------------


def test_call_passes_everything_to_a_handler_with_kwargs() -> None:
    seen: dict[str, Any] = {}

    def fn(**kwargs: Any) -> None:
        seen.update(kwargs)

    call(handler(fn), KWARGS, None)
    assert seen == KWARGS


def test_call_passes_only_named_arguments_without_kwargs() -> None:
    def fn(name, namespace):  # type: ignore[no-untyped-def]
        return (name, namespace)

    assert call(handler(fn), KWARGS, None) == ("x", "default")


def test_call_passes_keyword_only_arguments() -> None:
    def fn(*, retry: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return retry, body

    assert call(handler(fn), KWARGS, None) == (0, {"spec": {}})


def test_call_with_named_arguments_and_kwargs_passes_everything() -> None:
    def fn(name: str, **rest: Any) -> tuple[str, set[str]]:
        return name, set(rest)

    assert call(handler(fn), KWARGS, None) == ("x", set(KWARGS) - {"name"})


def test_call_without_parameters() -> None:
    assert call(handler(lambda: "ran"), KWARGS, None) == "ran"


def test_call_leaves_unknown_parameters_to_their_defaults() -> None:
    def fn(name: str, extra: str = "default") -> tuple[str, str]:
        return name, extra

    assert call(handler(fn), KWARGS, None) == ("x", "default")


def test_call_does_not_pass_positional_only_parameters_by_name() -> None:
    def fn(name: str = "positional", /, **rest: Any) -> str:
        return name

    assert call(handler(fn), KWARGS, None) == "positional"


def test_call_returns_the_result() -> None:
    assert call(handler(lambda **_: {"phase": "Ready"}), KWARGS, None) == {"phase": "Ready"}


def test_call_propagates_exceptions() -> None:
    def fn(**_: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        call(handler(fn), KWARGS, None)


def test_call_does_not_change_the_kwargs() -> None:
    kwargs = dict(KWARGS)

    def fn(**given: Any) -> None:
        given["name"] = "changed"

    call(handler(fn), kwargs, None)
    assert kwargs == KWARGS


def test_call_a_method() -> None:
    class Reconciler:
        def handle(self, name: str) -> str:
            return f"handled {name}"

    assert call(handler(Reconciler().handle), KWARGS, None) == "handled x"


def test_call_a_partial() -> None:
    def fn(prefix: str, name: str) -> str:
        return prefix + name

    assert call(handler(functools.partial(fn, "p-")), KWARGS, None) == "p-x"


def test_call_an_unhashable_callable_object() -> None:
    @dataclasses.dataclass
    class Reconciler:
        greeting: str = "hello"

        def __call__(self, name: str) -> str:
            return f"{self.greeting} {name}"

    assert call(handler(Reconciler()), KWARGS, None) == "hello x"


def test_call_an_async_handler_without_a_runner_is_an_error() -> None:
    async def fn(**_: Any) -> None:
        pass

    with pytest.raises(RuntimeError, match="LoopPool"):
        call(handler(fn), KWARGS, None)
