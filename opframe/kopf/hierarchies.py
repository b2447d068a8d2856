"""Kopf's hierarchy helpers: owner references, labels, names and namespaces of children.

``adopt()`` and its parts make freshly built children look like they belong to their
parent before they are created: owned by it, named after it, in its namespace, with
its labels. The behaviour is kopf 1.45.2's (``kopf._kits.hierarchies``); the code is
opframe's own.

Invariants:

* The helpers change the given objects in place and return None. Nothing is sent to
  the API: the children are not the object being handled, so no patch is involved.
* ``objs`` is one object or an iterable of them, nested to any depth; None is skipped.
  A mapping is one object, never iterated. A pykube-ng object is changed through its
  ``.obj`` dict; a ``kubernetes``/``kubernetes_asyncio`` model through its ``.metadata``
  (a ``V1ObjectMeta`` of the same client is created when it is None). Anything else
  (strings included) raises ``TypeError("K8s object class is not supported: ...")``.
  Objects are changed one by one, so those before a bad one are already changed.
  Neither client library is imported unless one of its models is being changed.
* Owner references are identified by uid alone: appending is a no-op when a reference
  with the owner's uid is already there; removing drops every reference with that uid.
  Both leave an (empty) ``ownerReferences`` list behind.
* Without ``forced=True`` nothing present is overwritten: existing labels, names
  (either ``name`` or ``generateName``) and namespaces stay. ``forced=True`` overwrites.
* Naming: ``strict=True`` sets ``metadata.name`` to the name and drops ``generateName``;
  otherwise ``generateName`` becomes ``"<name>-"`` and ``name`` is dropped.
* An omitted owner (or labels/name/namespace) comes from ``current_owner``: the body
  of the handler being run, which the runtime sets around each handler call. With
  neither, ``LookupError``. An explicit ``namespace=None`` is a value (cluster-scoped
  owner) and is written as such; an explicit ``name=None`` raises ``LookupError``.
* ``build_owner_reference`` leaves out the None fields, ``build_object_reference``
  the empty ones (a cluster-scoped object's reference has no namespace).
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import warnings
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Protocol, TypeAlias, cast

from opframe.handlers.owners import current_owner
from opframe.objects.bodies import FieldPath, FieldSpec, ObjectReference, OwnerReference

__all__ = [
    "K8sObject",
    "K8sObjects",
    "adjust_namespace",
    "adopt",
    "append_owner_reference",
    "build_object_reference",
    "build_owner_reference",
    "current_owner",
    "harmonize_naming",
    "label",
    "owner_or_current",
    "remove_owner_reference",
]


class PykubeObject(Protocol):
    """A pykube-ng ``APIObject`` as far as these helpers care: its raw dict is ``.obj``."""

    @property
    def obj(self) -> MutableMapping[Any, Any]: ...


class KubernetesModel(Protocol):
    """A generated model of the ``kubernetes``/``kubernetes_asyncio`` clients (``V1Pod``...)."""

    metadata: Any


K8sObject: TypeAlias = MutableMapping[Any, Any] | PykubeObject | KubernetesModel
K8sObjects: TypeAlias = K8sObject | Iterable[K8sObject] | Iterable[K8sObject | Iterable[K8sObject]]


class _Unset(enum.Enum):
    """'Not passed', where None is a meaningful value (e.g. the namespace of a cluster-scoped owner)."""

    TOKEN = enum.auto()


_UNSET = _Unset.TOKEN
_CLIENT_PACKAGES = ("kubernetes", "kubernetes_asyncio")


def owner_or_current(
    owner: Mapping[str, Any] | None,
    *,
    what: str = "adopt() without owner=",
    fix: str = "pass owner=body",
) -> Mapping[str, Any]:
    """The owner given, else the body of the handler being run; LookupError outside of handlers."""
    if owner is not None:
        return owner
    current = current_owner.get()
    if current is not None:
        return current
    raise LookupError(
        f"Owner must be set explicitly, since running outside of a handler: "
        f"{what} works only inside a handler; {fix}"
    )


# -- References --------------------------------------------------------------------------


def build_object_reference(body: Mapping[str, Any]) -> ObjectReference:
    """The reference to an object as events' ``involvedObject`` want it; empty fields left out."""
    meta = body.get("metadata", {})
    fields = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "namespace": meta.get("namespace"),
    }
    return cast(ObjectReference, {key: value for key, value in fields.items() if value})


def build_owner_reference(
    body: Mapping[str, Any],
    *,
    controller: bool | None = True,
    block_owner_deletion: bool | None = True,
) -> OwnerReference:
    """The owner reference that makes the children of ``body`` garbage-collected with it.

    Fields that are None are left out (e.g. ``controller=None``, or an owner without a uid).
    """
    meta = body.get("metadata", {})
    fields = {
        "controller": controller,
        "blockOwnerDeletion": block_owner_deletion,
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
    }
    return cast(OwnerReference, {key: value for key, value in fields.items() if value is not None})


# -- Walking over the objects ------------------------------------------------------------


def _client_package(obj: object) -> str | None:
    """The client library whose generated model ``obj`` is, or None for anything else."""
    for cls in type(obj).__mro__:
        for package in _CLIENT_PACKAGES:
            if cls.__module__.startswith(f"{package}.client.models."):
                return package
    return None


def _client_class(model: object, name: str) -> Any:
    """A model class (``V1ObjectMeta``, ``V1OwnerReference``) of the same client as ``model``."""
    return getattr(importlib.import_module(f"{_client_package(model)}.client"), name)


def _pykube_dict(obj: object) -> MutableMapping[Any, Any] | None:
    """The raw dict of a pykube-ng object (anything else with a dict in ``.obj``), else None."""
    if isinstance(obj, Mapping) or _client_package(obj) is not None:
        return None
    raw = getattr(obj, "obj", None)
    return raw if isinstance(raw, MutableMapping) else None


def _parse_field(field: FieldSpec) -> FieldPath:
    if field is None:
        return ()
    if isinstance(field, str):
        return tuple(field.split("."))
    if isinstance(field, list | tuple):
        return tuple(field)
    raise ValueError(f"Field must be either a str, or a list/tuple. Got {field!r}")


def _resolve_keys(root: Mapping[Any, Any], path: FieldPath) -> Any:
    """A sub-field of a dict; KeyError if absent, TypeError if a non-dict is in the way."""
    value: Any = root
    for key in path:
        if not isinstance(value, Mapping):
            raise TypeError(f"The structure is not a dict with field {key!r}: {value!r}")
        value = value[key]
    return value


def _resolve_attrs(root: object, path: FieldPath) -> Any:
    """A sub-field of a model: by attribute, by the API's camelCase name, or by dict key."""
    value: Any = root
    for key in path:
        if isinstance(value, Mapping):
            value = value[key]
        elif _client_package(value) is not None:
            attribute_map: Mapping[str, str] = getattr(value, "attribute_map", {})
            attrs = [attr for attr, api_name in attribute_map.items() if api_name == key]
            value = getattr(value, attrs[0] if attrs else key)
        elif isinstance(value, tuple | list | set | frozenset | str | bytes):
            raise TypeError(f"The structure has no field {key!r}: {value!r}")
        else:
            value = getattr(value, key)
    return value


def _walk(objs: object, nested: tuple[FieldPath, ...] = ()) -> Iterator[object]:
    """Every object in ``objs`` (flattened), each followed by its existing ``nested`` sub-objects.

    Pykube objects come out as their raw dicts; unsupported things come out as they are,
    for the caller to reject.
    """
    if objs is None:
        return
    raw = _pykube_dict(objs)
    if raw is not None:
        yield from _walk(raw, nested)
    elif _client_package(objs) is not None:
        yield objs
        for path in nested:
            with contextlib.suppress(AttributeError, KeyError):  # the model has no such sub-object
                yield _resolve_attrs(objs, path)
    elif isinstance(objs, Mapping):
        yield objs
        for path in nested:
            with contextlib.suppress(KeyError):  # the dict has no such sub-object
                yield _resolve_keys(objs, path)
    elif isinstance(objs, Iterable) and not isinstance(objs, str | bytes):
        for obj in objs:
            yield from _walk(obj, nested)
    else:
        yield objs


def _unsupported(obj: object) -> TypeError:
    return TypeError(f"K8s object class is not supported: {type(obj)}")


def _model_metadata(model: Any) -> Any:
    """The model's ``.metadata``, created empty if it is None."""
    if model.metadata is None:
        model.metadata = _client_class(model, "V1ObjectMeta")()
    return model.metadata


# -- The helpers -------------------------------------------------------------------------


def append_owner_reference(
    objs: K8sObjects,
    owner: Mapping[str, Any] | None = None,
    *,
    controller: bool | None = True,
    block_owner_deletion: bool | None = True,
) -> None:
    """Add the owner's reference to the objects unless one with its uid is already there."""
    real_owner = owner_or_current(owner, what="append_owner_reference() without owner=")
    ref = build_owner_reference(real_owner, controller=controller, block_owner_deletion=block_owner_deletion)
    for obj in _walk(objs):
        if isinstance(obj, MutableMapping):
            refs = obj.setdefault("metadata", {}).setdefault("ownerReferences", [])
            if not any(existing.get("uid") == ref["uid"] for existing in refs):
                refs.append(dict(ref))
        elif _client_package(obj) is not None:
            meta = _model_metadata(obj)
            if meta.owner_references is None:
                meta.owner_references = []
            if not any(existing.uid == ref["uid"] for existing in meta.owner_references):
                meta.owner_references.append(_client_class(obj, "V1OwnerReference")(
                    api_version=ref.get("apiVersion"),
                    kind=ref.get("kind"),
                    name=ref.get("name"),
                    uid=ref.get("uid"),
                    controller=ref.get("controller"),
                    block_owner_deletion=ref.get("blockOwnerDeletion"),
                ))
        else:
            raise _unsupported(obj)


def remove_owner_reference(
    objs: K8sObjects,
    owner: Mapping[str, Any] | None = None,
) -> None:
    """Drop every reference with the owner's uid from the objects."""
    real_owner = owner_or_current(owner, what="remove_owner_reference() without owner=")
    ref = build_owner_reference(real_owner)
    for obj in _walk(objs):
        if isinstance(obj, MutableMapping):
            refs = obj.setdefault("metadata", {}).setdefault("ownerReferences", [])
            if any(existing.get("uid") == ref["uid"] for existing in refs):
                refs[:] = [existing for existing in refs if existing.get("uid") != ref["uid"]]
        elif _client_package(obj) is not None:
            meta = _model_metadata(obj)
            if meta.owner_references is None:
                meta.owner_references = []
            if any(existing.uid == ref["uid"] for existing in meta.owner_references):
                meta.owner_references[:] = [existing for existing in meta.owner_references
                                            if existing.uid != ref["uid"]]
        else:
            raise _unsupported(obj)


def label(
    objs: K8sObjects,
    labels: Mapping[str, str | None] | _Unset = _UNSET,
    *,
    forced: bool = False,
    nested: str | Iterable[FieldSpec] | None = None,
    force: bool | None = None,
) -> None:
    """Put the labels (by default: the owner's) on the objects and on their ``nested`` sub-objects.

    ``nested`` names sub-objects such as ``"spec.template"`` (a pod template) or
    ``"spec.jobTemplate"``; those absent are skipped. ``force=`` is kopf's deprecated
    spelling of ``forced=``.
    """
    fields = [nested] if isinstance(nested, str) else nested
    paths = tuple(_parse_field(field) for field in fields) if fields is not None else ()
    if force is not None:
        warnings.warn("force= is deprecated in kopf.label(); use forced=...", DeprecationWarning, stacklevel=2)
        forced = force
    if isinstance(labels, _Unset):
        owner = owner_or_current(None, what="label() without labels=", fix="pass labels={...}")
        real_labels: Mapping[str, str | None] = owner.get("metadata", {}).get("labels", {})
    else:
        real_labels = labels

    for obj in _walk(objs, paths):
        obj_labels: MutableMapping[str, str | None]
        if isinstance(obj, MutableMapping):
            obj_labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        elif _client_package(obj) is not None:
            meta = _model_metadata(obj)
            if meta.labels is None:
                meta.labels = {}
            obj_labels = meta.labels
        else:
            raise _unsupported(obj)

        for key, value in real_labels.items():
            if forced:
                obj_labels[key] = value
            else:
                obj_labels.setdefault(key, value)


def harmonize_naming(
    objs: K8sObjects,
    name: str | _Unset | None = _UNSET,
    *,
    forced: bool = False,
    strict: bool = False,
) -> None:
    """Name the objects after ``name`` (by default: the owner's name).

    Non-strict (the default): ``generateName: <name>-``, so Kubernetes adds a random
    suffix and the actual name comes from the API's response. Strict: ``name: <name>``
    as is, for children referred to by that name. Objects with a name or generateName
    of their own keep it unless ``forced``.
    """
    if isinstance(name, _Unset):
        owner = owner_or_current(None, what="harmonize_naming() without name=", fix="pass name=...")
        name = owner.get("metadata", {}).get("name", None)
    if name is None:
        raise LookupError("Name must be set explicitly: couldn't find it automatically.")

    for obj in _walk(objs):
        if isinstance(obj, MutableMapping):
            unnamed = "metadata" not in obj or not set(obj["metadata"]) & {"name", "generateName"}
            if forced or unnamed:
                meta = obj.setdefault("metadata", {})
                if strict:
                    meta["name"] = name
                    meta.pop("generateName", None)
                else:
                    meta["generateName"] = f"{name}-"
                    meta.pop("name", None)
        elif _client_package(obj) is not None:
            model_meta = _model_metadata(obj)
            if forced or (model_meta.name is None and model_meta.generate_name is None):
                if strict:
                    model_meta.name = name
                    model_meta.generate_name = None
                else:
                    model_meta.generate_name = f"{name}-"
                    model_meta.name = None
        else:
            raise _unsupported(obj)


def adjust_namespace(
    objs: K8sObjects,
    namespace: str | _Unset | None = _UNSET,
    *,
    forced: bool = False,
) -> None:
    """Put the objects into ``namespace`` (by default: the owner's) unless they have one.

    None is a valid namespace: a cluster-scoped owner's children get ``namespace: None``.
    """
    if isinstance(namespace, _Unset):
        owner = owner_or_current(None, what="adjust_namespace() without namespace=", fix="pass namespace=...")
        namespace = owner.get("metadata", {}).get("namespace", None)

    for obj in _walk(objs):
        if isinstance(obj, MutableMapping):
            if forced or obj.get("metadata", {}).get("namespace") is None:
                obj.setdefault("metadata", {})["namespace"] = namespace
        elif _client_package(obj) is not None:
            meta = _model_metadata(obj)
            if forced or meta.namespace is None:
                meta.namespace = namespace
        else:
            raise _unsupported(obj)


def adopt(
    objs: K8sObjects,
    owner: Mapping[str, Any] | None = None,
    *,
    forced: bool = False,
    strict: bool = False,
    nested: str | Iterable[FieldSpec] | None = None,
) -> None:
    """Make the objects the owner's children: owned by it, named after it, in its namespace, with its labels."""
    real_owner = owner_or_current(owner)
    meta = real_owner.get("metadata", {})
    append_owner_reference(objs, owner=real_owner)
    harmonize_naming(objs, name=meta.get("name", None), forced=forced, strict=strict)
    adjust_namespace(objs, namespace=meta.get("namespace", None), forced=forced)
    label(objs, labels=meta.get("labels", {}), nested=nested, forced=forced)
