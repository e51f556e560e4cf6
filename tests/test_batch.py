"""convert_batch under datasets.Dataset.map(batched=True, num_proc=2): same results as convert_files."""

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from ftdata.engine.batch import convert_batch
from ftdata.ops.convert import convert_files

datasets = pytest.importorskip("datasets")


def test_map_batched_multiprocess_matches_convert_files(tmp_path: Path) -> None:
    src = FIXTURES / "moss" / "moss_sample.jsonl"
    rows = [json.loads(line) for line in src.read_text().splitlines()]
    rows[3]["chat"]["turn_1"]["Human"] = "no markers"  # one invalid row
    bad = tmp_path / "moss.jsonl"
    bad.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    ds = datasets.Dataset.from_list(rows)
    out = ds.map(convert_batch, batched=True, batch_size=4, num_proc=2, with_indices=True,
                 remove_columns=ds.column_names, fn_kwargs={"source": "moss", "target": "sharegpt"})
    report = convert_files([bad], "sharegpt", tmp_path / "o.jsonl", dataset_info=False)
    assert sum(out["ftdata_valid"]) == report.written == 19
    expected = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [json.loads(r) for r in out["ftdata_row"] if r is not None] == expected
    errors = json.loads(out["ftdata_errors"][3])
    assert errors[0]["index"] == 3 and errors[0]["code"] == "marker_mismatch"
