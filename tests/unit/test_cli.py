"""The command line (opframe/cli.py): the run command's kopf flags, kopf's peering commands (no sockets)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from opframe import cli


def test_run_accepts_kopfs_flags_and_names_them_in_help() -> None:
    result = CliRunner().invoke(cli.main, ["run", "--help"])
    assert result.exit_code == 0
    for flag in ("--standalone", "--peering", "--priority", "--dev", "--liveness", "--debug", "--log-prefix",
                 "--log-refkey", "--adopt-kopf", "plain", "full"):
        assert flag in result.output


def test_run_with_kopfs_flags_reaches_the_operator_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every kopf flag parses; a missing file then stops it with opframe's one-line error."""
    result = CliRunner().invoke(cli.main, [
        "run", "--standalone", "--dev", "-p", "10", "-L", "http://0.0.0.0:8080/healthz", "-d", "--log-prefix",
        "--log-refkey", "ref", "--log-format", "full", "-n", "a,b", str(tmp_path / "missing.py")])
    assert result.exit_code == 1
    assert f"error: operator file {tmp_path / 'missing.py'} does not exist" in result.output
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize("command", ["freeze", "resume"])
def test_kopfs_peering_commands_say_what_to_use_instead(command: str) -> None:
    result = CliRunner().invoke(cli.main, [command, "--lifetime", "60", "--priority", "100"])
    assert result.exit_code == 1
    assert "opframe has no peering" in result.output and "--leader-election" in result.output
