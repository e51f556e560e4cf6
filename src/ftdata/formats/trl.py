"""trl's dataset types: prompt/completion, prompt/chosen/rejected (explicit or implicit prompt), and
prompt/completion/label (KTO). Each text field is a string ("standard") or a message list ("conversational").
"""

from __future__ import annotations

from typing import Any

from ftdata.core.canonical import chat_messages, json_text
from ftdata.core.problems import Problem, problem
from ftdata.core.rules import OPEN, Origin, Origins
from ftdata.formats import openai
from ftdata.formats.base import (
    Converted,
    Format,
    Msg,
    Row,
    build_record,
    parse_row,
    shapes,
    shared_prefix,
    text_message,
    top_level_shape,
)
from ftdata.formats.blocks import MediaLists, marked_parts
from ftdata.formats.declare import KEPT, kept, lossy, rejected
from ftdata.formats.openai import OAMessage, convert_messages
from ftdata.formats.tools import parse_tools
from ftdata.formats.write import Writing, with_meta

Text = str | list[OAMessage]


class TrlRow(Row):
    prompt: Text | None = None
    completion: Text | None = None
    chosen: Text | None = None
    rejected: Text | None = None
    label: bool | None = None
    tools: list[dict[str, Any]] | str | None = None
    images: list[str] | None = None
    id: str | int | None = None


def _side(value: Text, name: str, role: str, origins: Origins, images: MediaLists) -> tuple[list[Msg], list[Problem]]:
    """A standard string becomes one message of `role`; a conversational list is converted as OpenAI messages."""
    if isinstance(value, str):
        origins.add(name, Origin(name, name, role))
        return [text_message(role, value)], []
    return convert_messages(value, name, name, origins, images)


def split_prompt(
    prompt: list[Msg], chosen: list[Msg], rejected: list[Msg], origins: Origins
) -> tuple[list[Msg], list[Msg], list[Msg], list[Problem]]:
    """Implicit prompts: when chosen/rejected repeat the conversation before the answer, move that prefix
    into the prompt (as trl's `extract_prompt` does) and check it agrees with an explicit prompt."""
    n = shared_prefix(chosen, rejected)
    if n == 0:
        return prompt, chosen, rejected, []
    prefix = chosen[:n]
    problems = []
    if prompt and prefix != prompt:
        problems.append(problem("chosen[0]", "invalid_value",
                                "chosen/rejected start with a conversation that differs from 'prompt'"))
    for name in ("chosen", "rejected"):
        origins.by_list[name] = origins.by_list.get(name, [])[n:]
    if not prompt:
        origins.by_list["messages"] = [Origin(f"chosen[{i}].role", f"chosen[{i}].content", m["role"]) for i, m in enumerate(prefix)]
    return prefix, chosen[n:], rejected[n:], problems


def split_text(chosen: str, rejected: str) -> tuple[str, str, str]:
    """An implicit prompt in standard (string) preference rows, as trl's `extract_prompt` finds it: the common
    leading text, a space before the answers kept with them. ("The sky is blue.", "The sky is green.") ->
    ("The sky is", " blue.", " green.")."""
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    if 0 < n < min(len(chosen), len(rejected)) and chosen[n - 1] == " ":
        n -= 1
    return chosen[:n], chosen[n:], rejected[n:]


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"prompt": "2+2?", "chosen": "4", "rejected": "5"} -> messages [user], chosen [assistant], rejected [assistant]."""
    row, problems = parse_row(TrlRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins(list_paths={"messages": "prompt"})
    images: MediaLists = {"images": list(row.images or [])}
    prompt: list[Msg] = []
    if row.prompt is not None:
        prompt, found = _side(row.prompt, "prompt", "user", origins, images)
        problems += found
        origins.by_list["messages"] = origins.by_list.pop("prompt", [])
    tools, problems_tools = parse_tools(row.tools, "tools")
    problems += problems_tools
    fields: dict[str, Any] = dict(tools=tools, id=row.id, meta=row.extras())
    if row.chosen is not None or row.rejected is not None:
        if row.chosen is None or row.rejected is None:
            problems.append(problem("chosen" if row.chosen is None else "rejected", "missing_field",
                                    "a preference row needs both 'chosen' and 'rejected'"))
            return Converted(None, origins, problems)
        chosen_value, rejected_value = row.chosen, row.rejected
        if row.prompt is None and isinstance(chosen_value, str) and isinstance(rejected_value, str):
            shared, chosen_value, rejected_value = split_text(chosen_value, rejected_value)
            if shared:
                prompt = [text_message("user", shared)]
                origins.by_list["messages"] = [Origin("chosen", "chosen", "user")]
        chosen, found = _side(chosen_value, "chosen", "assistant", origins, images)
        rejected, more = _side(rejected_value, "rejected", "assistant", origins, images)
        prompt, chosen, rejected, split = split_prompt(prompt, chosen, rejected, origins)
        problems += found + more + split
        fields.update(messages=prompt, chosen=chosen, rejected=rejected)
    elif row.completion is not None:
        completion, found = _side(row.completion, "completion", "assistant", origins, images)
        problems += found
        if row.label is not None:
            fields.update(messages=prompt, completion=completion, label=row.label)
        else:  # prompt-completion SFT: one conversation
            for origin in origins.by_list.pop("completion", []):
                origins.add("messages", origin)
            fields.update(messages=prompt + completion)
    elif "completions" in raw:
        problems.append(problem("completions", "invalid_value", "a stepwise-supervision row (completions + labels, for "
                                                                "process reward models) has nothing to train on with "
                                                                "SFT, DPO or KTO"))
    else:
        problems.append(problem("completion", "missing_field", "a trl row needs 'completion' or 'chosen'/'rejected' "
                                                               "(a prompt-only row, as for GRPO, has no answer to "
                                                               "train on with SFT, DPO or KTO)"))
    fields.update({kind: refs or None for kind, refs in images.items()})  # video / audio blocks: the writer refuses
    return build_record(fields, origins, problems)

def from_canonical(w: Writing) -> dict[str, Any]:
    """Canonical -> the columns trl's trainers take: messages | prompt/chosen/rejected | prompt/completion/label | text."""
    rec = w.record
    if rec.videos or rec.audios:
        w.refuse("videos" if rec.videos else "audios", "trl datasets carry images only")
    w.default_weights_only("trl")
    if rec.kind == "text":
        out: dict[str, Any] = {"text": rec.text}
    elif rec.kind == "sft":
        out = {"messages": chat_messages(rec.messages or [], text_arguments=True)}
    elif rec.kind == "preference":
        out = {"prompt": chat_messages(rec.messages or [], text_arguments=True),
               "chosen": chat_messages(rec.chosen or [], text_arguments=True),
               "rejected": chat_messages(rec.rejected or [], text_arguments=True)}
    else:
        out = {"prompt": chat_messages(rec.messages or [], text_arguments=True),
               "completion": chat_messages(rec.completion or [], text_arguments=True), "label": rec.label}
    if rec.tools is not None:
        out["tools"] = json_text(rec.tools)  # trl's trainers decode a JSON string; Arrow cannot hold varying schemas
    if rec.images:
        out["images"] = list(rec.images)
        for key in ("messages", "prompt", "completion", "chosen", "rejected"):
            for m in out.get(key) or []:  # every content as parts: one Arrow type per column
                m["content"] = marked_parts(m["content"] or "")
    return with_meta(out, rec)


# trl's standard (plain text) types -> the alpaca columns LLaMA-Factory reads them with
STANDARD_AS_ALPACA = {
    frozenset({"prompt", "completion"}): {"prompt": "prompt", "response": "completion"},
    frozenset({"prompt", "chosen", "rejected"}): {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"},
    frozenset({"prompt", "completion", "label"}): {"prompt": "prompt", "response": "completion", "kto_tag": "label"},
}


def as_alpaca(keys: set[str]) -> dict[str, Any] | None:
    """The alpaca entry LLaMA-Factory reads trl's prompt/completion, preference and KTO rows with (plain text rows
    only: the entry's rows are read through it before it is written)."""
    columns = STANDARD_AS_ALPACA.get(frozenset(keys) - {"id", "meta"})
    if columns is None:
        return None
    return {"formatting": "alpaca", **({"ranking": True} if "chosen" in columns else {}), "columns": columns}


FORMAT = Format(
    name="trl",
    summary="prompt/completion, prompt/chosen/rejected, prompt/completion/label (strings or message lists)",
    shapes=shapes("prompt completion", "prompt chosen", "prompt rejected", "chosen rejected", "prompt chosen rejected",
                  "prompt completion label", "prompt"),
    rows=(TrlRow,),
    schema_note="A row has prompt+completion (SFT), prompt+chosen+rejected or chosen+rejected (preference), or "
                "prompt+completion+label (KTO).",
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    light_writer=openai.light_writer,  # a plain conversation is {"messages": [{role, content}]} here too
    writes_light=True,
    written_shape=top_level_shape,  # every value below the top level is text (tools and arguments as JSON text)
    example={"prompt": "What colour is the sky?", "chosen": "Blue.", "rejected": "Green."},
    policy=OPEN,
    shape_doc="`prompt`+`completion`, `prompt`+`chosen`+`rejected`, `prompt`+`completion`+`label`",
    variants="standard (strings) or conversational (message lists); implicit prompts",
    carries={"system": KEPT, "multi_turn": KEPT, "consecutive_users": KEPT, "tool_calls": KEPT, "parallel_tools": KEPT,
             "call_ids": KEPT, "tools": KEPT, "reasoning": kept("`reasoning_content`"), "reasoning_call": KEPT,
             "weights": lossy("defaults only"), "preference": KEPT, "kto": kept("`label`"), "images": KEPT,
             "videos": rejected("images only"), "audios": rejected("images only"), "text": kept("`text`"),
             "id": kept("as text"), "meta": kept("`meta` object")},
    v1_converters=("pair",),  # LLaMA-Factory v1's converters that read these rows
    trl_reads=frozenset({"sft", "preference", "kto"}),  # trl reads its own types
    llamafactory_as=as_alpaca,
)
