"""The validation report page: totals, problems by code (examples with file, line:column, record and JSON path), a
summary per file and, with a tokenizer, the stats charts. Every value from data or the file system is escaped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from html import escape
from typing import Any

from ftdata.core.problems import CODES, Code, Problem
from ftdata.core.reports import DESCRIPTORS, FileReport
from ftdata.core.stats import Stats
from ftdata.htmlreport.assets import CSS, JS, policy
from ftdata.htmlreport.charts import histogram

EXAMPLES = 20  # problems listed per code (the JSON report has them all)


def e(value: object) -> str:
    """A value as HTML text or attribute content: '<', '>', '&' and both quotes escaped; lone surrogates (bytes
    that were not UTF-8) shown as \\udcNN."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return escape(text, quote=True)


def html_report(reports: list[FileReport], names: list[str], stats: Stats | None = None,
                version: str = "") -> str:
    """The whole page for `ftdata validate --html`; `names`: the inputs as given (in the title)."""
    title = "ftdata validate: " + ", ".join(names)
    parts = ["<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f'<meta http-equiv="Content-Security-Policy" content="{policy()}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
             f"<header><h1>Validation report</h1><p class=\"sub\">{e(', '.join(names))}</p></header>",
             _totals(reports), _codes(reports), _files(reports)]
    if stats is not None:
        parts.append(_stats(stats, ", ".join(names)))
    parts.append(f"<footer>ftdata {e(version)}: every problem of every file is in "
                 "<code>ftdata validate --json</code></footer>")
    parts.append(f"<script>{JS}</script></body></html>\n")
    return "".join(parts)


def _card(label: str, value: int, tone: str = "") -> str:
    return f'<div class="card {tone}" id="total-{e(label)}"><b>{value:,}</b><span>{e(label)}</span></div>'


def _totals(reports: list[FileReport]) -> str:
    """The counts over the data files (a descriptor's own report counts entries, not records)."""
    data = [r for r in reports if r.format not in DESCRIPTORS and not r.error]
    invalid, file_errors = sum(r.invalid for r in data), sum(r.file_errors for r in reports)
    unreadable = sum(bool(r.error) for r in reports)
    cards = [_card("files", len(reports)), _card("records", sum(r.records for r in data)),
             _card("valid", sum(r.valid for r in data), "good"), _card("invalid", invalid, "bad" if invalid else ""),
             _card("warnings", sum(r.warnings for r in reports), "warn")]
    if file_errors:
        cards.append(_card("file errors", file_errors, "bad"))
    if unreadable:
        cards.append(_card("unreadable files", unreadable, "bad"))
    bad = invalid or file_errors or unreadable or any(r.invalid for r in reports)
    verdict = ('<p class="error" id="verdict">Not clean: see the problems below.</p>' if bad else
               '<p class="ok" id="verdict">Every record is valid.</p>')
    return f'<section id="totals"><h2>Totals</h2><div class="cards">{"".join(cards)}</div>{verdict}</section>'


Examples = dict[Code, list[tuple[str, Problem]]]  # per code: (file, problem)


def _by_code(reports: list[FileReport]) -> tuple[Counter[Code], Examples, dict[Code, set[str]]]:
    """Per code: how many problems, the first EXAMPLES with their file, and the files that have it."""
    counts: Counter[Code] = Counter()
    examples: Examples = {}
    files: dict[Code, set[str]] = {}
    for r in reports:
        for p in r.problems:
            counts[p.code] += 1
            files.setdefault(p.code, set()).add(r.path)
            shown = examples.setdefault(p.code, [])
            if len(shown) < EXAMPLES:
                shown.append((r.path, p))
    return counts, examples, files


def _codes(reports: list[FileReport]) -> str:
    """The table of codes (severity, count, meaning, files), then each code's examples."""
    counts, examples, files = _by_code(reports)
    if not counts:
        return '<section id="problems"><h2>Problems by code</h2><p id="no-problems">No problems.</p></section>'
    order = sorted(counts, key=lambda c: (CODES[c][0] != "error", -counts[c], c))
    rows = "".join(f'<tr><td><a href="#code-{e(c)}"><code>{e(c)}</code></a></td>'
                   f'<td class="{CODES[c][0]}">{CODES[c][0]}</td><td class="n">{counts[c]:,}</td>'
                   f"<td>{e(CODES[c][1])}</td><td class=\"n\">{len(files[c])}</td></tr>"
                   for c in order)
    table = ('<table id="problem-codes"><thead><tr><th>code</th><th>severity</th><th>count</th><th>meaning</th>'
             f"<th>files</th></tr></thead><tbody>{rows}</tbody></table>")
    tools = ('<div class="tools"><input id="filter" type="search" placeholder="filter the listed problems '
             '(file, path, message)" aria-label="filter"><button id="expand" type="button">Expand all</button>'
             '<span id="shown"></span></div>')
    listed = "".join(_examples(c, counts[c], examples[c]) for c in order)
    return f'<section id="problems"><h2>Problems by code</h2>{table}{tools}{listed}</section>'


def _examples(code: Code, count: int, found: Iterable[tuple[str, Problem]]) -> str:
    """One code's examples as a table in a <details> (open for errors)."""
    severity = CODES[code][0]
    rows = "".join(f'<tr class="{severity}"><td class="loc">{e(p.location(path))}</td>'
                   f'<td class="n">{"" if p.index is None else p.index}</td><td class="path">{e(p.path)}</td>'
                   f'<td class="msg">{e(p.message)}</td></tr>' for path, p in found)
    more = f" (the first {EXAMPLES} listed)" if count > EXAMPLES else ""
    return (f'<details class="code" id="code-{e(code)}"{" open" if severity == "error" else ""}><summary>'
            f'<code>{e(code)}</code> <span class="{severity}">{severity}</span>: {count:,}{more}</summary>'
            '<table class="examples"><thead><tr><th>location (file:line:column)</th><th>record</th>'
            f"<th>JSON path</th><th>message</th></tr></thead><tbody>{rows}</tbody></table></details>")


def _status(r: FileReport) -> str:
    if r.error:
        return f'<span class="error">unreadable: {e(r.error)}</span>'
    if r.skipped:
        return f"skipped: {e(r.skipped)}"
    if r.failed:
        return '<span class="error">' + ("invalid records" if r.invalid else "invalid file") + "</span>"
    return '<span class="ok">ok</span>'


def _files(reports: list[FileReport]) -> str:
    """A row per file (or descriptor entry): format and how it was chosen, counts, status."""
    rows = "".join(f'<tr><td class="loc">{e(r.path)}</td><td>{e(r.format or "")}'
                   f'{f" ({e(r.how)})" if r.format else ""}</td><td class="n">{r.records:,}</td>'
                   f'<td class="n">{r.valid:,}</td><td class="n">{r.invalid:,}</td><td class="n">{r.warnings:,}</td>'
                   f"<td>{_status(r)}</td></tr>" for r in reports)
    return ('<section id="files"><h2>Files</h2><table id="file-summary"><thead><tr><th>file</th><th>format</th>'
            "<th>records</th><th>valid</th><th>invalid</th><th>warnings</th><th>status</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")


def _figure(value: Any) -> str:
    """A stats summary value as text: a spread as 'min 1 · p50 2 · ...', a mapping as 'a: 1, b: 2'."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_figure(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _stats(stats: Stats, name: str) -> str:
    """`ftdata stats` over the valid records: its summary and histograms (tokens with the given tokenizer)."""
    summary = {k: v for k, v in stats.summary().items() if v not in (None, {}, []) and k != "files"}
    rows = "".join(f"<tr><th>{e(k.replace('_', ' '))}</th><td>{e(_figure(v))}</td></tr>" for k, v in summary.items())
    series = [("user turns per record", stats.turns, None), ("characters per record", stats.chars, None),
              ("tokens per record", stats.tokens, stats.max_length)]
    charts = "".join(histogram(title, values, name, limit) for title, values, limit in series if values)
    return (f'<section id="stats"><h2>Statistics (valid records)</h2><div class="charts">{charts}</div>'
            f'<table id="stats-summary"><tbody>{rows}</tbody></table></section>')
