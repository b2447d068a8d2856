"""Indexer: client-go semantics 3.1 to 3.4 (keys, indexes, replace)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from opframe.cache.informer import SharedIndexInformer
from opframe.cache.listwatch import Backoff
from opframe.cache.store import (
    NAMESPACE_INDEX,
    Indexer,
    InvalidKeyError,
    index_by_namespace,
    object_key,
    split_key,
)
from opframe.kube.client import ListPage


def obj(name: str, namespace: str | None = "ns", rv: str = "1", **labels: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "resourceVersion": rv, "labels": labels}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"kind": "Thing", "metadata": metadata}


def by_app(item: dict[str, Any]) -> list[str]:
    app = item["metadata"]["labels"].get("app")
    return [app] if app else []


def names(items: list[dict[str, Any]]) -> list[str]:
    return sorted(item["metadata"]["name"] for item in items)


# -- 3.1 keys -------------------------------------------------------------------------------------


def test_3_1_key_is_namespace_slash_name_or_the_name_for_cluster_scoped_objects() -> None:
    assert object_key(obj("a", "ns")) == "ns/a"
    assert object_key(obj("node-1", None)) == "node-1"
    assert object_key(obj("node-2", "")) == "node-2"


@pytest.mark.parametrize("bad", [{}, {"metadata": {}}, {"metadata": {"name": ""}}, {"metadata": None}],
                         ids=["no-metadata", "no-name", "empty-name", "null-metadata"])
def test_3_1_object_without_a_name_has_no_key(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidKeyError):
        object_key(bad)


def test_3_1_split_key_gives_namespace_and_name() -> None:
    assert split_key("ns/a") == ("ns", "a")
    assert split_key("node-1") == (None, "node-1")


@pytest.mark.parametrize("bad", ["a/b/c", "ns/a/", "//"])
def test_3_1_splitting_a_key_with_more_than_one_slash_is_an_error(bad: str) -> None:
    with pytest.raises(InvalidKeyError):
        split_key(bad)


# -- 3.2 the namespace index ----------------------------------------------------------------------


class NoCalls:
    def list(self, *, resource_version: str | None, limit: int | None, continue_token: str | None,
             resource_version_match: str | None = None) -> ListPage:
        raise AssertionError("not started")

    def watch(self, *, resource_version: str | None, timeout_seconds: int, inactivity_timeout: float,
              send_initial_events: bool = False) -> Any:
        raise AssertionError("not started")


def test_3_2_informers_always_carry_the_namespace_index() -> None:
    plain = SharedIndexInformer(NoCalls(), name="things", backoff=Backoff(initial=0.0))
    extra = SharedIndexInformer(NoCalls(), name="things", indexers={"app": by_app},
                                backoff=Backoff(initial=0.0))
    assert plain.indexer.indexers() == frozenset({NAMESPACE_INDEX})
    assert extra.indexer.indexers() == frozenset({NAMESPACE_INDEX, "app"})


def test_3_2_namespace_index_finds_objects_by_namespace_and_skips_cluster_scoped_ones() -> None:
    indexer = Indexer({NAMESPACE_INDEX: index_by_namespace})
    for item in (obj("a", "ns1"), obj("b", "ns1"), obj("c", "ns2"), obj("node", None)):
        indexer.add(item)
    assert names(indexer.by_index(NAMESPACE_INDEX, "ns1")) == ["a", "b"]
    assert names(indexer.by_index(NAMESPACE_INDEX, "ns2")) == ["c"]
    assert indexer.index_values(NAMESPACE_INDEX) == ["ns1", "ns2"]
    assert indexer.index_keys(NAMESPACE_INDEX, "ns1") == ["ns1/a", "ns1/b"]


# -- 3.3 index contents ---------------------------------------------------------------------------


def test_3_3_update_moves_the_key_between_values_and_removes_empty_sets() -> None:
    indexer = Indexer({"app": by_app})
    indexer.add(obj("a", app="web"))
    indexer.add(obj("b", app="web"))
    indexer.update(obj("a", rv="2", app="db"))
    assert indexer.index_keys("app", "web") == ["ns/b"]
    assert indexer.index_keys("app", "db") == ["ns/a"]
    indexer.update(obj("b", rv="2"))  # no app label any more
    assert indexer.index_values("app") == ["db"]
    indexer.delete(obj("a"))
    assert indexer.index_values("app") == []
    assert len(indexer) == 1


def test_3_3_an_object_can_have_several_values_in_one_index() -> None:
    def by_label_value(item: dict[str, Any]) -> list[str]:
        return list(item["metadata"]["labels"].values())

    indexer = Indexer({"values": by_label_value})
    indexer.add(obj("a", app="web", tier="front"))
    assert indexer.index_values("values") == ["front", "web"]
    indexer.delete_key("ns/a")
    assert indexer.index_values("values") == []


def test_3_3_an_index_function_error_propagates_and_changes_nothing() -> None:
    def broken(item: dict[str, Any]) -> list[str]:
        if item["metadata"]["name"] == "bad":
            raise ValueError("index function bug")
        return by_app(item)

    indexer = Indexer({NAMESPACE_INDEX: index_by_namespace, "broken": broken})
    indexer.add(obj("a", app="web"))
    with pytest.raises(ValueError, match="index function bug"):
        indexer.add(obj("bad", app="web"))
    with pytest.raises(ValueError, match="index function bug"):
        indexer.replace([obj("a", app="db"), obj("bad")])
    # A reader never sees an object without its index entries, nor a half-built index.
    assert indexer.list_keys() == ["ns/a"]
    assert indexer.index_keys(NAMESPACE_INDEX, "ns") == ["ns/a"]
    assert indexer.index_values("broken") == ["web"]


def test_3_3_an_added_index_function_error_adds_no_index() -> None:
    def broken(item: dict[str, Any]) -> list[str]:
        raise ValueError("index function bug")

    indexer = Indexer()
    indexer.add(obj("a"))
    with pytest.raises(ValueError, match="index function bug"):
        indexer.add_indexers({"broken": broken})
    assert indexer.indexers() == frozenset()


# -- 3.4 by_index, add_indexers, replace, add == update -------------------------------------------


def test_3_4_by_index_on_an_unknown_index_is_an_error() -> None:
    indexer = Indexer({"app": by_app})
    with pytest.raises(KeyError):
        indexer.by_index("colour", "red")
    with pytest.raises(KeyError):
        indexer.index_keys("colour", "red")
    with pytest.raises(KeyError):
        indexer.index_values("colour")


def test_3_4_an_unknown_value_gives_an_empty_result() -> None:
    indexer = Indexer({"app": by_app})
    indexer.add(obj("a", app="web"))
    assert indexer.by_index("app", "nothing-has-this") == []
    assert indexer.index_keys("app", "nothing-has-this") == []


def test_3_4_add_indexers_indexes_the_items_already_present() -> None:
    indexer = Indexer()
    indexer.add(obj("a", app="web"))
    indexer.add(obj("b", app="db"))
    indexer.add(obj("c"))
    indexer.add_indexers({"app": by_app})
    assert names(indexer.by_index("app", "web")) == ["a"]
    assert indexer.index_values("app") == ["db", "web"]
    indexer.add(obj("d", app="web"))  # and keeps them up to date afterwards
    assert names(indexer.by_index("app", "web")) == ["a", "d"]


def test_3_4_add_indexers_refuses_a_name_already_in_use() -> None:
    indexer = Indexer({"app": by_app})
    with pytest.raises(ValueError, match="already exist"):
        indexer.add_indexers({"app": by_app})


def test_3_4_replace_swaps_all_items_and_rebuilds_every_index() -> None:
    indexer = Indexer({NAMESPACE_INDEX: index_by_namespace, "app": by_app})
    indexer.add(obj("a", "ns1", app="web"))
    indexer.add(obj("b", "ns1", app="web"))
    indexer.replace([obj("b", "ns1", rv="2", app="db"), obj("c", "ns2", app="db")])
    assert sorted(indexer.list_keys()) == ["ns1/b", "ns2/c"]
    assert indexer.get_by_key("ns1/a") is None
    assert indexer.get_by_key("ns1/b") == obj("b", "ns1", rv="2", app="db")
    assert indexer.index_values("app") == ["db"]
    assert indexer.index_keys("app", "db") == ["ns1/b", "ns2/c"]
    assert indexer.index_keys(NAMESPACE_INDEX, "ns1") == ["ns1/b"]
    assert indexer.index_values(NAMESPACE_INDEX) == ["ns1", "ns2"]


def test_3_4_add_is_the_same_as_update() -> None:
    indexer = Indexer({"app": by_app})
    indexer.add(obj("a", app="web"))
    indexer.add(obj("a", rv="2", app="db"))
    assert len(indexer) == 1
    assert indexer.get(obj("a")) == obj("a", rv="2", app="db")
    assert indexer.index_values("app") == ["db"]
    assert Indexer.add is Indexer.update


def test_3_4_deleting_an_unknown_key_is_a_no_op() -> None:
    indexer = Indexer({"app": by_app})
    indexer.add(obj("a", app="web"))
    indexer.delete_key("ns/missing")
    assert indexer.list_keys() == ["ns/a"]
    assert "ns/a" in indexer


# -- the compact store: JSON bytes, a bounded cache of decoded bodies ----------------------------


def test_objects_are_kept_as_their_json_and_read_back_equal() -> None:
    indexer = Indexer({"app": by_app})
    added = obj("a", app="web")
    indexer.add(added)
    assert orjson.loads(indexer.get_raw("ns/a") or b"") == added
    assert indexer.get_raw("ns/missing") is None
    indexer.delete_key("ns/a")
    assert indexer.get_raw("ns/a") is None


def test_the_decoded_cache_is_bounded_and_evicted_objects_decode_equal() -> None:
    from opframe.cache import store

    indexer = Indexer({NAMESPACE_INDEX: index_by_namespace, "app": by_app})
    count = store.DECODED_CACHE_SIZE * 3
    for i in range(count):
        indexer.add(obj(f"o{i:05d}", f"ns{i % 7}", app=f"app{i % 5}"))
    assert len(indexer._decoded) == store.DECODED_CACHE_SIZE
    first = indexer.get_by_key("ns0/o00000")  # long evicted: decoded from its JSON
    assert first == obj("o00000", "ns0", app="app0")
    assert names(indexer.by_index("app", "app3")) == [f"o{i:05d}" for i in range(count) if i % 5 == 3]
    assert len(indexer.list()) == count
    # An update of an evicted object moves it between index values (its old values come from its JSON).
    indexer.update(obj("o00003", "ns3", rv="2", app="moved"))
    assert indexer.index_keys("app", "moved") == ["ns3/o00003"]
    assert "ns3/o00003" not in indexer.index_keys("app", "app3")
    indexer.delete_key("ns1/o00001")
    assert "ns1/o00001" not in indexer.index_keys("app", "app1")
    assert "ns1/o00001" not in indexer.index_keys(NAMESPACE_INDEX, "ns1")
    assert len(indexer._decoded) <= store.DECODED_CACHE_SIZE


def test_a_write_replaces_the_decoded_body_of_its_key() -> None:
    indexer = Indexer()
    indexer.add(obj("a", rv="1"))
    assert indexer.get_by_key("ns/a") == obj("a", rv="1")  # now decoded and kept
    indexer.update(obj("a", rv="2"))
    assert indexer.get_by_key("ns/a") == obj("a", rv="2")
    indexer.replace([obj("a", rv="3")])
    assert indexer.get_by_key("ns/a") == obj("a", rv="3")
    indexer.delete_key("ns/a")
    assert indexer.get_by_key("ns/a") is None


def test_the_namespace_index_costs_nothing_until_asked_for_and_is_kept_right_after() -> None:
    indexer = Indexer({NAMESPACE_INDEX: index_by_namespace, "app": by_app})
    for i in range(10):
        indexer.add(obj(f"o{i}", f"ns{i % 2}", app="web"))
    assert NAMESPACE_INDEX not in indexer._indices and "app" in indexer._indices
    assert indexer.index_keys(NAMESPACE_INDEX, "ns1") == [f"ns1/o{i}" for i in (1, 3, 5, 7, 9)]
    indexer.add(obj("new", "ns2"))
    indexer.delete_key("ns1/o1")
    assert indexer.index_values(NAMESPACE_INDEX) == ["ns0", "ns1", "ns2"]
    assert indexer.index_keys(NAMESPACE_INDEX, "ns1") == [f"ns1/o{i}" for i in (3, 5, 7, 9)]
    indexer.replace([obj("only", "ns9")])
    assert names(indexer.by_index(NAMESPACE_INDEX, "ns9")) == ["only"]
    assert indexer.index_values(NAMESPACE_INDEX) == ["ns9"]
