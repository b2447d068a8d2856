"""The Helm chart's values reference: a Markdown table made from values.schema.json and values.yaml.

    python tools/docs/values_reference.py --write   # rewrites the table in charts/opframe/README.md
    python tools/docs/values_reference.py --check   # exits 1 when the README's table is out of date

One row per leaf property of the schema (a property with no properties of its own: a value, a list,
a map, or an object passed on to Kubernetes as it is), by dotted key: its type or allowed values,
its default in values.yaml (inline code, on one line) and its description in the schema. The
README's table is the part between the markers ``START`` and ``END``; the rest is written by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "opframe"
START = "<!-- values-reference:start -->"
END = "<!-- values-reference:end -->"
WRITE_COMMAND = "python tools/docs/values_reference.py --write"
UNSET = "(unset)"


def leaf_properties(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of ``schema`` without properties of its own, as (dotted key, its schema), in
    the schema's order, the properties of objects in place of the objects."""
    for name, subschema in schema.get("properties", {}).items():
        key = f"{prefix}{name}"
        if "properties" in subschema:
            yield from leaf_properties(subschema, f"{key}.")
        else:
            yield key, subschema


def inline_code(text: str) -> str:
    """``text`` as Markdown inline code in a table cell (its pipes escaped, as GFM tables need)."""
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{text}{padding}{fence}".replace("|", "\\|")


def compact_yaml(value: Any) -> str:
    """``value`` as YAML on one line (flow style): ``{requests: {cpu: 50m}}``, ``['']``, ``true``."""
    text = yaml.safe_dump(value, default_flow_style=True, width=sys.maxsize, sort_keys=False).strip()
    return text.removesuffix("\n...").strip()


def default_cell(values: dict[str, Any], key: str) -> str:
    """The default of the dotted ``key`` in values.yaml, as inline code; a text of several lines is
    shown by its first line and its length."""
    value: Any = values
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return UNSET
        value = value[part]
    if isinstance(value, str) and "\n" in value.strip():
        lines = value.strip().splitlines()
        return f"{inline_code(lines[0])} … ({len(lines)} lines)"
    return inline_code(compact_yaml(value))


def bounds(schema: dict[str, Any]) -> str:
    """The numeric range a schema allows, as `` 1024 to 65535``, `` ≥ 1`` or `` > 0`` (empty: none)."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f" {low} to {high}"
    if "exclusiveMinimum" in schema:
        return f" > {schema['exclusiveMinimum']}"
    if low is not None:
        return f" ≥ {low}"
    if high is not None:
        return f" ≤ {high}"
    return ""


def type_cell(schema: dict[str, Any]) -> str:
    """What a property may hold: its allowed values, or its type (a list's items', a map's values')."""
    if "enum" in schema:
        return ", ".join(inline_code(compact_yaml(value)) for value in schema["enum"])
    if "const" in schema:
        return f"{inline_code(compact_yaml(schema['const']))} only"
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    if not kinds:
        return "any"
    if kinds == ["array"]:
        items = schema.get("items", {})
        if items.get("type") == "object" or "properties" in items:
            return "list of objects"
        return f"list of {type_cell(items)}" if items else "list"
    if kinds == ["object"] and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {type_cell(schema['additionalProperties'])}"
    if len(kinds) == 1:
        return f"{kinds[0]}{bounds(schema)}"
    return f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def table_cell(text: str) -> str:
    """Plain text made safe for a Markdown table cell: its pipes escaped, ``<`` not read as HTML
    (``<full name>`` stays visible)."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def values_reference(chart: Path) -> str:
    """The chart's values reference: a Markdown table, one row per leaf property of its schema, with
    the defaults of its values.yaml. Ends with a newline."""
    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text()) or {}
    rows = ["| Key | Type or values | Default | Description |", "| --- | --- | --- | --- |"]
    for key, subschema in leaf_properties(schema):
        rows.append(f"| `{key}` | {type_cell(subschema)} | {default_cell(values, key)} "
                    f"| {table_cell(subschema.get('description', ''))} |")
    return "\n".join(rows) + "\n"


def with_reference(readme: str, reference: str, *, where: str = "the README") -> str:
    """``readme`` with the part between ``START`` and ``END`` replaced by ``reference``.
    Raises ValueError naming the markers when they are not there once each, in order."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"{where} needs the lines {START} and {END} (once each, in that order) around the "
                         "values reference; add them where the table belongs")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{reference}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check the values reference in the chart's README.md.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the table in README.md")
    action.add_argument("--check", action="store_true", help="exit 1 when the table in README.md is out of date")
    parser.add_argument("--chart", type=Path, default=CHART, help="the chart's folder (default: %(default)s)")
    arguments = parser.parse_args(argv)
    readme_path = arguments.chart / "README.md"
    if not readme_path.exists():
        print(f"error: {readme_path} does not exist; write it with the lines {START} and {END} where the "
              "values reference belongs", file=sys.stderr)
        return 1
    readme = readme_path.read_text()
    try:
        updated = with_reference(readme, values_reference(arguments.chart), where=str(readme_path))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if arguments.check:
        if updated != readme:
            print(f"error: the values reference in {readme_path} is out of date (values.schema.json or "
                  f"values.yaml changed); run: {WRITE_COMMAND}", file=sys.stderr)
            return 1
        print(f"{readme_path}: the values reference is up to date")
        return 0
    if updated == readme:
        print(f"{readme_path}: the values reference is up to date")
    else:
        readme_path.write_text(updated)
        print(f"wrote the values reference in {readme_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
