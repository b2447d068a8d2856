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


RESOURCES_FILE = '''
from pydantic import BaseModel, Field
import opframe

class CliGadgetSpec(BaseModel):
    size: int = Field(1, ge=1)

class CliGadget(opframe.CustomResource, group="cli.opframe.test", version="v1"):
    spec: CliGadgetSpec
'''


def test_crd_prints_or_writes_the_definitions_of_an_operators_resources(tmp_path: Path) -> None:
    import yaml

    source = tmp_path / "gadgets.py"
    source.write_text(RESOURCES_FILE)
    printed = CliRunner().invoke(cli.main, ["crd", str(source)])
    assert printed.exit_code == 0, printed.output
    definition = yaml.safe_load(printed.output)
    assert definition["metadata"]["name"] == "cligadgets.cli.opframe.test"
    spec = definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["properties"]["size"] == {"type": "integer", "minimum": 1, "default": 1}
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("name: x\n")
    written = CliRunner().invoke(cli.main, ["crd", str(source), "--chart", str(chart)])
    assert written.exit_code == 0, written.output
    assert yaml.safe_load((chart / "crds" / "cligadgets.cli.opframe.test.yaml").read_text()) == definition


@pytest.mark.parametrize(("source", "complaint"), [
    ("import opframe\n", "no resource is declared there"),
    ('''
from pydantic import BaseModel
import opframe

class Spec(BaseModel):
    value: str | list[str]

class Odd(opframe.CustomResource, group="cli.opframe.test", version="v1"):
    spec: Spec
''', "Odd.spec.value: a union of string, array has no structural schema"),
], ids=["nothing", "union"])
def test_crd_names_what_it_cannot_write_and_exits_1(tmp_path: Path, source: str, complaint: str) -> None:
    path = tmp_path / f"bad_{abs(hash(source))}.py"
    path.write_text(source)
    result = CliRunner().invoke(cli.main, ["crd", str(path)])
    assert result.exit_code == 1
    assert complaint in result.output
