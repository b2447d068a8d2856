"""pydantic's JSON schema of a model, translated to the structural OpenAPI v3 schema the API server
accepts in a CustomResourceDefinition. Pure.

Invariants of the result: no ``$ref`` (definitions are inlined; a recursive model cannot be written
and is refused); every node has a ``type``, unless it is ``x-kubernetes-int-or-string`` or
``x-kubernetes-preserve-unknown-fields``; no ``title``, ``examples`` or ``anyOf`` of types.

Translations: ``X | None`` is X with ``nullable: true``; ``int | str`` is
``x-kubernetes-int-or-string``; ``dict[str, X]`` is a map (``additionalProperties: X``); a model with
``extra="allow"`` keeps unknown fields (``x-kubernetes-preserve-unknown-fields``); ``Any`` keeps
anything; a ``Literal`` or an Enum is an ``enum``, a single Literal too; constraints (minimum, maximum,
exclusive bounds, lengths, pattern, multipleOf, item counts, uniqueItems) and descriptions (docstrings,
``Field(description=...)``) are kept; ``x-kubernetes-*`` keys given with ``json_schema_extra`` (CEL
rules as ``x-kubernetes-validations``, list types, map keys) are kept as they are. Any other union is
a SchemaError naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The formats the API server knows (k8s.io/kube-openapi's strfmt registry); others are dropped, as
#: the API server would ignore them.
KNOWN_FORMATS = frozenset({
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4",
    "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password",
    "date", "duration", "datetime", "date-time",
})
#: Keys copied as they are.
KEPT = ("description", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
        "pattern", "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
        "enum", "default")


class SchemaError(ValueError):
    """A model that has no structural schema; the message names the field and why."""


def structural(schema: Mapping[str, Any], *, root: str = "the model") -> dict[str, Any]:
    """The structural schema of pydantic's ``model_json_schema()`` output (mode "validation"); errors
    name the field as ``<root>.<field>...``."""
    definitions = dict(schema.get("$defs") or {})
    return _node(schema, definitions, path=root, seen=())


def _node(node: Mapping[str, Any], definitions: Mapping[str, Any], *, path: str,
          seen: tuple[str, ...]) -> dict[str, Any]:
    where = path
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        if name in seen:
            raise SchemaError(f"{where}: the model {name} contains itself; a CRD's schema cannot be recursive "
                              "(use dict[str, Any] for the nested part)")
        if name not in definitions:
            raise SchemaError(f"{where}: {node['$ref']} is not among the schema's definitions")
        inlined = _node(definitions[name], definitions, path=path, seen=(*seen, name))
        for key in ("description", "default"):  # a field's own description and default win
            if key in node:
                inlined[key] = node[key]
        return inlined
    if "allOf" in node and len(node["allOf"]) == 1:
        return _node({**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}, definitions,
                     path=path, seen=seen)
    for union in ("anyOf", "oneOf"):
        if union in node:
            return _union(node, union, definitions, path=path, seen=seen)
    result: dict[str, Any] = {}
    kind = node.get("type")
    if kind is None and "const" in node:
        kind = _type_of(node["const"])
    if kind is None and "enum" in node:
        kinds = {_type_of(value) for value in node["enum"]}
        kind = kinds.pop() if len(kinds) == 1 else None
    if isinstance(kind, list):
        raise SchemaError(f"{where}: a value of several types ({', '.join(kind)}) has no structural schema")
    if kind is None:
        if node.get("additionalProperties") is False or set(node) - {"description", "default", "title"}:
            raise SchemaError(f"{where}: no type can be told from {dict(node)!r}")
        result["x-kubernetes-preserve-unknown-fields"] = True  # Any
    else:
        result["type"] = kind
    for key in KEPT:
        if key in node and not (key == "default" and node[key] is None):
            result[key] = node[key]
    if "const" in node:
        result["enum"] = [node["const"]]
    if node.get("format") in KNOWN_FORMATS:
        result["format"] = node["format"]
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            result[key] = value
    if kind == "object":
        properties = node.get("properties") or {}
        if properties:
            result["properties"] = {name: _node(value, definitions, path=f"{path}.{name}", seen=seen)
                                    for name, value in properties.items()}
        if node.get("required"):
            result["required"] = list(node["required"])
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            if extra:
                result["additionalProperties"] = _node(extra, definitions, path=f"{path}.*", seen=seen)
            else:
                result["x-kubernetes-preserve-unknown-fields"] = True
        elif extra is True or (extra is None and not properties):
            result["x-kubernetes-preserve-unknown-fields"] = True
    elif kind == "array":
        items = node.get("items")
        if not isinstance(items, Mapping):
            raise SchemaError(f"{where}: a list needs one type of item (a tuple of types has no structural schema)")
        result["items"] = _node(items, definitions, path=f"{path}[]", seen=seen)
    return result


def _union(node: Mapping[str, Any], union: str, definitions: Mapping[str, Any], *, path: str,
           seen: tuple[str, ...]) -> dict[str, Any]:
    where = path
    options = [option for option in node[union] if option.get("type") != "null"]
    nullable = len(options) < len(node[union])
    kinds = sorted(str(option.get("type")) for option in options)
    if kinds == ["integer", "string"]:
        result: dict[str, Any] = {"x-kubernetes-int-or-string": True}
    elif len(options) == 1:
        result = _node(options[0], definitions, path=path, seen=seen)
    else:
        shown = ", ".join(str(option.get("type") or option.get("$ref", "?").rsplit("/", 1)[-1]) for option in options)
        raise SchemaError(f"{where}: a union of {shown} has no structural schema; use one model with optional "
                          "fields, or int | str (x-kubernetes-int-or-string)")
    if nullable:
        result["nullable"] = True
    for key in ("description", "default"):
        if key in node and not (key == "default" and node[key] is None):
            result[key] = node[key]
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            result[key] = value
    return result


def _type_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None
