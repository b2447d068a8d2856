"""Fixtures of the hierarchy tests (kopf 1.45.2's tests/hierarchies/conftest.py has their counterparts):
each flavour of child object, each kind of container of them, a running handler's owner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .children import CONTAINERS, FLAVOURS


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=list(CONTAINERS))
def container(request: pytest.FixtureRequest) -> Callable[[list[Any]], Any]:
    return CONTAINERS[request.param]
