"""Counts ``Any`` in the function signatures (parameters and returns) of the given folders.

    python tools/metrics/any_in_signatures.py opframe/runtime opframe/handlers opframe/objects

The figure issue 16 asked for before and after the restructuring (a measure of how loosely typed
the core's seams are). It reads the source with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
import pathlib
import sys


def any_in_signatures(folders: list[str]) -> int:
    count = 0
    for folder in folders:
        for path in sorted(pathlib.Path(folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                arguments = node.args
                annotations = [a.annotation for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
                annotations += [arguments.vararg.annotation if arguments.vararg else None,
                                arguments.kwarg.annotation if arguments.kwarg else None, node.returns]
                for annotation in annotations:
                    if annotation is not None:
                        count += sum(1 for name in ast.walk(annotation) if isinstance(name, ast.Name)
                                     and name.id == "Any")
    return count


if __name__ == "__main__":
    print(any_in_signatures(sys.argv[1:]))
