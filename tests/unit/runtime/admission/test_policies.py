"""CEL policies (opframe.runtime.admission.policies): what ``on.validate(..., cel=...)`` becomes (a
ValidatingAdmissionPolicy and its binding), what the decorator refuses, that such a handler is neither a
webhook entry nor served, and the start-up errors the API server's refusals become; no API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import opframe
from opframe import on
from opframe.handlers.handler import Handler, Kind
from opframe.handlers.registry import Registry
from opframe.kube import errors
from opframe.kube.resources import Resource
from opframe.runtime.admission import policies
from opframe.runtime.admission.configurations import ConfigurationError, entries
from opframe.runtime.admission.reviews import parse, wanted
from opframe.runtime.admission.serving import webhook_segment

KEX = Resource("kopf.dev", "v1", "kopfexamples", "KopfExample")
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
NOT_MINE = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["ops"]}]}


def handler(**options: Any) -> Handler:
    registry = Registry()
    options.setdefault("cel", "object.spec.replicas <= 10")
    on.validate("kopfexamples", id="fn_1", registry=registry, **options)(lambda **_: None)
    (made,) = registry.handlers()
    return made


def policy(resource: Resource = KEX, *, own_namespace: str | None = "ops", served_namespaces: tuple[str, ...] = (),
           **options: Any) -> policies.Policy:
    (made,) = policies.policies([(handler(**options), resource)], managed="auto.kopf.dev", segment=webhook_segment,
                                own_namespace=own_namespace, served_namespaces=served_namespaces)
    return made


def test_a_plain_rule_becomes_a_policy_and_its_binding() -> None:
    made = policy(message="at most 10 replicas")
    assert made.name == "fn-1.auto.kopf.dev" and made.handler_id == "fn_1"
    metadata = {"name": "fn-1.auto.kopf.dev", "labels": {"app.kubernetes.io/managed-by": "opframe"},
                "annotations": {"opframe.dev/handler": "fn_1"}}
    assert made.policy == {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy", "metadata": metadata,
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {
                     "resourceRules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"], "resources": ["kopfexamples"],
                                        "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"}],
                     "matchPolicy": "Equivalent", "namespaceSelector": NOT_MINE},
                 "validations": [{"expression": "object.spec.replicas <= 10", "message": "at most 10 replicas"}]}}
    assert made.binding == {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": metadata, "spec": {"policyName": "fn-1.auto.kopf.dev", "validationActions": ["Deny"],
                                       "matchResources": {"namespaceSelector": NOT_MINE}}}


@pytest.mark.parametrize(("options", "expected"), [
    # cel=: a string, strings, mappings; message= goes to the plain strings only
    ({"cel": ["a", "b"], "message": "m"}, {"validations": [{"expression": "a", "message": "m"},
                                                           {"expression": "b", "message": "m"}]}),
    ({"cel": ["a", {"expression": "b", "messageExpression": "'x'", "reason": "Forbidden"}], "message": "m"},
     {"validations": [{"expression": "a", "message": "m"},
                      {"expression": "b", "messageExpression": "'x'", "reason": "Forbidden"}]}),
    ({"cel": {"expression": "b", "message": "n"}}, {"validations": [{"expression": "b", "message": "n"}]}),
    ({"cel": "a"}, {"validations": [{"expression": "a"}]}),
    ({"ignore_failures": True}, {"failurePolicy": "Ignore"}),
    ({"match_conditions": [{"name": "n", "expression": "request.userInfo.username != 'x'"}]},
     {"matchConditions": [{"name": "n", "expression": "request.userInfo.username != 'x'"}]}),
])
def test_the_handlers_options_in_its_policys_spec(options: dict[str, Any], expected: dict[str, Any]) -> None:
    spec = policy(**options).policy["spec"]
    assert {key: spec.get(key) for key in expected} == expected


@pytest.mark.parametrize(("options", "expected"), [
    # a rule on `object` cannot hold on DELETE (object is null there): CREATE and UPDATE unless told
    ({}, {"resourceRules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"], "resources": ["kopfexamples"],
                             "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"}]}),
    ({"operations": ["UPDATE", "DELETE"]},
     {"resourceRules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"], "resources": ["kopfexamples"],
                         "operations": ["DELETE", "UPDATE"], "scope": "Namespaced"}]}),
    ({"subresource": "status"},
     {"resourceRules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"], "resources": ["kopfexamples/status"],
                         "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"}]}),
    ({"subresource": "*"},
     {"resourceRules": [{"apiGroups": ["kopf.dev"], "apiVersions": ["v1"],
                         "resources": ["kopfexamples", "kopfexamples/*"], "operations": ["CREATE", "UPDATE"],
                         "scope": "Namespaced"}]}),
    ({"labels": {"a": "b", "p": opframe.PRESENT, "n": opframe.ABSENT}},
     {"objectSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]},
                                              {"key": "p", "operator": "Exists"},
                                              {"key": "n", "operator": "DoesNotExist"}]}}),
    ({"match_policy": "Exact"}, {"matchPolicy": "Exact"}),
    ({"namespace_selector": {"matchLabels": {"team": "a"}}}, {"namespaceSelector": {"matchLabels": {"team": "a"}}}),
    ({"served_namespaces": ("team-b", "team-a")}, {"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a", "team-b"]}]}}),
    ({"own_namespace": None}, {"namespaceSelector": None}),  # outside a pod, with no -n: every namespace
])
def test_what_a_policy_matches(options: dict[str, Any], expected: dict[str, Any]) -> None:
    made = policy(**options)
    constraints = made.policy["spec"]["matchConstraints"]
    assert {key: constraints.get(key) for key in expected} == expected
    # the binding selects the same namespaces
    assert (made.binding["spec"].get("matchResources") or {}).get("namespaceSelector") == \
        constraints.get("namespaceSelector")


def test_a_cluster_scoped_resource_and_an_id_with_two_resources() -> None:
    registry = Registry()
    on.validate("kopfexamples", id="both", cel="true", registry=registry)(lambda **_: None)
    on.validate("nodes", id="both", cel="true", registry=registry)(lambda **_: None)
    first, second = registry.handlers()
    (made,) = policies.policies([(first, KEX), (second, NODES)], managed="m.example.com", segment=webhook_segment)
    assert [(rule["resources"], rule["scope"]) for rule in made.policy["spec"]["matchConstraints"]["resourceRules"]] \
        == [(["kopfexamples"], "Namespaced"), (["nodes"], "Cluster")]


def test_the_docstring_is_the_policys_description() -> None:
    registry = Registry()

    @on.validate("kopfexamples", id="documented", cel="true", registry=registry)
    def documented() -> None:
        """At most ten.

        Really."""

    made, = policies.policies([(registry.handlers()[0], KEX)], managed="m.example.com", segment=webhook_segment)
    assert made.policy["metadata"]["annotations"] == {"opframe.dev/handler": "documented",
                                                      "kubernetes.io/description": "At most ten.\n\nReally."}
    assert "kubernetes.io/description" not in made.binding["metadata"]["annotations"]


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"cel": ""}, ValueError, "an expression is an empty string"),
    ({"cel": []}, ValueError, "cel=\\[\\] has no rule"),
    ({"cel": [{"message": "m"}]}, ValueError, "a rule has no expression"),
    ({"cel": [{"expression": "a", "messsage": "m"}]}, ValueError, "a rule has \\['messsage'\\]"),
    ({"cel": [{"expression": "a", "reason": "Teapot"}]}, ValueError, "reason='Teapot'"),
    ({"cel": [42]}, ValueError, "neither an expression"),
    ({"cel": None, "message": "m"}, ValueError, "message= is the message of cel= rules; give cel= too"),
    ({"cel": [{"expression": "a"}], "message": "m"}, ValueError, "every rule here is a mapping"),
    ({"message": "two\nlines"}, ValueError, "one line"),
    ({"timeout": 5}, ValueError, "timeout= has no meaning with cel="),
    ({"side_effects": True}, ValueError, "side_effects= has no meaning with cel="),
    # the function is never called: a filter only the operator could apply would be silently ignored
    ({"annotations": {"a": "b"}}, ValueError, "annotations=: with cel= the API server enforces"),
    ({"when": lambda **_: True}, ValueError, "when=: with cel="),
    ({"field": "spec.x", "value": 1}, ValueError, "field=, value=: with cel="),
    ({"labels": {"a": lambda value, **_: True}}, ValueError, "labels={'a': <callable>}"),
])
def test_what_the_decorator_refuses(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        handler(**options)


def test_cel_is_for_on_validate_only() -> None:
    with pytest.raises(TypeError):  # on.mutate has no such option
        on.mutate("kopfexamples", cel="true", registry=Registry())(lambda **_: None)  # type: ignore[call-arg]


@pytest.mark.parametrize(("ids", "message"), [
    (["a_b", "a-b"], "handlers 'a_b' and 'a-b' would both be the ValidatingAdmissionPolicy a-b.m.example.com"),
    (["-x"], "is no DNS subdomain"),
])
def test_a_policy_name_the_api_server_would_refuse_or_two_ids_sharing_one(ids: list[str], message: str) -> None:
    registry = Registry()
    for handler_id in ids:
        on.validate("kopfexamples", id=handler_id, cel="true", registry=registry)(lambda **_: None)
    with pytest.raises(ConfigurationError, match=message):
        policies.policies([(made, KEX) for made in registry.handlers()], managed="m.example.com",
                          segment=webhook_segment)


def test_one_id_with_different_rules_for_two_resources_is_refused() -> None:
    registry = Registry()
    on.validate("kopfexamples", id="both", cel="true", registry=registry)(lambda **_: None)
    on.validate("nodes", id="both", cel="false", registry=registry)(lambda **_: None)
    first, second = registry.handlers()
    with pytest.raises(ConfigurationError, match="give each its own id="):
        policies.policies([(first, KEX), (second, NODES)], managed="m.example.com", segment=webhook_segment)


def test_a_cel_handler_is_neither_a_webhook_entry_nor_served() -> None:
    registry = Registry()
    on.validate("kopfexamples", id="enforced", cel="true", registry=registry)(lambda **_: None)
    on.validate("kopfexamples", id="served", registry=registry)(lambda **_: None)
    enforced, served = registry.handlers()
    pairs = [(enforced, KEX), (served, KEX)]
    assert [entry["name"] for entry in entries(Kind.VALIDATE, pairs, managed="auto.kopf.dev",
                                               segment=webhook_segment, client_config=lambda h: {})] \
        == ["served.auto.kopf.dev"]
    review = parse({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "resource": {"group": "kopf.dev", "version": "v1", "resource": "kopfexamples"},
        "operation": "CREATE", "userInfo": {}, "object": {}}})
    assert [wanted(made, review, webhook=None) for made in (enforced, served)] == [False, True]
    assert [made.id for made in registry.handlers() if policies.is_policy(made)] == ["enforced"]
    assert [made.name for made in policies.policies(pairs, managed="auto.kopf.dev", segment=webhook_segment)] == \
        ["enforced.auto.kopf.dev"]


class FakeClient:
    """Answers every apply of ``resource`` (a plural) with ``error``."""

    def __init__(self, plural: str, error: errors.ApiError) -> None:
        self.plural, self.error = plural, error
        self.applied: list[tuple[str, str, str | None]] = []

    def patch(self, resource: Resource, name: str, body: Any, **options: Any) -> dict[str, Any]:
        if resource.plural == self.plural:
            raise self.error
        self.applied.append((resource.plural, name, options.get("field_manager")))
        return dict(body)


INVALID = "spec.validations[1].expression: Invalid value: \"1 +\": compilation failed: ERROR: Syntax error"


@pytest.mark.parametrize(("plural", "error", "message"), [
    # 422: the handler, the expression the API server names (by its field), and its message
    ("validatingadmissionpolicies",
     errors.Invalid(422, f"... is invalid: {INVALID}", details={"causes": [
         {"field": "spec.validations[1].expression", "message": "Invalid value"}]}),
     f"handler 'fn_1': the API server refuses its ValidatingAdmissionPolicy fn-1.auto.kopf.dev, expression '1 +': "
     f"... is invalid: {INVALID}"),
    ("validatingadmissionpolicies",
     errors.Invalid(422, "spec.matchConditions[0].expression: Invalid value"),
     "expression 'false': spec.matchConditions"),
    ("validatingadmissionpolicies", errors.Invalid(422, "something else"),  # no field named: every expression
     "expressions 'true', '1 +': something else"),
    ("validatingadmissionpolicybindings", errors.Forbidden(403, "cannot create"),
     "handler 'fn_1': RBAC forbids the operator to write the ValidatingAdmissionPolicyBinding fn-1.auto.kopf.dev "
     "(cannot create); grant create and patch on validatingadmissionpolicies and "
     "validatingadmissionpolicybindings in admissionregistration.k8s.io with a ClusterRole and ClusterRoleBinding"),
    ("validatingadmissionpolicies", errors.NotFound(404, "the server could not find the requested resource"),
     "cel= needs Kubernetes 1.30 or later"),
])
def test_the_api_servers_refusals_become_start_up_errors(plural: str, error: errors.ApiError, message: str) -> None:
    made = policy(cel=["true", "1 +"], match_conditions=[{"name": "never", "expression": "false"}])
    client = FakeClient(plural, error)
    with pytest.raises(ConfigurationError) as raised:
        policies.enforce(client, [made])  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_the_policy_is_applied_before_its_binding_by_opframes_field_manager(
        caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient("none", errors.Invalid(422, ""))
    caplog.set_level("INFO", logger="opframe.admission")
    policies.enforce(client, [policy()])  # type: ignore[arg-type]
    assert client.applied == [("validatingadmissionpolicies", "fn-1.auto.kopf.dev", "opframe"),
                              ("validatingadmissionpolicybindings", "fn-1.auto.kopf.dev", "opframe")]
    assert caplog.messages == ["handler fn_1 became ValidatingAdmissionPolicy fn-1.auto.kopf.dev (enforced by the API "
                               "server, no webhook)"]


def test_the_documented_example_is_the_example_operator_its_test_runs() -> None:
    root = Path(__file__).resolve().parents[4]
    operator = (root / "examples/operators/deployment_limits/operator.py").read_text()
    docs = (root / "docs/admission.md").read_text().split("## CEL policies", 1)[1]
    snippet = docs.split("```python\n", 1)[1].split("```", 1)[0]
    assert operator.endswith(snippet) and snippet.startswith("from opframe import on")
