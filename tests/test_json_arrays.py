"""JSON arrays (issue 27): a comma after the last element is one problem of the file, never a record; every
element's problems are located in the file's coordinates (line:column where the element starts)."""

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftdata.cli import app
from ftdata.io.jsonarray import Cut, iter_located
from ftdata.ops.validate import validate_file

runner = CliRunner()

# Elements over several lines, indented differently; the second has a wrong type on its 4th line, the third a syntax
# error on its 3rd; a comma after the last element.
MULTI = ('[\n'
         '  {"instruction": "a",\n'
         '   "output": "b"},\n'
         '      {\n'
         '        "instruction": "c",\n'
         '        "input": "",\n'
         '        "output": 7\n'
         '      },\n'
         '   {"instruction": "e",\n'
         '    "output": "f",\n'
         '    "history": [["x" "y"]]},\n'
         '  {"instruction": "g", "output": "h"},\n'
         ']\n')


def _write(tmp_path: Path, text: str = MULTI) -> Path:
    f = tmp_path / "multi.json"
    f.write_text(text)
    return f


def test_multi_line_elements_are_located_at_their_first_line_and_column(tmp_path: Path) -> None:
    report = validate_file(_write(tmp_path))
    located = [(p.index, p.line, p.column, p.path, p.code) for p in report.problems]
    assert located == [(1, 4, 7, "output", "wrong_type"), (2, 9, 4, "", "invalid_json"),
                       (None, 12, 38, "", "invalid_json")]
    syntax = report.problems[1].message
    assert "line 11 column 22" in syntax, syntax  # orjson's position inside the element, moved to the file's
    assert (report.records, report.valid, report.invalid) == (4, 2, 2)


def test_the_text_report_counts_no_record_for_a_trailing_comma(tmp_path: Path) -> None:
    f = _write(tmp_path, '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c", "output": "d"},\n]\n')
    result = runner.invoke(app, ["validate", str(f)])
    assert result.exit_code == 1, result.output  # an error of the file: not clean
    head, *rest = result.output.splitlines()
    assert "records: 2  valid: 2  invalid: 0" in head and head.endswith("invalid file")
    assert f"  {f}:3:38: a comma after the last element at line 3 column 38; remove it (JSON allows none) " \
           "[invalid_json]" in rest


def test_the_json_report_counts_no_record_for_a_trailing_comma(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_write(tmp_path)), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["records"], data["valid"], data["invalid"]) == (4, 2, 2)
    errors = data["files"][0]["errors"]
    assert [(e["index"], e["line"], e.get("column")) for e in errors] == [(1, 4, 7), (2, 9, 4), (None, 12, 38)]


def test_convert_counts_no_record_for_a_trailing_comma_and_says_so(tmp_path: Path) -> None:
    f = _write(tmp_path, '[{"instruction": "a", "output": "b"},\n {"instruction": "c", "output": "d"}\n,\n]')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["convert", str(f), "--to", "sharegpt", "-o", str(out), "--no-dataset-info",
                                 "--json"])
    assert result.exit_code == 0, result.output  # every row written: the comma lost nothing
    data = json.loads(result.stdout)
    assert (data["records"], data["written"], data["rejected"]) == (2, 2, 0)
    assert len(out.read_text().splitlines()) == 2 and not Path(f"{out}.rejects.jsonl").exists()
    assert any("a comma after the last element at line 3 column 1" in n and "no row" in n for n in data["notes"])


def test_a_doubled_comma_and_truncation_stay_records(tmp_path: Path) -> None:
    """An empty element between two commas and a truncated last element are (lost) rows: counted, located (the
    truncated one where it starts, its message says where the file ends)."""
    report = validate_file(_write(tmp_path, '[{"instruction": "a", "output": "b"},,\n {"instruction": "c"'))
    assert [(p.index, p.line, p.column) for p in report.problems] == [(1, 1, 38), (2, 2, 2)]
    assert "the file ends inside this element at line 2 column 21" in report.problems[1].message
    assert (report.records, report.invalid, report.file_errors) == (3, 2, 0)


def test_a_descriptor_entry_reports_the_comma_of_its_file_and_the_columns(tmp_path: Path) -> None:
    """Through a dataset_info.json entry too (LLaMA-Factory's loader would stop at such a file): the comma is one
    problem naming its file, the element's column is kept."""
    (tmp_path / "multi.json").write_text(MULTI)
    (tmp_path / "dataset_info.json").write_text(json.dumps({"m": {"file_name": "multi.json"}}))
    result = runner.invoke(app, ["validate", str(tmp_path / "dataset_info.json"), "--json"])
    assert result.exit_code == 1, result.output
    entry = json.loads(result.stdout)["files"][1]
    assert (entry["records"], entry["valid"], entry["invalid"]) == (4, 2, 2)
    located = [(e["index"], e["line"], e.get("column")) for e in entry["errors"]]
    assert located == [(1, 4, 7), (2, 9, 4), (None, 12, 38)]
    assert entry["errors"][-1]["message"].startswith("multi.json: a comma after the last element at line 12")


# The probe's cases: a complete element is never lost, a rejected one keeps its text, columns count characters,
# commas at the end are one problem.
ROWS = ['{"instruction": "a", "output": "b"}', '{"instruction": "c", "output": "d"}']


def _convert(tmp_path: Path, text: str) -> tuple[dict, list[str], list[dict]]:
    """convert's --json report, the output's lines and the rejects' rows of `text` saved as a .json file."""
    f = _write(tmp_path, text)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["convert", str(f), "--to", "sharegpt", "-o", str(out), "--no-dataset-info", "--json"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    rejects = Path(f"{out}.rejects.jsonl")
    rows = [json.loads(r) for r in rejects.read_text().splitlines()] if rejects.exists() else []
    assert data["written"] + data["rejected"] == data["records"]
    return data, out.read_text().splitlines() if out.exists() else [], rows


def test_a_missing_closing_bracket_after_a_complete_element_loses_no_row(tmp_path: Path) -> None:
    text = f"[\n  {ROWS[0]},\n  {ROWS[1]}\n"
    report = validate_file(_write(tmp_path, text))
    assert (report.records, report.valid, report.invalid, report.file_errors) == (2, 2, 0, 1)
    assert [(p.index, p.line, p.code) for p in report.problems] == [(None, 4, "invalid_json")]
    assert report.problems[0].message.startswith("the file ends inside the array")
    data, out, rejects = _convert(tmp_path, text)
    assert (data["records"], data["written"], data["rejected"]) == (2, 2, 0) and len(out) == 2 and not rejects
    for ending in ("", ",", ",\n", ",,", " , , "):  # a comma or two, and then the file ends: still one problem
        report = validate_file(_write(tmp_path, f"[{ROWS[0]}, {ROWS[1]}{ending}"))
        assert (report.records, report.valid, len(report.problems)) == (2, 2, 1), ending


def test_an_empty_unclosed_array_is_no_record(tmp_path: Path) -> None:
    for text in ("[", "[\n  ", "[,"):
        report = validate_file(_write(tmp_path, text))
        empty = f"{tmp_path / 'multi.json'}: no records (the file is empty)"
        assert (report.records, report.problems, report.error) == (0, [], empty), text


def test_an_element_the_file_ends_inside_is_a_rejected_row_with_its_text(tmp_path: Path) -> None:
    text = f'[{ROWS[0]},\n {ROWS[1]},\n  {{"instruction": "e", "out'
    report = validate_file(_write(tmp_path, text))
    assert (report.records, report.valid, report.invalid) == (3, 2, 1)
    assert [(p.index, p.line, p.column) for p in report.problems] == [(2, 3, 3)]  # where the element starts
    assert report.problems[0].message.startswith("the file ends inside this element at line 3 column 28")
    data, _, rejects = _convert(tmp_path, text)
    assert (data["written"], data["rejected"]) == (2, 1)
    assert rejects[0]["record_text"] == '{"instruction": "e", "out'


def test_a_second_array_after_the_first_is_read_and_one_problem(tmp_path: Path) -> None:
    text = f"[{ROWS[0]}]\n[{ROWS[1]}]\n"
    report = validate_file(_write(tmp_path, text))
    assert (report.records, report.valid, report.file_errors) == (2, 2, 1)
    assert [(p.index, p.line, p.column) for p in report.problems] == [(None, 2, 1)]
    assert "a second array" in report.problems[0].message
    data, out, _ = _convert(tmp_path, text)
    assert (data["records"], data["written"], data["rejected"]) == (2, 2, 0) and '"d"' in out[1]


def test_content_after_the_array_is_kept_in_the_rejects(tmp_path: Path) -> None:
    text = f'[{ROWS[0]}]\n{{"instruction": "c", "output": "d"}} trailing words\n'
    report = validate_file(_write(tmp_path, text))
    assert (report.records, report.valid, report.invalid) == (2, 1, 1)
    assert [(p.index, p.line, p.column) for p in report.problems] == [(1, 2, 1)]
    assert report.problems[0].message.startswith("content after the closing ']'")
    data, out, rejects = _convert(tmp_path, text)
    assert (data["written"], data["rejected"], len(out)) == (1, 1, 1)
    assert rejects[0]["record_text"] == '{"instruction": "c", "output": "d"} trailing words'
    report = validate_file(_write(tmp_path, f"[{ROWS[0]}]]\n"))  # a stray bracket: no data, one problem of the file
    assert (report.records, report.valid, report.file_errors) == (1, 1, 1)


def test_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    text = '[{"instruction": "éééé", "output": "b"}, {"instruction": 5, "output": "x"}]'
    report = validate_file(_write(tmp_path, text))
    assert [(p.line, p.column) for p in report.problems] == [(1, 42)]
    text = '[{"instruction": "中文", "output": "b"},\n  {"instruction": "é" "output": "x"}, {"instruction": "ü"},,]'
    report = validate_file(_write(tmp_path, text))
    assert [(p.line, p.column) for p in report.problems] == [(2, 3), (2, 39), (2, 59)]
    assert "line 2 column 23" in report.problems[0].message  # orjson's column (characters) moved to the file's


def test_commas_after_the_last_element_are_one_problem(tmp_path: Path) -> None:
    for text in (f"[{ROWS[0]},{ROWS[1]},,]", f"[{ROWS[0]},{ROWS[1]}, ,\n ,]"):
        report = validate_file(_write(tmp_path, text))
        assert (report.records, report.valid, report.invalid, report.file_errors) == (2, 2, 0, 1), text
        assert [(p.index, p.line, p.column) for p in report.problems] == [(None, 1, 73)], text
    data, out, rejects = _convert(tmp_path, f"[{ROWS[0]},{ROWS[1]},,]")
    assert (data["records"], data["written"], data["rejected"], len(out), rejects) == (2, 2, 0, 2, [])
    report = validate_file(_write(tmp_path, f"[{ROWS[0]},,{ROWS[1]}]"))  # between two elements: a lost row
    assert (report.records, report.invalid) == (3, 1)


BROKEN = [f"[{ROWS[0]},\n {ROWS[1]}\n", f'[{ROWS[0]},\n  {{"instruction": "é中", "out', f"[{ROWS[0]}]\n [{ROWS[1]}, ]",
          f'[{ROWS[0]}]\n  {{"é": 1}} x', '[{"instruction": "éééé", "output": "b"}, {"instruction": 5}, ,\n ,]',
          '\ufeff[ "中文中文",\n "ü" , {"a": "é"}]]}']


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 16, 64])
def test_broken_arrays_read_the_same_wherever_the_reads_fall(chunk: int) -> None:
    """Every located element, sentinel and cut end (character columns) is the same read in any chunk size."""
    def located(text: str, size: int) -> list[tuple[bytes, int, int, object]]:
        return [(raw, line, col, raw.end if isinstance(raw, Cut) else None)
                for raw, line, col in iter_located(io.BytesIO(text.encode()), size)]

    for text in BROKEN:
        assert located(text, chunk) == located(text, 1 << 20), text
    cut = located(BROKEN[1], chunk)[-1]  # ends just past `  {"instruction": "é中", "out` (28 characters)
    assert cut == (b'{"instruction": "\xc3\xa9\xe4\xb8\xad", "out', 2, 3, (2, 29))


def test_an_element_that_looks_like_a_sentinel_is_still_a_row(tmp_path: Path) -> None:
    """The reader's markers are no bytes an element can spell: `\\x00comma` in the file is a (bad) row, not a comma."""
    f = tmp_path / "nul.json"
    f.write_bytes(b'[\x00comma, \x00unclosed, ' + ROWS[0].encode() + b"]")
    report = validate_file(f)
    assert (report.records, report.valid, report.invalid, report.file_errors) == (3, 1, 2, 0)


def test_fix_and_dedup_keep_the_row_before_a_missing_bracket(tmp_path: Path) -> None:
    f = _write(tmp_path, f"[\n  {ROWS[0]},\n  {ROWS[1]}\n")
    for command in ("fix", "dedup"):
        out = tmp_path / f"{command}.jsonl"
        result = runner.invoke(app, [command, str(f), "-o", str(out), "--no-dataset-info"])
        assert result.exit_code == 0, result.output
        assert [json.loads(r)["instruction"] for r in out.read_text().splitlines()] == ["a", "c"], command
        assert not Path(f"{out}.rejects.jsonl").exists()
