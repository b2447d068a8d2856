"""The documentation runs: every Python code block of docs/ and the README is executed (the blocks of
one page in order, in one fresh interpreter, with $KUBECONFIG pointing at the test session's control
plane), or, when marked ``<!-- fragment: why -->`` on the line above, compiled; a block that includes
a file (``--8<-- "path"``) must name one that exists, under examples/ or tests/ (whose own tests run
it). Messages quoted in docs/troubleshooting.md must be ones opframe says."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from opframe.testing import ControlPlane

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md"])
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')
#: Runs a page's blocks in one namespace, each compiled with its own file name and line numbers, so
#: that a traceback points at the page's line.
RUNNER = """
import json, sys
namespace = {"__name__": "__docs__"}
for page, line, source in json.load(sys.stdin):
    exec(compile("\\n" * (line - 1) + source, page, "exec"), namespace)
"""


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # the first line of the code, 1-based
    source: str
    fragment: bool


def python_blocks(page: Path) -> list[Block]:
    """The page's ```python blocks, with whether the line above marks a fragment."""
    blocks: list[Block] = []
    lines = page.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, language = opening.groups()
        start = index + 1
        index = start
        while index < len(lines) and not (FENCE.match(lines[index]) and lines[index].strip() == "```"):
            index += 1
        if language == "python":
            above = next((line for line in reversed(lines[:start - 1]) if line.strip()), "")
            source = "\n".join(line[len(indent):] for line in lines[start:index])
            blocks.append(Block(str(page.relative_to(ROOT)), start + 1, source,
                                above.strip().startswith("<!-- fragment")))
        index += 1
    return blocks


def test_every_page_has_been_found() -> None:
    names = {str(page.relative_to(ROOT)) for page in PAGES}
    assert {"docs/getting-started.md", "docs/testing.md", "README.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_pages_python_runs(page: Path, control_plane: ControlPlane, tmp_path: Path) -> None:
    runnable = []
    for block in python_blocks(page):
        included = INCLUDE.match(block.source.strip())
        if included:
            path = ROOT / included.group(1)
            assert path.is_file(), f"{block.page}:{block.line} includes {included.group(1)}, which does not exist"
            assert path.relative_to(ROOT).parts[0] in ("examples", "tests"), (
                f"{block.page}:{block.line} includes {included.group(1)}: include only files that a test runs "
                "(under examples/ or tests/)")
        elif block.fragment:
            compile(block.source, f"{block.page}:{block.line}", "exec")
        else:
            runnable.append((block.page, block.line, block.source))
    if not runnable:
        return
    result = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(runnable), capture_output=True,
                            text=True, timeout=120, cwd=tmp_path, check=False,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                 "KUBECONFIG": str(control_plane.kubeconfig)})
    assert result.returncode == 0, (
        f"a code block of {page.relative_to(ROOT)} failed (mark it '<!-- fragment: why -->' if it cannot run "
        f"alone):\n{result.stderr[-3000:]}")


def _said_by_opframe() -> list[str]:
    """Every string opframe's code holds (implicit concatenations joined; an f-string's or a %-format's
    values cut the text into separate pieces)."""
    pieces: list[str] = []
    for path in (ROOT / "opframe").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                text = "".join(value.value if isinstance(value, ast.Constant) else "\0" for value in node.values)
                pieces.extend(text.split("\0"))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                pieces.extend(re.split(r"%[-\d.]*[sdrf]", node.value))
    return pieces


def test_the_troubleshooting_messages_are_opframes() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text()
    messages = [row.split("|")[1].strip() for row in page.splitlines()
                if row.startswith("| `") and row.count("|") >= 3]
    assert len(messages) >= 20, messages
    said = _said_by_opframe()
    for message in messages:
        quoted = message.split("`")[1]
        for part in (part.strip() for part in quoted.split("…")):
            if len(part) < 4:
                continue
            assert any(part in piece for piece in said), (
                f"docs/troubleshooting.md quotes {quoted!r}, but opframe never says {part!r}: "
                "copy the message from the code again")
