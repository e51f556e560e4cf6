"""Hostile input: every case gets located problem codes or a clear file error, never a traceback; convert keeps
in = written + rejected; media paths stay inside the media folder; outputs are never clobbered or half-written."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from images import image_bytes
from typer.testing import CliRunner

from ftdata import validate_file
from ftdata.cli import app
from ftdata.ops.convert import convert_files

runner = CliRunner()
OK = b'{"instruction": "q", "output": "a"}'


def line_codes(path: Path) -> list[tuple[int | None, str]]:
    report = validate_file(path)
    assert report.error is None, report.error
    return [(p.line, p.code) for p in report.problems if p.severity == "error"]


CASES = {  # name -> (file bytes, expected [(line, code)])
    "nan_infinity": (OK + b'\n{"instruction": "q", "output": NaN}\n{"instruction": Infinity, "output": "a"}\n',
                     [(2, "invalid_json"), (3, "invalid_json")]),
    "duplicate_keys_last_wins": (b'{"instruction": "q", "output": 1, "output": "a"}\n', []),
    "int_beyond_64_bits": (b'{"instruction": "q", "output": "a", "id": 123456789012345678901234567890}\n',
                           [(1, "wrong_type")]),  # orjson reads it as a float: id must be an int or string
    "nul_bytes": (OK + b'\n{"instruction": "q\\u0000", "output": "a"}\n\x00\x00\n', [(3, "invalid_json")]),
    "rows_not_objects": (OK + b"\n[1]\n3\nnull\n\"text\"\n",
                         [(2, "not_an_object"), (3, "not_an_object"), (4, "not_an_object"), (5, "not_an_object")]),
    "lone_surrogate": (OK + b'\n{"instruction": "\\ud800", "output": "a"}\n', [(2, "invalid_json")]),
    "role_case_and_spaces": (b'{"conversations": [{"from": "Human", "value": "q"}, {"from": "gpt", "value": "a"}]}\n'
                             b'{"conversations": [{"from": "human ", "value": "q"}, {"from": "gpt", "value": "a"}]}\n',
                             [(1, "unknown_role"), (2, "unknown_role")]),
    "content_number_and_object": (b'{"conversations": [{"from": "human", "value": 5}, {"from": "gpt", "value": {"a": 1}}]}\n',
                                  [(1, "wrong_type"), (1, "wrong_type")]),
    "deep_nesting": (OK + b"\n" + b'{"instruction": "q", "output": "a", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
                     [(2, "invalid_json")]),
    "crlf_blank_truncated": (OK + b"\r\n\r\n" + OK + b'\r\n{"instruction": "q", "out', [(4, "invalid_json")]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_jsonl_cases(tmp_path: Path, name: str) -> None:
    data, expected = CASES[name]
    f = tmp_path / f"{name}.jsonl"
    f.write_bytes(data)
    assert line_codes(f) == expected
    report = convert_files([f], "sharegpt", tmp_path / "out.jsonl", dataset_info=False)
    assert report.records == report.written + report.rejected
    rejected_lines = {json.loads(r)["line"] for r in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()} \
        if report.rejected else set()
    assert rejected_lines == {line for line, _ in expected}


def test_ten_thousand_turns_and_a_50_mb_line(tmp_path: Path) -> None:
    turns = [{"from": "human" if i % 2 == 0 else "gpt", "value": f"t{i}"} for i in range(10_000)]
    big = "x" * (50 << 20)
    f = tmp_path / "big.jsonl"
    f.write_text(json.dumps({"conversations": turns}) + "\n" +
                 json.dumps({"conversations": [{"from": "human", "value": big}, {"from": "gpt", "value": "ok"}]}) + "\n")
    report = validate_file(f)
    assert (report.records, report.valid) == (2, 2)


def test_invalid_utf8_and_utf16_and_empty(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(OK + b'\n{"instruction": "\xff", "output": "a"}\n')
    assert line_codes(f) == [(2, "invalid_json")]
    f.write_bytes(OK.decode().encode("utf-16"))
    result = runner.invoke(app, ["validate", str(f)])
    assert result.exit_code == 2 and "UTF-16" in result.output and "Traceback" not in result.output
    f.write_bytes(b"")
    assert runner.invoke(app, ["validate", str(f)]).exit_code == 2


def test_media_paths_stay_inside_the_media_folder(tmp_path: Path) -> None:
    media = tmp_path / "data"
    (media / "img").mkdir(parents=True)
    (media / "img" / "ok.jpg").write_bytes(image_bytes("JPEG"))
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(image_bytes("JPEG"))
    (media / "img" / "link.jpg").symlink_to(secret)
    rows = [{"instruction": "<image>q", "output": "a", "images": [ref]}
            for ref in ["img/ok.jpg", "../secret.jpg", str(secret), "img/link.jpg", "https://example.com/a.jpg"]]
    f = media / "d.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert line_codes(f) == [(2, "media_outside"), (3, "media_outside"), (4, "media_outside")]
    assert validate_file(f, allow_outside=True).invalid == 0
    result = runner.invoke(app, ["validate", str(f), "--allow-outside-media"])
    assert result.exit_code == 0


def test_existing_output_needs_force(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_bytes(OK + b"\n")
    out = tmp_path / "a.sharegpt.jsonl"
    out.write_text("precious")
    result = runner.invoke(app, ["convert", str(src), "--to", "sharegpt"])
    assert result.exit_code == 2 and "pass --force" in result.output and out.read_text() == "precious"
    assert runner.invoke(app, ["convert", str(src), "--to", "sharegpt", "--force"]).exit_code == 0
    assert out.read_text() != "precious"


def test_sigterm_during_convert_leaves_nothing_behind(tmp_path: Path) -> None:
    src = tmp_path / "big.jsonl"
    # tool calls take the full path (~0.1 ms a row), so 60k rows are seconds of work whatever the machine
    row = (b'{"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": '
           b'"{\\"name\\": \\"f\\", \\"arguments\\": {}}"}, {"from": "observation", "value": "r"}, '
           b'{"from": "gpt", "value": "a"}]}\n')
    src.write_bytes(row * 60_000)
    exe = Path(sys.executable).with_name("ftdata")
    proc = subprocess.Popen([str(exe), "convert", str(src), "--to", "openai"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):  # writing has begun
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl"]


@pytest.mark.parametrize("where", ["row writer", "batched write", "final fsync"])
def test_full_disk_is_reported_and_input_untouched(tmp_path: Path, monkeypatch, where: str) -> None:
    """ENOSPC wherever it strikes: writing a row, writing a batch of rows, or at the final fsync."""
    import errno

    import ftdata.io.sink

    src = tmp_path / "a.jsonl"
    src.write_bytes((OK + b"\n") * 3000)  # several batches of 4 kB
    before = src.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            full()

        def __getattr__(self, name):
            return getattr(self.f, name)

    if where == "row writer":
        real = ftdata.io.sink.JsonWriter.__init__
        monkeypatch.setattr(ftdata.io.sink.JsonWriter, "__init__", lambda self, f, array: real(self, Full(f), array))
    elif where == "batched write":
        monkeypatch.setattr(ftdata.io.sink, "CHUNK", 4096)
        monkeypatch.setattr(ftdata.io.sink, "_write_all", full)
    else:
        monkeypatch.setattr(ftdata.io.sink.os, "fsync", full)
    result = runner.invoke(app, ["convert", str(src), "--to", "sharegpt"])
    assert result.exit_code == 2, result.output
    assert "No space left on device; nothing was written and the inputs are untouched" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"] and src.read_bytes() == before
