"""The scaffold's pure part: names in, a project's files out."""

from __future__ import annotations

import pytest

from opframe.scaffold import ScaffoldError, project, project_files


@pytest.mark.parametrize(("name", "group", "kind", "expected"), [
    ("shop-operator", "example.com", None, ("Shop", "shops.example.com")),
    ("backup", "ops.acme.io", None, ("Backup", "backups.ops.acme.io")),
    ("web-site-operator", "example.com", None, ("WebSite", "websites.example.com")),
    ("x", "example.com", "Thing", ("Thing", "things.example.com")),
])
def test_a_project_is_named_from_its_name(name: str, group: str, kind: str | None,
                                          expected: tuple[str, str]) -> None:
    made = project(name, group=group, kind=kind)
    assert (made.kind, made.resource) == expected


@pytest.mark.parametrize(("name", "group", "kind", "message"), [
    ("Shop", "example.com", None, "cannot name a project"),
    ("shop_operator", "example.com", None, "cannot name a project"),
    ("-shop", "example.com", None, "cannot name a project"),
    ("shop", "example", None, "cannot be an API group"),
    ("shop", "example.com", "shop", "cannot be a kind"),
])
def test_bad_names_are_refused_naming_the_fix(name: str, group: str, kind: str | None, message: str) -> None:
    with pytest.raises(ScaffoldError, match=message):
        project(name, group=group, kind=kind)


def test_every_placeholder_is_filled_and_the_python_compiles() -> None:
    files = project_files(project("shop-operator"), chart="/charts/opframe")
    for path, text in files.items():
        assert "@@" not in text, path
        if path.endswith(".py"):
            compile(text, path, "exec")
    assert "OPFRAME_CHART ?= /charts/opframe" in files["Makefile"]
    assert 'resources: ["shops"]' in files["values.yaml"]
