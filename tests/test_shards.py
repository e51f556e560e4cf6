"""ftdata.engine.shards without an engine: batches of LINES rows, cut anywhere and taken in any order, give the CLI's rows,
rejects, reports and stats."""

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from shard_inputs import moss_file, plain_file

from ftdata.api import stats, validate
from ftdata.io.files import read_records
from ftdata.ops.convert import convert_files

pa = pytest.importorskip("pyarrow")
from ftdata.engine.shards import (  # noqa: E402  (needs pyarrow)
    REJECT,
    REPORT,
    ROW,
    convert_lines,
    lines_tables,
    merge_reports,
    merge_stats,
    merge_validation,
    stats_lines,
    validate_lines,
)


def lines_of(paths: list[Path], rows: int = 3) -> Any:
    tables = []
    for path in paths:
        with path.open("rb") as f:
            tables += list(lines_tables(f, str(path), rows))
    return pa.concat_tables(tables)


def batches(table: Any, shuffled: bool, seed: int = 16) -> list[Any]:
    """`table` cut into chunks of 1-7 rows; shuffled: the chunks in another order, two to a batch (so batches join
    pieces of different files and of distant parts of one file)."""
    rng = random.Random(seed)
    cuts, at = [], 0
    while at < table.num_rows:
        n = rng.randint(1, 7)
        cuts.append(table.slice(at, n))
        at += n
    if not shuffled:
        return cuts
    rng.shuffle(cuts)
    return [pa.concat_tables(cuts[i:i + 2]) for i in range(0, len(cuts), 2)]


def kinds(tables: list[Any]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {ROW: [], REJECT: [], REPORT: []}
    for t in tables:
        for kind, data in zip(t.column("kind").to_pylist(), t.column("data").to_pylist()):
            out[kind].append(data)
    return out


def test_lines_are_numbered_as_the_cli_reader_numbers_records(tmp_path: Path) -> None:
    path = moss_file(tmp_path)
    with path.open("rb") as f:
        assert [t.num_rows for t in lines_tables(f, str(path), 5)] == [5, 5, 5, 5, 2]
    table = lines_of([path])
    cli = list(read_records(path))
    assert table.column("index").to_pylist() == [i.index for i in cli] == list(range(22))
    assert table.column("line").to_pylist() == [i.line for i in cli]
    assert table.column("line").to_pylist()[5:7] == [8, 9]  # after the two blank lines
    assert table.column("data").to_pylist()[0].startswith(b'{"conversation_id": 1')  # no byte order mark


@pytest.mark.parametrize("target", ["sharegpt", "openai"])
def test_batches_in_any_order_convert_as_the_cli(tmp_path: Path, target: str) -> None:
    paths = [moss_file(tmp_path), plain_file(tmp_path)]
    cli = convert_files(paths, target, tmp_path / "cli.jsonl", dataset_info=False)
    expected = (tmp_path / "cli.jsonl").read_bytes().splitlines()
    rejected = (tmp_path / "cli.jsonl.rejects.jsonl").read_bytes().splitlines()
    source = {str(paths[0]): "moss", str(paths[1]): "sharegpt"}
    for shuffled in (False, True):
        out = kinds([convert_lines(b, source=source, target=target, label=True)
                     for b in batches(lines_of(paths), shuffled)])
        if not shuffled:  # in order: the very same file
            assert out[ROW] == expected and out[REJECT] == rejected
        assert Counter(out[ROW]) == Counter(expected) and Counter(out[REJECT]) == Counter(rejected)
        report = merge_reports(out[REPORT], type(cli)([], "", "", target))
        counts = (report.records, report.written, report.rejected)
        assert counts == (cli.records, cli.written, cli.rejected) == (62, 56, 6)
        assert (report.reject_codes, report.warnings, report.kinds, report.keys) == (
            cli.reject_codes, cli.warnings, cli.kinds, cli.keys)
        assert report.formats == source
    assert {json.loads(r)["errors"][0]["code"] for r in rejected} == {
        "marker_mismatch", "invalid_json", "not_an_object", "missing_assistant"}


def test_validation_parts_merge_into_the_cli_report(tmp_path: Path) -> None:
    paths = [moss_file(tmp_path), plain_file(tmp_path)]
    source = {str(paths[0]): "moss", str(paths[1]): "sharegpt"}
    parts = kinds([validate_lines(b, source=source) for b in batches(lines_of(paths), shuffled=True)])
    assert parts[ROW] == parts[REJECT] == []
    merged = merge_validation(parts[REPORT])
    for path in paths:
        cli = validate(path)[0]
        report = merged[str(path)]
        report.how, report.votes = cli.how, cli.votes  # chosen by whoever detects the format (the driver)
        assert report.to_dict() == cli.to_dict()
        assert report.warnings == cli.warnings
    drift = [p for p in merged[str(paths[0])].problems if p.code == "type_drift"]
    assert [(p.path, p.line) for p in drift] == [("conversation_id", 2)]  # the first id given as text


def test_stats_parts_merge_into_the_cli_stats(tmp_path: Path) -> None:
    paths = [moss_file(tmp_path), plain_file(tmp_path)]
    source = {str(paths[0]): "moss", str(paths[1]): "sharegpt"}
    parts = kinds([stats_lines(b, source=source) for b in batches(lines_of(paths), shuffled=True)])
    merged = merge_stats(parts[REPORT], [str(p) for p in paths])
    cli = stats(paths).summary()
    assert merged.summary() == cli
    assert cli["exact_duplicates"] > 0 and cli["invalid"] == 6


def test_a_mapping_of_columns_works_too_and_lines_must_be_lines(tmp_path: Path) -> None:
    table = lines_of([plain_file(tmp_path)], rows=100)
    as_table = kinds([convert_lines(table, source="sharegpt", target="openai")])
    as_columns = kinds([convert_lines(table.to_pydict(), source="sharegpt", target="openai")])
    assert as_columns[ROW] == as_table[ROW] and len(as_table[ROW]) == 37
    for data in ([b'{"a": 1}\n{"b": 2}'], [b"  "]):
        with pytest.raises(ValueError, match="x: LINES rows must each hold one non-blank line"):
            convert_lines({"path": ["x"], "index": [0], "line": [1], "data": data}, source="sharegpt", target="openai")
    with pytest.raises(KeyError, match="no source format for this file"):
        convert_lines(table, source={}, target="openai")
