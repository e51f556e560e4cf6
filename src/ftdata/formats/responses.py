"""openai-responses: agent traces in the OpenAI Responses API's item form (read only; FORMATS.md "Reasoning"):
    {"instructions"?: str, "input": [item, ...], "output"?: [item, ...], "tools"?: [{"type": "function", "name",
     "parameters", ...}], ...}

Items: `message` (`{"type": "message"?, "role", "content": str | [input_text | output_text | input_image parts]}`),
`reasoning` (`summary: [{"type": "summary_text", "text"}]`, raw `content: [{"type": "reasoning_text", "text"}]`,
`encrypted_content`), `function_call` (`call_id`, `name`, `arguments` JSON text), `function_call_output` (`call_id`,
`output`). `output` (a logged response's items) goes on after `input`.

Mapping: `instructions` and system/developer messages -> system; reasoning items -> the reasoning of the assistant turn
they precede (their raw `reasoning_text` where present, else the summary; several joined by a blank line); consecutive
function calls -> one assistant turn with tool calls (ids = call_id); outputs -> tool messages answering their call;
function tools -> Chat Completions' layout (`{"type": "function", "function": {...}}`, what chat templates read); the
row's other fields (model, ...) -> meta. An output whose call_id matches no open call, or a call the trace leaves
unanswered, is `call_unmatched`; reasoning held only encrypted is `reasoning_encrypted` (a warning: nothing to train).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag

from ftdata.core.canonical import Role
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
    text_message,
    unknown_role,
)
from ftdata.formats.tools import parse_tool_call

ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
ITEM_TYPES = ("message", "reasoning", "function_call", "function_call_output")


class InputText(ClosedPart):
    type: Literal["input_text"]
    text: str


class OutputText(ClosedPart):
    type: Literal["output_text"]
    text: str
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class InputImage(ClosedPart):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


Part = Annotated[Union[InputText, OutputText, InputImage], Field(discriminator="type")]


class MessageItem(ClosedPart):
    type: Literal["message"] = "message"
    role: str
    content: str | list[Part]
    id: str | None = None
    status: str | None = None


class SummaryText(ClosedPart):
    type: Literal["summary_text"]
    text: str


class ReasoningText(ClosedPart):
    type: Literal["reasoning_text"]
    text: str


class ReasoningItem(ClosedPart):
    type: Literal["reasoning"]
    summary: list[SummaryText] = Field(default_factory=list)
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    id: str | None = None
    status: str | None = None


class FunctionCall(ClosedPart):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str = "{}"
    id: str | None = None
    status: str | None = None


class FunctionCallOutput(ClosedPart):
    type: Literal["function_call_output"]
    call_id: str
    output: str | list[InputText]
    id: str | None = None
    status: str | None = None


def item_type(value: Any) -> str | None:
    """An item's tag: its `type`; a typeless item is an "easy" input message."""
    if isinstance(value, dict):
        kind = value.get("type", "message")
        return kind if kind in ITEM_TYPES else None
    return getattr(value, "type", None)


Item = Annotated[
    Union[Annotated[MessageItem, Tag("message")], Annotated[ReasoningItem, Tag("reasoning")],
          Annotated[FunctionCall, Tag("function_call")], Annotated[FunctionCallOutput, Tag("function_call_output")]],
    Discriminator(item_type, custom_error_type="invalid_value",
                  custom_error_message=f"an item's type must be one of {', '.join(ITEM_TYPES)}"),
]


class ResponsesRow(Row):
    input: list[Item]
    output: list[Item] | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    id: str | int | None = None


class Trace:
    """Items -> canonical messages, in order: reasoning waits for the assistant turn it precedes, calls for their
    outputs."""

    def __init__(self, origins: Origins, images: list[str]) -> None:
        self.messages: list[Msg] = []
        self.problems: list[Problem] = []
        self.origins, self.images = origins, images
        self.reasoning: list[tuple[str, str]] = []  # (path, text) waiting for the next assistant turn
        self.open_calls: dict[str, str] = {}  # call_id -> path of the call, until its output comes
        self.calls: Msg | None = None  # the assistant turn the last function_call went into

    def add(self, item: Any, path: str) -> None:
        if isinstance(item, ReasoningItem):
            self._reasoning(item, path)
        elif isinstance(item, FunctionCall):
            self._call(item, path)
        elif isinstance(item, FunctionCallOutput):
            self._output(item, path)
        else:
            self._message(item, path)
        if not isinstance(item, FunctionCall):
            self.calls = None

    def _emit(self, msg: Msg, origin: Origin) -> None:
        self.messages.append(msg)
        self.origins.add("messages", origin)

    def _thoughts(self) -> str | None:
        texts = [text for _, text in self.reasoning]
        self.reasoning = []
        return "\n\n".join(texts) or None

    def _reasoning(self, item: ReasoningItem, path: str) -> None:
        texts = [p.text for p in item.content or ()] or [p.text for p in item.summary]
        text = "\n\n".join(t for t in texts if t.strip())
        if text:
            self.reasoning.append((path, text))
        elif item.encrypted_content:
            self.problems.append(problem(f"{path}.encrypted_content", "reasoning_encrypted",
                                         "this reasoning is only encrypted (no summary text): there is nothing to train "
                                         "on; log it with reasoning summaries to keep it"))

    def _call(self, item: FunctionCall, path: str) -> None:
        call, found = parse_tool_call({"name": item.name, "arguments": item.arguments, "id": item.call_id}, path)
        self.problems += found
        if call is None:
            return
        self.open_calls[item.call_id] = path
        if self.calls is not None:  # parallel calls: one assistant turn
            self.calls["tool_calls"].append(call)
            return
        self.calls = text_message("assistant", "", tool_calls=[call], reasoning=self._thoughts())
        self._emit(self.calls, Origin(f"{path}.type", f"{path}.arguments", "function_call"))

    def _output(self, item: FunctionCallOutput, path: str) -> None:
        if self.open_calls.pop(item.call_id, None) is None:
            self.problems.append(problem(f"{path}.call_id", "call_unmatched",
                                         f"no open function_call has call_id '{item.call_id}' (a call is answered once, "
                                         "after it is made)"))
        output = item.output if isinstance(item.output, str) else "".join(p.text for p in item.output)
        self._emit(text_message("tool", output, tool_call_id=item.call_id),
                   Origin(f"{path}.type", f"{path}.output", "function_call_output"))

    def _message(self, item: MessageItem, path: str) -> None:
        self.unanswered()
        role = ROLES.get(item.role)
        if role is None:
            self.problems.append(unknown_role(f"{path}.role", item.role, ROLES))
            return
        if role != "assistant":
            self.finish()  # reasoning the model did before a user or system message: no turn of its own
        reasoning = self._thoughts() if role == "assistant" else None
        self._emit(text_message(role, self._text(item.content, f"{path}.content"), reasoning=reasoning),
                   Origin(f"{path}.role", f"{path}.content", item.role))

    def _text(self, content: str | list[Any], path: str) -> str:
        if isinstance(content, str):
            return content
        text = []
        for i, part in enumerate(content):
            if isinstance(part, InputImage):
                if part.image_url is None:
                    self.problems.append(problem(f"{path}[{i}]", "invalid_value", "an image given by file_id only: "
                                                 "the file is not in the row; give its image_url"))
                    continue
                text.append("<image>")
                self.images.append(part.image_url)
            else:
                text.append(part.text)
        return "".join(text)

    def unanswered(self) -> None:
        """Calls still open when the trace goes on (or ends with more than calls) got no output."""
        for call_id, path in self.open_calls.items():
            self.problems.append(problem(f"{path}.call_id", "call_unmatched",
                                         f"the function_call '{call_id}' gets no function_call_output before the trace "
                                         "goes on"))
        self.open_calls = {}

    def finish(self) -> None:
        """Reasoning still waiting has no assistant turn after it."""
        for path, _ in self.reasoning:
            self.problems.append(problem(path, "invalid_value", "a reasoning item with no assistant message or "
                                                                "function_call after it: no turn to give it to"))
        self.reasoning = []


def function_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Responses' flat function tools in Chat Completions' layout (what chat templates and the openai writer take):
    {"type": "function", "name": "f", "parameters": {...}} -> {"type": "function", "function": {"name": "f", ...}}."""
    if tools is None:
        return None
    return [{"type": "function", "function": {k: v for k, v in t.items() if k != "type"}}
            if t.get("type") == "function" and "function" not in t else t for t in tools]


def to_canonical(raw: Raw) -> Converted:
    """{"input": [{"role": "user", "content": "2+2?"}, {"type": "reasoning", "summary": [...]}, {"type": "message",
    "role": "assistant", "content": [{"type": "output_text", "text": "4"}]}]} -> messages, reasoning on the answer."""
    row, problems = parse_row(ResponsesRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins, images = Origins(list_paths={"messages": "input"}), list[str]()
    trace = Trace(origins, images)
    if row.instructions is not None:
        trace._emit(text_message("system", row.instructions), Origin("instructions", "instructions", "instructions"))
    for name, items in (("input", row.input), ("output", row.output or [])):
        for i, item in enumerate(items):
            trace.add(item, f"{name}[{i}]")
    if trace.messages and trace.messages[-1]["role"] != "assistant":
        trace.unanswered()  # a trace may end on its calls (the model's last act), not on unanswered calls and more
    trace.finish()
    fields: dict[str, Any] = dict(messages=trace.messages, tools=function_tools(row.tools), id=row.id,
                                  images=images or None, meta=row.extras())
    return build_record(fields, origins, problems + trace.problems)


def sniff(raw: Raw) -> bool:
    """Responses items rather than an OpenAI preference row's `input` object."""
    return isinstance(raw.get("input"), list)


FORMAT = Format(
    name="openai-responses",
    summary="OpenAI Responses API items: input (+ output): message / reasoning / function_call / "
            "function_call_output, tools, instructions (read only)",
    shapes=shapes("input", "input output", "input instructions", sniff=sniff),
    rows=(ResponsesRow,),
    schema_note="Items are matched by call_id: each function_call_output answers one earlier function_call; a "
                "reasoning item belongs to the assistant message or function_call after it; roles user, assistant, "
                "system, developer.",
    to_canonical=to_canonical,
    example={"input": [{"role": "user", "content": "2+2?"},
                       {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Add the numbers."}]},
                       {"type": "message", "role": "assistant",
                        "content": [{"type": "output_text", "text": "4"}]}]},
    policy=OPEN,
    roles=ROLES,
    shape_doc="OpenAI Responses API items: `input` (+ `output`) lists of `message` / `reasoning` / `function_call` / "
              "`function_call_output`, `tools`, `instructions`",
    variants="read only (logged agent traces); reasoning items -> the next assistant turn's `reasoning`, calls "
             "matched by `call_id`",
)
