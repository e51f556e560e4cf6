"""Reliability where ftdata meets the rest of the system: other runs in the same folder, links and temp files, the
terminal, odd containers (CSV, Parquet, FIFOs, devices), and crashes. One section per class of failure."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from images import image_bytes
from typer.testing import CliRunner

from ftdata.cli import app

runner = CliRunner()
EXE = Path(sys.executable).with_name("ftdata")
ROW = b'{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}'
BAD = b'{"conversations": [{"from": "human", "value": "q"}]}'
needs_exe = pytest.mark.skipif(not EXE.exists(), reason="console script not installed in this environment")


def run(*args: str):
    return runner.invoke(app, list(args))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".ftdata-" in p.name)


# --- data loss -----------------------------------------------------------------------------------------------------

@needs_exe
def test_two_parallel_conversions_of_one_input_at_once_do_not_mix(tmp_path: Path) -> None:
    """--workers part files are unique to each run: two runs on one input at once each get their own rows."""
    src = tmp_path / "big.jsonl"
    row = b'{"conversations": [{"from": "human", "value": "%s"}, {"from": "gpt", "value": "a"}], "id": "x"}\n'
    src.write_bytes(b"".join(row % (b"q" * (i % 200 + 60)) for i in range(90_000)))  # > 16 MB: the parallel path
    assert src.stat().st_size > 16 << 20
    procs = [subprocess.Popen([str(EXE), "convert", str(src), "--to", target, "-o", str(tmp_path / f"{target}.jsonl"),
                               "-w", "2", "--no-dataset-info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for target in ("openai", "alpaca")]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()[-2000:]
    for target in ("openai", "alpaca"):
        one = run("convert", str(src), "--to", target, "-o", str(tmp_path / f"{target}.one.jsonl"), "-w", "1",
                  "--no-dataset-info")
        assert one.exit_code == 0
        assert (tmp_path / f"{target}.jsonl").read_bytes() == (tmp_path / f"{target}.one.jsonl").read_bytes()
    assert leftovers(tmp_path) == []


@needs_exe
def test_ten_conversions_into_one_folder_at_once_keep_every_entry(tmp_path: Path) -> None:
    for i in range(10):
        (tmp_path / f"in{i}.jsonl").write_bytes(ROW + b"\n")
    procs = [subprocess.Popen([str(EXE), "convert", str(tmp_path / f"in{i}.jsonl"), "--to", "sharegpt", "-o",
                               str(tmp_path / f"out{i}.jsonl")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(10)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 10
    assert sorted(json.loads((tmp_path / "dataset_info.json").read_text())) == sorted(f"out{i}" for i in range(10))


def test_a_run_racing_to_the_same_new_out_stops_and_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    import ftdata.ops.convert

    src = tmp_path / "in.jsonl"
    src.write_bytes(ROW + b"\n" + BAD + b"\n")
    out = tmp_path / "out.jsonl"
    real = ftdata.ops.convert._convert_inputs

    def other_run_wins(*args, **kwargs):
        real(*args, **kwargs)
        out.write_text("the other run's output\n")  # created while this run was writing

    monkeypatch.setattr(ftdata.ops.convert, "_convert_inputs", other_run_wins)
    result = run("convert", str(src), "--to", "openai", "-o", str(out))
    assert result.exit_code == 2 and "was created by another run while this one was writing" in result.output
    assert out.read_text() == "the other run's output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no rejects, no temp files


def test_a_signal_during_the_commit_leaves_out_and_rejects_together(tmp_path: Path, monkeypatch) -> None:
    from ftdata.io.staging import Staged

    src = tmp_path / "in.jsonl"
    src.write_bytes(ROW + b"\n" + BAD + b"\n")
    real = Staged.place

    def place(self):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives between the two renames: held until both are done
        return real(self)

    monkeypatch.setattr(Staged, "place", place)
    result = run("convert", str(src), "--to", "sharegpt", "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 130, result.output
    assert result.output.endswith(f"Error: interrupted after the outputs were put in place: {tmp_path}/out.jsonl, "
                                  f"{tmp_path}/out.jsonl.rejects.jsonl (whole; dataset_info.json updated)\n")
    assert (tmp_path / "out.jsonl").exists() and (tmp_path / "out.jsonl.rejects.jsonl").exists()
    assert "out" in json.loads((tmp_path / "dataset_info.json").read_text())
    assert leftovers(tmp_path) == []


WRITERS = {"convert": ["--to", "sharegpt"], "fix": [], "dedup": []}


@pytest.mark.parametrize("when", ["before the commit", "during the commit", "during the entry"])
@pytest.mark.parametrize("command", WRITERS)
def test_the_interrupt_message_says_what_is_on_disk(tmp_path: Path, monkeypatch, command: str, when: str) -> None:
    """One rule for convert, fix and dedup: a SIGTERM before the outputs are put in place leaves nothing and says
    so; one that comes while they (and OUT's dataset_info.json entry) are put in place is held until all of it is
    done, and the message names the files."""
    import ftdata.ops.pipeline as pipeline
    from ftdata.io.staging import Staged

    src = tmp_path / "in.jsonl"
    src.write_bytes(ROW + b"\n" + BAD + b"\n")

    def killing(real):
        def call(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGTERM)
            return real(*args, **kwargs)
        return call

    if when == "before the commit":
        monkeypatch.setattr(pipeline.Staging, "finish", killing(pipeline.Staging.finish))
    elif when == "during the commit":
        monkeypatch.setattr(Staged, "place", killing(Staged.place))
    else:
        monkeypatch.setattr(pipeline, "update_dataset_info", killing(pipeline.update_dataset_info))
    out = tmp_path / "out.jsonl"
    result = run(command, str(src), *WRITERS[command], "-o", str(out))
    assert result.exit_code == 130, result.output
    sides = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out.jsonl."))
    if when == "before the commit":
        assert result.output.endswith("Error: interrupted: nothing was written (outputs are only put in place when "
                                      "complete)\n")
        assert not out.exists() and sides == [] and not (tmp_path / "dataset_info.json").exists()
    else:
        placed = ", ".join(str(tmp_path / n) for n in ["out.jsonl", *sides])
        assert result.output.endswith(f"Error: interrupted after the outputs were put in place: {placed} (whole; "
                                      "dataset_info.json updated)\n"), result.output
        assert out.exists() and "out.jsonl.rejects.jsonl" in sides
        assert json.loads((tmp_path / "dataset_info.json").read_text())["out"]["file_name"] == "out.jsonl"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("how", ["rejects", "symlink", "hardlink", "descriptor"])
def test_no_output_may_be_an_input_under_any_name(tmp_path: Path, how: str) -> None:
    src = tmp_path / "x.rejects.jsonl" if how == "rejects" else tmp_path / "in.jsonl"
    if how == "descriptor":
        src = tmp_path / "dataset_info.json"
    src.write_bytes(ROW + b"\n")
    before = src.read_bytes()
    out = {"rejects": tmp_path / "x", "symlink": tmp_path / "link.jsonl", "hardlink": tmp_path / "hard.jsonl",
           "descriptor": tmp_path / "o.jsonl"}[how]
    if how == "symlink":
        out.symlink_to(src)
    elif how == "hardlink":
        os.link(src, out)
    args = ["convert", str(src), "--to", "sharegpt", "-o", str(out), "--force"] + (["--from", "sharegpt"] if how == "descriptor" else [])
    result = run(*args)
    assert result.exit_code == 2 and "is the input" in result.output, result.output
    assert src.read_bytes() == before


@pytest.mark.parametrize("command", ["fix", "dedup"])
@pytest.mark.parametrize("how", ["same", "symlink", "side_file", "no_folder", "exists", "suffix", "fifo"])
def test_fix_and_dedup_refuse_outputs_as_convert_does(tmp_path: Path, command: str, how: str) -> None:
    """The other commands that write rows (fix, dedup) keep convert's rules: no output is an input under any name
    (OUT or a file written beside it), the folder must exist, an existing OUT needs --force, --force replaces
    regular files only, OUT is named .jsonl/.json."""
    src = tmp_path / "in.jsonl"
    src.write_bytes(ROW + b"\n")
    before = src.read_bytes()
    out = {"same": src, "symlink": tmp_path / "link.jsonl", "side_file": tmp_path / "o.jsonl",
           "no_folder": tmp_path / "nope" / "o.jsonl", "exists": tmp_path / "o.jsonl", "suffix": tmp_path / "o.txt",
           "fifo": tmp_path / "o.jsonl"}[how]
    side = ".changes.jsonl" if command == "fix" else ".dupes.jsonl"
    if how == "symlink":
        out.symlink_to(src)
    elif how == "side_file":
        src = tmp_path / f"o.jsonl{side}"
        src.write_bytes(ROW + b"\n")
        before = src.read_bytes()
    elif how == "exists":
        out.write_text("keep me\n")
    elif how == "fifo":
        os.mkfifo(out)
    force = ["--force"] if how in ("same", "symlink", "side_file", "fifo") else []
    result = run(command, str(src), "-o", str(out), *force)
    said = {"same": "is the input", "symlink": "is the input", "side_file": "is the input",
            "no_folder": "does not exist; create it", "exists": "exists; pass --force", "suffix": "writes JSON Lines",
            "fifo": "regular files only"}[how]
    assert result.exit_code == 2 and said in result.output, result.output
    assert src.read_bytes() == before
    if how == "exists":
        assert out.read_text() == "keep me\n"
    assert leftovers(tmp_path) == []


def test_force_replaces_regular_files_only(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(ROW + b"\n")
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    result = run("convert", str(src), "--to", "sharegpt", "-o", str(fifo), "--force")
    assert result.exit_code == 2 and "--force replaces regular files only" in result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_rewriting_the_descriptor_keeps_every_other_entry_exactly(tmp_path: Path) -> None:
    info = tmp_path / "dataset_info.json"
    info.write_text('{"z_first": {"file_name": "a.jsonl", "num_samples": 123456789012345678901234567890, '
                    '"weight": 1.50, "custom": {"b": 1, "a": [1e-7, true, null]}}, "other": {"hf_hub_url": "o/d"}}')
    (tmp_path / "in.jsonl").write_bytes(ROW + b"\n")
    assert run("convert", str(tmp_path / "in.jsonl"), "--to", "sharegpt", "-o", str(tmp_path / "new.jsonl")).exit_code == 0
    text = info.read_text()
    assert "123456789012345678901234567890" in text and "1.50" in text and "1e-7" in text.lower().replace("e-07", "e-7")
    data = json.loads(text, parse_float=Decimal)
    assert list(data) == ["z_first", "other", "new"]
    assert data["z_first"] == {"file_name": "a.jsonl", "num_samples": 123456789012345678901234567890,
                               "weight": Decimal("1.50"), "custom": {"b": 1, "a": [Decimal("1e-7"), True, None]}}


@needs_exe
def test_a_clean_stdout_run_keeps_an_earlier_rejects_file(tmp_path: Path) -> None:
    old = tmp_path / "ftdata.rejects.jsonl"
    old.write_text("an earlier run's rejects\n")
    clean = subprocess.run([str(EXE), "convert", "-", "--to", "openai", "-o", "-"], input=ROW + b"\n",
                           capture_output=True, cwd=tmp_path)
    assert clean.returncode == 0 and old.read_text() == "an earlier run's rejects\n"
    bad = subprocess.run([str(EXE), "convert", "-", "--to", "openai", "-o", "-"], input=ROW + b"\n" + BAD + b"\n",
                         capture_output=True, cwd=tmp_path)
    assert bad.returncode == 1 and old.read_text() == "an earlier run's rejects\n"
    assert b"rejected 1 to ftdata.rejects.1.jsonl" in bad.stderr
    assert json.loads((tmp_path / "ftdata.rejects.1.jsonl").read_text())["line"] == 2


def test_a_csv_header_naming_a_column_twice_is_an_error_naming_it(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("instruction,output,output\nq,a,b\n")
    result = run("validate", str(f))
    assert result.exit_code == 2 and "names 'output' more than once" in result.output


# --- security ------------------------------------------------------------------------------------------------------

def test_a_symlink_planted_at_the_temp_name_is_not_followed(tmp_path: Path, monkeypatch) -> None:
    import secrets

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    monkeypatch.setattr(secrets, "token_hex", lambda n: "0" * (2 * n))  # make the name guessable, for the test
    (tmp_path / f".out.jsonl.ftdata-{os.getpid()}-{'0' * 12}.tmp").symlink_to(victim)
    (tmp_path / "in.jsonl").write_bytes(ROW + b"\n")
    result = run("convert", str(tmp_path / "in.jsonl"), "--to", "sharegpt", "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 2 and victim.read_text() == "precious" and not (tmp_path / "out.jsonl").exists()


def test_escape_sequences_markup_and_emoji_codes_in_data_are_shown_not_obeyed(tmp_path: Path) -> None:
    f = tmp_path / "a\x1b[2Jb.jsonl"
    f.write_text(json.dumps({"conversations": [{"from": "\x1b[2J\x1b[Hvalid: 1 ok [bold]x[/bold] :smile:",
                                                "value": "q"}, {"from": "gpt", "value": "a"}]}) + "\n")
    result = run("validate", str(f))
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\\x1b[2J" in result.output
    assert "[bold]x[/bold] :smile:" in result.output and "😄" not in result.output
    as_json = json.loads(run("validate", str(f), "--json").output)  # JSON output carries the values unchanged
    assert "\x1b[2J" in as_json["files"][0]["errors"][0]["message"]


@pytest.mark.parametrize("role,hint", [("us\u0435r", "U+0435 CYRILLIC SMALL LETTER IE"),
                                       ("us\u200ber", "U+200B ZERO WIDTH SPACE")])
def test_look_alike_and_invisible_characters_in_roles_are_named(tmp_path: Path, role: str, hint: str) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"conversations": [{"from": role, "value": "q"}, {"from": "gpt", "value": "a"}]}) + "\n")
    result = run("validate", str(f))
    assert hint in result.output and "did you mean 'user'?" in result.output
    if "\u200b" in role:
        assert "\u200b" not in result.output and "us\\u200ber" in result.output


@pytest.mark.parametrize("kind", ["dataset_info", "v1_yaml"])
@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink"])
def test_descriptor_entries_stay_in_the_descriptor_folder(tmp_path: Path, where: str, kind: str) -> None:
    """dataset_info.json entries and LLaMA-Factory v1 dataset YAML entries (whose `data/...` paths may also name the
    data folder beside it, where LLaMA-Factory looks) read no file outside their folder unless --allow-outside."""
    if kind == "v1_yaml":
        pytest.importorskip("yaml")
    outside = tmp_path / "secret.jsonl"
    outside.write_bytes(ROW + b"\n")
    folder = tmp_path / "cfg"
    folder.mkdir()
    name = {"dotdot": "../secret.jsonl", "absolute": str(outside), "symlink": "link.jsonl"}[where]
    if where == "symlink":
        (folder / "link.jsonl").symlink_to(outside)
    if kind == "dataset_info":
        info = folder / "dataset_info.json"
        info.write_text(json.dumps({"x": {"file_name": name, "formatting": "sharegpt"}}))
        refused = "leaves the descriptor's folder"
    else:
        info = folder / "v1.yaml"
        info.write_text(f"x: {{path: {json.dumps(name)}, source: local, converter: sharegpt}}\n")
        refused = "leaves the YAML's folder"
    result = run("validate", str(info))
    assert result.exit_code == 2 and refused in result.output, result.output
    assert run("validate", str(info), "--allow-outside").exit_code == 0
    if kind == "v1_yaml":  # `data/...` in a YAML may name the data folder beside its own
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "ok.jsonl").write_bytes(ROW + b"\n")
        info.write_text("x: {path: data/ok.jsonl, source: local, converter: sharegpt}\n")
        assert run("validate", str(info)).exit_code == 0


# --- hangs, slowdowns, leftovers -----------------------------------------------------------------------------------

def test_a_row_with_twenty_thousand_broken_messages_is_one_row_with_counted_problems(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"conversations": [{"from": "human", "value": i} for i in range(20_000)]}) + "\n")
    payload = json.loads(run("validate", str(f), "--json").output)["files"][0]
    assert payload["invalid"] == 1 and len(payload["errors"]) == 100
    assert payload["warnings"][-1]["code"] == "more_problems"
    assert "19900 more problems in this record (wrong_type x19900)" in payload["warnings"][-1]["message"]


@needs_exe
@pytest.mark.parametrize("command", ["validate", "convert"])
def test_a_fifo_as_input_is_refused_not_waited_on(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    args = [str(EXE), command, str(fifo)] + (["--to", "sharegpt", "-o", str(tmp_path / "o.jsonl")] if command == "convert" else [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "is a FIFO (named pipe), not a regular file" in proc.stderr


def test_a_fifo_as_a_descriptor_entry_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "d.jsonl")
    (tmp_path / "dataset_info.json").write_text('{"x": {"file_name": "d.jsonl"}}')
    result = run("validate", str(tmp_path / "dataset_info.json"))
    assert result.exit_code == 2 and "is a FIFO" in result.output


def test_workers_are_capped_at_the_cpu_count() -> None:
    from ftdata.engine.parallel import workers_for

    assert workers_for(64) == min(64, os.cpu_count() or 1) and workers_for(1) == 1 and workers_for(0) == 1


def test_a_later_run_removes_temp_files_whose_process_is_gone(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f".out.jsonl.ftdata-{dead.pid}-0123456789ab.tmp",
             tmp_path / f".in.jsonl.ftdata-{dead.pid}-0123456789ab.part1.out"]
    alive = tmp_path / f".out.jsonl.ftdata-{os.getppid()}-0123456789ab.tmp"  # a live process's: kept
    for p in stale + [alive]:
        p.write_text("x")
    (tmp_path / "in.jsonl").write_bytes(ROW + b"\n")
    assert run("convert", str(tmp_path / "in.jsonl"), "--to", "openai", "-o", str(tmp_path / "o.jsonl")).exit_code == 0
    assert not any(p.exists() for p in stale) and alive.exists()


@needs_exe
def test_sighup_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    src = tmp_path / "big.jsonl"
    row = (b'{"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": '
           b'"{\\"name\\": \\"f\\", \\"arguments\\": {}}"}, {"from": "observation", "value": "r"}, '
           b'{"from": "gpt", "value": "a"}]}\n')
    src.write_bytes(row * 60_000)
    proc = subprocess.Popen([str(EXE), "convert", str(src), "--to", "openai"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not leftovers(tmp_path):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    left = sorted(p.name for p in tmp_path.iterdir())
    if "interrupted after the outputs were put in place" in err:  # it came while they were being put in place
        assert left == ["big.jsonl", "big.openai.jsonl", "dataset_info.json"] and leftovers(tmp_path) == []
    else:  # what the message says is what is on disk
        assert "nothing was written" in err and left == ["big.jsonl"]


@needs_exe
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_kill_9_leaves_no_live_worker_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    src = tmp_path / "big.jsonl"
    row = (b'{"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": '
           b'"{\\"name\\": \\"f\\", \\"arguments\\": {}}"}, {"from": "observation", "value": "r"}, '
           b'{"from": "gpt", "value": "a"}]}\n')
    src.write_bytes(row * 110_000)  # > 16 MB of rows on the full lane: seconds of work in two processes
    proc = subprocess.Popen([str(EXE), "convert", str(src), "--to", "openai", "-w", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(".part" in n for n in leftovers(tmp_path)):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.kill()
    proc.wait()

    def ours() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and str(src).encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
        return pids

    deadline = time.monotonic() + 20
    while ours() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ours() == []  # the worker died with its parent
    assert leftovers(tmp_path)  # what kill -9 leaves ...
    (tmp_path / "small.jsonl").write_bytes(ROW + b"\n")
    assert run("convert", str(tmp_path / "small.jsonl"), "--to", "openai").exit_code == 0
    assert leftovers(tmp_path) == []  # ... the next run in the folder removes


# --- errors, not tracebacks ----------------------------------------------------------------------------------------

def test_csv_rows_that_cannot_be_records_are_row_problems(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_bytes(b"instruction,output\nq,a\nq,a,extra\n\xff\xfe,a\n" + b"long," + b"x" * 200_000 + b"\n")
    payload = json.loads(run("validate", str(f), "--json").output)["files"][0]
    assert (payload["records"], payload["valid"]) == (4, 2)
    assert [(e["line"], e["code"]) for e in payload["errors"]] == [(3, "invalid_json"), (4, "invalid_json")]
    assert "3 cells but the header names 2 columns" in payload["errors"][0]["message"]
    assert "not valid UTF-8" in payload["errors"][1]["message"]


def test_broken_and_odd_parquet_files(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"instruction": ["q", "q2"], "output": ["a", "b"], "blob": [b"text", b"\xff\xfe"]})
    pq.write_table(table, tmp_path / "ok.parquet")
    payload = json.loads(run("validate", str(tmp_path / "ok.parquet"), "--json").output)["files"][0]
    assert payload["records"] == 2 and payload["valid"] == 1
    assert payload["errors"][0]["code"] == "invalid_json" and "not UTF-8" in payload["errors"][0]["message"]
    data = (tmp_path / "ok.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    for name in ("cut.parquet", "junk.parquet"):
        result = run("validate", str(tmp_path / name))
        assert result.exit_code == 2 and "not a readable Parquet file" in result.output, result.output


@pytest.mark.parametrize("ref", ["a\x00b.jpg", "x" * 5000 + ".jpg", "loop.jpg"])
def test_unusable_media_paths_are_that_rows_problem(tmp_path: Path, ref: str) -> None:
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"instruction": "<image>q", "output": "a", "images": [ref]}) + "\n"
                 + json.dumps({"instruction": "q", "output": "a"}) + "\n")
    payload = json.loads(run("validate", str(f), "--json").output)["files"][0]
    assert (payload["records"], payload["valid"]) == (2, 1) and payload["errors"][0]["code"] == "media_missing"


def test_output_paths_that_cannot_be_used_are_usage_errors(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(ROW + b"\n")
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    for out, says in [("loop.jsonl", "symbolic links"), ("x.parquet", "not '.parquet'"),
                      ("missing/o.jsonl", "does not exist")]:
        result = run("convert", str(src), "--to", "sharegpt", "-o", str(tmp_path / out), "--force")
        assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output, result.output


def test_negative_num_samples_is_a_descriptor_problem(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(ROW + b"\n")
    (tmp_path / "dataset_info.json").write_text('{"x": {"file_name": "d.jsonl", "num_samples": -1}}')
    payload = json.loads(run("validate", str(tmp_path / "dataset_info.json"), "--json").output)
    assert [(e["path"], e["code"]) for e in payload["files"][0]["errors"]] == [("x.num_samples", "invalid_value")]


def test_stats_plot_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(ROW + b"\n")
    result = run("stats", str(tmp_path / "a.jsonl"), "--plot", str(tmp_path / "nope" / "p.png"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_an_internal_error_is_exit_3_with_one_line_and_the_traceback_only_with_debug(monkeypatch, capsys) -> None:
    import ftdata.api
    from ftdata import cli

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(ftdata.api, "validate", broken)
    for argv, traceback in ((["ftdata", "validate", "x.jsonl"], False), (["ftdata", "--debug", "validate", "x.jsonl"], True)):
        monkeypatch.setattr(sys, "argv", argv)
        if traceback:
            with pytest.raises(RuntimeError, match="a bug of ours"):
                cli.main()
            continue
        with pytest.raises(SystemExit) as done:
            cli.main()
        assert done.value.code == 3
        err = capsys.readouterr().err
        assert err.startswith("internal error: RuntimeError: a bug of ours (run again as `ftdata --debug COMMAND ...`") and "Traceback" not in err


@pytest.mark.parametrize("calls", ["5", "1.5", "true", '"x"'])
def test_tool_calls_of_the_wrong_type_are_that_rows_problem(tmp_path: Path, calls: str) -> None:
    """Format detection sniffs tool calls; a non-list there must not stop the run (it was a TypeError, exit 3)."""
    f = tmp_path / "a.jsonl"
    good = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}'
    f.write_text('{"messages": [{"role": "user", "content": "hi", "tool_calls": %s}]}\n' % calls + good + "\n")
    for args in (["validate", str(f)], ["validate", str(f), "--format", "openai"]):
        result = run(*args)
        assert result.exit_code == 1, result.output
    result = run("convert", str(f), "--to", "openai", "--from", "openai", "-o", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 1 and "records: 2  written: 1  rejected: 1" in result.output, result.output


def test_an_unreadable_descriptor_entry_is_an_error_of_that_entry(tmp_path: Path, monkeypatch) -> None:
    import ftdata.api  # noqa: F401 - loaded first: modules that import read_records by name keep the real one
    import ftdata.io.files

    (tmp_path / "a.jsonl").write_bytes(ROW + b"\n")
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"x": {"file_name": "a.jsonl", "formatting": "sharegpt"}}))

    def refuse(path: Path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(ftdata.io.files, "read_records", refuse)  # an entry's files are read through io.files.Chained
    result = run("validate", str(info))
    assert result.exit_code == 2 and "Permission denied" in result.output, result.output


def test_kto_label_balance_is_checked_through_a_descriptors_renamed_column(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": f"a{i}"}],
             "tag": i == 0} for i in range(20)]
    (tmp_path / "k.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"k": {"file_name": "k.jsonl", "formatting": "sharegpt",
                                      "columns": {"messages": "messages", "kto_tag": "tag"},
                                      "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                                               "assistant_tag": "assistant"}}}))
    payload = json.loads(run("validate", str(info), "--json").output)
    codes = [w["code"] for f in payload["files"] for w in f["warnings"]]
    assert "label_imbalance" in codes, payload


def test_a_rejected_unreadable_element_has_a_null_record_not_its_problem(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text("[" + ROW.decode() + ",," + ROW.decode() + "]")  # an empty element (a comma after the last is no row)
    result = run("convert", str(f), "--to", "sharegpt", "-o", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 1, result.output
    (reject,) = [json.loads(line) for line in (tmp_path / "o.jsonl.rejects.jsonl").read_text().splitlines()]
    assert reject["record"] is None and reject["errors"][0]["code"] == "invalid_json", reject


@pytest.mark.parametrize("command", ["fix", "dedup"])
def test_fix_and_dedup_find_media_where_validate_and_convert_do(tmp_path: Path, command: str) -> None:
    if command == "dedup":
        pytest.importorskip("rensa")
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.png").write_bytes(image_bytes())
    data = tmp_path / "data"
    data.mkdir()
    row = {"conversations": [{"from": "human", "value": "<image>what is it?"}, {"from": "gpt", "value": "a cat"}],
           "images": ["a.png"]}
    (data / "d.jsonl").write_text(json.dumps(row) + "\n")
    plain = run(command, str(data / "d.jsonl"), "-o", str(tmp_path / "o.jsonl"))
    assert plain.exit_code == 1 and "media_missing" in plain.output, plain.output
    found = run(command, str(data / "d.jsonl"), "-o", str(tmp_path / "p.jsonl"), "--media-dir", str(media))
    assert found.exit_code == 0, found.output
    outside = run(command, str(data / "d.jsonl"), "-o", str(tmp_path / "q.jsonl"), "--media-dir", str(data))
    (data / "link.png").symlink_to(media / "a.png")
    row["images"] = ["link.png"]
    (data / "d.jsonl").write_text(json.dumps(row) + "\n")
    refused = run(command, str(data / "d.jsonl"), "-o", str(tmp_path / "r.jsonl"))
    allowed = run(command, str(data / "d.jsonl"), "-o", str(tmp_path / "s.jsonl"), "--allow-outside")
    assert outside.exit_code == 1 and refused.exit_code == 1 and allowed.exit_code == 0, (refused.output, allowed.output)
