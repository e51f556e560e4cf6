"""llamafactory-v1: LLaMA-Factory's v1 data format (`src/llamafactory/v1/utils/types.py`, its converters and
renderers), one `messages` shape whose content is a list of typed blocks:

    {"messages": [{"role": "user", "content": [{"type": "text", "value": "Hi"}], "loss_weight": 0.0},
                  {"role": "assistant", "content": [{"type": "text", "value": "Hello"}], "loss_weight": 1.0}],
     "tools": "<JSON string>"}
    {"chosen_messages": [...], "rejected_messages": [...]}            (DPO: each side the whole conversation)

Blocks: text (joined without a separator, as v1's renderers do), reasoning, tool_call (a JSON `{name, arguments}`),
image_url / video_url / audio_url (a `<image>`/`<video>`/`<audio>` placeholder where the block stands, the path in
the media list). `loss_weight` 0 or 1 becomes a message weight where it differs from the role's default (assistant
1, others 0); v1 has no KTO rows and no message ids.

Paths: v1 names files relative to the folder LLaMA-Factory runs from (its repository), whose `data/` folder holds
the data files; its own demo rows say `data/mllm_demo_data/1.jpg` where the v0 demo says `mllm_demo_data/1.jpg`.
So a media path that starts with `data/` is read relative to the data file's folder (like every other format's
paths), and the writer puts `data/` before relative paths.
"""

from __future__ import annotations

from typing import Any, Literal

from ftdata.core.canonical import MEDIA_KINDS, PLACEHOLDERS, Message, Role, json_text
from ftdata.core.problems import Problem, problem
from ftdata.core.rules import OPEN, Origin, Origins
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
    shared_prefix,
    text_message,
)
from ftdata.formats.declare import KEPT, kept, lossy, rejected
from ftdata.formats.tools import parse_tool_call, parse_tools
from ftdata.formats.write import Writing, with_meta
from ftdata.io.media import is_url

ROLES: dict[str, Role] = {"system": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
BLOCK_MEDIA = {"image_url": "images", "video_url": "videos", "audio_url": "audios"}
ROOT_DATA = "data/"  # v1 paths are relative to LLaMA-Factory's root; its data files live in data/


class Block(ClosedPart):
    type: Literal["text", "reasoning", "tool_call", "image_url", "video_url", "audio_url"]
    value: str


class V1Message(ClosedPart):
    role: str
    content: list[Block]
    loss_weight: float | None = None


class V1Row(Row):
    messages: list[V1Message]
    tools: str | list[dict[str, Any]] | None = None
    id: str | int | None = None


class V1PairRow(Row):
    chosen_messages: list[V1Message]
    rejected_messages: list[V1Message]
    tools: str | list[dict[str, Any]] | None = None
    id: str | int | None = None


def default_weight(role: str) -> int:
    return 1 if role == "assistant" else 0


def read_path(value: str) -> str:
    """'data/mllm_demo_data/1.jpg' -> 'mllm_demo_data/1.jpg' (relative to the data file's folder)."""
    return value[len(ROOT_DATA):] if value.startswith(ROOT_DATA) else value


def write_path(value: str) -> str:
    return value if is_url(value) or value.startswith("/") else ROOT_DATA + value


def convert_message(m: V1Message, path: str, media: dict[str, list[str]]) -> tuple[Msg | None, list[Problem]]:
    """One v1 message -> a canonical message; media paths are appended to `media` in order."""
    role = ROLES.get(m.role)
    if role is None:
        return None, [problem(f"{path}.role", "unknown_role", f"unknown role '{m.role}'; use one of {', '.join(ROLES)}")]
    text, reasoning, calls, problems = [], [], [], []
    for i, block in enumerate(m.content):
        where = f"{path}.content[{i}].value"
        if block.type == "text":
            text.append(block.value)
        elif block.type == "reasoning":
            reasoning.append(block.value)
        elif block.type == "tool_call":
            call, found = parse_tool_call(block.value, where)
            problems += found
            if call is not None:
                calls.append(call)
        else:
            kind = BLOCK_MEDIA[block.type]
            text.append(PLACEHOLDERS[kind])
            media[kind].append(read_path(block.value))
    if calls and role != "assistant":  # reasoning elsewhere: the `reasoning on assistant turns` rule says so
        problems.append(problem(f"{path}.content", "invalid_value", f"only assistant messages carry tool_call "
                                                                    f"blocks, not {m.role}"))
    weight = None
    if m.loss_weight is not None and m.loss_weight != default_weight(role):
        if m.loss_weight not in (0, 1):
            problems.append(problem(f"{path}.loss_weight", "invalid_value", f"loss_weight {m.loss_weight}: ftdata "
                                    "trains a message fully (1) or not at all (0)"))
        else:
            weight = int(m.loss_weight)
    return text_message(role, "".join(text), tool_calls=calls or None, reasoning="".join(reasoning) or None,
                        weight=weight), problems


def convert_list(items: list[V1Message], path: str, name: str, origins: Origins, media: dict[str, list[str]],
                 start: int = 0) -> tuple[list[Msg], list[Problem]]:
    out, problems = [], []
    for i in range(start, len(items)):
        msg, found = convert_message(items[i], f"{path}[{i}]", media)
        problems += found
        if msg is not None:
            out.append(msg)
            origins.add(name, Origin(f"{path}[{i}].role", f"{path}[{i}].content", items[i].role,
                                     items[i].loss_weight is not None))
    return out, problems


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"messages": [{"role": "user", "content": [{"type": "text", "value": "Hi"}]}, ...]} -> messages."""
    if "chosen_messages" in raw or "rejected_messages" in raw:
        return _pair(raw)
    row, problems = parse_row(V1Row, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins()
    media: dict[str, list[str]] = {kind: [] for kind in MEDIA_KINDS}
    messages, found = convert_list(row.messages, "messages", "messages", origins, media)
    tools, more = parse_tools(row.tools, "tools")
    fields = dict(messages=messages, tools=tools, id=row.id, meta=row.extras(), **_media(media))
    return build_record(fields, origins, problems + found + more)


def _pair(raw: dict[str, Any]) -> Converted:
    """DPO: the common prefix of chosen_messages and rejected_messages is the prompt (each side keeps at least its
    last message as the answer)."""
    row, problems = parse_row(V1PairRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    chosen, rejected = row.chosen_messages, row.rejected_messages
    shared = shared_prefix(chosen, rejected)
    origins = Origins(list_paths={"messages": "chosen_messages", "chosen": "chosen_messages",
                                  "rejected": "rejected_messages"})
    media: dict[str, list[str]] = {kind: [] for kind in MEDIA_KINDS}
    prompt, found = convert_list(chosen[:shared], "chosen_messages", "messages", origins, media)
    answer, more = convert_list(chosen, "chosen_messages", "chosen", origins, media, start=shared)
    other, rest = convert_list(rejected, "rejected_messages", "rejected", origins, media, start=shared)
    tools, bad_tools = parse_tools(row.tools, "tools")
    fields = dict(messages=prompt, chosen=answer, rejected=other, tools=tools, id=row.id, meta=row.extras(),
                  **_media(media))
    return build_record(fields, origins, problems + found + more + rest + bad_tools)


def _media(media: dict[str, list[str]]) -> dict[str, list[str] | None]:
    return {kind: items or None for kind, items in media.items()}


def _blocks(w: Writing, name: str, i: int, m: Message, queues: dict[str, list[str]]) -> list[dict[str, str]]:
    """A message's content as blocks: reasoning, text split at media placeholders, then tool calls."""
    blocks = [{"type": "reasoning", "value": m.reasoning}] if m.reasoning is not None else []
    text = m.content
    while text:
        found = [(text.find(tag), kind) for kind, tag in PLACEHOLDERS.items() if tag in text]
        if not found:
            blocks.append({"type": "text", "value": text})
            break
        at, kind = min(found)
        if at:
            blocks.append({"type": "text", "value": text[:at]})
        if not queues[kind]:
            w.refuse(w.where(name, i), f"more {PLACEHOLDERS[kind]} placeholders than items in '{kind}'")
        else:
            blocks.append({"type": f"{kind[:-1]}_url", "value": write_path(queues[kind].pop(0))})
        text = text[at + len(PLACEHOLDERS[kind]):]
    blocks += [{"type": "tool_call", "value": json_text({"name": c.name, "arguments": c.arguments})}
               for c in m.tool_calls or ()]
    return blocks


def _messages(w: Writing, name: str, msgs: list[Message], queues: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The messages with their `loss_weight`, left out where a v1 source left it out (the role's default)."""
    out = []
    for i, m in enumerate(msgs):
        msg: dict[str, Any] = {"role": m.role, "content": _blocks(w, name, i, m, queues)}
        if m.weight is not None or w.origins.get(name, i).weight_given:
            msg["loss_weight"] = float(m.weight if m.weight is not None else default_weight(m.role))
        out.append(msg)
    return out


def from_canonical(w: Writing) -> dict[str, Any]:
    """Canonical -> v1 rows; preference records -> chosen_messages / rejected_messages (prompt + answer each)."""
    rec = w.record
    if rec.kind in ("text", "kto"):
        w.refuse(w.origins.list_path("completion") if rec.kind == "kto" else "text",
                 "LLaMA-Factory v1 has no KTO rows" if rec.kind == "kto" else "pretraining text has no v1 form")
        return {}
    w.no_names("llamafactory-v1")
    queues = {kind: list(getattr(rec, kind) or []) for kind in MEDIA_KINDS}
    out: dict[str, Any] = {}
    prompt = _messages(w, "messages", rec.messages or [], queues)
    if rec.kind == "preference":
        # reading takes the prompt's media once, then chosen's, then rejected's: write them in that order
        out["chosen_messages"] = prompt + _messages(w, "chosen", rec.chosen or [], queues)
        out["rejected_messages"] = prompt + _messages(w, "rejected", rec.rejected or [], queues)
    else:
        out["messages"] = prompt
    if any(queues.values()):
        w.refuse("images", "more media items than placeholders in the messages")
    if rec.tools is not None:
        out["tools"] = json_text(rec.tools)
    return with_meta(out, rec)


def sniff(raw: Raw) -> bool:
    """v1 rather than OpenAI `messages`: content blocks with a `value`, or a `loss_weight`."""
    messages = raw.get("messages")
    for m in messages[:4] if isinstance(messages, list) else ():
        if isinstance(m, dict):
            content = m.get("content")
            if "loss_weight" in m or (isinstance(content, list) and content and isinstance(content[0], dict)
                                      and "value" in content[0]):
                return True
    return False


FORMAT = Format(
    name="llamafactory-v1",
    summary="LLaMA-Factory v1: messages: [{role, content: [{type, value}], loss_weight}] (+ tools); "
            "chosen_messages/rejected_messages",
    shapes=shapes("messages", sniff=sniff) + shapes("chosen_messages rejected_messages"),
    rows=(V1Row, V1PairRow),
    schema_note="Roles system, user, assistant, tool; block types text, reasoning, tool_call (a JSON {name, "
                "arguments}), image_url, video_url, audio_url; `tools` is a JSON string; loss_weight 0 or 1.",
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"messages": [{"role": "user", "content": [{"type": "text", "value": "2+2?"}], "loss_weight": 0.0},
                          {"role": "assistant", "content": [{"type": "text", "value": "4"}], "loss_weight": 1.0}]},
    policy=OPEN,
    roles=ROLES,
    shape_doc="LLaMA-Factory v1: `messages: [{role, content: [{type, value}], loss_weight}]`, `tools` (JSON string)",
    variants="DPO (`chosen_messages`/`rejected_messages`, each the whole conversation), blocks text / reasoning / "
             "tool_call / image_url / video_url / audio_url",
    carries={"system": KEPT, "multi_turn": KEPT, "consecutive_users": KEPT, "tool_calls": KEPT, "parallel_tools": KEPT,
             "call_ids": lossy("positional (ids not kept)"), "tools": kept("JSON string"),
             "reasoning": kept("`reasoning` block"), "reasoning_call": KEPT, "weights": lossy("`loss_weight` 0 / 1"),
             "preference": kept("`chosen_messages` / `rejected_messages`"), "kto": rejected("v1 has none"),
             "images": kept("`*_url` blocks; `data/` paths"), "videos": kept("`*_url` blocks; `data/` paths"),
             "audios": kept("`*_url` blocks; `data/` paths"), "id": kept("as text"), "meta": kept("`meta` object")},
    v1_converters=(None,),  # LLaMA-Factory v1's converters that read these rows
)
