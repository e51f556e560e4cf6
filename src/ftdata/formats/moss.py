"""MOSS-003 SFT: `{conversation_id, meta_instruction, num_turns, category?, chat: {turn_N: {...}}}`.

Each turn has five fields, each wrapped in its markers (`<|Human|>: ...<eoh>`). `None` between the markers means
absent. Mapping: meta_instruction -> system; Human -> user; Inner Thoughts -> assistant `reasoning`;
Commands -> assistant `tool_calls` (`Search("q")` -> {"name": "Search", "arguments": {"input": "q"}});
Tool Responses -> a tool message; MOSS -> the assistant answer.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import Field

from ftdata.core.canonical import ToolCall
from ftdata.core.problems import Problem, problem
from ftdata.core.rules import Origin, Origins
from ftdata.formats.base import (
    ClosedPart,
    Converted,
    Format,
    Msg,
    Raw,
    Row,
    build_record,
    parse_row,
    shapes,
    text_message,
)
from ftdata.formats.light import (
    LightCall,
    LightMessage,
    LightRecord,
    RichMessage,
    RichRecord,
    is_text,
)

MARKERS = {  # field -> (opening marker, closing marker)
    "Human": ("<|Human|>:", "<eoh>"),
    "Inner Thoughts": ("<|Inner Thoughts|>:", "<eot>"),
    "Commands": ("<|Commands|>:", "<eoc>"),
    "Tool Responses": ("<|Results|>:", "<eor>"),
    "MOSS": ("<|MOSS|>:", "<eom>"),
}
_ODD_NONE = re.compile(r"^Non(e)?\b")
_CALL_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\(")


class Turn(ClosedPart):
    human: str = Field(alias="Human")
    inner_thoughts: str = Field(alias="Inner Thoughts")
    commands: str = Field(alias="Commands")
    tool_responses: str = Field(alias="Tool Responses")
    moss: str = Field(alias="MOSS")


class MossRow(Row):
    conversation_id: int | str
    meta_instruction: str
    num_turns: int
    chat: dict[str, Turn]


def inside(value: str, opening: str, closing: str) -> str | None:
    """'<|Human|>: Hi<eoh>\\n' -> 'Hi' (stripped), or None when the markers are not there."""
    end = len(value) - 1 - len(closing)
    if value.endswith("\n") and value.startswith(opening) and value.startswith(closing, end):  # as published
        return value[len(opening):end].strip()
    body = value.rstrip()
    if not body.startswith(opening) or not body.endswith(closing):
        return None
    return body[len(opening):-len(closing)].strip()


def unwrap(value: str, field: str, path: str) -> tuple[str | None, list[Problem]]:
    """'<|Human|>: Hi<eoh>\\n' -> 'Hi'; 'None' -> None (absent); a broken marker -> marker_mismatch."""
    opening, closing = MARKERS[field]
    inner = inside(value, opening, closing)
    if inner is None:
        body = value.rstrip()
        found = body[:24] + ("..." if len(body) > 24 else "")
        return None, [problem(path, "marker_mismatch",
                              f"'{field}' must look like '{opening} ...{closing}', found {found!r}")]
    if inner == "None":
        return None, []
    if _ODD_NONE.match(inner):
        return None, [problem(path, "odd_placeholder", f"{inner[:60]!r} read as absent (the published data means None)")]
    return inner, []


def parse_commands(text: str, path: str) -> tuple[list[ToolCall], list[Problem]]:
    """'Search("a"), Calculate("1+1")' -> two ToolCalls; a single string literal argument is decoded.

    Numbering or `# comments` around the calls (seen in the published data) is a warning, not an error.
    """
    found, extra = scan_calls(text)
    calls = [ToolCall(name=name, arguments={"input": arg}) for name, arg in found]
    if not calls:
        return [], [problem(path, "tool_call_invalid",
                            f"cannot read a command in {text[:40]!r}; expected Name(arguments), e.g. Search(\"query\")")]
    if extra:
        return calls, [problem(path, "odd_commands", f"text around the {len(calls)} command(s) ignored: {extra[:60]!r}")]
    return calls, []


def scan_calls(text: str) -> tuple[list[tuple[str, str]], str]:
    """'Search("a"), x' -> ([("Search", "a")], "x"): the calls (name, decoded argument) and the text around them."""
    calls: list[tuple[str, str]] = []
    leftover: list[str] = []
    pos = 0
    while (m := _CALL_NAME.search(text, pos)) is not None:
        end = _closing_paren(text, m.end())
        if end < 0:
            break
        leftover.append(text[pos:m.start()])
        calls.append((m.group(1), _decode_arg(text[m.end():end].strip())))
        pos = end + 1
    leftover.append(text[pos:])
    return calls, " ".join(t.strip(" ,\n") for t in leftover).strip()


def _closing_paren(text: str, start: int) -> int:
    depth, quoted, i = 1, False, start
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _decode_arg(args: str) -> str:
    if len(args) >= 2 and args[0] == args[-1] == '"':
        try:
            value = orjson.loads(args)
            if isinstance(value, str):
                return value
        except orjson.JSONDecodeError:
            pass
    return args


def convert_turn(turn: Turn, path: str, origins: Origins) -> tuple[list[Msg], list[Problem], str | None]:
    """One MOSS turn -> user, [assistant(tool_calls), tool,] assistant; plus Tool Responses that had no Commands."""
    problems: list[Problem] = []
    parts: dict[str, str | None] = {}
    for field, attr in (("Human", "human"), ("Inner Thoughts", "inner_thoughts"), ("Commands", "commands"),
                        ("Tool Responses", "tool_responses"), ("MOSS", "moss")):
        parts[field], found = unwrap(getattr(turn, attr), field, f"{path}.{field}")
        problems += found
    for field in ("Human", "MOSS"):
        if parts[field] is None and not any(p.path == f"{path}.{field}" for p in problems):
            problems.append(problem(f"{path}.{field}", "empty_content", f"'{field}' is None; every turn needs it"))
    calls: list[ToolCall] = []
    if parts["Commands"]:
        calls, found = parse_commands(parts["Commands"], f"{path}.Commands")
        problems += found
    if any(p.severity == "error" for p in problems):
        return [], problems, None
    messages = [text_message("user", parts["Human"] or "")]
    origins.add("messages", Origin(f"{path}.Human", f"{path}.Human", "Human"))
    thoughts = parts["Inner Thoughts"]
    results = parts["Tool Responses"]
    if calls:
        if results is None:
            problems.append(problem(f"{path}.Tool Responses", "odd_placeholder",
                                    "commands were issued but Tool Responses is None; kept as the tool result 'None'"))
        messages += [text_message("assistant", "", tool_calls=calls, reasoning=thoughts),
                     text_message("tool", results if results is not None else "None")]
        origins.add("messages", Origin(f"{path}.Commands", f"{path}.Commands", "Commands"))
        origins.add("messages", Origin(f"{path}.Tool Responses", f"{path}.Tool Responses", "Tool Responses"))
        thoughts = None
    orphan = None
    if results is not None and not calls:
        orphan = results
        problems.append(problem(f"{path}.Tool Responses", "odd_placeholder",
                                "Tool Responses without Commands; kept in meta.orphan_tool_responses"))
    messages.append(text_message("assistant", parts["MOSS"] or "", reasoning=thoughts))
    origins.add("messages", Origin(f"{path}.MOSS", f"{path}.MOSS", "MOSS"))
    return messages, problems, orphan


def to_canonical(raw: dict[str, Any]) -> Converted:
    """A MOSS conversation -> system + user/assistant(/tool) messages; warnings for odd `None` variants."""
    row, problems = parse_row(MossRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    expected = [f"turn_{i}" for i in range(1, row.num_turns + 1)]
    if list(row.chat) != expected:
        problems.append(problem("num_turns", "turn_count_mismatch",
                                f"num_turns is {row.num_turns} but chat has {', '.join(row.chat) or 'no turns'}; "
                                f"expected {', '.join(expected) or 'none'}"))
    origins = Origins()
    messages = [text_message("system", row.meta_instruction)]
    origins.add("messages", Origin("meta_instruction", "meta_instruction", "meta_instruction"))
    orphan_results: dict[str, str] = {}
    for key, turn in row.chat.items():
        found_messages, found, orphan = convert_turn(turn, f"chat.{key}", origins)
        messages += found_messages
        problems += found
        if orphan is not None:
            orphan_results[key] = orphan
    meta = row.extras() or {}
    if orphan_results:
        meta["orphan_tool_responses"] = orphan_results
    return build_record(dict(messages=messages, id=row.conversation_id, meta=meta or None), origins, problems)


# The fast lane: plain turns (Human and MOSS text; Inner Thoughts, Commands, Tool Responses exactly `None`).
FAST_KEYS = frozenset({"conversation_id", "meta_instruction", "num_turns", "chat", "category"})
SPOKEN = ("Human", "MOSS")  # the fields every turn needs


def _chat(raw: Raw) -> dict[str, Any] | None:
    """The row's `chat` when everything around it is as the fast lanes want it (known keys, an id, a system text,
    num_turns equal to the turns), else None."""
    if not raw.keys() <= FAST_KEYS or type(raw.get("conversation_id")) not in (str, int):
        return None
    if "category" in raw and type(raw["category"]) is not str:
        return None  # the full lane, where type_drift walks what is inside it
    if not is_text(raw.get("meta_instruction")):
        return None
    chat, n = raw.get("chat"), raw.get("num_turns")
    if type(chat) is not dict or type(n) is not int or len(chat) != n or n < 1:
        return None
    return chat


def fast(raw: Raw) -> bool:
    """Plain MOSS turns: Human and MOSS text, Inner Thoughts / Commands / Tool Responses exactly `None`."""
    chat = _chat(raw)
    if chat is None:
        return False
    for i, (key, turn) in enumerate(chat.items(), start=1):
        if key != f"turn_{i}" or type(turn) is not dict or len(turn) != len(MARKERS):
            return False
        for field, (opening, closing) in MARKERS.items():
            value = turn.get(field)
            if value == NONE_TEXT[field] and field not in SPOKEN:
                continue  # an absent field as the published data writes it: compared whole
            if type(value) is not str:
                return False
            inner = inside(value, opening, closing)
            if inner is None:
                return False
            if field in SPOKEN:
                if inner == "None" or not is_text(inner) or _ODD_NONE.match(inner):
                    return False
            elif inner != "None":
                return False
    return True


def check(raw: Raw) -> bool:
    """Is this row certainly valid, warnings included? `fast`'s plain turns, and plugin turns: inner thoughts,
    commands the full lane reads without a word (`parse_commands`), and their results (it takes `fast`'s rows too,
    in one pass)."""
    chat = _chat(raw)
    if chat is None:
        return False
    for i, (key, turn) in enumerate(chat.items(), start=1):
        if key != f"turn_{i}" or type(turn) is not dict or turn.keys() != MARKERS.keys() or not _turn_ok(turn):
            return False
    return True


# How the published data writes an absent field ('<|Commands|>: None<eoc>\n'): the common case, compared whole.
NONE_TEXT = {field: f"{opening} None{closing}\n" for field, (opening, closing) in MARKERS.items()}
# One or more plain calls with one quoted argument, `Search("a"), Calculate("1+1")`: what `parse_commands` reads
# without a word; anything else goes through `parse_commands` itself.
_PLAIN_CALL = r'[A-Za-z_][A-Za-z0-9_]*\("(?:[^"\\\n]|\\.)*"\)'
_PLAIN_CALLS = re.compile(rf"\s*{_PLAIN_CALL}(?:\s*,\s*{_PLAIN_CALL})*\s*")


def _turn_ok(turn: Raw) -> bool:
    return _plain_calls(turn, False) is not None


def _plain_calls(turn: Raw, read: bool = True) -> tuple[dict[str, str | None], list[tuple[str, str]]] | None:
    """A turn `check` takes: its fields' texts (None: absent) and its commands' calls (name, argument; `read`:
    read them, else only checked); else None."""
    parts: dict[str, str | None] = {}
    for field, (opening, closing) in MARKERS.items():
        value = turn[field]
        if value == NONE_TEXT[field]:
            parts[field] = None
            continue
        if type(value) is not str:
            return None
        inner = inside(value, opening, closing)
        if inner is None or (inner != "None" and _ODD_NONE.match(inner)):
            return None  # a broken marker, or an odd 'None' (a warning)
        parts[field] = None if inner == "None" else inner
    for field in SPOKEN:
        if not is_text(parts[field]):
            return None
    commands, results = parts["Commands"], parts["Tool Responses"]
    if commands is None:
        return (parts, []) if results is None else None  # results without commands: a warning
    if not is_text(results):
        return None
    if not read and _PLAIN_CALLS.fullmatch(commands):
        return parts, []
    calls, extra = scan_calls(commands)
    return (parts, calls) if calls and not extra else None


def rich(raw: Raw) -> LightRecord | None:
    """convert's rich lane: a row `check` takes, as the light record of the full lane's `Record` (inner thoughts as
    reasoning, commands as tool calls, results as tool messages), in one pass; None for any other row."""
    chat = _chat(raw)
    if chat is None:
        return None
    msgs: list[LightMessage] = [LightMessage("system", raw["meta_instruction"])]
    plain = True
    for i, (key, turn) in enumerate(chat.items(), start=1):
        if key != f"turn_{i}" or type(turn) is not dict or turn.keys() != MARKERS.keys():
            return None
        found = _plain_calls(turn)
        if found is None:
            return None
        parts, calls = found
        thoughts = parts["Inner Thoughts"] or None  # blank reasoning is none (`Message`)
        msgs.append(LightMessage("user", parts["Human"] or ""))
        if calls:
            msgs += [RichMessage("assistant", "", [LightCall(name, {"input": arg}) for name, arg in calls], thoughts),
                     LightMessage("tool", parts["Tool Responses"] or "")]
            thoughts, plain = None, False
        msgs.append(RichMessage("assistant", parts["MOSS"] or "", reasoning=thoughts) if thoughts
                    else LightMessage("assistant", parts["MOSS"] or ""))
        plain = plain and thoughts is None
    meta = {"category": raw["category"]} if "category" in raw else None
    if plain:
        return LightRecord(msgs, raw["conversation_id"], meta)
    return RichRecord(msgs, raw["conversation_id"], meta, plain_turns=True)  # user and assistant alternate, no names


def light(raw: Raw) -> LightRecord:
    msgs = [LightMessage("system", raw["meta_instruction"])]
    for turn in raw["chat"].values():
        msgs += [LightMessage("user", inside(turn["Human"], *MARKERS["Human"]) or ""),
                 LightMessage("assistant", inside(turn["MOSS"], *MARKERS["MOSS"]) or "")]
    return LightRecord(msgs, raw["conversation_id"], {"category": raw["category"]} if "category" in raw else None)


def repair(p: Problem, value: Any, key: Any) -> Any:
    """`ftdata fix`: a `None.`-style placeholder (`odd_placeholder`) -> the field with `None` between its markers,
    which the data means; None for anything else."""
    if p.code != "odd_placeholder" or not isinstance(value, str) or key not in MARKERS:
        return None
    absent, said = unwrap(value, key, p.path)
    inner = inside(value, *MARKERS[key])
    return value.replace(inner, "None", 1) if absent is None and said and inner else None


FORMAT = Format(
    name="moss",
    summary="MOSS-003 SFT: conversation_id, meta_instruction, num_turns, chat.turn_N with marked fields",
    shapes=shapes("chat meta_instruction"),
    rows=(MossRow,),
    schema_note="Each field is wrapped in its markers ("
                + ", ".join(f"{opening} ...{closing}" for opening, closing in MARKERS.values())
                + "); chat holds turn_1..turn_N with N = num_turns; Commands are Name(arguments) calls.",
    to_canonical=to_canonical,
    fast=fast,
    check=check,
    light=light,
    rich=rich,
    example={
        "conversation_id": 1, "meta_instruction": "You are MOSS.", "num_turns": 1,
        "chat": {"turn_1": {"Human": "<|Human|>: Hi<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: None<eot>\n",
                            "Commands": "<|Commands|>: None<eoc>\n", "Tool Responses": "<|Results|>: None<eor>\n",
                            "MOSS": "<|MOSS|>: Hello!<eom>\n"}},
    },
    shape_doc="MOSS-003: `meta_instruction`, `num_turns`, `chat.turn_N`",
    variants="inner thoughts -> `reasoning`, commands -> tool calls, results -> tool messages",
    repair=repair,
)
