"""The core Operator reaches kopf's façade only through its arguments (settings view, lifecycle, foreign
bookkeeping): without them it runs with opframe's own meanings, and asks for them where it needs them."""

from __future__ import annotations

import pytest

from opframe.handlers.registry import Registry
from opframe.kopf.settings import OperatorSettings
from opframe.kopf.storage import KOPF_FINALIZER, KOPF_PREFIX, KopfBookkeeping
from opframe.runtime.operator.operator import Operator, StartupError
from opframe.settings import Settings


def test_adopt_kopf_without_foreign_bookkeeping_stops_before_anything_starts() -> None:
    operator = Operator(Settings(adopt_kopf=True), Registry())
    with pytest.raises(StartupError, match=r"adopt_kopf is set .* pass foreign=opframe\.kopf\.storage"):
        operator.prepare()
    assert operator.loops is None and operator.client is None  # no thread, no connection


def test_kopf_bookkeeping_is_built_from_the_settings_with_kopfs_defaults() -> None:
    assert KopfBookkeeping.of(Settings()) == KopfBookkeeping(KOPF_PREFIX, KOPF_FINALIZER)  # noticed, not adopted
    assert KopfBookkeeping.of(Settings(adopt_kopf=True)) == KopfBookkeeping(KOPF_PREFIX, KOPF_FINALIZER)
    assert KopfBookkeeping.of(Settings(adopt_kopf=True, kopf_prefix="k.example.com", kopf_finalizer="k/f")) == (
        KopfBookkeeping("k.example.com", "k/f"))


def test_the_settings_view_is_bound_to_the_operators_settings() -> None:
    view = OperatorSettings()
    operator = Operator(Settings(workers=3), Registry(), settings_view=view)
    assert operator.settings_view is view
    assert view.workers == 3  # opframe's own fields read through kopf's view
