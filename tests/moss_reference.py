"""MOSS's hot lanes (`fast`, `check`, `rich`, `light`) exactly as they were at 35c70f1, before they were rewritten
for speed: the oracle of tests/test_moss_lanes.py, which holds the new lanes to taking exactly the rows these took
and building exactly the records these built. Copied verbatim (but `scan_calls`, which the full lane's
`parse_commands` shares and the rewrite left as it was: imported); do not edit."""

import re
from typing import Any

from ftdata.formats.light import (
    LightCall,
    LightMessage,
    LightRecord,
    RichMessage,
    RichRecord,
    is_text,
)
from ftdata.formats.moss import scan_calls

Raw = dict[str, Any]
MARKERS = {  # field -> (opening marker, closing marker)
    "Human": ("<|Human|>:", "<eoh>"),
    "Inner Thoughts": ("<|Inner Thoughts|>:", "<eot>"),
    "Commands": ("<|Commands|>:", "<eoc>"),
    "Tool Responses": ("<|Results|>:", "<eor>"),
    "MOSS": ("<|MOSS|>:", "<eom>"),
}
_ODD_NONE = re.compile(r"^Non(e)?\b")


def inside(value: str, opening: str, closing: str) -> str | None:
    """'<|Human|>: Hi<eoh>\\n' -> 'Hi' (stripped), or None when the markers are not there."""
    end = len(value) - 1 - len(closing)
    if value.endswith("\n") and value.startswith(opening) and value.startswith(closing, end):  # as published
        return value[len(opening):end].strip()
    body = value.rstrip()
    if not body.startswith(opening) or not body.endswith(closing):
        return None
    return body[len(opening):-len(closing)].strip()



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

