"""Fixtures shared by the runtime tests: a LoopPool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opframe.runtime.execution.loops import LoopPool


@pytest.fixture
def pool() -> Iterator[LoopPool]:
    loops = LoopPool()
    yield loops
    loops.close()
