"""Fast acceptance of the common, plainly valid record shapes, for `validate`'s hot path.

Each function answers one question about a decoded record: "is it certainly valid?" True is a promise that the
full path (pydantic schema + conversion + rules) would find no error and no warning; it is only given for plain
text conversations in their format's exact shape. Anything else (tools, media, preference, an odd field, any
doubt) answers False and the record takes the full path, which reports precise problems. A property test holds
these functions to that promise.
"""

from __future__ import annotations

from typing import Any, Callable

PLACEHOLDER_TAGS = ("<image>", "<video>", "<audio>")


def _blank(value: str) -> bool:
    return not value or value.isspace()  # isspace() stops at the first non-space: O(1) in practice


def _no_tags(value: str) -> bool:
    return "<" not in value or not any(tag in value for tag in PLACEHOLDER_TAGS)


def _text(value: Any) -> bool:
    """A non-blank string without media placeholders."""
    return type(value) is str and not _blank(value) and _no_tags(value)


def _ident(value: Any) -> bool:
    return value is None or type(value) is str or type(value) is int


SHAREGPT_KEYS = frozenset({"conversations", "system", "id"})
SHAREGPT_ROLES = (("human", "user"), ("gpt", "assistant"))


def sharegpt(raw: dict[str, Any]) -> bool:
    """{"conversations": [human, gpt, ...], "system"?, "id"?} with text values only."""
    if not raw.keys() <= SHAREGPT_KEYS or not _ident(raw.get("id")):
        return False
    if "system" in raw and not _text(raw["system"]):
        return False
    conv = raw.get("conversations")
    if type(conv) is not list or not conv or len(conv) % 2:
        return False
    for i, m in enumerate(conv):  # the hot loop: checks inlined
        if type(m) is not dict or len(m) != 2:
            return False
        v = m.get("value")
        if type(v) is not str or not v or v.isspace() or m.get("from") not in SHAREGPT_ROLES[i & 1]:
            return False
        if "<" in v and not _no_tags(v):
            return False
    return True


OPENAI_KEYS = frozenset({"messages", "id"})
OPENAI_MESSAGE_KEYS = frozenset({"role", "content"})


def openai(raw: dict[str, Any]) -> bool:
    """{"messages": [system?, user, assistant, ...]} with string contents and no other message fields."""
    if not raw.keys() <= OPENAI_KEYS or not _ident(raw.get("id")):
        return False
    msgs = raw.get("messages")
    if type(msgs) is not list or not msgs:
        return False
    start = 1 if type(msgs[0]) is dict and msgs[0].get("role") in ("system", "developer") else 0
    if (len(msgs) - start) % 2 or len(msgs) == start:
        return False
    for i, m in enumerate(msgs):  # the hot loop: checks inlined
        if type(m) is not dict or m.keys() != OPENAI_MESSAGE_KEYS:
            return False
        v = m["content"]
        if type(v) is not str or not v or v.isspace() or ("<" in v and not _no_tags(v)):
            return False
        if i >= start and m["role"] != ("user" if (i - start) % 2 == 0 else "assistant"):
            return False
    return True


ALPACA_KEYS = frozenset({"instruction", "input", "output", "system", "history", "id"})


def alpaca(raw: dict[str, Any]) -> bool:
    """{"instruction", "input"?, "output", "system"?, "history"?: [[q, a], ...]} with text values."""
    if not raw.keys() <= ALPACA_KEYS:
        return False
    instruction, query, output = raw.get("instruction"), raw.get("input", ""), raw.get("output")
    if type(instruction) is not str or type(query) is not str or type(output) is not str:  # checks inlined
        return False
    if not output or output.isspace() or ((not instruction or instruction.isspace()) and (not query or query.isspace())):
        return False  # the prompt is instruction + "\n" + input: blank only when both are
    if ("<" in instruction or "<" in query or "<" in output) and not (
            _no_tags(instruction) and _no_tags(query) and _no_tags(output)):
        return False
    if len(raw) > 2 + ("input" in raw) and not _alpaca_extras(raw):  # more than instruction, input, output
        return False
    return True


def _alpaca_extras(raw: dict[str, Any]) -> bool:
    """id, system and history, when present."""
    if not _ident(raw.get("id")) or ("system" in raw and not _text(raw["system"])):
        return False
    history = raw.get("history")
    if history is not None:
        if type(history) is not list:
            return False
        for pair in history:
            if type(pair) is not list or len(pair) != 2 or not _text(pair[0]) or not _text(pair[1]):
                return False
    return True


FIREFLY_KEYS = frozenset({"conversation", "system", "conversation_id", "category"})


def firefly(raw: dict[str, Any]) -> bool:
    """{"conversation": [{"human", "assistant"}, ...], "system"?, "conversation_id"?, "category"?}."""
    if not raw.keys() <= FIREFLY_KEYS or not _ident(raw.get("conversation_id")):
        return False
    if "system" in raw and not _text(raw["system"]):
        return False
    conv = raw.get("conversation")
    if type(conv) is not list or not conv:
        return False
    for turn in conv:
        if type(turn) is not dict or len(turn) != 2 or not _text(turn.get("human")) or not _text(turn.get("assistant")):
            return False
    return True


MOSS_KEYS = frozenset({"conversation_id", "meta_instruction", "num_turns", "chat", "category"})
MOSS_FIELDS = (("Human", "<|Human|>:", "<eoh>"), ("Inner Thoughts", "<|Inner Thoughts|>:", "<eot>"),
               ("Commands", "<|Commands|>:", "<eoc>"), ("Tool Responses", "<|Results|>:", "<eor>"),
               ("MOSS", "<|MOSS|>:", "<eom>"))


def moss(raw: dict[str, Any]) -> bool:
    """Plain MOSS turns: Human and MOSS text, Inner Thoughts / Commands / Tool Responses exactly `None`."""
    if not raw.keys() <= MOSS_KEYS or type(raw.get("conversation_id")) not in (str, int):
        return False
    if not _text(raw.get("meta_instruction")):
        return False
    chat, n = raw.get("chat"), raw.get("num_turns")
    if type(chat) is not dict or type(n) is not int or len(chat) != n or n < 1:
        return False
    for i, (key, turn) in enumerate(chat.items(), start=1):
        if key != f"turn_{i}" or type(turn) is not dict or len(turn) != 5:
            return False
        for field, opening, closing in MOSS_FIELDS:
            value = turn.get(field)
            if type(value) is not str:
                return False
            body = value.rstrip()
            if not body.startswith(opening) or not body.endswith(closing):
                return False
            inner = body[len(opening):-len(closing)].strip()
            if field in ("Human", "MOSS"):
                if inner == "None" or not _text(inner) or inner.startswith("Non"):
                    return False
            elif inner != "None":
                return False
    return True


FAST: dict[str, Callable[[dict[str, Any]], bool]] = {
    "sharegpt": sharegpt, "openai": openai, "alpaca": alpaca, "firefly": firefly, "moss": moss,
}
