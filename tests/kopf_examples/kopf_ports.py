"""kopf 1.45.2's examples (tests/kopf_examples/upstream, unchanged, MIT) as a test input.

``ported(name)`` copies one example into a temporary folder with the only change a kopf
user makes: ``import kopf`` -> ``import opframe as kopf`` (and ``kopf.testing`` ->
``opframe.testing``).
"""

from __future__ import annotations

import re
from pathlib import Path

UPSTREAM = Path(__file__).parent / "upstream"
EXAMPLES = sorted(p.name for p in UPSTREAM.iterdir() if p.is_dir())


def port(text: str) -> str:
    text = re.sub(r"^import kopf$", "import opframe as kopf", text, flags=re.M)
    text = re.sub(r"^import kopf\.testing$", "import opframe.testing", text, flags=re.M)
    text = re.sub(r"^from kopf\.testing import", "from opframe.testing import", text, flags=re.M)
    return text


def ported(name: str, folder: Path) -> Path:
    """The example's files in ``folder``, ported; returns the path of its example.py."""
    for source in (UPSTREAM / name).iterdir():
        if source.suffix == ".py":
            (folder / source.name).write_text(port(source.read_text()))
    return folder / "example.py"
