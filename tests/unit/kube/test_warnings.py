"""The text of the API server's Warning headers (opframe.kube.client.warning_text), as a table."""

from __future__ import annotations

import pytest

from opframe.kube.client import warning_text


@pytest.mark.parametrize(("header", "text"), [
    ('299 - "Accessing as user-agent: python"', "Accessing as user-agent: python"),
    ('299 - "a \\"quoted\\" word"', 'a "quoted" word'),
    ('299 - "spec.field \'x\' != None"', "spec.field 'x' != None"),
    ("not a warning header", "not a warning header"),
])
def test_the_text_of_a_warning_header(header: str, text: str) -> None:
    assert warning_text(header) == text
