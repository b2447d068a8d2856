"""The managed webhook configurations: one ValidatingWebhookConfiguration and one
MutatingWebhookConfiguration named ``webhook_managed``, each with an entry per handler of its kind.

Written by server-side apply under opframe's field manager: the entries of other managers in the same
configuration stay (kopf's merge patch of the whole list wipes them). ``entries()`` is pure; ``apply()``
and ``withdraw()`` talk to the API server.

An entry is kopf's (name ``<segment>.<managed>``, rules per resolved resource, operations or ``*``,
``objectSelector`` from plain label filters, ``failurePolicy`` from ``ignore_failures``,
``sideEffects`` from ``side_effects``, ``timeoutSeconds`` 30, review versions v1 and v1beta1), with
what opframe adds: the handler's ``timeout``, ``namespace_selector``, ``match_conditions``,
``match_policy`` and ``reinvocation_policy``; by default the namespaces the operator serves when -n
names them, else all but the operator's own, so that a broken webhook cannot lock the operator out of
its own objects (its Lease, its Secrets); and
``subresource="*"`` registered for the main resource and its subresources, as it is served.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opframe.handlers.filters import ABSENT, PRESENT
from opframe.handlers.handler import Handler, Kind, Webhook
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource

#: opframe's field manager for the configurations (server-side apply).
FIELD_MANAGER = "opframe"
#: kopf's timeoutSeconds for every entry (the API server's own default is 10 s).
KOPF_TIMEOUT_SECONDS = 30
VALIDATING = Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
                      "ValidatingWebhookConfiguration", namespaced=False)
MUTATING = Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
                    "MutatingWebhookConfiguration", namespaced=False)
CONFIGURATIONS = {Kind.VALIDATE: VALIDATING, Kind.MUTATE: MUTATING}
#: The label every namespace carries with its own name (since Kubernetes 1.21).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class ConfigurationError(Exception):
    """A configuration the API server would refuse; the message names the handler and the fix."""


def entry_name(segment: str, managed: str) -> str:
    return f"{segment}.{managed}"


def entries(kind: Kind, handlers: Sequence[tuple[Handler, Resource]], *, managed: str,
            client_config: Callable[[Handler], dict[str, Any]], own_namespace: str | None = None,
            served_namespaces: Sequence[str] = (), segment: Callable[[str], str]) -> list[dict[str, Any]]:
    """The webhooks of the configuration of ``kind`` (VALIDATE or MUTATE), one per handler, in
    registration order (a handler id with two resources is one entry with two rules).

    The namespaces a webhook applies to, unless the handler says (``namespace_selector``): those the
    operator serves when they are named (``-n a -n b``), else every one but the operator's own."""
    by_id: dict[str, list[tuple[Handler, Resource]]] = {}
    for handler, resource in handlers:
        if handler.kind is kind and not (handler.webhook is not None and handler.webhook.is_policy):
            by_id.setdefault(handler.id, []).append((handler, resource))  # cel= ones are policies (policies.py)
    result = []
    for handler_id, pairs in by_id.items():
        handler = pairs[0][0]
        options = handler.webhook or Webhook()
        name = entry_name(segment(handler_id), managed)
        if len([part for part in name.split(".") if part]) < 3:
            raise ConfigurationError(f"the webhook name {name!r} needs at least three dot-separated parts; give "
                                     "webhook_managed (settings.admission.managed) a name with a dot, such as "
                                     "'auto.example.com'")
        webhook: dict[str, Any] = {
            "name": name,
            "sideEffects": "NoneOnDryRun" if options.side_effects else "None",
            "failurePolicy": "Ignore" if options.ignore_failures else "Fail",
            "matchPolicy": options.match_policy or "Equivalent",
            "rules": [rule for _, resource in pairs for rule in _rules(options, resource)],
            "clientConfig": client_config(handler),
            "timeoutSeconds": options.timeout or KOPF_TIMEOUT_SECONDS,
            "admissionReviewVersions": ["v1", "v1beta1"],
        }
        selector = object_selector(handler)
        if selector is not None:
            webhook["objectSelector"] = selector
        namespaces = namespace_selector(options, own_namespace=own_namespace, served_namespaces=served_namespaces)
        if namespaces is not None:
            webhook["namespaceSelector"] = namespaces
        if options.match_conditions:
            webhook["matchConditions"] = [dict(condition) for condition in options.match_conditions]
        if kind is Kind.MUTATE and options.reinvocation_policy:
            webhook["reinvocationPolicy"] = options.reinvocation_policy
        result.append(webhook)
    return result


def namespace_selector(options: Webhook, *, own_namespace: str | None,
                       served_namespaces: Sequence[str]) -> dict[str, Any] | None:
    """The handler's ``namespace_selector``, else the namespaces served by name, else all but the operator's
    own (None: every namespace)."""
    if options.namespace_selector is not None:
        return dict(options.namespace_selector)
    if served_namespaces:
        return {"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(served_namespaces)}]}
    if own_namespace:
        return {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": [own_namespace]}]}
    return None


#: The label of the reachability probe's ConfigMaps (its value: the configuration's name); only the probe
#: entry matches it, and only in the operator's own namespace.
PROBE_LABEL = "opframe.dev/webhook-probe"
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


def probe_label(managed: str) -> str:
    """The probe label's value for the configuration ``managed``: its name, or (a label value holds 63
    characters at most) a digest of it."""
    return managed if len(managed) <= 63 else "sha256-" + hashlib.sha256(managed.encode()).hexdigest()[:32]


def probe_entry(managed: str, own_namespace: str, client_config: dict[str, Any]) -> dict[str, Any]:
    """The validating entry the leader's reachability probe goes through: dry-run creates of a ConfigMap
    labelled PROBE_LABEL=<managed> in the operator's namespace, and nothing else."""
    return {
        "name": entry_name("opframe-probe", managed),
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"], "operations": ["CREATE"],
                   "scope": "Namespaced"}],
        "clientConfig": client_config,
        "timeoutSeconds": 5,
        "admissionReviewVersions": ["v1", "v1beta1"],
        "objectSelector": {"matchLabels": {PROBE_LABEL: probe_label(managed)}},
        "namespaceSelector": {"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": [own_namespace]}]},
    }


def _rules(options: Webhook, resource: Resource) -> list[dict[str, Any]]:
    return [resource_rule(options, resource, default_operations=("*",))]


def resource_rule(options: Webhook, resource: Resource, *, default_operations: Sequence[str]) -> dict[str, Any]:
    """The rule of a webhook (or a policy's resourceRule) for ``resource``: its subresource (``"*"``: the
    main resource and every subresource), the handler's operations or ``default_operations``."""
    if options.subresource == "*":
        resources = [resource.plural, f"{resource.plural}/*"]
    elif options.subresource:
        resources = [f"{resource.plural}/{options.subresource}"]
    else:
        resources = [resource.plural]
    return {"apiGroups": [resource.group], "apiVersions": [resource.version], "resources": resources,
            "operations": sorted(options.operations) if options.operations else list(default_operations),
            "scope": "Namespaced" if resource.namespaced else "Cluster"}


def object_selector(handler: Handler) -> dict[str, Any] | None:
    """kopf's objectSelector from the label filters: PRESENT Exists, ABSENT DoesNotExist, a value In;
    callables are left to the handler's own filtering."""
    expressions: list[dict[str, Any]] = []
    for key, value in (handler.labels or {}).items():
        if value is PRESENT:
            expressions.append({"key": key, "operator": "Exists"})
        elif value is ABSENT:
            expressions.append({"key": key, "operator": "DoesNotExist"})
        elif not callable(value):
            expressions.append({"key": key, "operator": "In", "values": [str(value)]})
    return {"matchExpressions": expressions} if expressions else None


def client_config(url: str, ca_bundle: bytes) -> dict[str, Any]:
    return {"url": url, "caBundle": base64.b64encode(ca_bundle).decode()}


def service_client_config(namespace: str, name: str, port: int, path: str, ca_bundle: bytes) -> dict[str, Any]:
    """A clientConfig naming a Service (the API server resolves it, and checks the certificate against
    ``<name>.<namespace>.svc``)."""
    return {"service": {"namespace": namespace, "name": name, "path": path or "/", "port": port},
            "caBundle": base64.b64encode(ca_bundle).decode()}


def apply(client: KubeClient, kind: Kind, name: str, webhooks: list[dict[str, Any]],
          owner: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Server-side apply of opframe's entries in the configuration ``name`` (created if absent), owned
    by ``owner`` (an ownerReference) when given: deleted by the garbage collector with it."""
    resource = CONFIGURATIONS[kind]
    metadata: dict[str, Any] = {"name": name}
    if owner is not None:
        metadata["ownerReferences"] = [dict(owner)]
    body = {"apiVersion": f"{resource.group}/{resource.version}", "kind": resource.kind,
            "metadata": metadata, "webhooks": webhooks}
    return client.patch(resource, name, body, patch_type="apply", field_manager=FIELD_MANAGER, force=True)


def withdraw(client: KubeClient, kind: Kind, name: str, webhooks: list[dict[str, Any]],
             handlers: Mapping[str, Handler], segment: Callable[[str], str], managed: str,
             owner: Mapping[str, Any] | None = None) -> None:
    """At a graceful exit: keep only the persistent handlers' entries of opframe's (others' stay)."""
    kept = [webhook for webhook in webhooks
            if any(entry_name(segment(handler_id), managed) == webhook["name"] and handler.webhook is not None
                   and handler.webhook.persistent for handler_id, handler in handlers.items())]
    apply(client, kind, name, kept, owner)


CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)


def set_conversion(client: KubeClient, crd: str, client_config: Mapping[str, Any]) -> None:
    """The CRD ``crd`` converts its versions through the webhook at ``client_config`` (a merge patch of
    its spec.conversion: the rest of the CRD, written by whoever installed it, stays)."""
    other = "service" if "url" in client_config else "url"  # a merge patch would keep a stale one
    client.patch(CRDS, crd, {"spec": {"conversion": {"strategy": "Webhook", "webhook": {
        "clientConfig": {**client_config, other: None}, "conversionReviewVersions": ["v1"]}}}})


CLUSTER_ROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False)


def owner_reference(client: KubeClient, cluster_role: str) -> dict[str, Any]:
    """The ownerReference of the ClusterRole ``cluster_role`` (the chart's): what it owns (the
    configurations, the CA Secret) goes with it at ``helm uninstall``, even though the operator's exit
    under leader election leaves them in place for the other replicas."""
    found = client.get(CLUSTER_ROLES, cluster_role)
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": cluster_role,
            "uid": found["metadata"]["uid"]}
