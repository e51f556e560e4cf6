"""The commands on descriptions of data rather than on rows: JSON Schemas, other trainers' dataset descriptors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer

from ftdata import render
from ftdata.cli.app import app, guarded

schema_app = typer.Typer(help="JSON Schemas of the formats.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(schema_app, name="schema")


@schema_app.command("export")
def schema_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write <format>.schema.json files into.")] = Path("schemas"),
) -> None:
    """Write one JSON Schema per format (and the canonical record), generated from the pydantic models.

    Example: ftdata schema export schemas/
    """
    from ftdata import api

    for path in guarded(lambda: api.export_schemas(directory)):
        render.line(f"wrote {path}")


descriptor_app = typer.Typer(help="Other trainers' dataset descriptors (axolotl, trl, LLaMA-Factory v1) from and to a "
                                   "dataset_info.json.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(descriptor_app, name="descriptor")


@descriptor_app.command("export")
def descriptor_export(
    info: Annotated[Path, typer.Argument(help="A LLaMA-Factory dataset_info.json.")],
    to: Annotated[str, typer.Option("--to", "-t", metavar="KIND", help="axolotl (its datasets: block), trl (its dataset mixture YAML) or llamafactory-v1 (a v1 dataset YAML).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the YAML here (default: print it).")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Entry names, comma-separated (default: all).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
) -> None:
    """Write the entries of a dataset_info.json as another trainer's dataset YAML; entries it cannot read as they
    are are left out, each with the reason and the ftdata convert that fixes it (exit 1).

    Example: ftdata descriptor export data/dataset_info.json --to trl -o mixture.yaml
    """
    from ftdata import api

    names = dataset.split(",") if dataset else None
    inputs = api.run_inputs(info)
    if output is not None:
        guarded(lambda: api.check_output(output, inputs, force))
    result = guarded(lambda: api.export_descriptor(info, to, output.parent if output else Path.cwd(), names,
                                                   refuse=output if not force else None))
    text = guarded(lambda: api.dump_yaml(result.document))
    guarded(lambda: api.save_descriptor(output, text, inputs, force))
    render.exported(result, text if output is None else None, str(output) if output else None)
    raise typer.Exit(1 if result.refused else 0)


@descriptor_app.command("import")
def descriptor_import(
    source: Annotated[Path, typer.Argument(help="An axolotl config, a trl dataset mixture YAML or a LLaMA-Factory v1 dataset YAML.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the dataset_info.json here (default: print it).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
) -> None:
    """Read another trainer's dataset YAML back into dataset_info.json entries (file names relative to OUT's folder);
    entries LLaMA-Factory cannot read are left out with the reason (exit 1).

    Example: ftdata descriptor import mixture.yaml -o data/dataset_info.json
    """
    from ftdata import api

    inputs = guarded(lambda: api.run_inputs(source))
    if output is not None:
        guarded(lambda: api.check_output(output, inputs, force))
    result = guarded(lambda: api.import_descriptor(source, output.parent if output else Path.cwd(),
                                                   refuse=output if not force else None))
    text = orjson.dumps(result.document, option=orjson.OPT_INDENT_2).decode() + "\n"
    guarded(lambda: api.save_descriptor(output, text, inputs, force))
    render.exported(result, text if output is None else None, str(output) if output else None)
    raise typer.Exit(1 if result.refused else 0)
