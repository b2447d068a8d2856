"""Start-up checks: everything an operator needs from the cluster, checked before anything is watched.

``prepare()`` loads the configuration, checks that the API server answers and accepts
the credentials, resolves every resource name through discovery, and asks the API
server (SelfSubjectAccessReview) for every verb the handlers need, in the scope the
namespace mode watches: per namespace when the namespaces are named explicitly (one
informer each: a Role per namespace suffices), cluster-wide when they are all, or
globs, or exclusions (one cluster-wide watch, filtered in the operator). It raises one
``StartupError`` whose message names the cause and the fix. What does not stop the start
is logged: a missing ``<plural>/status`` permission (a warning naming the rule), and a
resource named by a kind, singular or short name (what it resolved to).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from opframe.handlers.handler import ADMISSION_KINDS, CHANGE_KINDS, Kind
from opframe.handlers.registry import Registry
from opframe.kube import errors
from opframe.kube.client import ClientSettings, KubeClient
from opframe.kube.config import ConfigurationError, load_configuration, publish_default
from opframe.kube.credentials import ConnectionInfo, Credentials, from_configuration
from opframe.kube.discovery import AmbiguousResourceError, Discovery, ResourceNotFoundError
from opframe.kube.resources import Resource
from opframe.settings import NamespaceSelector, Settings

#: How long start-up waits for the API server to answer before calling it unreachable.
REACHABILITY_BUDGET = 5.0
SELF_SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                       namespaced=False)

logger = logging.getLogger("opframe.startup")
#: Handler kinds that write to the objects they handle (progress, results, patches).
WRITING_KINDS = CHANGE_KINDS | {Kind.TIMER, Kind.DAEMON}




class StartupError(Exception):
    """The operator cannot start; the message names the cause and the fix."""


@dataclasses.dataclass
class Prepared:
    client: KubeClient
    resources: dict[tuple[str, ...], Resource]


def prepare(settings: Settings, registry: Registry, namespaces: NamespaceSelector, *,
            login: Callable[[], ConnectionInfo] | None = None) -> Prepared:
    """Check the handlers, the cluster, the resources and RBAC. ``login`` (the on.login handlers)
    replaces the kubeconfig search; either is done again when the API server rejects the credentials
    (kube.credentials.Credentials), as kopf re-authenticates."""
    if not registry.resources() and not registry.handlers(Kind.STARTUP):
        raise StartupError("no handlers are registered; decorate functions with @opframe.on.create(...), "
                           "@opframe.on.update(...) and the like in the operator file")
    def search() -> ConnectionInfo:
        return from_configuration(load_configuration(settings.kubeconfig, context=settings.context))

    try:
        info = login() if login is not None else search()
    except ConfigurationError as exc:
        raise StartupError(str(exc)) from None
    credentials = Credentials(info, login or search, renewed=publish_default)
    configuration = credentials.configuration
    if not namespaces.all_namespaces and not namespaces.include:
        namespaces.include = [(info.default_namespace if login is not None else None)
                              or kubeconfig_namespace(settings) or "default"]
    client = KubeClient(configuration, ClientSettings(qps=settings.qps, burst=settings.burst),
                        credentials=credentials)
    probe = KubeClient(configuration, ClientSettings(retry_budget=REACHABILITY_BUDGET))
    try:
        probe.request("GET", "/version")
    except errors.TransportError as exc:
        client.close()
        raise StartupError(f"cannot reach the API server at {configuration.host} ({first_line(exc)}); check "
                           "that the cluster is running and that the kubeconfig points at it") from None
    except errors.Unauthorized:
        client.close()
        raise StartupError(f"the API server at {configuration.host} rejected the credentials (401); renew "
                           "the token or certificate in the kubeconfig") from None
    except errors.ApiError:
        pass  # /version may be forbidden; discovery below tells more
    finally:
        probe.close()
    discovery = Discovery(client)
    resources: dict[tuple[str, ...], Resource] = {}
    for spec in registry.resources():
        users = ", ".join(sorted({h.id for h in registry.handlers() if h.resource == spec}))
        try:
            resources[spec] = resolved = discovery.resolve(*spec)
            if not named_plainly(spec[-1], resolved):  # a kind, a singular, a short name: say what it is
                logger.info("resource %r (used by %s) is %s, version %s (kind %s)", "/".join(spec), users,
                            resolved.qualified_name, resolved.version, resolved.kind)
        except (ResourceNotFoundError, AmbiguousResourceError) as exc:
            client.close()
            raise StartupError(f"{exc} (used by {users})") from None
        except errors.Forbidden as exc:
            client.close()
            raise StartupError(f"discovery is forbidden ({exc.message}); grant the operator's account "
                               "the system:discovery ClusterRole") from None
    missing = missing_grants(client, registry, resources, namespaces)
    if missing:
        client.close()
        how = (f"a Role and RoleBinding in each of {', '.join(namespaces.explicit)} (namespaces named explicitly "
               "are watched one by one)" if namespaces.explicit else "a ClusterRole and ClusterRoleBinding (all "
               "namespaces, globs and exclusions are served through one cluster-wide watch)")
        raise StartupError(f"RBAC forbids the operator to {'; '.join(missing)}; grant these verbs to its account "
                           f"with {how}")
    for resource, where in missing_status_grants(client, registry, resources, namespaces):
        logger.warning(
            "RBAC forbids the operator to patch %s/status %s: the handlers' results cannot be written to the "
            "objects' status, and are dropped (not written later); add the rule {apiGroups: [%s], resources: "
            "[%s/status], verbs: [patch]} to the operator's Role or ClusterRole", resource.plural, where,
            f'"{resource.group}"', resource.plural)
    # kopf's default login configures the official clients as a side effect, and many handlers rely on
    # it; done last, so that a failed start-up changes nothing in the process.
    publish_default(configuration, kubeconfig=None if login is not None else settings.kubeconfig,
                    context=None if login is not None else settings.context)
    return Prepared(client, resources)


def named_plainly(name: str, resource: Resource) -> bool:
    """Whether ``name`` is the resource's plural, alone or with its group (or version and group), so
    that what it resolved to needs no saying."""
    return name in (resource.plural, resource.qualified_name, f"{resource.plural}.{resource.version}.{resource.group}")


def missing_grants(client: KubeClient, registry: Registry, resources: dict[tuple[str, ...], Resource],
                   namespaces: NamespaceSelector) -> list[str]:
    """Every (verb, resource, scope) the handlers need and the API server does not allow."""
    missing: list[str] = []
    for spec, resource in resources.items():
        kinds = {h.kind for h in registry.handlers() if h.resource == spec} - ADMISSION_KINDS
        if not kinds:
            continue  # admission handlers only: the API server calls them, nothing is watched
        verbs = ["list", "watch"]
        if kinds & WRITING_KINDS:
            verbs.append("patch")
        for namespace in namespaces.scopes(resource.namespaced):
            for verb in verbs:
                if not allowed(client, resource, verb, namespace):
                    where = f"in namespace {namespace}" if namespace else "cluster-wide"
                    missing.append(f"{verb} {resource.qualified_name} {where}")
    return missing


def missing_status_grants(client: KubeClient, registry: Registry, resources: dict[tuple[str, ...], Resource],
                          namespaces: NamespaceSelector) -> list[tuple[Resource, str]]:
    """The kinds with a status subresource whose handlers write to objects (results go to status)
    and whose ``<plural>/status`` RBAC does not let the operator patch: (resource, where)."""
    missing: list[tuple[Resource, str]] = []
    for spec, resource in resources.items():
        kinds = {h.kind for h in registry.handlers() if h.resource == spec}
        if "status" not in resource.subresources or not kinds & WRITING_KINDS:
            continue
        for namespace in namespaces.scopes(resource.namespaced):
            if not allowed(client, resource, "patch", namespace, subresource="status"):
                missing.append((resource, f"in namespace {namespace}" if namespace else "cluster-wide"))
    return missing


def allowed(client: KubeClient, resource: Resource, verb: str, namespace: str | None,
            subresource: str | None = None) -> bool:
    attributes: dict[str, Any] = {"verb": verb, "group": resource.group, "resource": resource.plural}
    if subresource:
        attributes["subresource"] = subresource
    if namespace:
        attributes["namespace"] = namespace
    review = client.create(SELF_SUBJECT_ACCESS_REVIEWS, {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes}})
    return bool((review.get("status") or {}).get("allowed"))


def kubeconfig_namespace(settings: Settings) -> str | None:
    try:
        from kubernetes import config

        _, active = config.list_kube_config_contexts(config_file=settings.kubeconfig)  # type: ignore[no-untyped-call]
        if settings.context:
            contexts, _ = config.list_kube_config_contexts(config_file=settings.kubeconfig)  # type: ignore[no-untyped-call]
            active = next((c for c in contexts if c["name"] == settings.context), active)
        namespace = (active or {}).get("context", {}).get("namespace")
        return str(namespace) if namespace else None
    except Exception:
        return None


def service_account_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as namespace_file:
            return namespace_file.read().strip() or None
    except OSError:
        return None


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
