"""Shared test helpers: a hypothesis strategy that mutates valid records, and every fixture / golden row."""

import copy
import json
from typing import Any, Iterator

from conftest import DATA, fixture_files
from hypothesis import strategies as st


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path (tuple of keys / indexes) into a JSON value, the root first."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


@st.composite
def mutated(draw: Any, seeds: st.SearchStrategy, junk: st.SearchStrategy, names: st.SearchStrategy,
            most: int = 3) -> Any:
    """A seed record with up to `most` edits: a value replaced by junk, a key dropped or renamed, an item doubled,
    a field added."""
    rec = copy.deepcopy(draw(seeds))
    for _ in range(draw(st.integers(1, most))):
        places = list(paths(rec))[1:]
        if not places:
            break
        where = draw(st.sampled_from(places))
        parent = rec
        for part in where[:-1]:
            parent = parent[part]
        key = where[-1]
        action = draw(st.sampled_from(["set", "delete", "rename", "grow"]))
        if action == "set":
            parent[key] = copy.deepcopy(draw(junk))
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(names)] = parent.pop(key)
        elif isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif isinstance(parent, dict):
            parent[draw(names)] = copy.deepcopy(draw(junk))
    return rec


def _loads(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None  # the golden invalid_json cases


def fixture_rows() -> Iterator[tuple[str, dict]]:
    """(file name, row) for every object row of the fixtures and the golden cases."""
    for path in sorted(DATA.glob("*/*/*.jsonl")) + fixture_files("*.json*"):
        text = path.read_text()
        rows = json.loads(text) if path.suffix == ".json" else [_loads(line) for line in text.splitlines()]
        for row in rows if isinstance(rows, list) else [rows]:
            if isinstance(row, dict):
                yield path.name, row
