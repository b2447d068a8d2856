"""Index and Store (opframe.runtime.reconcile.indexes), generic as kopf's."""

from __future__ import annotations

import orjson

import opframe
from opframe import on
from opframe.handlers.handler import Kind
from opframe.handlers.memos import Memo
from opframe.handlers.registry import Registry
from opframe.kube.resources import Resource
from opframe.objects.patches import Patch
from opframe.runtime.execution.loops import LoopPool
from opframe.runtime.reconcile.indexes import Index, OperatorIndexes


def test_index_and_store_are_generic_as_in_kopf() -> None:
    from opframe.runtime.reconcile.indexes import Index, Store

    index: Index[str, int] = Index()
    index._set("ns/a", {"x": 1})
    index._set("ns/b", {"x": 2})
    assert isinstance(index["x"], Store) and sorted(index["x"]) == [1, 2] and 2 in index["x"]
    assert opframe.Index[str, bool] is not None  # kopf's examples subscript it in evaluated annotations


def test_an_index_function_gets_the_other_indexes_memo_and_patch_as_in_kopf(pool: LoopPool) -> None:
    """kopf passes every index, the object's memo and an unapplied patch to index functions too
    (found by the corpus case public-shared-config-manager, whose index function reads another index)."""
    registry = Registry()
    seen: dict[str, object] = {}

    @on.index("configmaps", id="by_name", registry=registry)
    def by_name(name: str, **_: object) -> str:
        return name

    @on.index("configmaps", id="names_seen", registry=registry)
    def names_seen(name: str, by_name: Index[None, str], memo: Memo, patch: Patch, **_: object) -> int:
        seen.update(names=sorted(by_name.get(None, [])), memo=memo.get("mark"), patch=patch)
        return len(by_name.get(None, []))

    indexes = OperatorIndexes(pool)
    resource = Resource("", "v1", "configmaps", "ConfigMap")
    for handler in registry.handlers(Kind.INDEX):
        indexes.declare(resource, handler)
    memo = Memo(mark="the object's")
    indexes.rebuild(resource, [("ns/a", orjson.dumps({"metadata": {"name": "a", "namespace": "ns"}}))],
                    memo_for=lambda key: memo)
    assert seen == {"names": ["a"], "memo": "the object's", "patch": {}}
    assert dict(indexes.indexes["names_seen"]) == {None: [1]}


def test_an_index_functions_filters_decide_what_it_indexes_as_in_kopf(pool: LoopPool) -> None:
    """kopf indexes an object only when the index function's filters match it (labels=, when=, field=);
    an object that stops matching leaves the index."""
    registry = Registry()

    @on.index("pods", id="by_node", labels={"app": "web"}, when=lambda spec, **_: spec.get("nodeName") != "skip",
              registry=registry)
    def by_node(name: str, spec: dict[str, str], **_: object) -> dict[str, str]:
        return {spec["nodeName"]: name}

    indexes = OperatorIndexes(pool)
    resource = Resource("", "v1", "pods", "Pod")
    for handler in registry.handlers(Kind.INDEX):
        indexes.declare(resource, handler)

    def pod(name: str, app: str, node: str) -> tuple[str, bytes]:
        return f"ns/{name}", orjson.dumps({"metadata": {"name": name, "namespace": "ns", "labels": {"app": app}},
                                           "spec": {"nodeName": node}})

    indexes.rebuild(resource, [pod("a", "web", "n1"), pod("b", "db", "n1"), pod("c", "web", "skip")])
    assert {key: sorted(values) for key, values in indexes.indexes["by_node"].items()} == {"n1": ["a"]}
    indexes.refresh(resource, *pod("a", "db", "n1"))  # relabelled: it no longer matches
    assert dict(indexes.indexes["by_node"]) == {}
