"""The managed webhook configurations' entries (opframe.runtime.admission.configurations.entries) and the
handlers' URL segments: kopf's entries, with what opframe adds; pure, no API server."""

from __future__ import annotations

from typing import Any

import pytest

import opframe
from opframe import on
from opframe.handlers.handler import Kind
from opframe.handlers.registry import Registry
from opframe.kube.resources import Resource
from opframe.runtime.admission.configurations import ConfigurationError, entries
from opframe.runtime.admission.serving import webhook_segment

KEX = Resource("kopf.dev", "v1", "kopfexamples", "KopfExample")


@pytest.mark.parametrize(("handler_id", "segment"), [
    ("authhook", "authhook"),
    ("validate2/spec.field", "validate2.spec.field"),   # kopf: '/' -> '.'
    ("validate_subresources", "validate-subresources"),  # kopf: '_' -> '-' (a Service path refuses '_')
    ("id!", "id21"),                                     # kopf: anything else its hex code
    ("MyClass.handle", "myclass.handle"),                # beyond kopf: lower case, as names must be
])
def test_a_handler_id_becomes_a_path_segment_the_api_server_accepts(handler_id: str, segment: str) -> None:
    assert webhook_segment(handler_id) == segment


def webhooks(kind: Kind, own_namespace: str | None = None, managed: str = "auto.kopf.dev",
             **options: Any) -> dict[str, Any]:
    registry = Registry()
    decorator = on.validate if kind is Kind.VALIDATE else on.mutate
    decorator("kopfexamples", id="fn_1", registry=registry, **options)(lambda **_: None)
    (handler,) = registry.handlers(kind)
    (entry,) = entries(kind, [(handler, KEX)], managed=managed, own_namespace=own_namespace,
                       segment=webhook_segment, client_config=lambda h: {"url": f"https://h/{h.id}"})
    return entry


def test_kopfs_entry_for_a_plain_handler() -> None:
    assert webhooks(Kind.VALIDATE) == {
        "name": "fn-1.auto.kopf.dev", "sideEffects": "None", "failurePolicy": "Fail", "matchPolicy": "Equivalent",
        "rules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"], "resources": ["kopfexamples"],
                   "operations": ["*"], "scope": "Namespaced"}],
        "clientConfig": {"url": "https://h/fn_1"}, "timeoutSeconds": 30, "admissionReviewVersions": ["v1", "v1beta1"]}


@pytest.mark.parametrize(("options", "expected"), [
    ({"side_effects": True}, {"sideEffects": "NoneOnDryRun"}),
    ({"ignore_failures": True}, {"failurePolicy": "Ignore"}),
    ({"operations": ["UPDATE", "CREATE"]}, {"rules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"],
      "resources": ["kopfexamples"], "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"}]}),
    ({"subresource": "status"}, {"rules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"],
      "resources": ["kopfexamples/status"], "operations": ["*"], "scope": "Namespaced"}]}),
    # '*' is served for the main resource too, so it is registered for both (kopf: subresources only)
    ({"subresource": "*"}, {"rules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"],
      "resources": ["kopfexamples", "kopfexamples/*"], "operations": ["*"], "scope": "Namespaced"}]}),
    ({"labels": {"a": "b", "p": opframe.PRESENT, "n": opframe.ABSENT, "c": lambda v, **_: True}},
     {"objectSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]},
                                              {"key": "p", "operator": "Exists"},
                                              {"key": "n", "operator": "DoesNotExist"}]}}),
    ({"timeout": 5}, {"timeoutSeconds": 5}),
    ({"match_policy": "Exact"}, {"matchPolicy": "Exact"}),
    ({"match_conditions": [{"name": "not-system", "expression": "!request.userInfo.username.startsWith('system:')"}]},
     {"matchConditions": [{"name": "not-system", "expression": "!request.userInfo.username.startsWith('system:')"}]}),
    ({"namespace_selector": {"matchLabels": {"team": "a"}}}, {"namespaceSelector": {"matchLabels": {"team": "a"}}}),
])
def test_the_handlers_options_in_its_entry(options: dict[str, Any], expected: dict[str, Any]) -> None:
    entry = webhooks(Kind.VALIDATE, **options)
    assert {key: entry.get(key) for key in expected} == expected


def test_the_namespaces_served_by_name_are_the_webhooks_unless_the_handler_chooses() -> None:
    registry = Registry()
    on.validate("kopfexamples", id="fn", registry=registry)(lambda **_: None)
    (entry,) = entries(Kind.VALIDATE, [(registry.handlers()[0], KEX)], managed="a.b.c", own_namespace="operators",
                       served_namespaces=["team-b", "team-a"], segment=webhook_segment,
                       client_config=lambda h: {})
    assert entry["namespaceSelector"] == {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a", "team-b"]}]}


def test_the_operators_own_namespace_is_excluded_unless_the_handler_chooses() -> None:
    assert webhooks(Kind.VALIDATE, own_namespace="operators")["namespaceSelector"] == {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["operators"]}]}
    chosen = webhooks(Kind.VALIDATE, own_namespace="operators", namespace_selector={"matchLabels": {"x": "y"}})
    assert chosen["namespaceSelector"] == {"matchLabels": {"x": "y"}}


def test_reinvocation_is_for_mutators_and_bad_options_are_refused_at_decoration() -> None:
    assert webhooks(Kind.MUTATE, reinvocation_policy="IfNeeded")["reinvocationPolicy"] == "IfNeeded"
    with pytest.raises(TypeError):  # on.validate has no such option
        webhooks(Kind.VALIDATE, reinvocation_policy="IfNeeded")
    with pytest.raises(ValueError, match="'Never' or 'IfNeeded'"):
        webhooks(Kind.MUTATE, reinvocation_policy="Always")
    for options, message in (({"timeout": 31}, "1 to 30 seconds"), ({"operations": []}, "give one or more"),
                             ({"operations": ["CREATE", "PATCH"]}, "give one or more")):
        with pytest.raises(ValueError, match=message):
            webhooks(Kind.VALIDATE, **options)


def test_a_name_the_api_server_would_refuse_is_refused_before_it_is_sent() -> None:
    with pytest.raises(ConfigurationError, match="at least three dot-separated parts"):
        webhooks(Kind.VALIDATE, managed="mywebhooks")


def test_a_webhook_path_the_api_server_would_refuse_is_refused_in_the_settings() -> None:
    from pydantic import ValidationError

    from opframe.settings import Settings

    assert Settings(webhook_path="/hooks").webhook_path == "/hooks"
    with pytest.raises(ValidationError, match="a plain URL path"):
        Settings(webhook_path="/hooks?x=1")
