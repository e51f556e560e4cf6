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

from ftdata.core.canonical import ToolCall, json_text
from ftdata.core.problems import Code, Problem, problem
from ftdata.core.reasoning import join_think
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
    TAGS,
    LightCall,
    LightMessage,
    LightRecord,
    RichMessage,
    RichRecord,
    is_text,
)
from ftdata.formats.write import ReasoningPolicy

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


# The hot lanes (`fast`, `check`, `rich`, `to_sharegpt`): each field of a turn read once, the common shapes first.
# Accepted => the full lane finds no problem (tests/test_fast.py, test_rich_lane.py); the rows they take and the
# records they build are those of their slower first version (tests/test_moss_lanes.py).
FAST_KEYS = frozenset({"conversation_id", "meta_instruction", "num_turns", "chat", "category"})
# How the published data writes an absent field ('<|Commands|>: None<eoc>\n'): the common case, compared whole.
NONE_TEXT = {field: f"{opening} None{closing}\n" for field, (opening, closing) in MARKERS.items()}
# Per field, in MARKERS order: (name, opening, where the text starts, the published ending, where the text ends,
# closing, the absent field as published).
_FIELDS = tuple((field, opening, len(opening), f"{closing}\n", -len(closing) - 1, closing, NONE_TEXT[field])
                for field, (opening, closing) in MARKERS.items())
_TAG = re.compile("|".join(map(re.escape, TAGS)))  # `no_tags` as one search
_TURN_KEYS = [tuple(f"turn_{i}" for i in range(1, n + 1)) for n in range(65)]  # chat's keys in order, by count
# One or more plain calls with one quoted argument, `Search("a"), Calculate("1+1")`: what `parse_commands` reads
# without a word, as the calls `_ONE_CALL` finds in it; anything else goes through `scan_calls` itself.
_NAME, _QUOTED = r"[A-Za-z_][A-Za-z0-9_]*", r'"(?:[^"\\\n]|\\.)*"'
_PLAIN_CALLS = re.compile(rf"\s*{_NAME}\({_QUOTED}\)(?:\s*,\s*{_NAME}\({_QUOTED}\))*\s*")
_ONE_CALL = re.compile(rf"({_NAME})\(({_QUOTED})\)")
Texts = tuple[str, str | None, str | None, str | None, str]  # Human, Inner Thoughts, Commands, Results, MOSS


def _chat(raw: Raw) -> dict[str, Any] | None:
    """The row's `chat` when everything around it is as the hot lanes want it (known keys, an id, a system text,
    turn_1..turn_N in order with N = num_turns), else None."""
    if not raw.keys() <= FAST_KEYS or type(raw.get("conversation_id")) not in (str, int):
        return None
    if "category" in raw and type(raw["category"]) is not str:
        return None  # the full lane, where type_drift walks what is inside it
    if not is_text(raw.get("meta_instruction")):
        return None
    chat, n = raw.get("chat"), raw.get("num_turns")
    if type(chat) is not dict or type(n) is not int or len(chat) != n or n < 1:
        return None
    if tuple(chat) != (_TURN_KEYS[n] if n < len(_TURN_KEYS) else tuple(f"turn_{i}" for i in range(1, n + 1))):
        return None
    return chat


def _turn(turn: Any) -> Texts | None:
    """A turn the hot lanes take: its five fields' texts (None: absent), each marked, no odd 'None', Human and MOSS
    text, results text where commands were issued and absent where not; else None. Commands are not read here."""
    if type(turn) is not dict or len(turn) != 5:
        return None  # with the five fields' texts below: exactly the five keys
    texts: list[str | None] = []
    for field, opening, start, tail, end, closing, none in _FIELDS:
        value = turn.get(field)
        if value == none:
            texts.append(None)
            continue
        if type(value) is not str:
            return None
        if value.endswith(tail) and value.startswith(opening):  # as published
            inner = value[start:end].strip()
        else:
            found = inside(value, opening, closing)
            if found is None:
                return None
            inner = found
        if inner.startswith("Non"):
            if inner == "None":
                texts.append(None)
                continue
            if _ODD_NONE.match(inner):
                return None  # an odd 'None' (a warning)
        texts.append(inner)
    human, thoughts, commands, results, answer = texts
    if not human or not answer or ("<" in human and _TAG.search(human)) or ("<" in answer and _TAG.search(answer)):
        return None
    if commands is None:
        return (human, thoughts, None, None, answer) if results is None else None  # results alone: a warning
    if not results or ("<" in results and _TAG.search(results)):
        return None
    return human, thoughts, commands, results, answer


def fast(raw: Raw) -> bool:
    """Plain MOSS turns: Human and MOSS text, Inner Thoughts / Commands / Tool Responses exactly `None`."""
    chat = _chat(raw)
    if chat is None:
        return False
    for turn in chat.values():
        texts = _turn(turn)
        if texts is None or texts[1] is not None or texts[2] is not None:
            return False
    return True


def check(raw: Raw) -> bool:
    """Is this row certainly valid, warnings included? `fast`'s plain turns, and plugin turns: inner thoughts,
    commands the full lane reads without a word (`parse_commands`), and their results (it takes `fast`'s rows too,
    in one pass)."""
    chat = _chat(raw)
    if chat is None:
        return False
    for turn in chat.values():
        texts = _turn(turn)
        if texts is None:
            return False
        commands = texts[2]
        if commands is not None and not _PLAIN_CALLS.fullmatch(commands):
            found, extra = scan_calls(commands)
            if not found or extra:
                return False
    return True


def rich(raw: Raw) -> LightRecord | None:
    """convert's rich lane: a row `check` takes, as the light record of the full lane's `Record` (inner thoughts as
    reasoning, commands as tool calls, results as tool messages), in one pass; None for any other row."""
    chat = _chat(raw)
    if chat is None:
        return None
    msgs: list[LightMessage] = [LightMessage("system", raw["meta_instruction"])]
    plain = True
    for turn in chat.values():
        texts = _turn(turn)
        if texts is None:
            return None
        human, thoughts, commands, results, answer = texts
        msgs.append(LightMessage("user", human))
        if commands is not None:
            found = _found(commands)
            if found is None:
                return None
            calls = [LightCall(name, {"input": arg}) for name, arg in found]
            msgs += [RichMessage("assistant", "", calls, thoughts or None), LightMessage("tool", results or "")]
            thoughts, plain = None, False
        if thoughts:  # blank reasoning is none (`Message`)
            msgs.append(RichMessage("assistant", answer, reasoning=thoughts))
            plain = False
        else:
            msgs.append(LightMessage("assistant", answer))
    meta = {"category": raw["category"]} if "category" in raw else None
    if plain:
        return LightRecord(msgs, raw["conversation_id"], meta)
    return RichRecord(msgs, raw["conversation_id"], meta, plain_turns=True)  # user and assistant alternate, no names


def _found(commands: str) -> list[tuple[str, str]] | None:
    """'Search("a"), Calc("1")' -> [("Search", "a"), ("Calc", "1")], as `parse_commands` reads them; None where it
    would say a word."""
    if _PLAIN_CALLS.fullmatch(commands):
        return [(name, _decode_arg(arg)) for name, arg in _ONE_CALL.findall(commands)]
    found, extra = scan_calls(commands)
    return found if found and not extra else None


NO_WARNINGS: dict[Code, int] = {}


def to_sharegpt(raw: Raw, reasoning: ReasoningPolicy) -> tuple[Raw, dict[Code, int]] | None:
    """convert's direct lane to sharegpt: a row `rich` takes, written as `sharegpt.from_canonical` writes its
    record, with the warnings that writes (by code); None for any other row, and for one with inner thoughts under
    `--reasoning reject` (the full lane refuses it)."""
    chat = _chat(raw)
    if chat is None:
        return None
    conv: list[dict[str, str]] = []
    said, think = 0, reasoning == "think"
    for turn in chat.values():
        texts = _turn(turn)
        if texts is None:
            return None
        human, thoughts, commands, results, answer = texts
        conv.append({"from": "human", "value": human})
        if thoughts:
            if reasoning == "reject":
                return None
            said += 1
        if commands is not None:
            found = _found(commands)
            if found is None:
                return None
            items = [{"name": name, "arguments": {"input": arg}} for name, arg in found]
            value = orjson.dumps(items[0] if len(items) == 1 else items).decode()
            conv += [{"from": "function_call", "value": join_think(thoughts, "") + value if thoughts and think else value},
                     {"from": "observation", "value": results or ""}]
            thoughts = None
        conv.append({"from": "gpt", "value": join_think(thoughts, answer) if thoughts and think else answer})
    cid = raw["conversation_id"]
    out: Raw = {"system": raw["meta_instruction"], "conversations": conv, "id": cid if type(cid) is str else str(cid)}
    if "category" in raw:
        out["meta"] = json_text({"category": raw["category"]})
    if not said:
        return out, NO_WARNINGS
    return out, {"reasoning_embedded" if think else "reasoning_dropped": said}


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
    direct={"sharegpt": to_sharegpt},
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
