"""The journal's repr: what a failing assert about handler outcomes shows."""

from __future__ import annotations

from opframe.runtime.telemetry import journal
from opframe.runtime.telemetry.journal import Journal


def test_a_journal_reads_as_one_outcome_per_line_in_order() -> None:
    with Journal() as opened:
        assert repr(opened) == "<Journal: no handler outcomes>"
        journal.record("ns/a", "websites.example.com", "create_fn", "create", "retrying", "ValueError: boom")
        journal.record("ns/a", "websites.example.com", "create_fn", "create", "succeeded")
        journal.record("ns/b", "websites.example.com", "seen", "", "succeeded")
    journal.record("ns/c", "websites.example.com", "late", "create", "succeeded")  # closed: not recorded
    assert repr(opened) == (
        "<Journal: 3 handler outcomes>\n"
        "  ns/a  create_fn (create): retrying: ValueError: boom\n"
        "  ns/a  create_fn (create): succeeded\n"
        "  ns/b  seen: succeeded")
