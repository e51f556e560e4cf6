"""Readers: odd but common file shapes are read; broken ones give located problems or a clear file error."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftdata import validate_file
from ftdata.io.files import read_records
from ftdata.io.readers import UnreadableFile

ROW = b'{"instruction": "q", "output": "a"}'


def codes(report) -> list[tuple[int | None, str]]:
    return [(p.line, p.code) for p in report.problems]


def test_bom_crlf_and_blank_lines_keep_true_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + ROW + b"\r\n\r\n   \n" + b'{"instruction": "q"}\r\n')
    report = validate_file(f)
    assert (report.records, report.valid) == (2, 1)
    assert codes(report) == [(4, "missing_field")]


def test_truncated_last_line_and_invalid_utf8_do_not_hide_other_lines(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(ROW + b"\n" + b'{"instruction": "\xff\xfe", "output": "a"}\n' + ROW + b"\n" + b'{"instruction": "q", "out')
    report = validate_file(f)
    assert (report.records, report.valid, report.invalid) == (4, 2, 2)
    assert codes(report) == [(2, "invalid_json"), (4, "invalid_json")]


def test_utf16_and_empty_files_are_unreadable(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes('{"text": "x"}\n'.encode("utf-16"))
    with pytest.raises(UnreadableFile, match="UTF-16"):
        read_records(f)
    empty = tmp_path / "e.jsonl"
    empty.write_bytes(b"")
    assert validate_file(empty).error.endswith("no records (the file is empty)")


def test_json_lines_saved_as_json_and_single_object(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_bytes(ROW + b"\n" + ROW + b"\n")
    assert validate_file(f).valid == 2
    f.write_bytes(ROW)
    assert validate_file(f).valid == 1


def test_txt_is_one_text_record_per_line(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("first\n\nsecond\n")
    report = validate_file(f)
    assert (report.format, report.records) == ("text", 2)


def test_unsupported_suffix_and_directory(tmp_path: Path) -> None:
    (tmp_path / "x.xml").write_text("<a/>")
    assert "unsupported file type '.xml'" in validate_file(tmp_path / "x.xml").error
    assert "is a directory" in validate_file(tmp_path).error


def test_markup_in_data_is_printed_literally(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ftdata.cli import app

    f = tmp_path / "a.jsonl"
    f.write_text('{"conversations": [{"from": "[bold]x[/bold]", "value": "q"}, {"from": "gpt", "value": "a"}]}\n')
    result = CliRunner().invoke(app, ["validate", str(f)])
    assert "unknown role '[bold]x[/bold]'" in result.output


def test_parallel_validation_matches_sequential_exactly(tmp_path: Path, monkeypatch) -> None:
    import ftdata.ops.validate

    rows = []
    for i in range(400):
        if i % 37 == 0:
            rows.append(b'{"instruction": "q"')
        elif i % 41 == 0:
            rows.append(b"")
        elif i % 43 == 0:
            rows.append(b'{"instruction": "q", "output": " "}')
        else:
            rows.append(b'{"instruction": "q%d", "output": "a"}' % i)
    f = tmp_path / "big.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + b"\n".join(rows) + b"\n")
    sequential = validate_file(f)
    monkeypatch.setattr(ftdata.ops.validate, "PARALLEL_MIN_BYTES", 0)
    for workers in (2, 3, 7):
        parallel = validate_file(f, workers=workers)
        assert (parallel.records, parallel.valid, parallel.invalid) == (sequential.records, sequential.valid, sequential.invalid)
        assert parallel.problems == sequential.problems
    assert [p.line for p in sequential.problems][:2] == [1, 38]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_json_array_streaming_matches_a_full_parse(chunk: int) -> None:
    import io
    import json

    from ftdata.io.jsonarray import iter_elements

    data = [{"a": 'x\\"y]', "b": [1, {"c": "}{,"}], "d": "\\\\"}, "s,t", 3, None, [], {"k": "\\u00e9\\n"}]
    raw = json.dumps(data, indent=1).encode()
    assert [json.loads(e) for e in iter_elements(io.BytesIO(raw), chunk)] == data
    assert list(iter_elements(io.BytesIO(b" [ ] "), chunk)) == []


JSON_TEXT = st.text(alphabet=st.sampled_from(list('ab"\\[]{},: \n\u00e9\u4e2d')), max_size=12)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | JSON_TEXT,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
                           max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(data=st.lists(JSON_VALUES, max_size=6), indent=st.sampled_from([None, 0, 2]), chunk=st.integers(1, 40),
       ascii_only=st.booleans())
def test_json_array_streaming_property(data, indent, chunk, ascii_only) -> None:
    """Any array of values whose strings are full of quotes, backslashes, brackets and commas splits back into
    its elements, wherever the read chunks cut the strings and escapes."""
    import io
    import json

    from ftdata.io.jsonarray import iter_elements

    raw = json.dumps(data, indent=indent, ensure_ascii=ascii_only).encode()
    assert [json.loads(e) for e in iter_elements(io.BytesIO(raw), chunk)] == data


def test_broken_json_arrays_are_located_problems(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text('[{"instruction": "q", "output": "a"}, {"instruction": "q", "output": "b"},]')
    report = validate_file(f)
    assert (report.records, report.valid, report.invalid) == (2, 2, 0)  # the comma is no third record (issue 27)
    assert [(p.index, p.line, p.column, p.code) for p in report.problems] == [(None, 1, 74, "invalid_json")]
    assert report.problems[0].message.startswith("a comma after the last element at line 1 column 74")
    assert (report.file_errors, report.failed) == (1, True)  # still an error of the file: validate exits 1
    f.write_text('[{"instruction": "q", "output": "a"}, {"instruction": "q", "out')
    report = validate_file(f)
    cut = "the file ends inside this element at line 1 column 64 (truncated?); the elements before were read"
    assert (report.valid, report.problems[-1].message) == (1, cut)
    f.write_text('[{"instruction": "q", "output": "a"}] garbage')
    assert validate_file(f).problems[0].message.startswith("content after the closing")
    f.write_text('{\n  "instruction": "q",\n  "output": "a"\n}\n')
    assert validate_file(f).valid == 1


ARRAY = ('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c",\n   "output": "d",\n   "x": [1, 2,\n   ]},\n'
         '  {"instruction": "e", "output": "f"},,\n    {"instruction": "g", "output": "h"},\n]\n')


def test_json_array_problems_are_located_in_the_files_lines_and_columns(tmp_path: Path) -> None:
    """A bad element: orjson's position inside it moved to the file's (it was 'line 3 column 14' of the element);
    each element at its first line; a doubled and a trailing comma where the comma is."""
    f = tmp_path / "a.json"
    f.write_text(ARRAY)
    report = validate_file(f)
    assert [(p.index, p.line, p.column) for p in report.problems] == [(1, 3, 3), (3, 7, 39), (None, 8, 40)]
    assert (report.records, report.invalid, report.file_errors) == (5, 2, 1)
    first, doubled, trailing = (p.message for p in report.problems)
    assert "trailing comma is not allowed: line 5 column 14;" in first and "element" in first
    assert doubled.startswith("empty element: a doubled comma at line 7 column 39")
    assert trailing.startswith("a comma after the last element at line 8 column 40")


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 16, 64])
def test_json_array_positions_do_not_depend_on_where_the_reads_fall(chunk: int) -> None:
    import io

    from ftdata.io.jsonarray import iter_located

    data = ("\ufeff" + ARRAY.replace('"d"', '"d \\" , ] } \u00e9"')).encode()
    whole = list(iter_located(io.BytesIO(data)))
    assert [(line, col) for _, line, col in whole][:2] == [(2, 3), (3, 3)]
    assert list(iter_located(io.BytesIO(data), chunk)) == whole


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
       end_newline=st.booleans(), block=st.integers(1, 64), cut=st.integers(0, 2000))
def test_iter_lines_splits_like_bytes_split_at_any_block_size(lines, end_newline, block, cut) -> None:
    """Lines come out whole however the blocks fall (carried over, or grown past the block size); a `limit`
    stops after that many bytes."""
    import io

    from ftdata.io.readers import iter_lines

    data = b"\n".join(lines) + (b"\n" if end_newline and lines else b"")
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    assert [bytes(v) for v in iter_lines(io.BytesIO(data), block=block)] == expected
    head = data[:cut]
    limited = head.split(b"\n")
    if limited and limited[-1] == b"":
        limited.pop()
    assert [bytes(v) for v in iter_lines(io.BytesIO(data), limit=cut, block=block)] == limited


def test_batch_writer_writes_everything_in_order(tmp_path: Path, monkeypatch) -> None:
    import ftdata.io.sink

    monkeypatch.setattr(ftdata.io.sink, "CHUNK", 64)  # many batches
    pieces = [b"%d," % i for i in range(5000)]
    part = tmp_path / "part"
    part.write_bytes(b"appended;")
    from ftdata.io.staging import atomic_write

    with atomic_write(tmp_path / "out") as raw:
        f = ftdata.io.sink.BatchWriter(raw)
        for i, piece in enumerate(pieces):
            f.write(memoryview(piece) if i % 2 else piece)  # views are copied when written
            if i == 2500:
                f.append_file(part)  # lands exactly here, after what was written before
        f.close()
    assert (tmp_path / "out").read_bytes() == b"".join(pieces[:2501]) + b"appended;" + b"".join(pieces[2501:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "part"]


def test_a_staged_output_goes_to_the_disk_as_it_grows(tmp_path: Path, monkeypatch) -> None:
    """`early_sync`: every SYNC_EVERY bytes a thread hands what was written to the disk (the final sync then waits
    only for the tail); never for a pipe; the bytes are all there, in order; close waits for the thread."""
    import os
    import threading

    import ftdata.io.sink
    from ftdata.io.staging import atomic_write

    synced: list[int] = []
    started = threading.Event()

    def slow_sync(fd: int) -> None:
        started.set()
        synced.append(os.fstat(fd).st_size)

    monkeypatch.setattr(ftdata.io.sink, "CHUNK", 100)
    monkeypatch.setattr(ftdata.io.sink, "SYNC_EVERY", 1000)
    monkeypatch.setattr(ftdata.io.sink.os, "fdatasync", slow_sync)
    with atomic_write(tmp_path / "out") as raw:
        f = ftdata.io.sink.BatchWriter(raw, early_sync=True)
        for i in range(500):
            f.write(b"%09d\n" % i)
        f.close()
        assert f.syncing is not None and not f.syncing.is_alive()
    assert started.is_set() and synced and all(size >= 1000 for size in synced)
    assert (tmp_path / "out").read_bytes() == b"".join(b"%09d\n" % i for i in range(500))
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe, os.fdopen(read, "rb"):
        assert not ftdata.io.sink.BatchWriter(pipe, early_sync=True).early_sync


def test_write_error_reaches_the_caller_and_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    import errno
    import os

    import ftdata.io.sink

    def fail(fd, parts):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(ftdata.io.sink, "CHUNK", 8)
    monkeypatch.setattr(ftdata.io.sink, "_write_all", fail)
    from ftdata.io.staging import atomic_write

    with pytest.raises(OSError, match="Input/output error"):
        with atomic_write(tmp_path / "out") as raw:
            f = ftdata.io.sink.BatchWriter(raw)
            for _ in range(1000):
                f.write(b"0123456789")
    assert list(tmp_path.iterdir()) == []


def test_validate_progress_moves_on_all_valid_files(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes((ROW + b"\n") * 9000)
    seen: list[int] = []
    report = validate_file(f, progress=seen.append)
    assert (report.records, report.valid) == (9000, 9000) and seen == [4096, 8192]


def test_a_byte_that_is_not_utf8_is_named_at_its_column(tmp_path: Path) -> None:
    """orjson says 'surrogates not allowed ... column 1' for a 0xff byte at column 18; say what and where."""
    from ftdata.ops.validate import validate_file

    f = tmp_path / "bad.jsonl"
    f.write_bytes(b'{"instruction": "\xff\xfe</td>", "output": 3}\n{"instruction": "\xc3\xa9\xff", "output": "x"}\n'
                  b'{"instruction": "ok", "output": "x"}\n')
    messages = [p.message for p in validate_file(f).problems]
    assert messages[0].startswith("not valid UTF-8: byte 0xff at column 18;")
    assert messages[1].startswith("not valid UTF-8: byte 0xff at column 19;")  # 'é' is one column
