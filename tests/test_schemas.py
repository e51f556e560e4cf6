"""Exported JSON Schemas: in sync with the models, and the same structural verdict as pydantic on every fixture."""

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT
from mutations import fixture_rows

from ftdata.formats import FORMATS, match
from ftdata.formats.base import parse_row
from ftdata.ops.schemas import schema_for

ROW_MODELS = {name: f.rows for name, f in FORMATS.items()}


@pytest.mark.parametrize("fmt", sorted(ROW_MODELS))
def test_schemas_folder_matches_the_models(fmt: str) -> None:
    on_disk = json.loads((ROOT / "schemas" / f"{fmt}.schema.json").read_text())
    assert on_disk == json.loads(json.dumps(schema_for(fmt))), "run: ftdata schema export schemas"


def test_jsonschema_and_pydantic_agree_on_every_structural_case() -> None:
    validators = {fmt: jsonschema.Draft202012Validator(schema_for(fmt)) for fmt in ROW_MODELS}
    checked = 0
    for name, raw in fixture_rows():
        fmt = match(raw)
        for candidate in {fmt.name if fmt else None, *ROW_MODELS} - {None}:
            pydantic_ok = any(parse_row(model, raw)[0] is not None for model in ROW_MODELS[candidate])
            assert validators[candidate].is_valid(raw) == pydantic_ok, (name, candidate, raw)
            checked += 1
    assert checked > 1000


def test_schema_export_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ftdata.cli import app

    result = CliRunner().invoke(app, ["schema", "export", str(tmp_path)])
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{f}.schema.json" for f in ROW_MODELS)


def test_schema_export_creates_the_folder_but_not_its_missing_parents(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ftdata.cli import app

    result = CliRunner().invoke(app, ["schema", "export", str(tmp_path / "missing" / "schemas")])
    assert result.exit_code == 2 and "cannot create the folder" in result.output
    assert not (tmp_path / "missing").exists()
    assert CliRunner().invoke(app, ["schema", "export", str(tmp_path / "schemas")]).exit_code == 0
    assert (tmp_path / "schemas" / "sharegpt.schema.json").is_file()
