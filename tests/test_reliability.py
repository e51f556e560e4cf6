"""Reliability round 3 (issue 25): the newer commands keep the old promises. One section per class of failure;
each test failed on the code before the fix. (fttrain's side: tests/train/test_outputs.py.)"""

import errno
import json
import os
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from ftdata.cli import app

runner = CliRunner()
ROW = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
INFO = {"t": {"file_name": "train.jsonl", "formatting": "sharegpt", "columns": {"messages": "messages"},
              "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}}}


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    """A dataset_info.json naming train.jsonl, with links to both."""
    (tmp_path / "train.jsonl").write_text(json.dumps(ROW) + "\n")
    (tmp_path / "dataset_info.json").write_text(json.dumps(INFO))
    (tmp_path / "info-link.json").symlink_to("dataset_info.json")
    (tmp_path / "data-link.jsonl").symlink_to("train.jsonl")
    return tmp_path


def unchanged(ds: Path) -> None:
    assert json.loads((ds / "dataset_info.json").read_text()) == INFO
    assert json.loads((ds / "train.jsonl").read_text()) == ROW
    assert not [p for p in os.listdir(ds) if ".ftdata-" in p]


# --- data loss: every output through the one staged path and input/output check ----------------------------------

@pytest.mark.parametrize("target", ["dataset_info.json", "info-link.json", "train.jsonl", "data-link.jsonl"])
def test_descriptor_export_never_writes_onto_its_descriptor_or_data(ds: Path, target: str) -> None:
    line = one_line_error(run("descriptor", "export", str(ds / "dataset_info.json"), "--to", "trl", "-o",
                              str(ds / target), "--force"))
    assert "is the input" in line
    unchanged(ds)


@pytest.mark.parametrize("target", ["mix.yaml", "train.jsonl", "data-link.jsonl"])
def test_descriptor_import_never_writes_onto_its_source_or_data(ds: Path, target: str) -> None:
    (ds / "mix.yaml").write_text("datasets:\n  - path: json\n    data_files: train.jsonl\n    split: train\n")
    before = (ds / "mix.yaml").read_text()
    line = one_line_error(run("descriptor", "import", str(ds / "mix.yaml"), "-o", str(ds / target), "--force"))
    assert "is the input" in line
    assert (ds / "mix.yaml").read_text() == before
    unchanged(ds)


def test_force_replaces_regular_files_only(ds: Path) -> None:
    """--force never turns a FIFO (or a device) into a regular file."""
    fifo = ds / "out.yaml"
    os.mkfifo(fifo)
    one_line_error(run("descriptor", "export", str(ds / "dataset_info.json"), "--to", "trl", "-o", str(fifo),
                       "--force"))
    mix = ds / "mix.yaml"
    mix.write_text("datasets:\n  - path: json\n    data_files: train.jsonl\n")
    line = one_line_error(run("descriptor", "import", str(mix), "-o", str(fifo), "--force"))
    assert "not a regular file" in line and fifo.is_fifo()


def test_a_full_disk_is_one_line_and_leaves_the_old_file_and_no_temp(ds: Path, monkeypatch) -> None:
    out = ds / "mix.yaml"
    out.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ftdata.io.staging.os.fsync", full)
    line = one_line_error(run("descriptor", "export", str(ds / "dataset_info.json"), "--to", "trl", "-o", str(out),
                              "--force"))
    assert "No space left on device" in line and str(out) in line
    assert out.read_text() == "old\n" and not [p for p in os.listdir(ds) if ".ftdata-" in p]


def test_stats_plot_never_writes_onto_an_input(ds: Path) -> None:
    pytest.importorskip("matplotlib")
    line = one_line_error(run("stats", str(ds / "train.jsonl"), "--plot", str(ds / "data-link.jsonl")))
    assert "is the input" in line
    unchanged(ds)


def test_an_output_name_near_the_limit_is_written_and_one_past_it_names_out(ds: Path) -> None:
    near = ds / ("n" * 245 + ".yaml")  # fits; its temp file's name must fit as well
    result = run("descriptor", "export", str(ds / "dataset_info.json"), "--to", "trl", "-o", str(near))
    assert result.exit_code == 0, result.output
    assert "data_files: train.jsonl" in near.read_text()
    result = run("convert", str(ds / "train.jsonl"), "--to", "sharegpt", "-o", str(ds / ("c" * 230 + ".jsonl")),
                 "--no-dataset-info")
    assert result.exit_code == 0, result.output
    line = one_line_error(run("descriptor", "export", str(ds / "dataset_info.json"), "--to", "trl", "-o",
                              str(ds / ("x" * 300 + ".yaml"))))
    assert "x" * 300 in line and "ftdata-" not in line


# --- depth: a row deeper than can be written is that row's problem ------------------------------------------------

def nested(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


def test_a_row_nested_deeper_than_a_writer_goes_is_located_too_deep(tmp_path: Path) -> None:
    rows = [ROW, {**ROW, "extra": nested(300)}, {**ROW, "fine": nested(100)}]
    src = tmp_path / "deep.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    payload = json.loads(run("validate", str(src), "--json").output)
    errors = payload["files"][0]["errors"]
    assert [(e["line"], e["code"]) for e in errors] == [(2, "too_deep")] and payload["invalid"] == 1
    for command in (["convert", str(src), "--to", "sharegpt", "-o", str(tmp_path / "c.jsonl"), "--no-dataset-info"],
                    ["fix", str(src), "-o", str(tmp_path / "f.jsonl")],
                    ["dedup", str(src), "-o", str(tmp_path / "d.jsonl")]):
        result = run(*command)
        assert result.exit_code == 1, result.output
        out = Path(command[command.index("-o") + 1])
        assert len(out.read_text().splitlines()) + len(Path(f"{out}.rejects.jsonl").read_text().splitlines()) >= 2
        assert "too_deep" in Path(f"{out}.rejects.jsonl").read_text()


def test_too_deep_in_a_json_array_and_a_csv_cell(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([ROW, {**ROW, "extra": nested(200)}]))
    cell = '"' + json.dumps(ROW["messages"]).replace('"', '""') + '"'
    (tmp_path / "a.csv").write_text(f'messages,extra\n{cell},\n{cell},"'
                                    + json.dumps(nested(200)).replace('"', '""') + '"\n')
    for name in ("a.json", "a.csv"):
        payload = json.loads(run("validate", str(tmp_path / name), "--json").output)
        assert [e["code"] for e in payload["files"][0]["errors"]] == ["too_deep"], name


TEXT_DEEP = json.dumps(nested(300))  # a string in the row: the line's brackets are counted, its decoding is not


def _text_deep_rows() -> dict[str, list[dict]]:
    call = json.dumps({"name": "f", "arguments": {"x": nested(300)}})
    tools = json.dumps([{"type": "function", "function": {"name": "f", "parameters": nested(300)}}])
    turn = [{"from": "human", "value": "q"}, {"from": "function_call", "value": '{"name": "f", "arguments": {}}'},
            {"from": "observation", "value": "r"}, {"from": "gpt", "value": "a"}]
    return {
        "sharegpt": [{"conversations": turn, "tools": tools},  # tools as JSON text
                     {"conversations": [turn[0], {"from": "function_call", "value": call}, *turn[2:]]},
                     {"conversations": turn, "meta": json.dumps({"k": nested(300)})}],  # meta as our writers' text
        "openai": [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": json.dumps({"x": nested(300)})}}]},
            {"role": "tool", "content": "r"}, {"role": "assistant", "content": "a"}]},
                   {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                    "tools": tools}],
    }


@pytest.mark.parametrize("fmt", ["sharegpt", "openai"])
def test_json_text_inside_a_row_that_decodes_too_deep_is_that_rows_problem(tmp_path: Path, fmt: str) -> None:
    """Tools, a function call, its arguments or meta given as JSON text that decodes past the depth limit: validate
    names the row (too_deep; it said valid), and no command crashes writing it out (convert stopped with an
    internal error, exit 3); meta text that deep is kept as text."""
    rows = _text_deep_rows()[fmt]
    src = tmp_path / f"deep.{fmt}.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [*rows, ROW if fmt == "openai" else
                                                           {"conversations": [{"from": "human", "value": "q"},
                                                                              {"from": "gpt", "value": "a"}]}]))
    payload = json.loads(run("validate", str(src), "--json", "--format", fmt).output)
    bad = [e["line"] for e in payload["files"][0]["errors"] if e["code"] == "too_deep"]
    meta_rows = [i + 1 for i, r in enumerate(rows) if "meta" in r]
    assert bad == [i + 1 for i in range(len(rows)) if i + 1 not in meta_rows], payload["files"][0]["errors"]
    for target in ("openai", "sharegpt", "trl"):
        out = tmp_path / f"out.{fmt}.{target}.jsonl"
        result = run("convert", str(src), "--to", target, "-o", str(out), "--no-dataset-info")
        assert result.exit_code == 1, (target, result.output)
        written = out.read_text().splitlines() if out.exists() else []
        rejects = Path(f"{out}.rejects.jsonl").read_text().splitlines()
        assert len(written) + len(rejects) == len(rows) + 1 and "too_deep" in "".join(rejects), target


def test_the_depth_limit_agrees_with_what_orjson_writes() -> None:
    from ftdata.core.depth import MAX_NESTING, deeper_than_allowed

    def objects(levels: int) -> object:
        value: object = 1
        for _ in range(levels):
            value = {"a": value}
        return value

    assert not deeper_than_allowed(objects(MAX_NESTING)) and deeper_than_allowed(objects(MAX_NESTING + 1))
    orjson.dumps({"row": {"meta": objects(MAX_NESTING)}})  # what passes is written, with room for our wrappers


# --- YAML: one loader, depth and alias expansion bounded ----------------------------------------------------------

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
HOSTILE_YAML = {
    "flow_list": "x: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "flow_map": "x: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
    "block_map": "".join("  " * i + f"k{i}:\n" for i in range(3_000)) + "  " * 3_000 + "v: 1\n",
    "bomb_trl": BOMB + "datasets:\n  - path: json\n    data_files: *i\n",
    "bomb_axolotl": BOMB + "datasets:\n  - path: *i\n    type: alpaca\n",
}


@pytest.mark.parametrize("name", HOSTILE_YAML)
def test_hostile_yaml_is_one_line_exit_2(tmp_path: Path, name: str) -> None:
    src = tmp_path / f"{name}.yaml"
    src.write_text(HOSTILE_YAML[name])
    for command in (["descriptor", "import", str(src)], ["validate", str(src)]):
        line = one_line_error(run(*command))
        assert "nested too deeply" in line or "aliases are expanded" in line, line


def test_the_loader_refuses_an_alias_bomb_before_anything_walks_it() -> None:
    from ftdata.io.yamlsafe import YamlError, load_yaml_text

    with pytest.raises(YamlError, match="aliases are expanded"):
        load_yaml_text(BOMB)
    assert load_yaml_text("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}  # ordinary aliases still work


# --- type_drift: memory bounded by design -------------------------------------------------------------------------

def test_type_drift_keeps_a_bounded_number_of_key_paths_and_says_so() -> None:
    from ftdata.io.drift import MAX_REMEMBERED, TypeDrift

    drift = TypeDrift()
    for r in range(120):
        props = {f"p{r}_{i}": {"type": "string"} for i in range(1000)}
        row = {**ROW, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"properties": props}}}]}
        drift.see_plain(row, r, r + 1, whole=True)
    held = len(drift.types) + sum(len(k) for sets in drift.keys.values() for k in sets) + len(drift.shapes)
    assert held <= MAX_REMEMBERED + 2_000
    warning = [p for p in drift.problems() if "too many distinct keys" in p.message]
    assert len(warning) == 1 and warning[0].line is not None and warning[0].severity == "warning"


# --- the smaller ones ---------------------------------------------------------------------------------------------

def test_dot_slash_dash_is_the_file_named_dash(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("-").write_text("not json\n")
    result = run("validate", "./-", input=json.dumps(ROW) + "\n")  # stdin holds a valid row: it must not be read
    assert result.exit_code == 2 and "unsupported file type" in result.output
    assert run("validate", "-", input=json.dumps(ROW) + "\n").exit_code == 0


def test_a_key_with_dots_or_brackets_is_quoted_in_paths(tmp_path: Path) -> None:
    from ftdata.core.problems import join_path

    assert join_path("messages", 0, "content[0].text") == 'messages[0]["content[0].text"]'
    assert join_path("messages", 0, "content") == "messages[0].content"
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"messages": [{"role": "user", "content": "q", "content[0].text": "x"},
                                            {"role": "assistant", "content": "a"}]}) + "\n")
    payload = json.loads(run("validate", str(src), "--json").output)
    assert payload["files"][0]["errors"][0]["path"] == 'messages[0]["content[0].text"]'


def test_json_totals_of_a_descriptor_add_up(ds: Path) -> None:
    info = {**INFO, "broken": {"file_name": "train.jsonl", "num_samples": -1}}
    (ds / "dataset_info.json").write_text(json.dumps(info))
    result = run("validate", str(ds / "dataset_info.json"), "--json")
    payload = json.loads(result.output)
    assert result.exit_code == 1
    assert (payload["records"], payload["valid"], payload["invalid"], payload["invalid_entries"]) == (1, 1, 0, 1)


def test_a_corrupt_tokenizer_folder_names_the_file(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    (tmp_path / "a.jsonl").write_text(json.dumps(ROW) + "\n")
    tok = tmp_path / "tok"
    tok.mkdir()
    (tok / "tokenizer_config.json").write_text('{"model_max_length": ')
    line = one_line_error(run("stats", str(tmp_path / "a.jsonl"), "--tokenizer", str(tok)))
    assert str(tok / "tokenizer_config.json") in line


def test_import_of_trl_shapes_writes_entries_that_validate_or_leaves_them_out(tmp_path: Path) -> None:
    files = {"pc": {"prompt": "2+2?", "completion": "4"},
             "pref": {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
             "kto": {"prompt": "2+2?", "completion": "4", "label": True},
             "conv": {"prompt": [{"role": "user", "content": "2+2?"}],
                      "completion": [{"role": "assistant", "content": "4"}]},
             "msgs": ROW}
    for name, row in files.items():
        (tmp_path / f"{name}.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "mix.yaml").write_text("datasets:\n" + "".join(f"  - path: json\n    data_files: {n}.jsonl\n"
                                                               for n in files))
    result = run("descriptor", "import", str(tmp_path / "mix.yaml"), "-o", str(tmp_path / "dataset_info.json"))
    assert result.exit_code == 1 and "left out conv" in result.output
    written = json.loads((tmp_path / "dataset_info.json").read_text())
    assert set(written) == {"pc", "pref", "kto", "msgs"} and written["pref"]["ranking"] is True
    payload = json.loads(run("validate", str(tmp_path / "dataset_info.json"), "--json").output)
    assert payload["invalid"] == 0 and payload["valid"] == 4


@pytest.mark.parametrize("data_files", ["[1, 2]", "5", "{test: 3}", "{train: [train.jsonl, 4]}"])
def test_import_of_odd_data_files_is_a_line_not_a_crash(ds: Path, data_files: str) -> None:
    (ds / "mix.yaml").write_text(f"datasets:\n  - path: json\n    data_files: {data_files}\n")
    result = run("descriptor", "import", str(ds / "mix.yaml"))
    assert result.exit_code == 1 and "left out" in result.output and "internal error" not in result.output


def test_import_of_data_files_by_split_takes_the_train_split(ds: Path) -> None:
    (ds / "mix.yaml").write_text("datasets:\n  - path: json\n    data_files: {train: train.jsonl}\n")
    result = run("descriptor", "import", str(ds / "mix.yaml"), "-o", str(ds / "out" / "x.json"))
    assert result.exit_code == 2 and "does not exist" in result.output  # OUT's folder is checked before any work
    result = run("descriptor", "import", str(ds / "mix.yaml"))
    assert result.exit_code == 0 and 'train.jsonl"' in result.output


def test_schema_export_into_a_place_it_cannot_write_is_one_line(ds: Path) -> None:
    assert "is a file, not a folder" in one_line_error(run("schema", "export", str(ds / "train.jsonl")))
    assert "cannot" in one_line_error(run("schema", "export", "/proc/self/nope"))
    assert "cannot write it" in one_line_error(run("schema", "export", "/proc/self"))


def test_the_lanes_tools_guard_agrees_with_the_whole_row_test_at_the_limit() -> None:
    """`tools_too_deep` writes out the tools alone: for a row whose tools are its deepest part it says what the
    whole-row test says, at every depth around the limit (objects and lists)."""
    from ftdata.core.depth import MAX_NESTING, deeper_than_allowed, tools_too_deep

    for levels in range(MAX_NESTING - 4, MAX_NESTING + 4):
        for tools in (nested(levels), {"a": nested(levels - 1)}):
            row = {"messages": [{"role": "user", "content": "q"}], "tools": tools}
            assert tools_too_deep(row) == deeper_than_allowed(row), levels
    assert not tools_too_deep({"messages": [], "tools": "[[[[" * 100})  # text: decoded (and guarded) elsewhere
