"""alpaca: instruction / input / output, optional system and history; preference, KTO and media variants.

Prompt = instruction + "\\n" + input (LLaMA-Factory's rule); history pairs come before the current turn.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ftdata.core.problems import Code, Problem, problem
from ftdata.core.rules import Origin, Origins
from ftdata.formats.base import (
    Converted,
    Format,
    Raw,
    Row,
    build_record,
    parse_row,
    shapes,
    text_message,
)
from ftdata.formats.declare import KEPT, LlamaFactory, kept, lossy, rejected
from ftdata.formats.light import (
    LightMessage,
    LightRecord,
    id_as_written,
    is_ident,
    is_text,
    no_tags,
)
from ftdata.formats.write import Writing, media, with_meta


def prompt(instruction: str, query: str | None) -> str:
    """LLaMA-Factory's prompt: instruction + "\n" + input (input may be empty or absent)."""
    return instruction + "\n" + query if query else instruction


class AlpacaRow(Row):
    instruction: str
    input: str = ""
    output: str | None = None
    system: str | None = None
    history: list[Annotated[list[str], Field(min_length=2, max_length=2)]] | None = None
    chosen: str | None = None
    rejected: str | None = None
    kto_tag: bool | None = None
    images: list[str] | None = None
    videos: list[str] | None = None
    audios: list[str] | None = None
    id: str | int | None = None


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"instruction": "Hi", "output": "Hello"} -> messages [user "Hi", assistant "Hello"]."""
    row, problems = parse_row(AlpacaRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins()
    messages = []
    if row.system is not None:
        messages.append(text_message("system", row.system))
        origins.add("messages", Origin("system", "system"))
    for i, (q, a) in enumerate(row.history or []):
        messages += [text_message("user", q), text_message("assistant", a)]
        origins.add("messages", Origin(f"history[{i}]", f"history[{i}][0]"))
        origins.add("messages", Origin(f"history[{i}]", f"history[{i}][1]"))
    messages.append(text_message("user", prompt(row.instruction, row.input)))
    origins.add("messages", Origin("instruction", "instruction"))
    fields: dict[str, Any] = dict(messages=messages, id=row.id, images=row.images, videos=row.videos, audios=row.audios,
                                  meta=row.extras())
    if row.chosen is not None or row.rejected is not None:
        if row.output is not None:
            problems.append(_problem("output", "a preference row has chosen/rejected instead of output; remove 'output'"))
        for name in ("chosen", "rejected"):
            value = getattr(row, name)
            if value is None:
                problems.append(_problem(name, f"a preference row needs both 'chosen' and 'rejected'; '{name}' is missing",
                                         "missing_field"))
            fields[name] = [text_message("assistant", value or "")]
            origins.add(name, Origin(name, name))
    elif row.output is None:
        problems.append(_problem("output", "required field 'output' is missing; add the answer", "missing_field"))
    elif row.kto_tag is not None:
        fields.update(completion=[text_message("assistant", row.output)], label=row.kto_tag)
        origins.add("completion", Origin("output", "output"))
    else:
        messages.append(text_message("assistant", row.output))
        origins.add("messages", Origin("output", "output"))
    return build_record(fields, origins, problems)


def _problem(path: str, message: str, code: Code = "invalid_value") -> Problem:
    return problem(path, code, message)

def from_canonical(w: Writing) -> dict[str, Any]:
    """Canonical -> alpaca: the last user turn is `instruction`, earlier pairs `history`; no tools, one answer."""
    rec = w.record
    if rec.kind == "text":
        w.refuse("text", "pretraining text has no alpaca form; convert it --to text")
        return {}
    if rec.tools:
        w.refuse("tools", "alpaca has no tools; convert to sharegpt or openai")
    w.default_weights_only("alpaca")
    w.no_names("alpaca")
    w.alternating("alpaca")
    for name, msgs in rec.message_lists():
        for i, m in enumerate(msgs):
            if m.tool_calls or m.role == "tool":
                w.refuse(w.where(name, i), "alpaca has no tool calls or tool results; convert to sharegpt or openai")
    msgs = list(rec.messages or [])
    out: dict[str, Any] = {}
    if msgs and msgs[0].role == "system":
        out["system"] = msgs.pop(0).content
    offset = len(rec.messages or []) - len(msgs)
    if rec.kind == "sft":
        if len(msgs) < 2:
            w.refuse(w.origins.list_path("messages"), "alpaca needs a user turn and an answer")
            return out
        *pairs, last_user, last_answer = msgs
    else:
        *pairs, last_user = msgs
    history = [[pairs[i].content, w.text_with_reasoning(pairs[i + 1], "messages", offset + i + 1, "alpaca")]
               for i in range(0, len(pairs) - 1, 2)]
    out["instruction"] = last_user.content
    if history:
        out["history"] = history
    if rec.kind == "sft":
        out["output"] = w.text_with_reasoning(last_answer, "messages", len(rec.messages or []) - 1, "alpaca")
    for name, answer in rec.message_lists()[1:]:
        if len(answer) != 1:
            w.refuse(w.origins.list_path(name), f"alpaca holds a single {name} answer, got {len(answer)}")
            continue
        out["output" if rec.kind == "kto" else name] = w.text_with_reasoning(answer[0], name, 0, "alpaca")
    if rec.kind == "kto":
        out["kto_tag"] = rec.label
    w.media_files_only("alpaca")
    return with_meta(media(out, rec), rec)


# The fast lane: plain text rows in this exact shape (see ftdata.formats).
FAST_KEYS = frozenset({"instruction", "input", "output", "system", "history", "id"})


def fast(raw: Raw) -> bool:
    """{"instruction", "input"?, "output", "system"?, "history"?: [[q, a], ...]} with text values."""
    if not raw.keys() <= FAST_KEYS:
        return False
    instruction, query, output = raw.get("instruction"), raw.get("input", ""), raw.get("output")
    if type(instruction) is not str or type(query) is not str or type(output) is not str:  # checks inlined
        return False
    if not output or output.isspace() or ((not instruction or instruction.isspace()) and (not query or query.isspace())):
        return False  # the prompt is instruction + "\n" + input: blank only when both are
    if ("<" in instruction or "<" in query or "<" in output) and not (
            no_tags(instruction) and no_tags(query) and no_tags(output)):
        return False
    if len(raw) > 2 + ("input" in raw) and not _fast_extras(raw):  # more than instruction, input, output
        return False
    return True


def _fast_extras(raw: Raw) -> bool:
    """id, system and history, when present."""
    if not is_ident(raw.get("id")) or ("system" in raw and not is_text(raw["system"])):
        return False
    history = raw.get("history")
    if history is not None:
        if type(history) is not list:
            return False
        for pair in history:
            if type(pair) is not list or len(pair) != 2 or not is_text(pair[0]) or not is_text(pair[1]):
                return False
    return True


def light(raw: Raw) -> LightRecord:
    msgs = [LightMessage("system", raw["system"])] if "system" in raw else []
    for q, a in raw.get("history") or ():
        msgs.append(LightMessage("user", q))
        msgs.append(LightMessage("assistant", a))
    msgs.append(LightMessage("user", prompt(raw["instruction"], raw.get("input"))))
    msgs.append(LightMessage("assistant", raw["output"]))
    return LightRecord(msgs, raw.get("id"))


def light_writer(rec: LightRecord) -> Raw:
    out, msgs = rec.system_apart()
    *pairs, last_user, last_answer = msgs
    out["instruction"] = last_user.content
    if pairs:
        out["history"] = [[pairs[i].content, pairs[i + 1].content] for i in range(0, len(pairs) - 1, 2)]
    out["output"] = last_answer.content
    return with_meta(out, rec)


def as_is(raw: Raw) -> bool:
    """No "input" (the writer folds it into the instruction), no null or empty history, the id as written."""
    return id_as_written(raw) and "input" not in raw and bool(raw.get("history", True))


FORMAT = Format(
    name="alpaca",
    summary="instruction/input/output (+ system, history, chosen/rejected, kto_tag, images)",
    shapes=shapes("instruction", "instruction chosen rejected"),
    rows=(AlpacaRow,),
    schema_note="A row has `output`, or `chosen` and `rejected`; `kto_tag` marks KTO rows.",
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
    fast=fast,
    light=light,
    light_writer=light_writer,
    as_is={"alpaca": as_is},
    llamafactory=LlamaFactory(
        "alpaca",
        columns={"prompt": "instruction", "query": "input", "response": "output", "history": "history",
                 "system": "system", "images": "images", "videos": "videos", "audios": "audios", "chosen": "chosen",
                 "rejected": "rejected", "kto_tag": "kto_tag"}),
    shape_doc="`instruction`, `input`, `output`, `system`, `history`",
    variants="preference (`chosen`/`rejected` strings), KTO (`kto_tag`), media",
    carries={"system": KEPT, "multi_turn": kept("`history`"), "consecutive_users": rejected(),
             "tool_calls": rejected(), "tools": rejected(), "reasoning": kept("leading `<think>` block; `--reasoning`"),
             "weights": lossy("defaults only"), "preference": kept("single answers"), "kto": kept("`kto_tag`"),
             "images": KEPT, "videos": KEPT, "audios": KEPT, "id": kept("as text"), "meta": kept("`meta` object")},
    text_fields=("system", "instruction", "input", "output", "chosen", "rejected", "history[*][*]"),
    v1_converters=("alpaca",),  # LLaMA-Factory v1's converters that read these rows
)
