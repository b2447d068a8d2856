"""kopf's OperatorSettings (opframe.kopf.settings) mapped onto opframe's Settings."""

from __future__ import annotations

import pytest

import opframe
from opframe.kopf.settings import OperatorSettings
from opframe.settings import Settings


def test_untouched_kopf_settings_change_nothing() -> None:
    settings = Settings(workers=3, prefix="example.com")
    applied, warned = OperatorSettings().applied_to(settings)
    assert applied is settings and warned == []


def test_mapped_kopf_settings_take_effect_with_kopfs_meaning() -> None:
    kopf = OperatorSettings()
    kopf.execution.default_backoff = 5
    kopf.persistence.finalizer = "example.com/cleanup"
    kopf.persistence.progress_storage = opframe.AnnotationsProgressStorage(prefix="example.com")
    kopf.watching.server_timeout = 10
    kopf.watching.inactivity_timeout = 30
    kopf.queueing.worker_limit = 4
    kopf.posting.enabled = False
    kopf.posting.reporting_component = "mine"
    kopf.peering.standalone = True
    applied, warned = kopf.applied_to(Settings(leader_election=True))
    assert warned == []
    assert (applied.default_backoff, applied.finalizer_name, applied.prefix, applied.watch_timeout,
            applied.inactivity_timeout, applied.workers, applied.post_events, applied.event_component,
            applied.leader_election) == (5, "example.com/cleanup", "example.com", 10, 30, 4, False, "mine", False)


def test_each_kopf_setting_opframe_cannot_honour_is_named_once_with_what_to_use() -> None:
    kopf = OperatorSettings()
    kopf.peering.priority = 100
    kopf.watching.field_selectors = {"pods": "status.phase=Running"}
    kopf.persistence.progress_storage = opframe.StatusProgressStorage()
    applied, warned = kopf.applied_to(Settings())
    assert applied == Settings()
    assert len(warned) == 3
    assert any(w.startswith("settings.peering.priority = 100 has no effect in opframe: peering priorities")
               for w in warned)
    assert any("settings.watching.field_selectors" in w and "when=" in w for w in warned)
    assert any("settings.persistence.progress_storage" in w and "AnnotationsProgressStorage(prefix=" in w
               for w in warned)


def test_kopf_settings_groups_and_aliases() -> None:
    kopf = OperatorSettings()
    assert kopf.batching is kopf.queueing
    kopf.peering.namespaced = False
    assert kopf.peering.clusterwide


def test_opframes_own_settings_are_set_and_read_through_kopfs_object() -> None:
    kopf = OperatorSettings()
    kopf.bind(Settings(workers=7))
    assert kopf.workers == 7
    kopf.success_events = True
    applied, warned = kopf.applied_to(Settings(workers=7))
    assert (applied.success_events, applied.workers, warned) == (True, 7, [])
    with pytest.raises(AttributeError, match="OperatorSettings has no setting 'sucess_events'"):
        kopf.sucess_events = True  # type: ignore[attr-defined]


def test_opframe_settings_read_before_startup_are_warned_about_not_silently_dropped() -> None:
    kopf = OperatorSettings()
    kopf.bind(Settings(namespaces=["a"]))
    kopf.namespaces = ["b"]
    kopf.qps = 10.0
    kopf.workers = 2
    applied, warned = kopf.applied_to(Settings(namespaces=["a"]))
    assert (applied.namespaces, applied.qps, applied.workers) == (["a"], Settings().qps, 2)
    assert warned == [
        "settings.namespaces = ['b'] has no effect: it is read before startup handlers run; set it with "
        "-n/--namespace or OPFRAME_NAMESPACES",
        "settings.qps = 10.0 has no effect: it is read before startup handlers run; set it with OPFRAME_QPS"]


def test_settings_a_startup_handler_sets_are_validated() -> None:
    kopf = OperatorSettings()
    kopf.workers = 0
    with pytest.raises(ValueError, match=r"a startup handler set invalid settings \(workers: Input should be greater "
                                         r"than or equal to 1\); fix the values it sets"):
        kopf.applied_to(Settings())
    kopf = OperatorSettings()
    kopf.execution.default_backoff = -1
    with pytest.raises(ValueError, match="default_backoff"):
        kopf.applied_to(Settings())
