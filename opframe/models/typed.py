"""Typed kwargs: the parameters of a handler that ask for models (a CustomResource class, or a model
on ``spec``/``status``), the typed values of one call, and what the handler changed in a typed status."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from opframe.models.resource import CustomResource


class ModelMismatch(ValueError):
    """The object does not fit the handler's models; the message names each field and its error."""


def typed_parameters(fn: Callable[..., Any]) -> dict[str, type[BaseModel]]:
    """The parameters of ``fn`` that ask for typed kwargs: any annotated with a CustomResource class (the
    whole object), and ``spec``/``status`` annotated with a pydantic model (that part)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: the handler gets kopf's kwargs
        return {}
    result: dict[str, type[BaseModel]] = {}
    for name, hint in hints.items():
        if not (isinstance(hint, type) and issubclass(hint, BaseModel)):
            continue
        if issubclass(hint, CustomResource) or name in ("spec", "status"):
            result[name] = hint
    return result


class TypedCall:
    """The typed kwargs of one call, and afterwards what the handler changed in the typed status.

    Invariant: the typed values are built from a private copy of the object (the untyped kwargs are
    never touched); ``status_changes()`` holds the top-level status fields whose JSON changed, with None
    for the ones the handler unset (a merge patch removes them)."""

    def __init__(self, parameters: Mapping[str, type[BaseModel]], kwargs: Mapping[str, Any]) -> None:
        self.values: dict[str, BaseModel] = {}
        self._statuses: list[tuple[BaseModel, dict[str, Any]]] = []
        body = _plain(kwargs.get("body") or {})
        problems: list[str] = []
        for name, model in parameters.items():
            whole = issubclass(model, CustomResource)
            source = body if whole else body.get(name) or {}
            try:
                value = model.model_validate(source)
            except ValidationError as exc:
                prefix = "" if whole else f"{name}."
                problems.extend(f"{prefix}{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                                for error in exc.errors())
                continue
            self.values[name] = value
            status = getattr(value, "status", None) if whole else (value if name == "status" else None)
            if isinstance(status, BaseModel):
                self._statuses.append((status, _dump(status)))
        if problems:
            names = ", ".join(sorted({model.__name__ for model in parameters.values()}))
            raise ModelMismatch(f"the object does not fit {names}: {'; '.join(problems)}")

    def status_changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for status, before in self._statuses:
            after = _dump(status)
            changes.update({key: value for key, value in after.items() if before.get(key) != value})
            changes.update({key: None for key in before if key not in after})
        return changes


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=False)


def _plain(value: Any) -> Any:
    """Mappings as dicts and sequences as lists, all the way down (kopf's Body views included)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


#: The status condition that says whether the object fits the handlers' models.
VALID_CONDITION = "Valid"


def validity_conditions(body: Mapping[str, Any], problem: str | None, now: str) -> list[dict[str, Any]] | None:
    """The object's ``status.conditions`` with the Valid condition set (False with ``problem``, True
    without), or None when nothing changes: no condition is added to an object that fits and never
    misfitted. The other conditions are kept as they are (a merge patch replaces the whole list)."""
    status = body.get("status")
    conditions = list(status.get("conditions") or []) if isinstance(status, Mapping) else []
    current = next((c for c in conditions if isinstance(c, Mapping) and c.get("type") == VALID_CONDITION), None)
    if problem is None:
        if current is None or current.get("status") == "True":
            return None
        wanted = {"type": VALID_CONDITION, "status": "True", "reason": "FitsModels",
                  "message": "the object fits the handlers' models", "lastTransitionTime": now}
    else:
        if current is not None and current.get("status") == "False" and current.get("message") == problem:
            return None
        wanted = {"type": VALID_CONDITION, "status": "False", "reason": "ModelMismatch", "message": problem,
                  "lastTransitionTime": now}
    kept = [_plain(c) for c in conditions if not (isinstance(c, Mapping) and c.get("type") == VALID_CONDITION)]
    return [*kept, wanted]
