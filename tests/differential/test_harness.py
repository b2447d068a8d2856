"""The differential harness's pure parts (no cluster): the import swap, normalisation, the log's
handler calls, and how differences are found and excused."""

from __future__ import annotations

from .harness import (
    FRAMEWORK_FINALIZER,
    NAMESPACE,
    Intended,
    Run,
    differences,
    handler_calls,
    normalised,
    swapped,
    unexplained,
)

NS = "diff-x-kopf-abc123"


def test_only_the_import_of_kopf_is_swapped() -> None:
    source = ("import kopf\nimport kopfish\nfrom kopf import Body\n# import kopf in a comment\nkopf.on.create('x')\n"
              "import kopf  # type: ignore\n")
    assert swapped(source) == ("import opframe as kopf\nimport kopfish\nfrom opframe import Body\n"
                               "# import kopf in a comment\nkopf.on.create('x')\n"
                               "import opframe as kopf  # type: ignore\n")


def test_server_metadata_namespace_and_bookkeeping_are_left_out() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "a", "namespace": NS, "uid": "u", "resourceVersion": "7", "generation": 2,
                        "creationTimestamp": "t", "managedFields": [{}],
                        "annotations": {"kopf.zalando.org/last-handled-configuration": "{}",
                                        "opframe.dev/progress": "{}", "mine": NS},
                        "finalizers": ["kopf.zalando.org/KopfFinalizerMarker", "other/f"],
                        "ownerReferences": [{"kind": "X", "name": "p", "uid": "u2"}]},
           "status": {"kopf": {"progress": {}}, "create_fn": {"ns": NS}}}
    assert normalised(obj, NS) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "annotations": {"mine": NAMESPACE}, "finalizers": [FRAMEWORK_FINALIZER, "other/f"],
                     "ownerReferences": [{"kind": "X", "name": "p"}]},
        "status": {"create_fn": {"ns": NAMESPACE}}}


def test_the_addresses_a_service_is_given_are_left_out_also_of_listed_items_without_kind() -> None:
    service = {"metadata": {"name": "s"}, "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "ports": []}}
    assert normalised(service, NS, plural="services") == {"metadata": {"name": "s"}, "spec": {"ports": []}}
    assert normalised({**service, "kind": "Service"}, NS)["spec"] == {"ports": []}


def test_both_engines_finalizers_read_as_one() -> None:
    kopf = normalised({"metadata": {"finalizers": ["kopf.zalando.org/KopfFinalizerMarker"]}}, NS)
    opframe = normalised({"metadata": {"finalizers": ["opframe.dev/finalizer"]}}, NS)
    assert kopf == opframe


def test_handler_calls_are_counted_per_object_handler_and_outcome_from_either_log() -> None:
    log = (f"[2026-12-05 10:00:00,000] kopf.objects [INFO] [{NS}/a] Handler 'create_fn' succeeded.\n"
           f"2026-12-05 opframe INFO [{NS}/a] Handler 'update_fn' failed temporarily: boom; retrying in 1.0 s\n"
           f"[{NS}/a] Handler 'update_fn' failed temporarily: boom\n"
           f"[{NS}/a] Timer 'tick' succeeded.\n[{NS}/a] Timer 'tick' succeeded.\n")
    assert handler_calls(log, NS) == {
        f"{NAMESPACE}/a Handler create_fn: succeeded": 1,
        f"{NAMESPACE}/a Handler update_fn: failed temporarily": 2,
        f"{NAMESPACE}/a Timer tick: succeeded": 1,  # a timer's count depends on time, not the engine
    }


def test_differences_are_leaves_by_path_with_absent_marked() -> None:
    kopf = {"objects": {"pvc/a": {"spec": {"size": "1G"}}}, "events": [["X", "a", "Normal", "Logging", "m"]],
            "calls": {}}
    opframe = {"objects": {"pvc/a": {"spec": {"size": "2G"}}}, "events": [], "calls": {"a Handler h: succeeded": 1}}
    assert differences(kopf, opframe) == [
        ("calls/a Handler h: succeeded", "<absent>", 1),
        ('events/["X", "a", "Normal", "Logging", "m"]', True, "<absent>"),
        ("objects/pvc/a/spec/size", "1G", "2G"),
    ]


def test_an_intended_difference_excuses_only_its_paths_in_its_cases() -> None:
    kopf = Run("kopf", NS, [{"calls": {"a Handler h: succeeded": 1}, "objects": {"x": 1}}], "", 0)
    opframe = Run("opframe", NS, [{"calls": {"a Handler h: succeeded": 3}, "objects": {"x": 2}}], "", 0)
    table = [Intended("retries", ("calls/*",), ("walk*",), "why")]
    assert unexplained("walkthrough", kopf, opframe, table) == ["after step 0: objects/x: kopf 1 vs opframe 2"]
    assert len(unexplained("other", kopf, opframe, table)) == 2


def test_a_value_scoped_difference_never_excuses_a_presence() -> None:
    kopf = Run("kopf", NS, [{"calls": {"a Handler h: failed": 1, "a Handler g: failed": 1}}], "", 0)
    opframe = Run("opframe", NS, [{"calls": {"a Handler h: failed": 4}}], "", 0)
    table = [Intended("retries", ("calls/*: failed",), ("*",), "why", scope="value")]
    assert unexplained("c", kopf, opframe, table) == [
        "after step 0: calls/a Handler g: failed: kopf 1 vs opframe '<absent>'"]


def test_both_engines_namespaces_read_as_one_in_either_run() -> None:
    """Both namespaces exist during both runs; an operator that lists namespaces sees both, under either."""
    from .harness import _unnamed, run_namespace

    kopf, opframe = run_namespace("c", "kopf", "abc123"), run_namespace("c", "opframe", "abc123")
    text = f"synced: {kopf}, {opframe}"
    assert _unnamed(text, kopf) == _unnamed(text, opframe) == f"synced: {NAMESPACE}, {NAMESPACE}"


def test_a_refusal_is_excused_only_by_its_message_in_its_cases() -> None:
    entry = Intended("unknown-resource", (), ("kopf-docs-*",), "why", refusal=r"unknown resource '[^']+'")
    log = "error: unknown resource 'Child2'; is its CustomResourceDefinition installed?"
    assert entry.excuses_refusal("kopf-docs-kwargs-param", log)
    assert not entry.excuses_refusal("public-x", log)
    assert not entry.excuses_refusal("kopf-docs-kwargs-param", "error: cannot reach the API server")
