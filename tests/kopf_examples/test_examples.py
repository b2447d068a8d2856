"""kopf 1.45.2's examples, run under opframe against the real control plane.

Each example is ported with the one change a kopf user makes (``import opframe as
kopf``), run in-process by ``opframe.testing.KopfRunner`` (``run -n <namespace>
--standalone``), fed kopf's own ``obj.yaml`` (and patched and deleted as kopf's e2e
does), and checked on what it promises from the API server — status, annotations,
finalizers, Events, children — and on the runner's journal of handler outcomes, never
on log lines; 17-admission on what the API server answers when it calls the example's webhooks.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kopf_ports import (
    DIFF_BASE,
    FINALIZER,
    NAME,
    PODS,
    PROGRESS,
    UPSTREAM,
    annotations_of,
    events_of,
    get,
    gone,
    handled,
    ported,
)

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.testing import AdmissionProbe, ControlPlane, KopfRunner, eventually

NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")

pytestmark = pytest.mark.e2e

def test_01_minimal_puts_the_result_into_status(example: Callable[..., KopfRunner], kube_client: KubeClient,
                                               kex: Resource, namespace: str, obj: dict[str, Any]) -> None:
    runner = example("01-minimal")
    kube_client.create(kex, obj, namespace=namespace)
    body = eventually(lambda: handled(kube_client, kex, namespace), what="kopf-example-1 handled")
    assert body["status"]["create_fn"] == {"message": "hello world"}
    assert FINALIZER not in (body["metadata"].get("finalizers") or [])  # no delete handler, no finalizer
    assert runner.handlers(f"{namespace}/{NAME}") == ["create_fn"]


def test_results_are_on_the_object_before_it_is_marked_handled(example: Callable[..., KopfRunner],
                                                                kube_client: KubeClient, kex: Resource,
                                                                namespace: str, obj: dict[str, Any]) -> None:
    """Every state of the object the API server ever held that says "handled" (a diff-base, no
    progress) already carries the handler's result in its status subresource: a reader never sees
    the bookkeeping without the outcome (the status is written first)."""
    example("01-minimal")
    created = kube_client.create(kex, obj, namespace=namespace)
    eventually(lambda: handled(kube_client, kex, namespace), what="kopf-example-1 handled")
    stream = kube_client.watch(kex, namespace=namespace, resource_version=created["metadata"]["resourceVersion"],
                               timeout_seconds=1, allow_bookmarks=False, inactivity_timeout=10)
    states = [event.object for event in stream if event.type == "MODIFIED"]
    marked = [state for state in states
              if DIFF_BASE in annotations_of(state) and PROGRESS not in annotations_of(state)]
    assert marked, f"no state marked handled among {len(states)} watched"
    assert all((state.get("status") or {}).get("create_fn") == {"message": "hello world"} for state in marked), [
        (state["metadata"]["resourceVersion"], state.get("status")) for state in marked]


def test_02_children_adopts_a_pod_and_reports_its_uid(example: Callable[..., KopfRunner], kube_client: KubeClient,
                                                     kex: Resource, namespace: str, obj: dict[str, Any]) -> None:
    example("02-children")
    parent = kube_client.create(kex, obj, namespace=namespace)
    body = eventually(lambda: handled(kube_client, kex, namespace), what="kopf-example-1 handled")
    pods = kube_client.list(PODS, namespace=namespace).items
    assert len(pods) == 1
    pod = pods[0]
    assert body["status"]["create_fn"] == {"children": [pod["metadata"]["uid"]]}
    assert pod["metadata"]["generateName"] == f"{NAME}-"
    assert pod["metadata"]["labels"] == {"somelabel": "somevalue"}
    assert pod["metadata"]["ownerReferences"] == [{
        "apiVersion": "kopf.dev/v1", "kind": "KopfExample", "name": NAME, "uid": parent["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True}]
    assert pod["spec"]["containers"][0]["env"] == [{"name": "FIELD", "value": "value"}]


def test_03_exceptions_retry_fail_and_succeed_as_kopf_says(example: Callable[..., KopfRunner],
                                                          kube_client: KubeClient, kex: Resource, namespace: str,
                                                          obj: dict[str, Any]) -> None:
    runner = example("03-exceptions")
    kube_client.create(kex, obj, namespace=namespace)
    eventually(lambda: handled(kube_client, kex, namespace), what="every handler finished", timeout=30)
    key = f"{namespace}/{NAME}"
    assert runner.handlers(key) == ["eventual_success_with_a_few_messages"]
    assert runner.handlers(key, "retrying").count("eventual_success_with_a_few_messages") == 3
    assert sorted(runner.handlers(key, "failed")) == [
        "eventual_failure_with_tracebacks", "instant_failure_with_only_a_message", "instant_failure_with_traceback"]
    # retries=3: three attempts in all; errors=PERMANENT and PermanentError: one.
    assert runner.handlers(key, "retrying").count("eventual_failure_with_tracebacks") == 2
    assert "instant_failure_with_traceback" not in runner.handlers(key, "retrying")
    assert "instant_failure_with_only_a_message" not in runner.handlers(key, "retrying")


def test_04_events_posts_four_events(example: Callable[..., KopfRunner], kube_client: KubeClient, kex: Resource,
                                     namespace: str, obj: dict[str, Any]) -> None:
    example("04-events")
    uid = kube_client.create(kex, obj, namespace=namespace)["metadata"]["uid"]
    expected = [("Error", "SomeReason", "Some exception: Exception text."), ("Normal", "SomeReason", "Some message"),
                ("SomeType", "SomeReason", "Some message"), ("Warning", "SomeReason", "Some message")]
    eventually(lambda: events_of(kube_client, namespace, uid) == expected,
               what=lambda: f"the four events, got {events_of(kube_client, namespace, uid)}")


def test_05_handlers_create_update_field_delete(example: Callable[..., KopfRunner], kube_client: KubeClient,
                                               kex: Resource, namespace: str, obj: dict[str, Any]) -> None:
    runner = example("05-handlers")
    key = f"{namespace}/{NAME}"
    kube_client.create(kex, obj, namespace=namespace)
    body = eventually(lambda: handled(kube_client, kex, namespace), what="creation handled")
    assert FINALIZER in body["metadata"]["finalizers"]  # delete handlers are not optional
    assert runner.handlers(key) == ["create_fn_1", "create_fn_2", "field_fn/spec.field"]
    kube_client.patch(kex, NAME, {"spec": {"field": "newvalue", "newfield": 100}}, namespace=namespace)
    eventually(lambda: runner.handlers(key)[3:] == ["update_fn", "field_fn/spec.field"],
               what=lambda: f"update handlers, got {runner.handlers(key)}")
    kube_client.delete(kex, NAME, namespace=namespace)
    eventually(lambda: gone(kube_client, kex, namespace), what="kopf-example-1 deleted")
    assert runner.handlers(key)[5:] == ["delete_fn_1", "delete_fn_2"]


def test_07_subhandlers_run_one_per_item_under_the_parent(example: Callable[..., KopfRunner],
                                                         kube_client: KubeClient, kex: Resource, namespace: str,
                                                         obj: dict[str, Any]) -> None:
    runner = example("07-subhandlers")
    kube_client.create(kex, obj, namespace=namespace)
    eventually(lambda: handled(kube_client, kex, namespace), what="creation handled")
    assert runner.handlers(f"{namespace}/{NAME}") == ["create_fn/item1", "create_fn/item2", "create_fn"]


def test_08_event_handlers_write_nothing_and_survive_errors(example: Callable[..., KopfRunner],
                                                           kube_client: KubeClient, kex: Resource, namespace: str,
                                                           obj: dict[str, Any]) -> None:
    runner = example("08-events")
    key = f"{namespace}/{NAME}"
    kube_client.create(kex, obj, namespace=namespace)
    eventually(lambda: "normal_event_fn" in runner.handlers(key), what="the event handler")
    assert "event_fn_with_error" in runner.handlers(key, "failed")
    kube_client.patch(kex, NAME, {"spec": {"field": "other"}}, namespace=namespace)
    eventually(lambda: runner.handlers(key).count("normal_event_fn") >= 2, what="a second event")
    body = get(kube_client, kex, namespace)
    assert not any(k.startswith("opframe.dev/") for k in annotations_of(body))  # silent spies
    assert not body["metadata"].get("finalizers")


def test_09_testing_kopfs_own_test_with_kopf_runner(control_plane: ControlPlane, kube_client: KubeClient,
                                                   kex: Resource, namespace: str, obj: dict[str, Any],
                                                   tmp_path: Path) -> None:
    """kopf's test of example 09, its steps kept (KopfRunner with OperatorSettings, create, wait,
    delete) and its log-line assertions too, plus the journal's outcomes."""
    import opframe as kopf

    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 10
    path = ported("09-testing", tmp_path)
    with KopfRunner(["run", "-n", namespace, "--verbose", "--standalone", "--kubeconfig",
                     str(control_plane.kubeconfig), str(path)], timeout=60, settings=settings) as runner:
        assert runner.wait_ready(60)
        kube_client.create(kex, obj, namespace=namespace)
        eventually(lambda: runner.handlers(f"{namespace}/{NAME}") == ["create_fn"], what="create_fn")
        kube_client.delete(kex, NAME, namespace=namespace)
        eventually(lambda: gone(kube_client, kex, namespace), what="deleted")
    assert runner.exception is None
    assert runner.exit_code == 0
    # kopf's own assertions, with the test's namespace for kopf's "default".
    assert f"[{namespace}/{NAME}] Creation is in progress:" in runner.output
    assert f"[{namespace}/{NAME}] Something was logged here." in runner.output


def test_12_embedded_operator_in_a_thread(control_plane: ControlPlane, kube_client: KubeClient, kex: Resource,
                                          namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The example's own main(): kopf.operator() in a thread with ready/stop flags and a memo."""
    import importlib.util
    import sys

    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    path = ported("12-embedded", tmp_path)
    # Its objects get names no other test uses: the embedded operator serves every namespace (kopf's
    # default without namespaces), so another test's kopf-example-0 would print "Hello" here too.
    prefix = f"embedded-{uuid.uuid4().hex[:6]}"
    source = path.read_text().replace("namespace='default'", f"namespace={namespace!r}").replace(
        "f'kopf-example-{step}'", f"f'{prefix}-{{step}}'")
    assert source.count(prefix) == 2, "the example's object names moved: update this test"
    path.write_text(source)
    from opframe.handlers.registry import Registry, get_default_registry, set_default_registry

    before = get_default_registry()
    set_default_registry(Registry())
    try:
        spec = importlib.util.spec_from_file_location("kopf_example_12", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["kopf_example_12"] = module
        spec.loader.exec_module(module)
        module.main()
    finally:
        set_default_registry(before)
        sys.modules.pop("kopf_example_12", None)
    printed = capsys.readouterr().out
    for step in range(3):  # the memo's templates, formatted with each object's kwargs
        assert f"Hello, {prefix}-{step}!" in printed
        assert f"Good bye, {prefix}-{step}!" in printed


def test_15_timers_tick_once_the_object_is_idle(example: Callable[..., KopfRunner], kube_client: KubeClient,
                                               kex: Resource, namespace: str, obj: dict[str, Any]) -> None:
    runner = example("15-timers")
    key = f"{namespace}/{NAME}"
    created = time.time()
    kube_client.create(kex, obj, namespace=namespace)
    eventually(lambda: runner.handlers(key).count("every_few_seconds_sync") >= 3
               and runner.handlers(key).count("every_few_seconds_async") >= 2,
               what="three sync ticks and two async ones", timeout=60)
    sync = [e.at for e in runner.journal.of(key) if e.handler == "every_few_seconds_sync"]
    async_ = [e.at for e in runner.journal.of(key) if e.handler == "every_few_seconds_async"]
    assert sync[0] - created >= 4.5  # idle=5 before the first tick
    assert async_[0] - created >= 9.5  # idle=10
    # interval=2 and interval=4 between ticks (lower bounds only: CI's cores are shared and noisy)
    assert all(later - earlier >= 1.8 for earlier, later in itertools.pairwise(sync)), sync
    assert all(later - earlier >= 3.8 for earlier, later in itertools.pairwise(async_)), async_
    assert f"Ping from an async timer: field={obj['spec']['field']!r}" in runner.log
    body = get(kube_client, kex, namespace)
    assert FINALIZER in body["metadata"]["finalizers"]  # timers hold the object
    kube_client.delete(kex, NAME, namespace=namespace)
    eventually(lambda: gone(kube_client, kex, namespace), what="deleted")


WEBHOOK_CONFIGURATIONS = (
    Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced=False),
    Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", namespaced=False))


@pytest.fixture
def managed_webhooks(kube_client: KubeClient) -> Iterator[str]:
    """The configurations example 17 manages (auto.kopf.dev), removed after the test whatever happened:
    a leftover entry with failurePolicy Fail would refuse every later test's kopfexamples."""
    yield "auto.kopf.dev"
    for resource in WEBHOOK_CONFIGURATIONS:
        with contextlib.suppress(errors.NotFound):
            kube_client.delete(resource, "auto.kopf.dev")


def test_17_admission_the_api_server_rejects_mutates_and_warns_as_the_handlers_say(
        example: Callable[..., KopfRunner], kube_client: KubeClient, kex: Resource, namespace: str,
        obj: dict[str, Any], managed_webhooks: str) -> None:
    """kopf's example 17 unchanged: WebhookAutoServer() and managed='auto.kopf.dev' in its startup handler.
    Everything is checked on what the real API server answers and stores."""
    runner = example("17-admission")
    validating = kube_client.get(WEBHOOK_CONFIGURATIONS[0], managed_webhooks)
    names = sorted(webhook["name"] for webhook in validating["webhooks"])
    assert names == ["authhook.auto.kopf.dev", "validate-subresources.auto.kopf.dev",
                     "validate1.auto.kopf.dev", "validate2.spec.field.auto.kopf.dev"]
    mutating = kube_client.get(WEBHOOK_CONFIGURATIONS[1], managed_webhooks)
    assert [webhook["name"] for webhook in mutating["webhooks"]] == ["mutate1.auto.kopf.dev"]
    assert mutating["webhooks"][0]["objectSelector"] == {
        "matchExpressions": [{"key": "somelabel", "operator": "In", "values": ["somevalue"]}]}

    def named(name: str, **spec: Any) -> dict[str, Any]:
        body = copy.deepcopy(obj)
        body["metadata"]["name"] = name
        body["spec"] = {**body.get("spec", {}), **spec}
        return body

    # validate1: spec.field == 'wrong' is refused with its message (AdmissionError's default code: 500)...
    with pytest.raises(errors.ApiError) as refused:
        kube_client.create(kex, named("wrong", field="wrong"), namespace=namespace)
    assert refused.value.code == 500 and "Meh! I don't like it. Change the field." in str(refused.value)
    # ...except on a dry run (the handler checks dryrun)
    kube_client.request("POST", kex.path(namespace=namespace), body=named("wrong", field="wrong"),
                        query={"dryRun": "All"})
    # validate2 (field='spec.field', value='not-allowed'): its code 555 comes through
    with pytest.raises(errors.ApiError) as lazy:
        kube_client.create(kex, named("lazy", field="not-allowed"), namespace=namespace)
    assert lazy.value.code == 555 and "I'm too lazy anyway. Go away!" in str(lazy.value)

    # authhook and validate_subresources warn; the API server hands the warnings to the client
    probe = AdmissionProbe(kube_client)
    warnings = probe.create(kex, named("warned", field="x"), namespace=namespace, dry_run=False).warnings
    probe.close()
    assert any(w.startswith("Accessing as user-agent: ") for w in warnings), warnings
    assert "SSL peer is not identified." in warnings
    assert "Also update status.field to match spec.field: 'x' != None" in warnings

    # mutate1 (labels={'somelabel': 'somevalue'}, objectSelector): injects spec.injected = 123
    labelled = named("labelled", field="y")
    labelled["metadata"]["labels"] = {"somelabel": "somevalue"}
    assert kube_client.create(kex, labelled, namespace=namespace)["spec"]["injected"] == 123
    unlabelled = named("plain", field="z")
    unlabelled["metadata"]["labels"] = {}  # kopf's obj.yaml carries somelabel=somevalue
    plain = kube_client.create(kex, unlabelled, namespace=namespace)
    assert "injected" not in plain["spec"]

    # validate_subresources (subresource='*'): a status that differs from the spec is refused on /status
    with pytest.raises(errors.ApiError) as status:
        kube_client.patch(kex, "plain", {"status": {"field": "other"}}, namespace=namespace, subresource="status")
    assert "status.field MUST be equal to spec.field!" in str(status.value)
    kube_client.patch(kex, "plain", {"status": {"field": "z"}}, namespace=namespace, subresource="status")

    # At a graceful exit the non-persistent entries are withdrawn: the API server calls nothing any more.
    runner.__exit__(None, None, None)
    assert kube_client.get(WEBHOOK_CONFIGURATIONS[0], managed_webhooks).get("webhooks") in (None, [])
    kube_client.create(kex, named("after", field="wrong"), namespace=namespace)


def test_99_all_at_once(example: Callable[..., KopfRunner], kube_client: KubeClient, kex: Resource, namespace: str,
                        obj: dict[str, Any]) -> None:
    started = time.monotonic()
    runner = example("99-all-at-once")
    # Both startup handlers ran before the operator was ready: one sleeps 1 s, one succeeds on its 4th try.
    assert time.monotonic() - started >= 3.0
    assert "Starting in 1s..." in runner.log and "Starting retried..." in runner.log
    key = f"{namespace}/{NAME}"
    uid = kube_client.create(kex, copy.deepcopy(obj), namespace=namespace)["metadata"]["uid"]
    body = eventually(lambda: handled(kube_client, kex, namespace), what="creation handled", timeout=30)
    assert body["status"]["create_1"] == {"job1-status": 100}
    assert body["status"]["create_2"] == {"job2-status": 100}
    assert sorted(runner.handlers(key)) == ["create_1", "create_2", "create_pod"]
    assert runner.handlers(key, "retrying") == ["create_2"]
    pod = kube_client.list(PODS, namespace=namespace, label_selector="application=kopf-example-10").items[0]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == uid
    assert pod["metadata"]["labels"] == {"somelabel": "somevalue", "application": "kopf-example-10"}
    eventually(lambda: {("Normal", "AnyReason", ""), ("Warning", "SomeReason", "Cannot do something")}
               <= set(events_of(kube_client, namespace, uid)), what="the two events")
    pod_key = f"{namespace}/{pod['metadata']['name']}"
    eventually(lambda: "example_pod_change" in runner.handlers(pod_key), what="the pod's event handler")
    kube_client.patch(kex, NAME, {"spec": {"lst": [1, 2]}}, namespace=namespace)
    eventually(lambda: "update_lst/spec.lst" in runner.handlers(key) and "update" in runner.handlers(key),
               what="the field handler and the update handler")
    kube_client.delete(kex, NAME, namespace=namespace)
    eventually(lambda: gone(kube_client, kex, namespace), what="deleted")
    assert "delete" in runner.handlers(key)
    runner.__exit__(None, None, None)  # the cleanup handler runs at stop
    assert "Cleaning up in 3s..." in runner.output


def test_06_peering_runs_standalone(example: Callable[..., KopfRunner], kube_client: KubeClient, kex: Resource,
                                    namespace: str, obj: dict[str, Any]) -> None:
    """06 is about kopf's peering: two operators with one peering name must not both handle an object.
    In opframe the peering name is a Lease: the first operator leads, the second stands by (no handler
    runs twice), and --dev (kopf's priority) is accepted with a warning."""
    first = example("06-peering", "-P", "example", "--lease-namespace", namespace, standalone=False)
    lease = eventually(lambda: kube_client.get(LEASES, "example", namespace=namespace)["spec"].get("holderIdentity"),
                       what="the peering name's Lease held")
    second = example("06-peering", "-P", "example", "--lease-namespace", namespace, "--dev", standalone=False)
    kube_client.create(kex, obj, namespace=namespace)
    eventually(lambda: handled(kube_client, kex, namespace), what="kopf-example-1 handled")
    time.sleep(1)  # a second handling, if any, would have happened by now
    # Each runner's journal records every operator of the process: one call in all, not one per operator.
    assert first.handlers(f"{namespace}/{NAME}") == ["create_fn"]
    assert kube_client.get(LEASES, "example", namespace=namespace)["spec"]["holderIdentity"] == lease
    assert "--priority/--dev have no effect" in second.log


def _pod(namespace: str, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                            "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]}}


def test_10_builtins_cancel_a_task_made_in_another_handler(example: Callable[..., KopfRunner],
                                                          kube_client: KubeClient, namespace: str) -> None:
    """A task created by the pods' create handler is cancelled by their delete handler: async
    handlers share one event loop while none blocks it, as in kopf."""
    runner = example("10-builtins")
    kube_client.create(PODS, _pod(namespace, "victim"), namespace=namespace)
    key = f"{namespace}/victim"
    eventually(lambda: runner.handlers(key) == ["pod_in_sight"], what="the create handler")
    pod = kube_client.get(PODS, "victim", namespace=namespace)
    assert FINALIZER in pod["metadata"]["finalizers"]
    kube_client.delete(PODS, "victim", namespace=namespace)
    eventually(lambda: "pod_deleted" in runner.handlers(key), what="the delete handler")
    eventually(lambda: _missing(kube_client, PODS, "victim", namespace), what="the pod gone")
    eventually(lambda: "=== Pod killing is cancelled!" in runner.log, what="the task cancelled")


def _missing(client: KubeClient, resource: Resource, name: str, namespace: str) -> bool:
    try:
        client.get(resource, name, namespace=namespace)
    except errors.NotFound:
        return True
    return False


def test_11_filtering_handlers_run_exactly_the_matching_ones(example: Callable[..., KopfRunner],
                                                            kube_client: KubeClient, kex: Resource, namespace: str,
                                                            obj: dict[str, Any]) -> None:
    runner = example("11-filtering-handlers")
    key = f"{namespace}/{NAME}"
    kube_client.create(kex, obj, namespace=namespace)
    body = eventually(lambda: handled(kube_client, kex, namespace), what="creation handled")
    assert sorted(runner.handlers(key)) == sorted([
        "create_with_labels_matching", "create_with_labels_present", "create_with_labels_absent",
        "create_with_labels_callback_matching", "create_with_annotations_matching",
        "create_with_annotations_present", "create_with_annotations_absent", "create_with_filter_satisfied",
        "create_with_field_value_satisfied/spec.field", "create_with_field_presence_satisfied/spec.field"])
    assert FINALIZER in body["metadata"]["finalizers"]  # the daemon matches spec.field == "value"
    eventually(lambda: "Field daemon is satisfied." in runner.log, what="the daemon running")
    kube_client.patch(kex, NAME, {"spec": {"field": "changed"}}, namespace=namespace)
    eventually(lambda: "update_with_field_change_satisfied/spec.field" in runner.handlers(key),
               what="the field-change handler")
    eventually(lambda: FINALIZER not in (get(kube_client, kex, namespace)["metadata"].get("finalizers") or []),
               what="the finalizer released once the daemon no longer matches")
    kube_client.delete(kex, NAME, namespace=namespace)
    eventually(lambda: gone(kube_client, kex, namespace), what="deleted")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _probes(port: int) -> dict[str, Any] | None:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return dict(json.loads(response.read()))
    except OSError:
        return None


def test_13_hooks_login_startup_retries_probes_and_cleanup(example: Callable[..., KopfRunner],
                                                          kube_client: KubeClient, namespace: str,
                                                          tmp_path: Path) -> None:
    port = _free_port()
    # The operator's own --kubeconfig points nowhere: only the credentials login_fn returns (read by pykube
    # from $KUBECONFIG, the test cluster) can reach the cluster, so the test fails if they were ignored.
    nowhere = tmp_path / "nowhere.kubeconfig"
    nowhere.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": f"https://127.0.0.1:{_free_port()}"}}],
        "users": [{"name": "nobody", "user": {"token": "not-a-token"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}]}))
    started = time.monotonic()
    runner = example("13-hooks", "-L", f"http://127.0.0.1:{port}/healthz", kubeconfig=nowhere)
    assert time.monotonic() - started >= 3.0  # startup_fn_retried: 3 failures, 1 s apart; login sleeps 2 s
    kube_client.create(PODS, _pod(namespace, "watched"), namespace=namespace)
    eventually(lambda: _probes(port) == {"tasks_count": 1, "monitored_objects": {namespace: ["watched"]}},
               what=lambda: f"the probes to list the pod, got {_probes(port)}", timeout=30)
    runner.__exit__(None, None, None)
    assert "All pod-tasks are requested to stop..." in runner.output  # the cleanup handler ran


def test_16_indexing_feeds_probes_and_a_timer(example: Callable[..., KopfRunner], kube_client: KubeClient,
                                             kex: Resource, namespace: str, obj: dict[str, Any]) -> None:
    port = _free_port()
    for name in ("p1", "p2"):
        kube_client.create(PODS, _pod(namespace, name, {"app": name}), namespace=namespace)
    example("16-indexing", "-L", f"http://127.0.0.1:{port}/healthz")
    assert eventually(lambda: _probes(port), what="the probes") == {
        "pod_count": 2, "pod_names": ["p1", "p2"]}
    kube_client.create(kex, obj, namespace=namespace)
    body = eventually(lambda: "running-pods" in (get(kube_client, kex, namespace).get("status") or {})
                      and get(kube_client, kex, namespace), what="the timer's status", timeout=20)
    assert body["status"]["running-pods"] == []  # no pod runs: no node in this control plane


def test_16_indexing_reports_the_pods_that_really_run_on_a_node(node_cluster: ControlPlane, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's timer lists the pods of kube-system and default (its own filter), so it runs cluster-wide
    on the node cluster, where a pod really runs. Its ``if is_running`` tests the index's list of booleans,
    which is never empty, so under kopf too every indexed pod of those namespaces is listed, running or not;
    a pod of another namespace is not."""
    from opframe.kube import load_configuration
    from opframe.testing import install_crd
    from opframe.testing.node import PAUSE_IMAGE

    client = KubeClient(load_configuration(node_cluster.kubeconfig))
    suffix = uuid.uuid4().hex[:6]
    namespace, running, stuck = f"indexing-{suffix}", f"runs-{suffix}", f"elsewhere-{suffix}"
    try:
        kex = install_crd(client, yaml.safe_load((UPSTREAM / "crd.yaml").read_text()))
        client.create(NAMESPACES, {"metadata": {"name": namespace}})
        for name, where in ((running, "default"), (stuck, namespace)):
            client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": where},
                                 "spec": {"containers": [{"name": "main", "image": PAUSE_IMAGE,
                                                          "imagePullPolicy": "Never"}]}}, namespace=where)
        eventually(lambda: client.get(PODS, running, namespace="default")["status"].get("phase") == "Running",
                   what="the pod running", timeout=90)
        monkeypatch.setenv("KUBECONFIG", str(node_cluster.kubeconfig))
        path = ported("16-indexing", tmp_path)
        with KopfRunner(["run", "-A", "--standalone", "--kubeconfig", str(node_cluster.kubeconfig), str(path)],
                        timeout=60) as runner:
            assert runner.wait_ready(60), "16-indexing did not start"
            obj = yaml.safe_load((UPSTREAM / "obj.yaml").read_text())
            client.create(kex, obj, namespace=namespace)

            def reported() -> list[str] | None:
                status = client.get(kex, NAME, namespace=namespace).get("status") or {}
                pods = status.get("running-pods")
                return pods if pods and f"default::{running}" in pods else None

            pods = eventually(reported, what="the timer's list with the running pod", timeout=30)
            assert not any(stuck in pod for pod in pods), pods  # indexed, but outside the example's namespaces
            client.delete(kex, NAME, namespace=namespace)
            eventually(lambda: _missing(client, kex, NAME, namespace), what="the object gone")
        assert runner.exit_code == 0
    finally:
        for name, where in ((running, "default"), (stuck, namespace)):
            with contextlib.suppress(errors.NotFound):
                client.delete(PODS, name, namespace=where)
        client.close()


def test_14_daemons_retry_write_their_patch_and_stop_on_deletion(example: Callable[..., KopfRunner],
                                                                 kube_client: KubeClient, kex: Resource,
                                                                 namespace: str, obj: dict[str, Any]) -> None:
    runner = example("14-daemons")
    kube_client.create(kex, obj, namespace=namespace)
    seen: list[str] = []

    def message() -> str | None:
        value = (get(kube_client, kex, namespace).get("status") or {}).get("message")
        if value and (not seen or seen[-1] != value):
            seen.append(value)
        return value

    eventually(lambda: message() == "Failed 3 times.", what=lambda: f"three failures, saw {seen}", timeout=30,
               interval=0.1)
    assert seen == ["Failed 1 times.", "Failed 2 times.", "Failed 3 times."]  # a patch per attempt, retry 0..2
    eventually(lambda: "=> Ping from a sync daemon: field='value', retry=3" in runner.log, what="the sync daemon")
    eventually(lambda: "=> Ping from an async daemon: field='value'" in runner.log, what="the async daemon")
    body = get(kube_client, kex, namespace)
    assert FINALIZER in body["metadata"]["finalizers"]
    kube_client.delete(kex, NAME, namespace=namespace)
    eventually(lambda: gone(kube_client, kex, namespace), what="deleted", timeout=15)
