"""`opframe run` against the real control plane: causes, progress, retries, bursts, deletion, namespaces.

Each operator runs as its own process, exactly as users run it. Its handlers append
one JSON line per invocation to a journal file, which the tests read from outside.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from operator_journal import (
    CONFIGMAPS,
    NAMESPACES,
    Journal,
    configmap,
    journal,
    namespaced_crd,
    operator_factory,
    wait_gone,
)

from opframe.kube import KubeClient, Resource
from opframe.testing import eventually
from opframe.testing.operator import OperatorProcess

__all__ = ["journal", "operator_factory"]  # fixtures

pytestmark = pytest.mark.e2e

HANDLERS = '''
@on.create("configmaps", labels={"app": "test"})
def created(name, namespace, **_):
    note(handler="create", name=name)
    return {"created": name}

@on.update("configmaps", labels={"app": "test"})
def updated(name, old, new, diff, **_):
    note(handler="update", name=name, old=old.get("data"), new=new.get("data"), diff=[list(d) for d in diff])

@on.delete("configmaps", labels={"app": "test"})
def deleted(name, **_):
    note(handler="delete", name=name)

@on.resume("configmaps", labels={"app": "test"})
def resumed(name, **_):
    note(handler="resume", name=name)

@on.field("configmaps", field="data.watched", labels={"app": "test"})
def watched_changed(name, old, new, **_):
    note(handler="field", name=name, old=old, new=new)
'''


def test_each_cause_fires_once_and_a_succeeded_handler_never_reruns(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory(HANDLERS, "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "one", a="1", watched="x"))
    journal.wait_count(1, handler="create", name="one")
    journal.wait_count(1, handler="field", name="one")
    kube_client.patch(CONFIGMAPS, "one", {"data": {"a": "2"}}, namespace=namespace)
    updates = journal.wait_count(1, handler="update", name="one")
    assert updates[0]["old"] == {"a": "1", "watched": "x"} and updates[0]["new"] == {"a": "2", "watched": "x"}
    assert updates[0]["diff"] == [["change", ["data", "a"], "1", "2"]]
    kube_client.patch(CONFIGMAPS, "one", {"data": {"watched": "y"}}, namespace=namespace)
    fields = journal.wait_count(2, handler="field", name="one")
    assert (fields[1]["old"], fields[1]["new"]) == ("x", "y")
    time.sleep(1.0)  # nothing else may fire: our own writes are not changes
    assert len(journal.entries(handler="create")) == 1
    assert len(journal.entries(handler="update")) == 2
    assert journal.entries(handler="resume") == []

    assert operator.stop() == 0
    restarted = operator_factory(HANDLERS, "-n", namespace).start().wait_started()
    journal.wait_count(1, handler="resume", name="one")
    time.sleep(1.0)
    assert len(journal.entries(handler="create")) == 1, "a succeeded create handler ran again after restart"
    assert len(journal.entries(handler="update")) == 2
    stored = kube_client.get(CONFIGMAPS, "one", namespace=namespace)
    assert "opframe.dev/finalizer" in stored["metadata"]["finalizers"]
    assert "opframe.dev/progress" not in stored["metadata"].get("annotations", {})
    kube_client.delete(CONFIGMAPS, "one", namespace=namespace)
    journal.wait_count(1, handler="delete", name="one")
    wait_gone(kube_client, "one", namespace)
    assert restarted.stop() == 0


def test_temporary_error_is_retried_after_its_delay_and_permanent_error_stops(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator = operator_factory('''
    @on.create("configmaps", labels={"app": "test"})
    def flaky(name, retry, **_):
        note(handler="flaky", name=name, retry=retry, at=time.time())
        if retry < 2:
            raise opframe.TemporaryError("not yet", delay=1)
        return "done"

    @on.create("configmaps", labels={"app": "test"})
    def hopeless(name, retry, **_):
        note(handler="hopeless", name=name, retry=retry)
        raise opframe.PermanentError("never")

    @on.create("configmaps", labels={"app": "test"})
    def growing(name, retry, **_):
        note(handler="growing", name=name, retry=retry, at=time.time())
        if retry < 3:
            raise ValueError("boom")
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "r"))
    flaky = journal.wait_count(3, handler="flaky", name="r")
    assert [e["retry"] for e in flaky] == [0, 1, 2]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(flaky)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    growing = journal.wait_count(4, handler="growing", name="r", timeout=60)
    growing_gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(growing)]
    assert growing_gaps[-1] > growing_gaps[0], f"backoff did not grow: {growing_gaps}"
    time.sleep(1.5)
    assert len(journal.entries(handler="hopeless")) == 1, "a PermanentError was retried"
    stored = kube_client.get(CONFIGMAPS, "r", namespace=namespace)
    annotations = stored["metadata"].get("annotations", {})
    assert "opframe.dev/last-handled-configuration" in annotations  # the cause is complete
    events = kube_client.list(Resource("", "v1", "events", "Event"), namespace=namespace).items
    reasons = {(e["reason"], e["involvedObject"]["name"]) for e in events}
    assert ("HandlerFailed", "r") in reasons
    # flaky and growing succeeded, but successes post no Event unless success_events is on.
    assert ("HandlerSucceeded", "r") not in reasons
    # An exception's traceback is logged with each failed attempt, pointing at the line that raised
    # (kopf's logger.exception); TemporaryError and PermanentError say what they mean without one.
    lines = operator.output().splitlines()
    # the start-up line says what is served
    assert any("opframe started: configmaps (3 handlers); serving namespace " + namespace in line for line in lines)
    failed = [i for i, line in enumerate(lines) if "Handler 'growing' failed with an exception" in line]
    assert len(failed) == 3, failed
    for i in failed:
        assert lines[i + 1] == "Traceback (most recent call last):", lines[i:i + 3]
        block = lines[i + 1:i + 12]
        assert any('raise ValueError("boom")' in line for line in block), block
        assert "ValueError: boom" in block, block
    said = [i for i, line in enumerate(lines) if "Handler 'flaky' failed temporarily" in line
            or "Handler 'hopeless' failed permanently" in line]
    assert len(said) == 3 and all(not lines[i + 1].startswith("Traceback") for i in said if i + 1 < len(lines))
    assert sum(line == "Traceback (most recent call last):" for line in lines) == 3


def test_success_events_setting_posts_a_normal_event_per_handler_success(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    @on.startup()
    def configure(settings, **_):
        settings.success_events = True

    @on.create("configmaps", labels={"app": "test"})
    def fine(name, **_):
        note(handler="fine", name=name)
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "s"))
    journal.wait_count(1, handler="fine", name="s")
    events = Resource("", "v1", "events", "Event")
    journal.wait_for(lambda: any(
        (e["reason"], e["type"], e["involvedObject"]["name"]) == ("HandlerSucceeded", "Normal", "s")
        for e in kube_client.list(events, namespace=namespace).items), 15, "a HandlerSucceeded Event")


def test_retry_count_survives_kill_9_in_the_middle_of_a_retry_series(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    code = '''
    @on.create("configmaps", labels={"app": "test"})
    def slow_to_succeed(name, retry, **_):
        note(handler="h", name=name, retry=retry)
        if retry < 4:
            raise opframe.TemporaryError("later", delay=0.5)
    '''
    first = operator_factory(code, "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "k"))
    journal.wait_count(2, handler="h")
    first.kill()
    seen = [e["retry"] for e in journal.entries(handler="h")]
    operator_factory(code, "-n", namespace).start().wait_started()
    journal.wait_for(lambda: any(e["retry"] == 4 for e in journal.entries(handler="h")), 30, "retry 4")
    retries = [e["retry"] for e in journal.entries(handler="h")]
    # After the restart the count goes on from where the killed operator left it.
    after = retries[len(seen):]
    assert after[0] >= seen[-1] and after[-1] == 4, retries
    assert retries == sorted(retries)


def test_a_burst_of_50_updates_during_a_slow_handler_leads_to_at_most_2_more_calls(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory('''
    @on.update("configmaps", labels={"app": "test"})
    def slow(name, new, diff, **_):
        note(handler="slow", name=name, value=new["data"]["n"], diff=[list(d) for d in diff])
        time.sleep(1.5)
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "b", n="0"))
    time.sleep(0.5)
    kube_client.patch(CONFIGMAPS, "b", {"data": {"n": "1"}}, namespace=namespace)
    journal.wait_count(1, handler="slow")
    for n in range(2, 52):
        kube_client.patch(CONFIGMAPS, "b", {"data": {"n": str(n)}}, namespace=namespace)
    journal.wait_for(lambda: any(e["value"] == "51" for e in journal.entries(handler="slow")), 30, "final value")
    time.sleep(2.0)
    calls = journal.entries(handler="slow")
    assert len(calls) - 1 <= 2, [c["value"] for c in calls]
    assert calls[-1]["value"] == "51"
    assert calls[-1]["diff"][0][0] == "change" and calls[-1]["diff"][0][3] == "51"


def test_a_storm_of_updates_is_handled_when_it_stops_and_lone_changes_at_once(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    # A window of 2 s (default 0.25 s) keeps the storm one burst on CI's noisy cores, and makes waiting
    # for it (2 s) tell from handling at once (milliseconds).
    operator_factory('''
    @on.startup()
    def configure(settings, **_):
        settings.burst_window = 2.0
        settings.burst_max_delay = 30.0

    @on.update("configmaps", labels={"app": "test"})
    def updated(name, new, **_):
        note(handler="update", name=name, value=new["data"]["n"], at=time.time())
        if new["data"]["n"] == "1":
            time.sleep(1.2)  # its own write then comes back 1.2 s after the change: no change of its own
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "s", n="0"))
    time.sleep(2.5)  # a window after the creation: the next change is a lone one

    def change(value: str) -> float:
        kube_client.patch(CONFIGMAPS, "s", {"data": {"n": value}}, namespace=namespace)
        return time.time()

    def handled_after(value: str, sent: float) -> float:
        (call,) = journal.wait_count(1, handler="update", value=value)
        return float(call["at"]) - sent

    assert handled_after("1", change("1")) < 1.5  # a lone change: at once, not after the window
    time.sleep(2.3)  # 2.3 s after "1" (a lone change again), 1.1 s after the operator's own write
    assert handled_after("2", change("2")) < 1.5  # so its own write did not count as a change
    time.sleep(2.5)
    before = len(journal.entries(handler="update"))
    for n in range(3, 33):  # a storm: 30 changes as fast as a client can
        change(str(n))
    journal.wait_for(lambda: any(e["value"] == "32" for e in journal.entries(handler="update")), 30, "the last value")
    time.sleep(2.5)  # any call still to come
    storm = [e["value"] for e in journal.entries(handler="update")[before:]]
    assert len(storm) <= 3 and storm[-1] == "32", storm  # its first change at once, then its last when quiet


def test_a_diff_base_superseded_during_its_handler_is_held_back_and_old_still_chains(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """Changes that arrive while an update handler runs: its diff-base (all it would write) is not
    written, the next call writes its own; and each call's ``old`` is still the previous call's ``new``."""
    operator_factory('''
    @on.startup()
    def configure(settings, **_):
        settings.burst_window = 2.0  # the changes below stay one burst on noisy cores
        settings.burst_max_delay = 30.0

    @on.update("configmaps", labels={"app": "test"})
    def updated(name, old, new, **_):
        note(handler="update", name=name, old=old["data"]["n"], new=new["data"]["n"])
        if new["data"]["n"] == "1":
            time.sleep(1.0)  # the storm below lands while this call runs
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "h", n="0"))
    key = "opframe.dev/last-handled-configuration"

    def diff_base() -> str | None:
        body = kube_client.get(CONFIGMAPS, "h", namespace=namespace)
        text = (body["metadata"].get("annotations") or {}).get(key)
        return json.loads(text)["data"]["n"] if text else None
    eventually(lambda: diff_base() == "0", what="the creation's diff-base")
    time.sleep(2.5)  # a window after the creation: the next change is a lone one
    kube_client.patch(CONFIGMAPS, "h", {"data": {"n": "1"}}, namespace=namespace)
    journal.wait_count(1, handler="update")
    for n in range(2, 11):
        kube_client.patch(CONFIGMAPS, "h", {"data": {"n": str(n)}}, namespace=namespace)
    seen = set()
    deadline = time.monotonic() + 60
    while not any(e["new"] == "10" for e in journal.entries(handler="update")) and time.monotonic() < deadline:
        seen.add(diff_base())  # the diff-base the API server holds, as often as it can be read
        time.sleep(0.05)
    eventually(lambda: diff_base() == "10", what="the last call's diff-base written")
    calls = [(e["old"], e["new"]) for e in journal.entries(handler="update")]
    assert calls[0] == ("0", "1") and calls[-1][1] == "10", calls
    assert all(calls[i][0] == calls[i - 1][1] for i in range(1, len(calls))), calls  # old chains
    assert "1" not in seen, f"the first call's diff-base was written: {sorted(map(str, seen))}"


def test_deletion_runs_the_delete_handler_and_finishes_after_a_restart(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    code = '''
    @on.create("configmaps", labels={"app": "test"})
    def created(name, **_):
        note(handler="create", name=name)

    @on.delete("configmaps", labels={"app": "test"})
    def deleting(name, retry, **_):
        note(handler="delete", name=name, retry=retry)
        if os.path.exists(os.environ["JOURNAL"] + ".block"):
            raise opframe.TemporaryError("blocked", delay=0.5)
    '''
    block = Path(str(journal.path) + ".block")
    block.touch()
    first = operator_factory(code, "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "d"))
    journal.wait_count(1, handler="create", name="d")
    journal.wait_for(lambda: "opframe.dev/finalizer" in kube_client.get(
        CONFIGMAPS, "d", namespace=namespace)["metadata"].get("finalizers", []), 10, "finalizer")
    kube_client.delete(CONFIGMAPS, "d", namespace=namespace)
    journal.wait_count(1, handler="delete", name="d")
    assert first.stop() == 0  # stopped mid-deletion
    still_there = kube_client.get(CONFIGMAPS, "d", namespace=namespace)
    assert still_there["metadata"]["deletionTimestamp"]
    block.unlink()
    operator_factory(code, "-n", namespace).start().wait_started()
    wait_gone(kube_client, "d", namespace)
    assert journal.entries(handler="delete")[-1]["retry"] >= 1


def test_the_finalizer_is_on_the_object_before_the_create_handler_so_a_deletion_during_it_waits(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """kopf's rule: adding the finalizer is a reconcile of its own, and the create handler runs on
    its echo. So the handler sees the finalizer, and an object deleted while the handler runs is
    held until the delete handler has run (had the finalizer come with the handler's outcome, the
    object would be gone at once and the delete handler never called)."""
    code = '''
    @on.create("configmaps", labels={"app": "test"})
    def created(name, body, **_):
        note(handler="create", name=name, finalizers=list(body["metadata"].get("finalizers", [])))
        time.sleep(2)

    @on.delete("configmaps", labels={"app": "test"})
    def deleting(name, **_):
        note(handler="delete", name=name)
    '''
    operator = operator_factory(code, "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "early"))
    created = journal.wait_count(1, handler="create", name="early")
    assert created[0]["finalizers"] == ["opframe.dev/finalizer"]
    kube_client.delete(CONFIGMAPS, "early", namespace=namespace)  # while the create handler sleeps
    journal.wait_count(1, handler="delete", name="early")
    wait_gone(kube_client, "early", namespace)
    assert len(journal.entries(handler="create")) == 1
    assert operator.stop() == 0


def test_resume_handlers_still_run_when_the_first_sight_went_to_adding_the_finalizer(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """An object handled before (a diff-base) but without our finalizer: a new operator with a
    delete handler first adds the finalizer, and its resume handler still runs once, on the next
    reconcile (kopf: the object is not handled once until a cycle runs its handlers)."""
    first = operator_factory('''
    @on.create("configmaps", labels={"app": "test"})
    def created(name, **_):
        note(handler="create", name=name)
    ''', "-n", namespace).start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(namespace, "known"))
    journal.wait_count(1, handler="create", name="known")
    journal.wait_for(lambda: "opframe.dev/last-handled-configuration" in kube_client.get(
        CONFIGMAPS, "known", namespace=namespace)["metadata"].get("annotations", {}), 10, "the diff-base")
    assert first.stop() == 0
    assert "finalizers" not in kube_client.get(CONFIGMAPS, "known", namespace=namespace)["metadata"]
    second = operator_factory('''
    @on.resume("configmaps", labels={"app": "test"})
    def resumed(name, body, **_):
        note(handler="resume", name=name, finalizers=list(body["metadata"].get("finalizers", [])))

    @on.delete("configmaps", labels={"app": "test"})
    def deleting(name, **_):
        note(handler="delete", name=name)
    ''', "-n", namespace).start().wait_started()
    resumed = journal.wait_count(1, handler="resume", name="known")
    assert resumed[0]["finalizers"] == ["opframe.dev/finalizer"]
    time.sleep(1)
    assert len(journal.entries(handler="resume")) == 1
    assert second.stop() == 0


def test_namespace_globs_include_exclude_and_pick_up_new_namespaces(
        kube_client: KubeClient, journal: Journal, operator_factory: Callable[..., OperatorProcess]) -> None:
    suffix = uuid.uuid4().hex[:6]
    team_a, team_b, excluded = f"team-a-{suffix}", f"team-b-{suffix}", f"team-x-{suffix}"
    for name in (team_a, excluded):
        kube_client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    operator_factory('''
    @on.create("configmaps", labels={"app": "test"})
    def created(name, namespace, **_):
        note(handler="create", name=name, namespace=namespace)
    ''', "-n", f"team-*-{suffix}", "-n", "!team-x-*").start().wait_started()
    kube_client.create(CONFIGMAPS, configmap(team_a, "in-a"))
    kube_client.create(CONFIGMAPS, configmap(excluded, "in-x"))
    journal.wait_count(1, handler="create", name="in-a")
    kube_client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": team_b}})
    kube_client.create(CONFIGMAPS, configmap(team_b, "in-b"))
    journal.wait_count(1, handler="create", name="in-b", namespace=team_b)
    time.sleep(1.0)
    assert journal.entries(name="in-x") == []
    assert "annotations" not in kube_client.get(CONFIGMAPS, "in-x", namespace=excluded)["metadata"]


def test_results_the_schema_prunes_are_warned_about_once_naming_the_fix(
        kube_client: KubeClient, namespace: str, journal: Journal,
        operator_factory: Callable[..., OperatorProcess]) -> None:
    """A CRD whose schema declares no status: the API server drops the handlers' results silently.
    opframe says so (kopf warns too), once for the kind, with the fix."""
    from opframe.testing import install_crd

    group = "pruning.opframe.dev"
    resource = install_crd(kube_client, namespaced_crd(group, "Gadget", {  # a schema with no status
        "type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}))
    operator = operator_factory(f'''
    @on.create("gadgets.{group}")
    def made(name, **_):
        note(handler="made", name=name)
        return {{"message": "made " + name}}
    ''', "-n", namespace).start().wait_started()
    for name in ("one", "two"):
        kube_client.create(resource, {"apiVersion": f"{group}/v1", "kind": "Gadget",
                                      "metadata": {"name": name, "namespace": namespace}, "spec": {}})
    journal.wait_count(1, handler="made", name="one")
    journal.wait_count(1, handler="made", name="two")
    time.sleep(1.0)  # the second write's answer is read too
    assert "status" not in kube_client.get(resource, "two", namespace=namespace)  # what the user sees
    lines = [line for line in operator.output().splitlines() if "the API server dropped" in line]
    assert len(lines) == 1, lines
    assert "status.made" in lines[0] and "x-kubernetes-preserve-unknown-fields: true to status" in lines[0], lines
