"""Pages of the documentation site generated from the code at build time (mkdocs-gen-files runs this):

* reference/settings.md from opframe's Settings model (every field, its environment variable, its
  default and its description: the text ``opframe run --help`` shows);
* reference/cli.md from the click commands (each command's help, as ``opframe ... --help`` prints it);
* reference/chart-values.md from charts/opframe/values.schema.json and values.yaml.

A page generated here cannot drift from the code: `make test` builds the site in strict mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "docs"))

from values_reference import values_reference  # noqa: E402

from opframe import cli  # noqa: E402
from opframe.settings import Settings  # noqa: E402


def settings_page() -> str:
    lines = ["# Settings", "",
             "Every setting of `opframe run`, as an `OPFRAME_*` environment variable and (where it has one) a",
             "command-line option. The command line wins over the environment, which wins over the defaults.",
             "Generated from `opframe.settings.Settings`.", "",
             "| setting | environment | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default in (None, "") else f"`{default!r}`" if not isinstance(default, str) else f"`{default}`"
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{name}` | `OPFRAME_{name.upper()}` | {shown} | {description} |")
    return "\n".join(lines) + "\n"


def cli_page() -> str:
    lines = ["# Command line", "", "Generated from the commands' own help (`opframe COMMAND --help`).", ""]

    def walk(command: click.Command, path: list[str]) -> None:
        context = click.Context(command, info_name=" ".join(path))
        if not getattr(command, "hidden", False):
            lines.extend([f"## `{' '.join(path)}`", "", "```text", command.get_help(context), "```", ""])
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                walk(command.commands[name], [*path, name])

    walk(cli.main, ["opframe"])
    return "\n".join(lines)


def chart_values_page() -> str:
    return ("# Chart values\n\nEvery value of `charts/opframe` (generated from its `values.schema.json` and "
            "`values.yaml`). How to install an operator with the chart: [Image and chart](../deployment.md).\n\n"
            + values_reference(ROOT / "charts" / "opframe") + "\n")


for path, text in (("reference/settings.md", settings_page()), ("reference/cli.md", cli_page()),
                   ("reference/chart-values.md", chart_values_page())):
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(text)
