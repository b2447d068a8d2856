"""CEL policies: ``on.validate(..., cel=...)`` handlers become ValidatingAdmissionPolicies that the API
server enforces itself (admissionregistration.k8s.io/v1), so they hold while the operator is down.

Per handler id, a ValidatingAdmissionPolicy and a ValidatingAdmissionPolicyBinding, both named
``<handler id as a segment>.<managed>`` (``managed``: ``webhook_managed``, else DEFAULT_MANAGED), written
by server-side apply under opframe's field manager:

* ``failurePolicy`` Fail, or Ignore with ``ignore_failures`` (an expression that errors at run time);
* ``matchConstraints``: a resource rule per resolved resource (with the subresource as the webhooks'
  rules have it), the handler's operations, by default CREATE and UPDATE only: a rule on ``object``
  cannot hold on DELETE, where ``object`` is null; the namespaces as the webhooks' (the handler's
  ``namespace_selector``, else those served by name, else all but the operator's own); an
  ``objectSelector`` from the plain label filters; ``matchPolicy``;
* ``matchConditions`` from ``match_conditions``; ``validations`` from ``cel`` (a plain string rule gets
  the handler's ``message``);
* the binding: ``validationActions: [Deny]`` and the same namespaces.

``policies()`` is pure; ``enforce()``, ``apply()`` and ``withdraw()`` talk to the API server. The leader
applies them at start-up and keeps them (PolicyKeeper: a hand edit or a deletion is undone within
REPAIR_SECONDS). Unlike the webhook configurations they are never withdrawn at exit (that they keep
working without the operator is their point); a handler removed from the code leaves its policy in place
until someone deletes it (``withdraw()``, or kubectl).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opframe.handlers.handler import Handler, Kind, Webhook
from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource
from opframe.runtime.admission.configurations import (
    FIELD_MANAGER,
    ConfigurationError,
    namespace_selector,
    object_selector,
    resource_rule,
)

logger = logging.getLogger("opframe.admission")

POLICIES = Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
                    "ValidatingAdmissionPolicy", namespaced=False)
BINDINGS = Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
                    "ValidatingAdmissionPolicyBinding", namespaced=False)
#: The policies' name suffix when ``webhook_managed`` is not set. Shared by every operator that leaves it
#: unset: two such operators with a handler id in common write the same policy (set webhook_managed).
DEFAULT_MANAGED = "policies.opframe.dev"
#: The operations of a policy whose handler names none: on DELETE ``object`` is null, so a rule about it
#: would refuse every deletion (or, with ignore_failures, mean nothing); CONNECT carries no object either.
DEFAULT_OPERATIONS = ("CREATE", "UPDATE")
#: The well-known annotation the handler's docstring goes into.
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
HANDLER_ANNOTATION = "opframe.dev/handler"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
#: What RBAC must grant the operator (group admissionregistration.k8s.io).
NEEDED_GRANTS = "create and patch on validatingadmissionpolicies and validatingadmissionpolicybindings"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_EXPRESSION_FIELD = re.compile(r"spec\.(validations|matchConditions)\[(\d+)\]")


@dataclasses.dataclass(frozen=True)
class Policy:
    """One handler id's ValidatingAdmissionPolicy and its binding (same name)."""

    handler_id: str
    name: str
    policy: dict[str, Any]
    binding: dict[str, Any]


def is_policy(handler: Handler) -> bool:
    """A ``cel=`` handler: enforced by the API server, not served as a webhook."""
    return handler.kind is Kind.VALIDATE and handler.webhook is not None and handler.webhook.is_policy


def policy_name(segment: str, managed: str) -> str:
    return f"{segment}.{managed}"


def policies(handlers: Sequence[tuple[Handler, Resource]], *, managed: str, segment: Callable[[str], str],
             own_namespace: str | None = None, served_namespaces: Sequence[str] = ()) -> list[Policy]:
    """The policies of the ``cel=`` handlers among ``handlers``, one per handler id in registration order
    (an id with two resources is one policy with two rules). ConfigurationError for a name the API server
    would refuse, two ids with one name, or one id with two different sets of options."""
    by_id: dict[str, list[tuple[Handler, Resource]]] = {}
    for handler, resource in handlers:
        if is_policy(handler):
            by_id.setdefault(handler.id, []).append((handler, resource))
    result: list[Policy] = []
    for handler_id, pairs in by_id.items():
        handler = pairs[0][0]
        options = handler.webhook
        assert options is not None
        if any(other.webhook != options or other.labels != handler.labels for other, _ in pairs[1:]):
            raise ConfigurationError(f"handler id {handler_id!r} has cel= rules for several resources with different "
                                     "options; one id is one ValidatingAdmissionPolicy: give each its own id=")
        name = policy_name(segment(handler_id), managed)
        if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
            raise ConfigurationError(f"handler {handler_id!r}: its ValidatingAdmissionPolicy would be named {name!r}, "
                                     "which is no DNS subdomain (lower-case letters, digits, '-' and '.', at most "
                                     "253); give the handler an id= of letters, digits and '-', and webhook_managed "
                                     "such a name")
        clash = next((known for known in result if known.name == name), None)
        if clash is not None:
            raise ConfigurationError(f"handlers {clash.handler_id!r} and {handler_id!r} would both be the "
                                     f"ValidatingAdmissionPolicy {name}; give one of them another id=")
        namespaces = namespace_selector(options, own_namespace=own_namespace, served_namespaces=served_namespaces)
        result.append(Policy(handler_id=handler_id, name=name,
                             policy=_policy(handler, name, [resource for _, resource in pairs], namespaces),
                             binding=_binding(handler, name, namespaces)))
    return result


def validations(options: Webhook) -> list[dict[str, str]]:
    """The ``validations`` of a policy: each rule as a mapping, ``message`` given to the plain strings."""
    result: list[dict[str, str]] = []
    for rule in options.cel:
        if isinstance(rule, str):
            result.append({"expression": rule, **({"message": options.message} if options.message else {})})
        else:
            result.append(dict(rule))
    return result


def _policy(handler: Handler, name: str, resources: list[Resource],
            namespaces: dict[str, Any] | None) -> dict[str, Any]:
    options = handler.webhook
    assert options is not None
    constraints: dict[str, Any] = {
        "resourceRules": [_rule(options, resource) for resource in resources],
        "matchPolicy": options.match_policy or "Equivalent",
    }
    if namespaces is not None:
        constraints["namespaceSelector"] = namespaces
    selector = object_selector(handler)
    if selector is not None:
        constraints["objectSelector"] = selector
    spec: dict[str, Any] = {
        "failurePolicy": "Ignore" if options.ignore_failures else "Fail",
        "matchConstraints": constraints,
        "validations": validations(options),
    }
    if options.match_conditions:
        spec["matchConditions"] = [dict(condition) for condition in options.match_conditions]
    return {"apiVersion": f"{POLICIES.group}/{POLICIES.version}", "kind": POLICIES.kind,
            "metadata": _metadata(handler, name, description=True), "spec": spec}


def _binding(handler: Handler, name: str, namespaces: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"policyName": name, "validationActions": ["Deny"]}
    if namespaces is not None:
        spec["matchResources"] = {"namespaceSelector": namespaces}
    return {"apiVersion": f"{BINDINGS.group}/{BINDINGS.version}", "kind": BINDINGS.kind,
            "metadata": _metadata(handler, name, description=False), "spec": spec}


def _metadata(handler: Handler, name: str, *, description: bool) -> dict[str, Any]:
    annotations = {HANDLER_ANNOTATION: handler.id}
    doc = handler.fn.__doc__ if inspect.isfunction(handler.fn) or inspect.ismethod(handler.fn) else None
    if description and doc and doc.strip():
        annotations[DESCRIPTION_ANNOTATION] = inspect.cleandoc(doc)
    return {"name": name, "labels": {MANAGED_BY_LABEL: FIELD_MANAGER}, "annotations": annotations}


def _rule(options: Webhook, resource: Resource) -> dict[str, Any]:
    return resource_rule(options, resource, default_operations=DEFAULT_OPERATIONS)


# -- talking to the API server ----------------------------------------------------------------------


def enforce(client: KubeClient, policies: Sequence[Policy], owner: Mapping[str, Any] | None = None) -> None:
    """Apply every policy (the leader's, at start-up), saying for each what its handler became; owned by
    ``owner`` (an ownerReference: the chart's ClusterRole) when given, so that they go with it."""
    for policy in policies:
        apply(client, policy, owner)
        logger.info("handler %s became ValidatingAdmissionPolicy %s (enforced by the API server, no webhook)",
                    policy.handler_id, policy.name)


def apply(client: KubeClient, policy: Policy, owner: Mapping[str, Any] | None = None) -> None:
    """Server-side apply of the policy, then of its binding. ConfigurationError, naming the handler and what
    to do, when the API server refuses them (422: a CEL expression that does not compile, say), RBAC forbids
    them (403) or the API server does not serve them (404)."""
    for resource, written in ((POLICIES, policy.policy), (BINDINGS, policy.binding)):
        body = written if owner is None else {
            **written, "metadata": {**written["metadata"], "ownerReferences": [dict(owner)]}}
        try:
            client.patch(resource, policy.name, body, patch_type="apply", field_manager=FIELD_MANAGER, force=True)
        except errors.Invalid as exc:
            raise ConfigurationError(refusal(policy, resource, exc)) from None
        except errors.Forbidden as exc:
            raise ConfigurationError(
                f"handler {policy.handler_id!r}: RBAC forbids the operator to write the {resource.kind} "
                f"{policy.name} ({exc.message}); grant {NEEDED_GRANTS} in {resource.group} with a ClusterRole and "
                "ClusterRoleBinding") from None
        except errors.NotFound as exc:
            raise ConfigurationError(
                f"handler {policy.handler_id!r}: the API server does not serve {resource.plural} in "
                f"{resource.group}/{resource.version} ({exc.message}); cel= needs Kubernetes 1.30 or later, "
                "or a webhook (on.validate without cel=)") from None


def refusal(policy: Policy, resource: Resource, exc: errors.ApiError) -> str:
    """The start-up error for a 422: the handler, the expressions the API server names (else all of
    them), and its message."""
    fields = [str(cause.get("field") or "") for cause in exc.details.get("causes") or [] if isinstance(cause, dict)]
    named: list[str] = []
    for match in _EXPRESSION_FIELD.finditer(" ".join([*fields, exc.message])):
        rules = policy.policy["spec"].get(match.group(1)) or []
        index = int(match.group(2))
        if index < len(rules) and rules[index]["expression"] not in named:
            named.append(rules[index]["expression"])
    if not named:
        named = [rule["expression"] for rule in policy.policy["spec"]["validations"]]
    expressions = ", ".join(repr(expression) for expression in named)
    return (f"handler {policy.handler_id!r}: the API server refuses its {resource.kind} {policy.name}, "
            f"expression{'s' if len(named) > 1 else ''} {expressions}: {exc.message}")


def withdraw(client: KubeClient, name: str) -> None:
    """Delete the policy ``name`` and its binding (absent ones are no error). Never done by the operator
    itself: for tests, and for whoever retires a handler."""
    for resource in (BINDINGS, POLICIES):
        with contextlib.suppress(errors.NotFound):
            client.delete(resource, name)


#: How often the leader checks its policies against what the API server holds (two GETs per handler).
REPAIR_SECONDS = 5.0


def intact(client: KubeClient, policy: Policy) -> bool:
    """Whether the API server holds the policy and its binding with every field opframe writes (the
    fields it defaults aside)."""
    for resource, written in ((POLICIES, policy.policy), (BINDINGS, policy.binding)):
        try:
            stored = client.get(resource, policy.name)
        except errors.NotFound:
            return False
        if not _holds(stored.get("spec"), written["spec"]):
            return False
    return True


def _holds(stored: Any, written: Any) -> bool:
    if isinstance(written, Mapping):
        return isinstance(stored, Mapping) and all(_holds(stored.get(key), value) for key, value in written.items())
    if isinstance(written, list):
        return (isinstance(stored, list) and len(stored) == len(written)
                and all(_holds(a, b) for a, b in zip(stored, written, strict=True)))
    return bool(stored == written)


class PolicyKeeper:
    """The leader's thread that applies its policies again after a hand edit or a deletion."""

    def __init__(self, client: KubeClient, policies: Sequence[Policy], owner: Mapping[str, Any] | None) -> None:
        self.client = client
        self.policies = list(policies)
        self.owner = owner
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="admission-policies", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def check(self) -> None:
        for policy in self.policies:
            if not intact(self.client, policy):
                logger.warning("the ValidatingAdmissionPolicy %s (handler %s) was changed or deleted by someone "
                               "else; it is applied again", policy.name, policy.handler_id)
                apply(self.client, policy, self.owner)

    def _keep(self) -> None:
        while not self._stopping.wait(REPAIR_SECONDS):
            try:
                self.check()
            except (errors.KubeError, ConfigurationError, OSError) as exc:
                logger.warning("the ValidatingAdmissionPolicies could not be checked: %s", exc)
