"""The chart's values are documented: every schema property has a description, the README's values
table is the one generated from the schema and values.yaml, and every key of values.yaml is in both.
No cluster and no helm: only the chart's files are read."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "opframe"
SCHEMA: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
VALUES: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())


def load_values_reference() -> ModuleType:
    """tools/docs/values_reference.py, imported from its file (tools/ is not a package)."""
    path = ROOT / "tools" / "docs" / "values_reference.py"
    spec = importlib.util.spec_from_file_location("values_reference", path)
    assert spec is not None and spec.loader is not None, f"{path} cannot be imported"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


values_reference = load_values_reference()


def schema_properties(schema: dict[str, Any], where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of ``schema`` at any depth, as (its path, its schema): the properties of
    objects, of list items and of map values included (``rbac.rules[].verbs``, ``crds[].kind``)."""
    for name, subschema in schema.get("properties", {}).items():
        path = f"{where}.{name}" if where else name
        yield path, subschema
        yield from schema_properties(subschema, path)
    if isinstance(schema.get("items"), dict):
        yield from schema_properties(schema["items"], f"{where}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from schema_properties(schema["additionalProperties"], f"{where}.*")


def values_leaves(values: dict[str, Any], where: str = "") -> Iterator[str]:
    """The dotted keys of values.yaml whose values are not mappings with keys of their own."""
    for name, value in values.items():
        key = f"{where}.{name}" if where else name
        if isinstance(value, dict) and value:
            yield from values_leaves(value, key)
        else:
            yield key


def documenting_property(key: str) -> str | None:
    """The schema property that documents values.yaml's dotted ``key``: the key itself, or the nearest
    object above it that takes any fields (``resources`` for ``resources.requests.cpu``); None when
    the schema has neither."""
    node: dict[str, Any] = SCHEMA
    walked: list[str] = []
    for part in key.split("."):
        if "properties" not in node:
            return ".".join(walked) if walked and node.get("type") == "object" else None
        if part not in node["properties"]:
            return None
        node = node["properties"][part]
        walked.append(part)
    return key


def table_keys(table: str) -> list[str]:
    """The dotted keys of the rows of a values reference table."""
    return [line.split("|")[1].strip().strip("`") for line in table.splitlines()[2:]]


def readme_reference(readme: str) -> str:
    start, end = values_reference.START, values_reference.END
    assert start in readme and end in readme, (
        f"charts/opframe/README.md lacks the lines {start} and {end} around the values reference; add them")
    return readme.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")


def test_every_schema_property_has_a_description() -> None:
    undescribed = [path for path, subschema in schema_properties(SCHEMA)
                   if not str(subschema.get("description", "")).strip()]
    assert not undescribed, (
        f"values.schema.json properties without a description: {', '.join(undescribed)}; add one to each "
        "(its meaning, from values.yaml's comments), then run python tools/docs/values_reference.py --write")


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (CHART / "README.md").read_text()
    assert readme_reference(readme) == values_reference.values_reference(CHART), (
        "the values reference in charts/opframe/README.md is out of date (values.schema.json or values.yaml "
        "changed, or the table was edited by hand); run: python tools/docs/values_reference.py --write")


def test_every_values_yaml_key_is_in_the_schema_and_the_table() -> None:
    rows = table_keys(values_reference.values_reference(CHART))
    leaves = list(values_leaves(VALUES))
    assert "resources.requests.cpu" in leaves and "webhooks.certificates.certManager.issuerRef" in leaves
    not_in_schema = [key for key in leaves if documenting_property(key) is None]
    assert not not_in_schema, (
        f"values.yaml keys the schema does not declare: {', '.join(not_in_schema)}; add them to "
        "charts/opframe/values.schema.json with a description")
    not_in_table = [key for key in leaves
                    if documenting_property(key) not in rows and not any(row.startswith(f"{key}.") for row in rows)]
    assert not not_in_table, (
        f"values.yaml keys without a row in the values reference: {', '.join(not_in_table)}; "
        "run python tools/docs/values_reference.py --write")


def test_the_table_shows_types_defaults_and_descriptions_on_one_row_per_leaf() -> None:
    table = values_reference.values_reference(CHART)
    rows = {key: line for key, line in zip(table_keys(table), table.splitlines()[2:], strict=True)}
    assert "leaderElection" not in rows and "image" not in rows  # objects of properties: their leaves only
    assert rows["replicas"] == ("| `replicas` | integer ≥ 1 | `2` | The Deployment's replicas; more than one turns "
                                "leader election on (leaderElection.enabled auto): one leads, the others "
                                "stand by. |")
    assert "| `configMap`, `image` | `configMap` |" in rows["operator.source"]
    assert "`from opframe import on` … (5 lines)" in rows["operator.code"]
    assert "| `[{apiGroups: [''], resources: [configmaps], verbs: [get, list, watch, patch]}]` |" in rows["rbac.rules"]
    assert "| list of objects | `[]` |" in rows["crds"]
    assert "&lt;full name>.&lt;namespace>.opframe.dev" in rows["webhooks.configurationName"]  # not read as HTML
    assert "| (unset) |" in rows["webhooks.certificates.certManager.issuerRef.name"]


def test_check_fails_naming_the_fix_and_write_brings_the_readme_up_to_date(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "opframe"
    shutil.copytree(CHART, chart)
    values = chart / "values.yaml"
    values.write_text(values.read_text().replace("replicas: 2", "replicas: 3"))
    assert values_reference.main(["--check", "--chart", str(chart)]) == 1
    assert values_reference.WRITE_COMMAND in capsys.readouterr().err
    assert values_reference.main(["--write", "--chart", str(chart)]) == 0
    assert "| `replicas` | integer ≥ 1 | `3` |" in (chart / "README.md").read_text()
    assert values_reference.main(["--check", "--chart", str(chart)]) == 0
    (chart / "README.md").write_text("# no markers\n")
    assert values_reference.main(["--check", "--chart", str(chart)]) == 1
    assert values_reference.START in capsys.readouterr().err
