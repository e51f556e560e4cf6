"""`ftdata validate --html` (issue 27): a self-contained page with the totals, the problems by code with their
locations, a summary per file and, with a tokenizer, the stats charts; every value escaped; written as every output
is. Checked as text here and opened in headless chromium (skipped only where chromium is absent)."""

import base64
import hashlib
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftdata.cli import app
from ftdata.htmlreport.assets import JS
from ftdata.htmlreport.charts import histogram, log_axes

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE_ROLE = "</script><img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned2'</script>"
ROWS = [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        {"conversations": [{"from": HOSTILE_ROLE, "value": "hi"}, {"from": "gpt", "value": "x"}]},
        {"conversations": [{"from": "human", "value": "<style>body{display:none}</style>"},
                           {"from": "gpt", "value": "</td></tr></table><h1 id=forged>ok</h1>"}]}]
ARRAY = ('[\n  {"instruction": "a", "output": "b"},\n      {\n        "instruction": "c",\n        "output": 7\n      },\n'
         '  {"instruction": "d", "output": "e"},\n]\n')


class Page(HTMLParser):
    """The elements of a page (tag, attributes), the text of each table's cells by row, and the scripts' text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts: list[str] = []
        self._table: list[str] = []
        self._cell: list[str] | None = None
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._table.append(dict(attrs).get("id") or dict(attrs).get("class") or "")
            self.tables.setdefault(self._table[-1], [])
        elif tag == "tr" and self._table:
            self.tables[self._table[-1]].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table:
            self._table.pop()
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table[-1]][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        elif self._cell is not None:
            self._cell.append(data)


def inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A JSONL file with a hostile role (its name hostile too) and a JSON array with a multi-line bad element and a
    comma after its last element."""
    jsonl = tmp_path / "a<b>&'x'.jsonl"
    jsonl.write_bytes(b"\n".join(json.dumps(r).encode() for r in ROWS) + b"\nnot json \xff<script>x</script>\n")
    array = tmp_path / "arr.json"
    array.write_text(ARRAY)
    return jsonl, array


def validate(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    jsonl, array = inputs(tmp_path)
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["validate", str(jsonl), str(array), "--html", str(out), *args])
    return result.exit_code, result.output, out.read_text(encoding="utf-8") if out.exists() else ""


def test_the_page_holds_totals_codes_locations_and_files(tmp_path: Path) -> None:
    code, output, text = validate(tmp_path)
    assert code == 1, output
    page = Page(text)
    jsonl = str(tmp_path / "a<b>&'x'.jsonl")
    codes = {row[0]: row[1:] for row in page.tables["problem-codes"][1:]}
    assert {c: (v[0], v[1], v[3]) for c, v in codes.items()} == {
        "invalid_json": ("error", "2", "2"), "unknown_role": ("error", "1", "1"), "wrong_type": ("error", "1", "1")}
    examples = [row for rows in (page.tables["examples"],) for row in rows if row and row[0] != "location (file:line:column)"]
    located = {(row[0], row[1], row[2]) for row in examples}
    assert (f"{jsonl}:2", "1", "conversations[0].from") in located
    assert (f"{jsonl}:4", "3", "") in located
    assert (f"{tmp_path / 'arr.json'}:3:7", "1", "output") in located  # the multi-line element, where it starts
    assert (f"{tmp_path / 'arr.json'}:7:38", "", "") in located  # the trailing comma: no record
    assert any(HOSTILE_ROLE in row[3] for row in examples)  # shown as text, whole
    files = page.tables["file-summary"]
    assert files[1][:6] == [jsonl, "sharegpt (detected)", "4", "2", "2", "0"]
    assert files[2][:6] == [str(tmp_path / "arr.json"), "alpaca (detected)", "3", "2", "1", "0"]
    totals = re.findall(r'id="total-([a-z ]+)"><b>([\d,]+)</b>', text)
    assert dict(totals) == {"files": "2", "records": "7", "valid": "4", "invalid": "3", "warnings": "0",
                            "file errors": "1"}
    assert "stats" not in {a.get("id") for _, a in page.tags}  # no tokenizer: no charts


def test_every_value_is_escaped(tmp_path: Path) -> None:
    """Roles, messages, file names and undecodable bytes are text: the only elements are the page's own, the only
    script is its own, no attribute is a handler."""
    _, _, text = validate(tmp_path)
    page = Page(text)
    assert {t for t, _ in page.tags} <= {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p",
                                          "section", "div", "b", "span", "table", "thead", "tbody", "tr", "th", "td",
                                          "a", "code", "details", "summary", "input", "button", "footer", "script"}
    assert page.scripts == [JS]
    assert not [(t, a) for t, a in page.tags if any(k.startswith("on") for k in a)]
    assert "forged" not in {a.get("id") for _, a in page.tags}
    assert "&lt;/script&gt;&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt;" in text


def test_bytes_that_were_not_utf8_are_shown_not_fatal() -> None:
    """A value holding a lone surrogate (surrogateescape'd bytes: file names, CSV cells) cannot be encoded as is."""
    from ftdata.core.problems import Problem
    from ftdata.core.reports import FileReport
    from ftdata.render import validation_html

    report = FileReport("bad\udcff.csv", "alpaca", records=1, invalid=1)
    report.problems.append(Problem(0, 2, "instruction", "wrong_type", "got '\udcfe<i>'"))
    data = validation_html([report], ["bad\udcff.csv"])
    assert b"bad\\udcff.csv:2" in data and b"got &#x27;\\udcfe&lt;i&gt;&#x27;" in data


def test_the_page_allows_no_network_and_only_its_own_script(tmp_path: Path) -> None:
    _, _, text = validate(tmp_path)
    digest = base64.b64encode(hashlib.sha256(JS.encode()).digest()).decode()
    policy = next(a["content"] for t, a in Page(text).tags if t == "meta" and a.get("http-equiv"))
    assert policy == f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:"
    assert not re.search(r"(src|href)=\"(https?:)?//", text)


def test_a_tokenizer_adds_the_stats_charts_titled_with_the_files(tmp_path: Path) -> None:
    code, output, text = validate(tmp_path, "--tokenizer", "tiny", "--max-length", "12")
    assert code == 1, output
    page = Page(text)
    titles = [a for t, a in page.tags if t == "svg"]
    assert len(titles) == 3
    for chart in ("user turns per record", "characters per record", "tokens per record"):
        assert f'class="t">{chart}</text>' in text
    assert text.count("a&lt;b&gt;&amp;&#x27;x&#x27;.jsonl") >= 4  # the data's name under every chart title
    summary = dict(row[:2] for row in page.tables["stats-summary"])
    assert summary["max length"] == "12" and int(summary["over max length"]) >= 1


def test_the_page_is_an_output_like_any_other(tmp_path: Path) -> None:
    jsonl, array = inputs(tmp_path)
    out = tmp_path / "report.html"
    onto_input = runner.invoke(app, ["validate", str(array), "--html", str(array)])
    assert onto_input.exit_code == 2 and "is the input" in onto_input.output
    assert array.read_text() == ARRAY
    out.write_text("older")
    exists = runner.invoke(app, ["validate", str(array), "--html", str(out)])
    assert exists.exit_code == 2 and "--force" in exists.output and out.read_text() == "older"
    forced = runner.invoke(app, ["validate", str(array), "--html", str(out), "--force"])
    assert forced.exit_code == 1 and out.read_text().startswith("<!DOCTYPE html>")
    missing = runner.invoke(app, ["validate", str(array), "--html", str(tmp_path / "no" / "r.html")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    for args in (["--tokenizer", "tiny"], ["--max-length", "8"], ["--html", str(tmp_path / "r2.html"), "--max-length", "8"]):
        result = runner.invoke(app, ["validate", str(array), *args])
        assert result.exit_code == 2 and "--" in result.output, args
    assert not (tmp_path / "r2.html").exists()


def test_json_output_stays_one_object_beside_the_page(tmp_path: Path) -> None:
    jsonl, array = inputs(tmp_path)
    result = runner.invoke(app, ["validate", str(array), "--json", "--html", str(tmp_path / "r.html")])
    assert json.loads(result.stdout)["records"] == 3
    assert (tmp_path / "r.html").exists()


def test_a_file_name_that_was_not_utf8_titles_the_charts() -> None:
    from ftdata.core.reports import FileReport
    from ftdata.core.stats import Stats
    from ftdata.render import validation_html

    data = validation_html([FileReport("x\udcff.jsonl", "alpaca", records=1, valid=1)], ["x\udcff.jsonl"],
                           Stats(files=["x"], records=1, turns=[1], chars=[5], tokens=[9]))
    assert data.count(b"x\\udcff.jsonl") >= 5  # title, header, file row, every chart


def test_standard_input_gets_the_page_without_charts(tmp_path: Path) -> None:
    row = json.dumps({"instruction": "q", "output": "a"}) + "\n"
    result = runner.invoke(app, ["validate", "-", "--html", str(tmp_path / "r.html"), "--tokenizer", "tiny"],
                           input=row * 3)
    assert result.exit_code == 0, result.output
    assert "no charts for standard input" in result.output and "<svg" not in (tmp_path / "r.html").read_text()


def test_a_clean_file_says_so() -> None:
    from ftdata.core.reports import FileReport
    from ftdata.htmlreport.page import html_report

    text = html_report([FileReport("ok.jsonl", "alpaca", records=2, valid=2)], ["ok.jsonl"])
    assert 'id="no-problems"' in text and "Every record is valid." in text


def test_charts_use_log_axes_for_skewed_data_and_escape_their_names() -> None:
    mixed = [5] * 500 + list(range(100, 20_000, 400))  # short chats beside long documents
    assert log_axes(mixed) == (True, True)
    assert log_axes(list(range(1, 50))) == (False, False)
    svg = histogram("tokens per record", mixed + [0], "<b>x.jsonl</b>", limit=1000)
    assert "&lt;b&gt;x.jsonl&lt;/b&gt;" in svg and "<b>" not in svg
    assert "log scale; 1 records of 0 left out" in svg and "records (log)" in svg and 'class="limit"' in svg


def chromium(page: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM after the page's script ran, and chromium's log (console messages, CSP refusals)."""
    assert CHROMIUM is not None
    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                             "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_page_opens_in_chromium_with_the_problem_table_and_no_script_error(tmp_path: Path) -> None:
    code, output, _ = validate(tmp_path, "--tokenizer", "tiny")
    assert code == 1, output
    dom, log = chromium(tmp_path / "report.html", tmp_path)
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line or "Refused" in line]
    assert console == []  # no script error, no CSP refusal (the script's hash matches)
    page = Page(dom)
    assert ("html", {"lang": "en", "data-ready": "1"}) in page.tags  # the script ran to its end
    assert "4 of 4 listed problems shown" in dom  # ... and wrote what it counted
    assert [row[0] for row in page.tables["problem-codes"][1:]] == ["invalid_json", "unknown_role", "wrong_type"]
    locations = {row[0] for row in page.tables["examples"] if row}
    assert {f"{tmp_path / 'arr.json'}:3:7", f"{tmp_path / 'arr.json'}:7:38"} <= locations
    assert f"{tmp_path}/a<b>&'x'.jsonl:2" in locations
    assert not [t for t, _ in page.tags if t == "img"] and "pwned" not in re.sub(r"<td.*?</td>", "", dom, flags=re.S)
    assert len([t for t, _ in page.tags if t == "svg"]) == 3


def test_the_page_never_replaces_a_media_file_the_run_read(tmp_path: Path) -> None:
    """A probe found `--html md/1.jpg --force` turning a row's image into an HTML page (exit 0)."""
    from images import image_bytes

    (tmp_path / "md").mkdir()
    jpg = tmp_path / "md" / "1.jpg"
    jpg.write_bytes(image_bytes("JPEG"))
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "<image>Who?"},
                                             {"role": "assistant", "content": "A cat."}], "images": ["md/1.jpg"]}) + "\n")
    before = jpg.read_bytes()
    for target in (jpg, tmp_path / "md" / ".." / "md" / "1.jpg"):
        result = runner.invoke(app, ["validate", str(data), "--html", str(target), "--force"])
        assert result.exit_code == 2 and "is a media file this run read" in result.output, result.output
        assert jpg.read_bytes() == before
    assert not [p for p in (tmp_path / "md").iterdir() if p.name != "1.jpg"]  # no temp file left
    out = runner.invoke(app, ["convert", str(data), "--to", "sharegpt", "-o", str(jpg), "--force", "--no-dataset-info"])
    assert out.exit_code == 2 and jpg.read_bytes() == before, out.output
