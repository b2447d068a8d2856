"""Settings from OPFRAME_* environment variables, their validation, and the namespace selector."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from opframe.settings import NamespaceSelector, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPFRAME_* variable of the calling shell leaks into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("OPFRAME_"):
            monkeypatch.delenv(name)


# -- defaults and the environment ------------------------------------------------------------------


def test_defaults() -> None:
    settings = Settings()
    assert (settings.namespaces, settings.all_namespaces, settings.workers, settings.log_level,
            settings.prefix, settings.finalizer, settings.post_events, settings.success_events) == (
        [], False, 16, "INFO", "opframe.dev", "", True, False)


@pytest.mark.parametrize(("variable", "value", "field", "expected"), [
    ("OPFRAME_WORKERS", "8", "workers", 8),
    ("OPFRAME_ALL_NAMESPACES", "true", "all_namespaces", True),
    ("OPFRAME_LOG_LEVEL", "DEBUG", "log_level", "DEBUG"),
    ("OPFRAME_LOG_FORMAT", "json", "log_format", "json"),
    ("OPFRAME_QPS", "12.5", "qps", 12.5),
    ("OPFRAME_BURST", "20", "burst", 20),
    ("OPFRAME_PREFIX", "ops.example.com", "prefix", "ops.example.com"),
    ("OPFRAME_FINALIZER", "ops.example.com/cleanup", "finalizer", "ops.example.com/cleanup"),
    ("OPFRAME_INACTIVITY_TIMEOUT", "90", "inactivity_timeout", 90.0),
    ("OPFRAME_WATCH_LIST", "1", "watch_list", True),
    ("OPFRAME_SHUTDOWN_TIMEOUT", "0", "shutdown_timeout", 0.0),
    ("OPFRAME_SYNC_TIMEOUT", "5", "sync_timeout", 5.0),
    ("OPFRAME_POST_EVENTS", "false", "post_events", False),
    ("OPFRAME_SUCCESS_EVENTS", "true", "success_events", True),
    ("OPFRAME_KUBECONFIG", "/tmp/kubeconfig", "kubeconfig", "/tmp/kubeconfig"),
    ("OPFRAME_CONTEXT", "kind-dev", "context", "kind-dev"),
    ("OPFRAME_NAMESPACES", '["team-*", "!team-x"]', "namespaces", ["team-*", "!team-x"]),
    ("OPFRAME_NAMESPACES", "team-*, !team-x", "namespaces", ["team-*", "!team-x"]),
    ("opframe_workers", "2", "workers", 2),
], ids=["workers", "all-namespaces", "log-level", "log-format", "qps", "burst", "prefix", "finalizer",
        "inactivity-timeout", "watch-list", "shutdown-timeout", "sync-timeout", "post-events", "success-events",
        "kubeconfig", "context",
        "namespaces-json", "namespaces-comma-separated", "lower-case-name"])
def test_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str,
                                      expected: object) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(Settings(), field) == expected


def test_explicit_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPFRAME_WORKERS", "8")
    assert Settings(workers=2).workers == 2


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "value"), [
    ("OPFRAME_WORKERS", "0"),
    ("OPFRAME_WORKERS", "257"),
    ("OPFRAME_WORKERS", "many"),
    ("OPFRAME_LOG_LEVEL", "TRACE"),
    ("OPFRAME_LOG_FORMAT", "xml"),
    ("OPFRAME_QPS", "0"),
    ("OPFRAME_BURST", "0"),
    ("OPFRAME_INACTIVITY_TIMEOUT", "0"),
    ("OPFRAME_SHUTDOWN_TIMEOUT", "-1"),
    ("OPFRAME_SYNC_TIMEOUT", "0"),
    ("OPFRAME_ALL_NAMESPACES", "maybe"),
], ids=["workers-zero", "workers-too-many", "workers-not-a-number", "log-level-unknown", "log-format-unknown",
        "qps-zero", "burst-zero", "inactivity-timeout-zero", "shutdown-timeout-negative", "sync-timeout-zero",
        "all-namespaces-not-a-bool"])
def test_invalid_environment_value_is_rejected(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("patterns", [[""], ["!"], ["default", ""]], ids=["empty", "bare-bang", "one-empty"])
def test_empty_namespace_pattern_is_rejected(patterns: list[str]) -> None:
    with pytest.raises(ValidationError, match="empty namespace pattern"):
        Settings(namespaces=patterns)


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Settings(wokers=3)  # type: ignore[call-arg]


def test_validation_error_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPFRAME_WORKERS", "0")
    with pytest.raises(ValidationError, match="workers"):
        Settings()


# -- finalizer_name --------------------------------------------------------------------------------


def test_finalizer_name_default() -> None:
    assert Settings().finalizer_name == "opframe.dev/finalizer"


def test_finalizer_name_follows_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPFRAME_PREFIX", "ops.example.com")
    assert Settings().finalizer_name == "ops.example.com/finalizer"


def test_explicit_finalizer_wins() -> None:
    assert Settings(prefix="ops.example.com", finalizer="x.io/keep").finalizer_name == "x.io/keep"


# -- NamespaceSelector -----------------------------------------------------------------------------


@pytest.mark.parametrize(("patterns", "namespace", "expected"), [
    (["default"], "default", True),
    (["default"], "other", False),
    (["team-*"], "team-a", True),
    (["team-*"], "teams", False),
    (["team-?"], "team-a", True),
    (["team-?"], "team-ab", False),
    (["team-[ab]"], "team-b", True),
    (["team-[ab]"], "team-c", False),
    (["a", "b"], "b", True),
], ids=["exact", "exact-other", "glob", "glob-other", "single-char", "single-char-other", "set", "set-other",
        "second-pattern"])
def test_namespace_patterns(patterns: list[str], namespace: str, expected: bool) -> None:
    assert NamespaceSelector(patterns, all_namespaces=False).matches(namespace) is expected


def test_globs_are_case_sensitive() -> None:
    assert not NamespaceSelector(["Team-*"], all_namespaces=False).matches("team-a")


@pytest.mark.parametrize("patterns", [["team-*", "!team-secret"], ["!team-secret", "team-*"],
                                      ["team-secret", "!team-secret"], ["team-*", "!*-secret"]],
                         ids=["after", "before", "same-name", "glob-exclusion"])
def test_exclusion_wins_over_inclusion(patterns: list[str]) -> None:
    selector = NamespaceSelector(patterns, all_namespaces=False)
    assert not selector.matches("team-secret")


def test_exclusion_wins_over_all_namespaces() -> None:
    selector = NamespaceSelector(["!kube-*"], all_namespaces=True)
    assert (selector.matches("kube-system"), selector.matches("default")) == (False, True)


def test_only_exclusions_means_all_namespaces() -> None:
    selector = NamespaceSelector(["!kube-*"], all_namespaces=False)
    assert selector.all_namespaces
    assert (selector.matches("kube-system"), selector.matches("default")) == (False, True)


def test_inclusions_without_all_namespaces_are_not_all_namespaces() -> None:
    assert not NamespaceSelector(["team-*", "!team-x"], all_namespaces=False).all_namespaces


def test_all_namespaces_matches_everything() -> None:
    assert NamespaceSelector([], all_namespaces=True).matches("anything")


def test_include_and_exclude_are_split() -> None:
    selector = NamespaceSelector(["a", "!b", "c*"], all_namespaces=False)
    assert (selector.include, selector.exclude) == (["a", "c*"], ["b"])


@pytest.mark.parametrize(("patterns", "all_namespaces", "single"), [
    (["default"], False, "default"),
    (["default"], True, None),
    (["a", "b"], False, None),
    (["team-*"], False, None),
    (["team-?"], False, None),
    (["team-[ab]"], False, None),
    (["default", "!kube-system"], False, None),
    (["!kube-system"], False, None),
    ([], False, None),
], ids=["one-name", "all-namespaces", "two-names", "star", "question-mark", "set", "with-exclusion",
        "only-exclusion", "nothing"])
def test_single_namespace_detection(patterns: list[str], all_namespaces: bool, single: str | None) -> None:
    assert NamespaceSelector(patterns, all_namespaces=all_namespaces).single == single


@pytest.mark.parametrize(("patterns", "all_namespaces"), [
    (["default"], False),
    (["team-*"], False),
    (["a", "b"], False),
    (["!kube-system"], False),
    (["default", "!default"], False),
    ([], True),
], ids=["single-namespace", "glob", "several", "only-exclusions", "all-excluded", "all-namespaces"])
def test_cluster_scoped_objects_are_always_served(patterns: list[str], all_namespaces: bool) -> None:
    assert NamespaceSelector(patterns, all_namespaces=all_namespaces).matches(None) is True


@pytest.mark.parametrize(("patterns", "all_namespaces", "said"), [
    ([], True, "all namespaces"),
    (["!kube-system"], False, "all namespaces except kube-system"),
    (["a"], False, "namespace a"),
    (["a", "b"], False, "namespaces a, b"),
    (["team-*"], False, "namespaces matching team-*"),
    (["team-*", "!team-x"], False, "namespaces matching team-* except team-x"),
])
def test_the_served_namespaces_in_words(patterns: list[str], all_namespaces: bool, said: str) -> None:
    """What the start-up line says the operator serves."""
    assert NamespaceSelector(patterns, all_namespaces=all_namespaces).describe() == said


@pytest.mark.parametrize(("patterns", "all_namespaces", "namespaced", "scopes"), [
    (["a", "b"], False, True, ["a", "b"]),  # one watch (and one RBAC check) per named namespace
    (["a", "b"], False, False, [None]),  # a cluster-scoped kind: one cluster-wide watch
    (["team-*"], False, True, [None]),  # globs: one cluster-wide watch, filtered
    ([], True, True, [None]),
])
def test_watch_scopes(patterns: list[str], all_namespaces: bool, namespaced: bool, scopes: list[str | None]) -> None:
    assert NamespaceSelector(patterns, all_namespaces=all_namespaces).scopes(namespaced) == scopes
