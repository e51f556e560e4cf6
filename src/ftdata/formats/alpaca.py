"""alpaca: instruction / input / output, optional system and history; preference, KTO and media variants.

Prompt = instruction + "\\n" + input (LLaMA-Factory's rule); history pairs come before the current turn.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ftdata.formats.base import Converted, Format, Row, build_record, parse_row, text_message
from ftdata.formats.write import Writing, media, with_meta
from ftdata.problems import Problem, problem
from ftdata.rules import Origin, Origins


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
    prompt = row.instruction + ("\n" + row.input if row.input else "")
    messages.append(text_message("user", prompt))
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


def _problem(path: str, message: str, code: str = "invalid_value") -> Problem:
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
        out["output"] = w.text_with_reasoning(last_answer, "messages", len(rec.messages) - 1, "alpaca")
    for name, answer in rec.message_lists()[1:]:
        if len(answer) != 1:
            w.refuse(w.origins.list_path(name), f"alpaca holds a single {name} answer, got {len(answer)}")
            continue
        out["output" if rec.kind == "kto" else name] = w.text_with_reasoning(answer[0], name, 0, "alpaca")
    if rec.kind == "kto":
        out["kto_tag"] = rec.label
    return with_meta(media(out, rec), rec)


FORMAT = Format(
    name="alpaca",
    summary="instruction/input/output (+ system, history, chosen/rejected, kto_tag, images)",
    detect=lambda k: "instruction" in k,
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
)
