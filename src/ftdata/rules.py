"""Conversation rules over canonical records, as small pure functions returning Problems.

Rules speak in canonical terms but report paths in the source record: every converter hands back an
`Origins` map saying where each canonical message came from (`conversations[3].from`, `output`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftdata.canonical import MEDIA_KINDS, PLACEHOLDERS, Message, Record
from ftdata.problems import Problem, problem


@dataclass(slots=True)
class Origin:
    """Where a canonical message came from: the source paths of its role and its content."""

    role_path: str
    content_path: str
    role_name: str = ""  # the role as the source spells it (`gpt`, `function_call`, ...), for messages


@dataclass(slots=True)
class Origins:
    """Canonical (list name, index) -> Origin; missing entries fall back to canonical paths."""

    by_list: dict[str, list[Origin]] = field(default_factory=dict)
    list_paths: dict[str, str] = field(default_factory=dict)  # canonical list name -> source path, e.g. chosen -> preferred_output

    def add(self, list_name: str, origin: Origin) -> None:
        self.by_list.setdefault(list_name, []).append(origin)

    def list_path(self, list_name: str) -> str:
        return self.list_paths.get(list_name, list_name)

    def get(self, list_name: str, index: int) -> Origin:
        items = self.by_list.get(list_name, [])
        if index < len(items):
            return items[index]
        base = f"{list_name}[{index}]"
        return Origin(f"{base}.role", f"{base}.content")


@dataclass(frozen=True, slots=True)
class Policy:
    """How a source format orders turns. `parallel_tools`: several tool results may follow one call message."""

    user_side: str = "user or tool"
    assistant_side: str = "assistant"
    parallel_tools: bool = False


STRICT = Policy()


def check_record(record: Record, origins: Origins, policy: Policy = STRICT) -> list[Problem]:
    """All conversation rules for one record (media existence is separate: it needs the file system)."""
    if record.kind == "text":
        return [] if record.text and record.text.strip() else [problem("text", "empty_content", "text is empty")]
    out: list[Problem] = []
    prompt = record.messages or []
    if not prompt:
        return [problem(origins.list_path("messages"), "empty_conversation", "the conversation has no messages")]
    out += check_contents("messages", prompt, origins)
    out += check_order("messages", prompt, origins, policy, first_side="user")
    if record.kind == "sft":
        out += check_sft_end(prompt, origins)
    else:
        out += check_prompt_end(prompt, origins)
        for name, answer in record.message_lists()[1:]:
            out += check_answer(name, answer, origins, policy)
    out += check_placeholders(record)
    return out


def check_contents(name: str, messages: list[Message], origins: Origins) -> list[Problem]:
    """Empty or whitespace-only content is an error unless the message carries tool calls."""
    return [
        problem(origins.get(name, i).content_path, "empty_content",
                f"{m.role} message has empty content; write the text or remove the message")
        for i, m in enumerate(messages)
        if not m.content.strip() and not m.tool_calls
    ]


def check_order(name: str, messages: list[Message], origins: Origins, policy: Policy, first_side: str) -> list[Problem]:
    """Optional leading system; then user-side (user/tool) and assistant turns alternate."""
    out: list[Problem] = []
    expect = first_side
    start = 1 if messages and messages[0].role == "system" and name == "messages" else 0
    prev: Message | None = None
    for i in range(start, len(messages)):
        m, where = messages[i], origins.get(name, i)
        spelled = where.role_name or m.role
        if m.role == "system":
            out.append(problem(where.role_path, "role_order", "a system message may only come first"))
            continue
        if m.role == "tool" and not _answers_call(prev, policy):
            out.append(problem(where.role_path, "role_order",
                               f"'{spelled}' (a tool result) must follow an assistant message that makes tool calls"))
        parallel = m.role == "tool" and prev is not None and prev.role == "tool" and policy.parallel_tools
        side = "assistant" if m.role == "assistant" else "user"
        if side != expect and not parallel:
            want = policy.assistant_side if expect == "assistant" else policy.user_side
            out.append(problem(where.role_path, "role_order",
                               f"expected {want} at this position, got '{spelled}'; turns must alternate"))
        expect = "user" if side == "assistant" else "assistant"
        prev = m
    return out


def _answers_call(prev: Message | None, policy: Policy) -> bool:
    if prev is None:
        return False
    return bool(prev.role == "assistant" and prev.tool_calls) or (policy.parallel_tools and prev.role == "tool")


def check_sft_end(messages: list[Message], origins: Origins) -> list[Problem]:
    """An SFT conversation has an assistant turn and ends with one."""
    if not any(m.role == "assistant" for m in messages):
        return [problem(origins.get("messages", len(messages) - 1).role_path, "missing_assistant",
                        "the conversation has no assistant message, so there is nothing to train on")]
    if messages[-1].role != "assistant" or messages[-1].tool_calls:
        last = origins.get("messages", len(messages) - 1)
        return [problem(last.role_path, "role_order",
                        "an SFT conversation must end with an assistant answer; remove the trailing turn or add the answer")]
    return []


def check_prompt_end(messages: list[Message], origins: Origins) -> list[Problem]:
    """A preference / KTO prompt ends on the user side (user or tool)."""
    if messages[-1].role in ("user", "tool"):
        return []
    last = origins.get("messages", len(messages) - 1)
    return [problem(last.role_path, "role_order",
                    "a preference/KTO prompt must end with a user (or tool) turn; the answer belongs in chosen/rejected/completion")]


def check_answer(name: str, answer: list[Message], origins: Origins, policy: Policy) -> list[Problem]:
    """chosen / rejected / completion: non-empty, starting and ending with an assistant message."""
    if not answer:
        return [problem(origins.list_path(name), "empty_conversation", f"{origins.list_path(name)} has no messages")]
    out = check_contents(name, answer, origins) + check_order(name, answer, origins, policy, first_side="assistant")
    if answer[-1].role != "assistant":
        out.append(problem(origins.get(name, len(answer) - 1).role_path, "role_order",
                           f"{name} must end with an assistant message"))
    return out


def check_placeholders(record: Record) -> list[Problem]:
    """Each media list needs exactly as many `<image>`/`<video>`/`<audio>` placeholders as items."""
    out: list[Problem] = []
    text = "\x00".join(m.content for _, msgs in record.message_lists() for m in msgs)
    if "<" not in text and not (record.images or record.videos or record.audios):
        return out  # the common text-only case: nothing to count
    for kind in MEDIA_KINDS:
        items = getattr(record, kind) or []
        tag = PLACEHOLDERS[kind]
        count = text.count(tag)
        if count != len(items):
            out.append(problem(kind if items else "messages", "placeholder_mismatch",
                               f"{count} {tag} placeholder(s) in the messages but {len(items)} item(s) in '{kind}'; "
                               f"put one {tag} in the text for each item"))
    return out
