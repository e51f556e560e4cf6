"""Regenerate the README's parts that are generated from the code (tests/test_registry.py fails when they drift):
the Formats table, the format x feature matrix and convert's usage line (from the registry and each `Format`'s
declarations) and fttrain's option table (from `fttrain.spec`).

Usage: python scripts/update_readme.py
"""

from __future__ import annotations

from pathlib import Path

from ftdata.formats import TARGETS, formats_markdown, matrix_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def sections() -> dict[str, str]:
    """Marker name -> the text between `<!-- NAME: generated ... -->` and `<!-- NAME end -->`."""
    from fttrain.spec import options_markdown

    return {"formats": formats_markdown(), "matrix": matrix_markdown(), "options": options_markdown(),
            "convert-usage": CONVERT_USAGE.format(targets="|".join(TARGETS))}


CONVERT_USAGE = """```
ftdata convert FILE... --to {targets} [-o OUT] [--from F] [--name NAME]
               [--reasoning think|drop|reject] [--media-dir DIR] [--no-dataset-info] [--force] [--workers N]
               [--allow-outside] [--json]
```
"""


def replaced(text: str, name: str, body: str) -> str:
    start = text.index(f"<!-- {name}: generated")
    start = text.index("-->\n", start) + 4
    end = text.index(f"<!-- {name} end -->", start)
    return text[:start] + body + text[end:]


def main() -> None:
    text = README.read_text()
    for name, body in sections().items():
        text = replaced(text, name, body)
    README.write_text(text)
    print(f"updated {README}")


if __name__ == "__main__":
    main()
