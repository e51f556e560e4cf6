"""Light canonical records for `convert`'s hot path.

A row the fast path accepted (see `ftdata.fast`) is plainly valid text conversation; building and re-validating a
pydantic `Record` for it costs more than the rest of the conversion. These slotted classes carry the same
attributes the writers read, and `to_json()` gives exactly what `Record.to_json()` would: a property test
holds `light_record(raw)` equal to the full path's record for every accepted row.
"""

from __future__ import annotations

from typing import Any, Callable

from ftdata.canonical import Kind


class LightMessage:
    __slots__ = ("role", "content")
    tool_calls = reasoning = weight = tool_call_id = name = None  # a plain text message has none of these

    def __init__(self, role: str, content: str) -> None:
        self.role, self.content = role, content

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content}


class LightRecord:
    """An SFT conversation of plain text messages, with optional id and meta."""

    __slots__ = ("messages", "id", "meta")
    chosen = rejected = completion = label = text = tools = images = videos = audios = None
    kind: Kind = "sft"

    def __init__(self, messages: list[LightMessage], id: Any = None, meta: dict[str, Any] | None = None) -> None:
        self.messages, self.id, self.meta = messages, id, meta or None

    def message_lists(self) -> list[tuple[str, list[LightMessage]]]:
        return [("messages", self.messages)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"messages": [m.to_json() for m in self.messages]}
        if self.id is not None:
            out["id"] = self.id
        if self.meta:
            out["meta"] = self.meta
        return out


USER_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
              "system": "system", "developer": "system"}


def sharegpt(raw: dict[str, Any]) -> LightRecord:
    msgs = [LightMessage("system", raw["system"])] if "system" in raw else []
    msgs += [LightMessage(USER_ROLES[m["from"]], m["value"]) for m in raw["conversations"]]
    return LightRecord(msgs, raw.get("id"))


def openai(raw: dict[str, Any]) -> LightRecord:
    return LightRecord([LightMessage(USER_ROLES[m["role"]], m["content"]) for m in raw["messages"]], raw.get("id"))


def alpaca(raw: dict[str, Any]) -> LightRecord:
    msgs = [LightMessage("system", raw["system"])] if "system" in raw else []
    for q, a in raw.get("history") or ():
        msgs.append(LightMessage("user", q))
        msgs.append(LightMessage("assistant", a))
    query = raw.get("input")
    msgs.append(LightMessage("user", raw["instruction"] + "\n" + query if query else raw["instruction"]))
    msgs.append(LightMessage("assistant", raw["output"]))
    return LightRecord(msgs, raw.get("id"))


def firefly(raw: dict[str, Any]) -> LightRecord:
    msgs = [LightMessage("system", raw["system"])] if "system" in raw else []
    for turn in raw["conversation"]:
        msgs += [LightMessage("user", turn["human"]), LightMessage("assistant", turn["assistant"])]
    return LightRecord(msgs, raw.get("conversation_id"), {"category": raw["category"]} if "category" in raw else None)


def _moss_inner(value: str, opening: str, closing: str) -> str:
    body = value.rstrip()
    return body[len(opening):-len(closing)].strip()


def moss(raw: dict[str, Any]) -> LightRecord:
    msgs = [LightMessage("system", raw["meta_instruction"])]
    for turn in raw["chat"].values():
        msgs += [LightMessage("user", _moss_inner(turn["Human"], "<|Human|>:", "<eoh>")),
                 LightMessage("assistant", _moss_inner(turn["MOSS"], "<|MOSS|>:", "<eom>"))]
    return LightRecord(msgs, raw["conversation_id"], {"category": raw["category"]} if "category" in raw else None)


LIGHT: dict[str, Callable[[dict[str, Any]], LightRecord]] = {
    "sharegpt": sharegpt, "openai": openai, "alpaca": alpaca, "firefly": firefly, "moss": moss,
}


# Writers for light records (plain text SFT conversations): the same rows the full writers produce, without
# the Writing machinery they need for tools, weights, reasoning and refusals. A property test holds them equal.
SHAREGPT_ROLE = {"user": "human", "assistant": "gpt", "system": "system"}


def _with_id_meta(out: dict[str, Any], rec: LightRecord) -> dict[str, Any]:
    if rec.id is not None:
        out["id"] = rec.id
    if rec.meta:
        out["meta"] = rec.meta
    return out


def _system_apart(rec: LightRecord) -> tuple[dict[str, Any], list[LightMessage]]:
    """({"system": ...} when the conversation opens with one, the remaining messages)."""
    msgs = rec.messages
    if msgs[0].role == "system":
        return {"system": msgs[0].content}, msgs[1:]
    return {}, msgs


def to_sharegpt(rec: LightRecord) -> dict[str, Any]:
    out, msgs = _system_apart(rec)
    out["conversations"] = [{"from": SHAREGPT_ROLE[m.role], "value": m.content} for m in msgs]
    return _with_id_meta(out, rec)


def to_messages(rec: LightRecord) -> dict[str, Any]:
    """openai and trl write plain conversations the same way: {"messages": [{role, content}]}."""
    return _with_id_meta({"messages": [{"role": m.role, "content": m.content} for m in rec.messages]}, rec)


def to_alpaca(rec: LightRecord) -> dict[str, Any]:
    out, msgs = _system_apart(rec)
    *pairs, last_user, last_answer = msgs
    out["instruction"] = last_user.content
    if pairs:
        out["history"] = [[pairs[i].content, pairs[i + 1].content] for i in range(0, len(pairs) - 1, 2)]
    out["output"] = last_answer.content
    return _with_id_meta(out, rec)


LIGHT_WRITERS: dict[str, Callable[[LightRecord], dict[str, Any]]] = {
    "sharegpt": to_sharegpt, "openai": to_messages, "trl": to_messages, "alpaca": to_alpaca,
    "canonical": LightRecord.to_json,
}


# Rows the fast path accepted that are already exactly what the writer for a target would produce: `convert`
# copies their JSON text as it is (a property test holds `writer(light(row)) == row` whenever these say yes).
def _id_kept(raw: dict[str, Any]) -> bool:
    return raw.get("id", "") is not None  # writers drop an explicit null id


def sharegpt_as_is(raw: dict[str, Any]) -> bool:
    return _id_kept(raw) and all(m["from"] in ("human", "gpt") for m in raw["conversations"])


def messages_as_is(raw: dict[str, Any]) -> bool:
    return _id_kept(raw) and raw["messages"][0]["role"] != "developer"


def alpaca_as_is(raw: dict[str, Any]) -> bool:
    """No "input" (the writer folds it into the instruction) and no null or empty history."""
    return _id_kept(raw) and "input" not in raw and bool(raw.get("history", True))


AS_IS: dict[tuple[str, str], Callable[[dict[str, Any]], bool]] = {
    ("sharegpt", "sharegpt"): sharegpt_as_is, ("openai", "openai"): messages_as_is,
    ("openai", "trl"): messages_as_is, ("alpaca", "alpaca"): alpaca_as_is,
}
