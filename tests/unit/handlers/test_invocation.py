"""Pure helpers of the invocation layer (Patch, Memo, call) and of the controller (pruned, newer, earliest)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import pickle
from typing import Any

import orjson
import pytest

from opframe.handlers.handler import Handler, Kind
from opframe.handlers.memos import Memo
from opframe.handlers.patches import Patch
from opframe.runtime.execution.calls import call
from opframe.runtime.reconcile.planner import earliest as _earliest
from opframe.runtime.reconcile.writer import newer as _newer
from opframe.runtime.reconcile.writer import pruned as _pruned

KWARGS = {"body": {"spec": {}}, "name": "x", "namespace": "default", "logger": None, "memo": None, "retry": 0}


def handler(fn: Any) -> Handler:
    return Handler(id="h", fn=fn, kind=Kind.CREATE, resource=("websites",))


# -- Patch -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["status", "spec"])
def test_patch_section_is_created_when_touched(section: str) -> None:
    patch = Patch()
    getattr(patch, section)["x"] = 1
    assert patch == {section: {"x": 1}}


def test_untouched_patch_is_empty() -> None:
    assert Patch() == {}


def test_patch_section_is_the_same_dict_each_time() -> None:
    patch = Patch()
    assert patch.status is patch.status


def test_patch_writes_of_two_handlers_merge_in_one_section() -> None:
    patch = Patch()
    patch.status["first"] = {"ok": True}
    patch.status["second"] = 2
    patch.spec["replicas"] = 3
    assert patch == {"status": {"first": {"ok": True}, "second": 2}, "spec": {"replicas": 3}}


def test_patch_later_write_of_the_same_key_wins() -> None:
    patch = Patch()
    patch.status["phase"] = "Pending"
    patch.status["phase"] = "Ready"
    assert patch.status == {"phase": "Ready"}


def test_patch_section_keeps_what_was_set_as_a_dict() -> None:
    patch = Patch({"status": {"a": 1}})
    patch.status["b"] = 2
    assert patch == {"status": {"a": 1, "b": 2}}


def test_patch_none_value_stays_to_delete_the_field() -> None:
    patch = Patch()
    patch.spec["obsolete"] = None
    assert patch == {"spec": {"obsolete": None}}


def test_patch_metadata_labels_and_annotations() -> None:
    patch = Patch()
    patch.metadata.labels["app"] = "web"
    patch.metadata.annotations["note"] = "x"
    patch.metadata.labels["tier"] = None
    assert patch == {"metadata": {"labels": {"app": "web", "tier": None}, "annotations": {"note": "x"}}}


def test_patch_meta_is_an_alias_of_metadata() -> None:
    patch = Patch()
    patch.meta.labels["a"] = "1"
    patch.metadata.labels["b"] = "2"
    assert patch == {"metadata": {"labels": {"a": "1", "b": "2"}}}


def test_patch_metadata_item_access() -> None:
    patch = Patch()
    patch.metadata["finalizers"] = ["f"]
    assert (patch.metadata["finalizers"], patch) == (["f"], {"metadata": {"finalizers": ["f"]}})


def test_patch_section_that_is_not_a_mapping_is_an_error() -> None:
    patch = Patch({"status": "broken"})
    with pytest.raises(TypeError, match="patch\\['status'\\] is not a mapping"):
        _ = patch.status


def test_patch_is_a_plain_serialisable_dict() -> None:
    patch = Patch()
    patch.status["a"] = 1
    patch.metadata.labels["b"] = "c"
    assert orjson.loads(orjson.dumps(patch)) == {"status": {"a": 1}, "metadata": {"labels": {"b": "c"}}}


# -- Memo ------------------------------------------------------------------------------------------


def test_memo_attribute_write_is_an_item() -> None:
    memo = Memo()
    memo.counter = 1
    assert memo == {"counter": 1}


def test_memo_item_reads_as_attribute() -> None:
    assert Memo(client="c").client == "c"


def test_memo_missing_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="absent"):
        _ = Memo().absent


def test_memo_getattr_default_and_hasattr_work() -> None:
    memo = Memo(a=1)
    assert (getattr(memo, "b", "default"), hasattr(memo, "a"), hasattr(memo, "b")) == ("default", True, False)


def test_memo_is_shared_by_reference() -> None:
    memo = Memo()
    alias = memo
    alias.seen = {"x"}
    memo.seen.add("y")
    assert memo["seen"] == {"x", "y"}


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["copy", "deepcopy", "pickle"])
def test_memo_copies(clone: Any) -> None:
    copied = clone(Memo(a=[1]))
    assert (type(copied), copied.a) == (Memo, [1])


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


# -- controller helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("patch", "pruned"), [
    ({}, {}),
    ({"status": {}}, {}),
    ({"metadata": {"labels": {}, "annotations": {}}}, {}),
    ({"metadata": {"labels": {}, "annotations": {"a": "1"}}}, {"metadata": {"annotations": {"a": "1"}}}),
    ({"spec": {"gone": None}}, {"spec": {"gone": None}}),
    ({"metadata": {"finalizers": []}}, {"metadata": {"finalizers": []}}),
    ({"status": {"a": {"b": {}}}, "spec": {"x": 0}}, {"spec": {"x": 0}}),
], ids=["empty", "empty-section", "empty-nested", "partly-empty", "none-deletes", "empty-list-kept", "deep-empty"])
def test_pruned(patch: dict[str, Any], pruned: dict[str, Any]) -> None:
    assert _pruned(patch) == pruned


def test_pruned_does_not_change_its_input() -> None:
    patch = {"metadata": {"labels": {}}, "spec": {"a": 1}}
    _pruned(patch)
    assert patch == {"metadata": {"labels": {}}, "spec": {"a": 1}}


@pytest.mark.parametrize(("candidate", "reference", "newer"), [
    ("11", "10", True),
    ("10", "10", False),
    ("9", "10", False),
    ("100", "99", True),
    ("abc", "10", False),
    ("10", "abc", False),
    ("", "10", False),
], ids=["greater", "equal", "smaller", "numeric-not-lexical", "opaque-candidate", "opaque-reference", "empty"])
def test_newer(candidate: str, reference: str, newer: bool) -> None:
    assert _newer(candidate, reference) is newer


@pytest.mark.parametrize(("a", "b", "earliest"), [
    (None, None, None),
    (None, 5.0, 5.0),
    (5.0, None, 5.0),
    (3.0, 5.0, 3.0),
    (5.0, 3.0, 3.0),
    (0.0, 5.0, 0.0),
    (None, 0.0, 0.0),
], ids=["both-none", "first-none", "second-none", "first-earlier", "second-earlier", "zero", "none-and-zero"])
def test_earliest(a: float | None, b: float | None, earliest: float | None) -> None:
    assert _earliest(a, b) == earliest
