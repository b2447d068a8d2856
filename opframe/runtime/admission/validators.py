"""A start-up check of validating handlers' code: one that writes to its ``patch`` would make the API
server fail every request it handles (a validating webhook must not answer a patch: a 500), so the
operator refuses it at start-up and names the line. Pure: it reads the function's source, never runs it.

What counts as a write, ``patch`` being a parameter of the handler (named, or taken from ``**kwargs``
as ``kwargs['patch']``/``kwargs.get('patch')``): an assignment, augmented assignment or ``del`` whose
target is rooted at it (``patch['spec'] = ...``, ``patch.metadata.labels['a'] = ...``), or a call of a
mutating method on it or anything under it (``patch.update(...)``, ``patch.spec.setdefault(...)``).
Reading it is fine. A function whose source cannot be read (a builtin, a lambda in an exec) passes.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

#: Methods that change a dict (kopf's Patch is one).
MUTATING_METHODS = frozenset({"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"})


def patch_write(function: Callable[..., Any]) -> tuple[str, int] | None:
    """(file, line) of the first write to ``patch`` in ``function``'s body, or None."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        filename = inspect.getsourcefile(function) or "<unknown>"
        _, first_line = inspect.getsourcelines(function)
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    node = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))),
                None)
    if node is None:
        return None
    arguments = node.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    kwargs = arguments.kwarg.arg if arguments.kwarg else None
    if "patch" not in names and kwargs is None:
        return None
    for child in ast.walk(node):
        if _writes(child, "patch" in names, kwargs):
            return filename, first_line + getattr(child, "lineno", 1) - 1
    return None


def _writes(node: ast.AST, named: bool, kwargs: str | None) -> bool:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS:
        return _in_patch(node.func.value, named, kwargs)
    return any(isinstance(t, (ast.Subscript, ast.Attribute)) and _in_patch(t, named, kwargs) for t in targets)


def _in_patch(expression: ast.expr, named: bool, kwargs: str | None) -> bool:
    """Whether ``expression`` is the patch or anything under it."""
    while isinstance(expression, (ast.Subscript, ast.Attribute)):
        if _is_kwargs_patch(expression, kwargs):
            return True
        expression = expression.value
    if isinstance(expression, ast.Call) and _is_kwargs_patch(expression, kwargs):
        return True
    return named and isinstance(expression, ast.Name) and expression.id == "patch"


def _is_kwargs_patch(expression: ast.expr, kwargs: str | None) -> bool:
    """``kwargs['patch']`` or ``kwargs.get('patch')``."""
    if kwargs is None:
        return False
    if isinstance(expression, ast.Subscript):
        return (isinstance(expression.value, ast.Name) and expression.value.id == kwargs
                and isinstance(expression.slice, ast.Constant) and expression.slice.value == "patch")
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute):
        return (expression.func.attr == "get" and isinstance(expression.func.value, ast.Name)
                and expression.func.value.id == kwargs and bool(expression.args)
                and isinstance(expression.args[0], ast.Constant) and expression.args[0].value == "patch")
    return False
