"""The pytest plugin's pure parts (opframe.testing.pytest_plugin): namespace names."""

from __future__ import annotations

import pytest

from opframe.testing.pytest_plugin import _namespace_name


@pytest.mark.parametrize("test_name", [
    "test_simple", "test_with[param-Upper_CASE]", "x" * 200, "[]",
])
def test_namespace_names_are_dns_labels(test_name: str) -> None:
    name = _namespace_name(test_name)
    assert len(name) <= 63
    assert name == name.lower()
    assert name[0].isalnum() and name[-1].isalnum()
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
