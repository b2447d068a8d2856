"""kopf compatibility: the owner of the running handler (``current_owner``).

Mirrors kopf 1.45.2's ``tests/hierarchies/test_contextual_owner.py`` (rewritten, not copied), run against
opframe's ``opframe.kopf.hierarchies``. Every behaviour is checked on the three kinds of
objects kopf accepts: plain dicts, pykube-ng objects (emulated: pykube-ng is not a
dependency) and real ``kubernetes`` client models (the fixtures in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opframe.handlers.owners import current_owner
from opframe.kopf.hierarchies import (
    adjust_namespace,
    adopt,
    append_owner_reference,
    harmonize_naming,
    label,
    owner_or_current,
    remove_owner_reference,
)
from opframe.objects.bodies import Body

from .children import owner


@pytest.fixture()
def handling() -> Iterator[Callable[[Body], None]]:
    """Pretend a handler of the given body runs: set ``current_owner``, reset it afterwards."""
    tokens = []

    def enter(body: Body) -> None:
        tokens.append(current_owner.set(body))

    yield enter
    for token in reversed(tokens):
        current_owner.reset(token)


# -- the owner of the running handler (current_owner) --------------------------------------------

WITHOUT_OWNER: dict[str, Callable[[], None]] = {
    "append_owner_reference": lambda: append_owner_reference([]),
    "remove_owner_reference": lambda: remove_owner_reference([]),
    "harmonize_naming": lambda: harmonize_naming([]),
    "adjust_namespace": lambda: adjust_namespace([]),
    "label": lambda: label([]),
    "adopt": lambda: adopt([]),
}


@pytest.mark.parametrize("call", list(WITHOUT_OWNER.values()), ids=list(WITHOUT_OWNER))
def test_no_owner_outside_of_a_handler_is_an_error(call: Callable[[], None]) -> None:
    with pytest.raises(LookupError, match=r"Owner must be set explicitly.*works only inside a handler"):
        call()


def test_the_error_of_adopt_tells_what_to_do() -> None:
    with pytest.raises(LookupError, match=r"adopt\(\) without owner= works only inside a handler; pass owner=body"):
        adopt({})
    with pytest.raises(LookupError, match=r"pass owner=body"):
        owner_or_current(None)


def test_owner_or_current_prefers_the_given_owner(handling: Callable[[Body], None]) -> None:
    given, current = owner(name="given"), owner(name="current")
    handling(current)
    assert owner_or_current(given) is given
    assert owner_or_current(None) is current
    empty = Body({})
    assert owner_or_current(empty) is empty  # an empty owner is still an owner: only None means "none given"


def test_the_current_owner_names_namespaces_owns_and_labels(handling: Callable[[Body], None]) -> None:
    handling(owner())
    child: dict[str, Any] = {}
    harmonize_naming(child)
    adjust_namespace(child)
    append_owner_reference(child)
    label(child)
    assert child["metadata"]["generateName"] == "parent-" and child["metadata"]["namespace"] == "parent-ns"
    assert [ref["uid"] for ref in child["metadata"]["ownerReferences"]] == ["uid-parent"]
    assert child["metadata"]["labels"] == {"team": "blue", "tier": "db"}
    remove_owner_reference(child)
    assert child["metadata"]["ownerReferences"] == []


def test_the_current_owner_adopts(handling: Callable[[Body], None]) -> None:
    handling(owner())
    child: dict[str, Any] = {}
    adopt(child, strict=True)
    assert child["metadata"]["name"] == "parent" and child["metadata"]["ownerReferences"][0]["name"] == "parent"


def test_an_explicit_owner_wins_over_the_current_one(handling: Callable[[Body], None]) -> None:
    handling(owner(name="current", uid="uid-current"))
    child: dict[str, Any] = {}
    adopt(child, owner=owner(name="given", uid="uid-given"))
    assert child["metadata"]["generateName"] == "given-"
    assert [ref["uid"] for ref in child["metadata"]["ownerReferences"]] == ["uid-given"]


def test_an_empty_current_owner(handling: Callable[[Body], None]) -> None:
    handling(Body({}))
    with pytest.raises(LookupError, match="Name must be set explicitly"):
        harmonize_naming([])
    child: dict[str, Any] = {}
    adjust_namespace(child)  # no namespace: a cluster-scoped owner, a valid case
    assert child["metadata"]["namespace"] is None
    with pytest.raises(LookupError):
        adopt([])


def test_current_owner_is_unset_by_default() -> None:
    assert current_owner.get() is None
