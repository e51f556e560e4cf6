"""Regenerate the docs' parts that live in the code (tests/test_docs.py fails when they drift): the Formats table
and the format x feature matrix and convert's usage line (from the registry and each `Format`'s declarations),
fttrain's option table (from `fttrain.spec`) and the problem-code table (from `ftdata.core.problems.CODES`).
Each sits in a docs page between `<!-- NAME: generated ... -->` and `<!-- NAME end -->`.

Usage: python scripts/update_docs.py
"""

from __future__ import annotations

import re
from pathlib import Path

from ftdata.core.problems import CODES
from ftdata.formats import TARGETS, formats_markdown, matrix_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"

# marker name -> the page that holds it
PAGES = {"formats": "formats.md", "matrix": "commands/convert.md", "convert-usage": "commands/convert.md",
         "options": "training-options.md", "codes": "problem-codes.md"}

CONVERT_USAGE = """```
ftdata convert FILE... --to {targets} [-o OUT] [--from F] [--name NAME]
               [--reasoning think|drop|reject] [--media-dir DIR] [--no-dataset-info] [--force] [--workers N]
               [--allow-outside] [--json]
```
"""


def escaped(table: str) -> str:
    """`<` outside code spans as `&lt;` (a bare `<think>` or `<stage>` would be read as an HTML tag)."""
    parts = re.split(r"(`[^`]*`)", table)
    return "".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in parts)


def codes_markdown() -> str:
    """The problem codes as a table: code, severity, meaning (`CODES`, the one place they are written)."""
    rows = ["| code | severity | meaning |", "|---|---|---|"]
    rows += [f"| `{code}` | {severity} | {meaning} |" for code, (severity, meaning) in CODES.items()]
    return "\n".join(rows) + "\n"


def sections() -> dict[str, str]:
    """Marker name -> the text between its markers."""
    from fttrain.spec import options_markdown

    return {"formats": escaped(formats_markdown()), "matrix": escaped(matrix_markdown()),
            "options": escaped(options_markdown()), "codes": escaped(codes_markdown()),
            "convert-usage": CONVERT_USAGE.format(targets="|".join(TARGETS))}


def replaced(text: str, name: str, body: str) -> str:
    """`text` with the part between NAME's markers replaced by `body`."""
    start = text.index(f"<!-- {name}: generated")
    start = text.index("-->\n", start) + 4
    end = text.index(f"<!-- {name} end -->", start)
    return text[:start] + body + text[end:]


def main() -> None:
    for name, body in sections().items():
        page = DOCS / PAGES[name]
        text = page.read_text()
        new = replaced(text, name, body)
        if new != text:
            page.write_text(new)
            print(f"updated {page.relative_to(DOCS.parent)} ({name})")


if __name__ == "__main__":
    main()
