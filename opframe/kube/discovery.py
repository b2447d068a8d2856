"""Discovery: which resources the API server serves, and resolving names people write.

Uses aggregated discovery (apidiscovery.k8s.io/v2: two requests, /api and /apis, for
the whole server) and falls back to the per-group-version documents on older servers.

A name resolves as kubectl resolves it: plural, singular, kind (any case), short
name, "plural.group", "plural.version.group", or a (group, version, plural) triple.
Invariants:

* the preferred version of a group is used unless a version is named;
* a name matching resources in several groups is ambiguous, unless exactly one of
  them is in the core group (kubectl's preference, so "events" is core/v1 Events);
* an unknown name refreshes the cache once (a CRD may be new) before it is an error;
* errors list the candidates, or the nearest known names.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from typing import Any

from opframe.kube import errors
from opframe.kube.client import KubeClient
from opframe.kube.resources import Resource

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


class ResourceNotFoundError(errors.KubeError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else (
            "; is its CustomResourceDefinition installed? (kubectl api-resources lists what is served)")
        super().__init__(f"unknown resource {name!r}{hint}")


class AmbiguousResourceError(errors.KubeError):
    def __init__(self, name: str, candidates: list[Resource]) -> None:
        self.name = name
        self.candidates = candidates
        listed = ", ".join(sorted(c.qualified_name for c in candidates))
        super().__init__(f"resource name {name!r} is ambiguous: it matches {listed}; "
                         "name it as plural.group")


class Discovery:
    """A cached view of the server's resources. Thread-safe."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._resources: list[Resource] | None = None
        self._preferred: dict[str, str] = {}

    def resources(self, *, refresh: bool = False) -> list[Resource]:
        """Every (group, version, plural) served, preferred versions first within a group."""
        with self._lock:
            if self._resources is None or refresh:
                self._resources, self._preferred = self._fetch()
            return list(self._resources)

    def resolve(self, *spec: str) -> Resource:
        """A Resource from a name, ``(group_or_apiversion, plural)`` or ``(group, version, plural)``."""
        names = spec[1:] if len(spec) == 3 else spec  # in (group, version, plural) the core group is ""
        if not spec or len(spec) > 3 or not all(isinstance(part, str) for part in spec) or not all(names):
            raise ValueError(f"a resource is named by 1 to 3 strings (only a group may be empty), got {spec!r}")
        for refresh in (False, True):
            found = self._match(spec, self.resources(refresh=refresh))
            if found:
                return self._choose(spec, found)
        raise ResourceNotFoundError("/".join(spec), self._suggest(spec[-1]))

    # -- matching -------------------------------------------------------------------------

    def _match(self, spec: tuple[str, ...], resources: list[Resource]) -> list[Resource]:
        if len(spec) == 3:
            group, version, name = spec
            return [r for r in resources if r.group == group and r.version == version and _names(r, name)]
        if len(spec) == 2:
            group_or_api_version, name = spec
            if "/" in group_or_api_version:
                group, version = group_or_api_version.rsplit("/", 1)
                return [r for r in resources if r.group == group and r.version == version and _names(r, name)]
            return self._preferred_only(
                [r for r in resources if r.group == group_or_api_version and _names(r, name)])
        (name,) = spec
        if "." in name:
            plural, _, rest = name.partition(".")
            with_version = [r for r in resources
                            if f"{r.version}.{r.group}" == rest and _names(r, plural)]
            if with_version:
                return with_version
            in_group = self._preferred_only([r for r in resources if r.group == rest and _names(r, plural)])
            if in_group:
                return in_group
        return self._preferred_only([r for r in resources if _names(r, name)])

    def _preferred_only(self, resources: Iterable[Resource]) -> list[Resource]:
        """Per group, the preferred version if it has the resource, else the first version that has it."""
        by_group: dict[str, list[Resource]] = {}
        for resource in resources:
            by_group.setdefault(resource.group, []).append(resource)
        chosen = []
        for group, candidates in by_group.items():
            preferred = [r for r in candidates if r.version == self._preferred.get(group)]
            chosen.append(preferred[0] if preferred else candidates[0])
        return chosen

    def _choose(self, spec: tuple[str, ...], found: list[Resource]) -> Resource:
        if len(found) == 1:
            return found[0]
        core = [r for r in found if r.group == ""]
        if len(core) == 1:
            return core[0]
        raise AmbiguousResourceError("/".join(spec), found)

    def _suggest(self, name: str) -> list[str]:
        known: dict[str, str] = {}
        for resource in self.resources():
            for alias in (resource.plural, resource.singular, resource.kind.lower(), *resource.short_names):
                if alias:
                    known.setdefault(alias, resource.qualified_name)
        base = name.split(".", maxsplit=1)[0].lower()
        close = difflib.get_close_matches(base, list(known), n=3, cutoff=0.7)
        return sorted({known[alias] for alias in close})

    # -- fetching -------------------------------------------------------------------------

    def _fetch(self) -> tuple[list[Resource], dict[str, str]]:
        resources: list[Resource] = []
        preferred: dict[str, str] = {}
        for path in ("/api", "/apis"):
            document = self._client.request("GET", path, accept=AGGREGATED_ACCEPT)
            if document.get("kind") == "APIGroupDiscoveryList":
                for group in document.get("items") or []:
                    name = (group.get("metadata") or {}).get("name", "")
                    versions = group.get("versions") or []
                    if versions:
                        preferred[name] = versions[0]["version"]
                    for version in versions:
                        resources.extend(_from_aggregated(name, version))
            else:
                resources.extend(self._fetch_legacy(path, document, preferred))
        return resources, preferred

    def _fetch_legacy(self, path: str, document: dict[str, Any], preferred: dict[str, str]) -> list[Resource]:
        resources: list[Resource] = []
        if path == "/api":
            group_versions = [("", v) for v in document.get("versions") or []]
            preferred[""] = group_versions[0][1] if group_versions else "v1"
        else:
            group_versions = []
            for group in document.get("groups") or []:
                preferred[group["name"]] = group["preferredVersion"]["version"]
                group_versions.extend((group["name"], v["version"]) for v in group.get("versions") or [])
        for group, version in group_versions:
            listing = self._client.request("GET", Resource(group, version, "").path().rsplit("/", 1)[0])
            entries = listing.get("resources") or []
            subresources: dict[str, list[str]] = {}
            for entry in entries:
                if "/" in entry["name"]:
                    parent, sub = entry["name"].split("/", 1)
                    subresources.setdefault(parent, []).append(sub)
            for entry in entries:
                if "/" in entry["name"]:
                    continue
                resources.append(Resource(
                    group=group, version=version, plural=entry["name"], kind=entry.get("kind", ""),
                    namespaced=bool(entry.get("namespaced")), singular=entry.get("singularName") or "",
                    short_names=tuple(entry.get("shortNames") or ()), verbs=tuple(entry.get("verbs") or ()),
                    subresources=tuple(subresources.get(entry["name"], ())),
                ))
        return resources


def _from_aggregated(group: str, version: dict[str, Any]) -> list[Resource]:
    return [
        Resource(
            group=group, version=version["version"], plural=entry["resource"],
            kind=(entry.get("responseKind") or {}).get("kind", ""),
            namespaced=entry.get("scope") == "Namespaced",
            singular=entry.get("singularResource") or "",
            short_names=tuple(entry.get("shortNames") or ()),
            verbs=tuple(entry.get("verbs") or ()),
            subresources=tuple(s["subresource"] for s in entry.get("subresources") or ()),
        )
        for entry in version.get("resources") or []
    ]


def _names(resource: Resource, name: str) -> bool:
    lowered = name.lower()
    return (lowered in (resource.plural, resource.singular, resource.kind.lower())
            or name in resource.short_names)
