"""Fixes that cannot change what a row means, applied to a decoded source row and logged one by one.

Each fix returns the changes it made as `Change(path, code, before, after)`, paths in the source row's own terms
(`conversations[2].from`). Always applied:
- `role_name`: a role in another case or with spaces (`Human`, ` gpt`, `Function Call`) -> the format's spelling,
  when that spelling is a role the format knows (and the original is not);
- `whitespace`: leading / trailing whitespace of turn contents: a message's content or value, and the turn texts
  each format declares (`Format.text_fields`: alpaca's instruction / input / output / system / history, Firefly's
  human / assistant, ...). Content split into parts or blocks is joined without a separator, so only the first
  part's start and the last part's end are trimmed; trl's standard (string) prompt and completion are not turn
  texts: they are concatenated, and a leading space there is part of the text; MOSS declares none (its markers own
  the whitespace);
- `double_encoded`: tool-call arguments JSON-encoded twice, decoded once (where `validate` warns `double_encoded`);
- `placeholder`: a value the format repairs itself where `validate` warns about it (`Format.repair`: MOSS
  `None.`-style placeholders -> `None`, which the data means).
Opt-in, because they change the structure: `drop_empty` (a turn with blank content and no tool call) and
`merge_consecutive` (two text turns of the same role in a row, joined with a newline; tool results never).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Literal

import orjson

from ftdata.core.problems import Problem, join_path
from ftdata.formats import Format

FixCode = Literal["role_name", "whitespace", "double_encoded", "placeholder", "drop_empty", "merge_consecutive"]
FIX_CODES: dict[FixCode, str] = {
    "role_name": "a role in another case or with spaces, spelled as the format spells it",
    "whitespace": "leading / trailing whitespace of a turn's content removed",
    "double_encoded": "tool-call arguments encoded twice, decoded once",
    "placeholder": "a MOSS 'None.'-style placeholder written as None",
    "drop_empty": "--drop-empty: a turn with blank content (and no tool call) removed",
    "merge_consecutive": "--merge-consecutive: a text turn joined to the previous turn of the same role",
}
ROLE_KEYS = ("role", "from")
CONTENT_KEYS = ("content", "value", "reasoning", "reasoning_content", "thinking")
CALL_KEYS = ("tool_calls", "function_call")


@dataclass(frozen=True)
class Change:
    path: str
    code: FixCode
    before: Any
    after: Any


def is_message(value: Any) -> bool:
    return isinstance(value, dict) and any(isinstance(value.get(k), str) for k in ROLE_KEYS)


def message_lists(row: Any, path: str = "") -> list[tuple[str, list[Any]]]:
    """Every list of messages in a row (at any depth), with its path."""
    found: list[tuple[str, list[Any]]] = []
    if isinstance(row, dict):
        for key, value in row.items():
            if key not in ("tools", "meta", "functions"):
                found += message_lists(value, join_path(path, key))
    elif isinstance(row, list):
        if row and all(is_message(m) for m in row):
            found.append((path, row))
        else:
            for i, value in enumerate(row):
                found += message_lists(value, join_path(path, i))
    return found


def _messages(row: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every message of a row with its path; sharegpt's single chosen / rejected messages too."""
    out = [(join_path(p, i), m) for p, msgs in message_lists(row) for i, m in enumerate(msgs)]
    if isinstance(row, dict):
        out += [(k, row[k]) for k in ("chosen", "rejected") if is_message(row.get(k))]
    return out


def fix_roles(row: dict[str, Any], fmt: Format) -> list[Change]:
    out = []
    for path, m in _messages(row):
        for key in ROLE_KEYS:
            role = m.get(key)
            if isinstance(role, str) and role not in fmt.roles:
                spelled = "_".join(role.strip().lower().split())
                if spelled in fmt.roles:
                    m[key] = spelled
                    out.append(Change(f"{path}.{key}", "role_name", role, spelled))
    return out


def _strip(holder: Any, key: Any, path: str, out: list[Change], start: bool = True, end: bool = True) -> None:
    value = holder[key]
    if isinstance(value, str):
        new = value.lstrip() if start else value
        new = new.rstrip() if end else new
        if new != value:
            holder[key] = new
            out.append(Change(path, "whitespace", value, new))


def fix_whitespace(row: dict[str, Any], fmt: Format) -> list[Change]:
    """Outer whitespace of every message's content (parts and blocks: the ends of the joined text) and of the
    format's other turn texts (`Format.text_fields`)."""
    out: list[Change] = []
    for path, m in _messages(row):
        for key in CONTENT_KEYS:
            value = m.get(key)
            if isinstance(value, str):
                _strip(m, key, f"{path}.{key}", out)
            elif isinstance(value, list):  # parts / blocks, joined without a separator: trim the ends only
                texts = [i for i, b in enumerate(value) if isinstance(b, dict) and b.get("type") == "text"]
                for i in texts[:1] + texts[-1:]:
                    field = "text" if "text" in value[i] else "value"
                    if field in value[i]:
                        _strip(value[i], field, f"{path}.{key}[{i}].{field}", out, start=i == texts[0],
                               end=i == texts[-1])
    for pattern in fmt.text_fields:
        for holder, key, path in _places(row, pattern.replace("[", ".[").split(".")):
            _strip(holder, key, path, out)
    return out


def _places(value: Any, parts: list[str], path: str = "") -> Iterator[tuple[Any, Any, str]]:
    """(container, key, path) of each string a field pattern names: `history[*][*]` -> every history[i][j]."""
    head, rest = parts[0], parts[1:]
    if head == "[*]":
        keys: Iterable[Any] = range(len(value)) if isinstance(value, list) else ()
    else:
        keys = [head] if isinstance(value, dict) and head in value else ()
    for key in keys:
        inner = join_path(path, key)
        if rest:
            yield from _places(value[key], rest, inner)
        elif isinstance(value[key], str):
            yield value, key, inner


def _at(row: Any, path: str) -> tuple[Any, Any] | None:
    """(container, key) of the value at a path such as 'conversations[2].value', or None."""
    holder, key = None, None
    value = row
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        k: Any = int(part[1:-1]) if part.startswith("[") else part
        try:
            holder, key, value = value, k, value[k]
        except (KeyError, IndexError, TypeError):
            return None
    return (holder, key) if holder is not None else None


def _once(args: Any) -> Any:
    """Arguments encoded twice ('"{\\"a\\": 1}"') -> once ('{"a": 1}'); anything else as it is."""
    if isinstance(args, str):
        try:
            inner = orjson.loads(args)
        except orjson.JSONDecodeError:
            return args
        if isinstance(inner, str):
            return inner
    return args


def _decode_calls(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_calls(v) for v in value]
    if isinstance(value, dict) and "arguments" in value:
        return {**value, "arguments": _once(value["arguments"])}
    return value


def fix_reported(row: dict[str, Any], fmt: Format, problems: list[Problem]) -> list[Change]:
    """The fixes `validate` points at: `double_encoded` arguments, and values the format repairs itself
    (`Format.repair`: MOSS `odd_placeholder`s)."""
    out = []
    for p in problems:
        found = _at(row, p.path)
        if found is None:
            continue
        holder, key = found
        value = holder[key]
        if p.code == "double_encoded":
            if isinstance(value, dict):  # an OpenAI function object
                new: Any = {**value, "arguments": _once(value.get("arguments"))}
            elif isinstance(value, str):  # a JSON call (sharegpt function_call value, v1 tool_call block)
                try:
                    new = orjson.dumps(_decode_calls(orjson.loads(value))).decode()
                except orjson.JSONDecodeError:
                    continue
            else:
                continue
            if new != value:
                holder[key] = new
                out.append(Change(p.path, "double_encoded", value, new))
        elif fmt.repair is not None and (new := fmt.repair(p, value, key)) is not None and new != value:
            holder[key] = new  # the format's own repair of a value it warns about (MOSS `None.` placeholders)
            out.append(Change(p.path, "placeholder", value, new))
    return out


def fix_structure(row: dict[str, Any], fmt: Format, drop_empty: bool, merge: bool) -> list[Change]:
    """--drop-empty and --merge-consecutive over every message list (paths are the row's before the change)."""
    out: list[Change] = []
    for path, msgs in message_lists(row):
        kept: list[tuple[int, dict[str, Any]]] = []
        for i, m in enumerate(msgs):
            key = "content" if "content" in m else "value"
            text = m.get(key)
            plain = isinstance(text, str) and not any(m.get(k) for k in CALL_KEYS)
            if drop_empty and plain and isinstance(text, str) and not text.strip():
                out.append(Change(join_path(path, i), "drop_empty", m, None))
                continue
            role = _role(m)
            if merge and kept and plain and set(m) == set(kept[-1][1]) and _role(kept[-1][1]) == role \
                    and fmt.roles.get(role) != "tool" and isinstance(kept[-1][1].get(key), str):
                before = kept[-1][1]
                joined = {**before, key: before[key] + "\n" + text}
                out.append(Change(join_path(path, i), "merge_consecutive", [before, m], joined))
                kept[-1] = (kept[-1][0], joined)
                continue
            kept.append((i, m))
        msgs[:] = [m for _, m in kept]
    return out


def _role(m: dict[str, Any]) -> str:
    return str(next(m[k] for k in ROLE_KEYS if isinstance(m.get(k), str)))


def fix_row(raw: dict[str, Any], fmt: Format) -> tuple[dict[str, Any], list[Change]]:
    """The always-safe fixes that need no validation: a fixed copy of the row (the input is not changed)."""
    row = copy.deepcopy(raw)
    return row, fix_roles(row, fmt) + fix_whitespace(row, fmt)
