"""Conversation rules over canonical records: small pure functions returning Problems, registered in `RULES`.
Rules speak in canonical terms but report paths in the source record: every converter hands back an `Origins` map
saying where each canonical message came from (`conversations[3].from`, `output`, ...). Each rule also knows one
way to break it (`violate`, from `ftdata.core.violations`): a test breaks every rule in every fast lane."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ftdata.core import violations as v
from ftdata.core.canonical import MEDIA_KINDS, PLACEHOLDERS, Message, Record
from ftdata.core.problems import Code, Problem, problem
from ftdata.core.reasoning import same_text, tag_problem
from ftdata.core.similarity import edit_similarity, normalise


@dataclass(slots=True)
class Origin:
    """Where a canonical message came from: the source paths of its role and its content."""

    role_path: str
    content_path: str
    role_name: str = ""  # the role as the source spells it (`gpt`, `function_call`, ...), for messages
    weight_given: bool = True  # False: the source left the weight to the role's default (v1 rows without loss_weight)


@dataclass(slots=True)
class Origins:
    """Canonical (list name, index) -> Origin; missing entries fall back to canonical paths."""

    by_list: dict[str, list[Origin]] = field(default_factory=dict)
    list_paths: dict[str, str] = field(default_factory=dict)  # canonical list name -> source path, e.g. chosen -> preferred_output
    empty_think: int = 0  # empty <think></think> blocks read as "no reasoning" (non-thinking turns; for stats)
    # (list name, index) -> a message's content parts as given (`ftdata.formats.blocks`), the text they made and
    # their media by kind: the openai writer writes them back exactly when neither changed
    parts: dict[tuple[str, int], tuple[list[dict[str, Any]], str, dict[str, list[str]]]] = field(default_factory=dict)
    media_paths: dict[str, str] = field(default_factory=dict)  # "images[2]" -> the block it came from, for problems

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
    """How a source format orders turns. `parallel_tools`: several tool results may follow one call message;
    `user_runs`: several user messages may follow each other (OpenAI's vision example sends the text and the image
    as two user messages; LLaMA-Factory's formats alternate strictly)."""

    user_side: str = "user or tool"
    assistant_side: str = "assistant"
    parallel_tools: bool = False
    user_runs: bool = False


OPEN = Policy(parallel_tools=True, user_runs=True)  # chat-template formats: OpenAI, trl, canonical


STRICT = Policy()


@dataclass(frozen=True)
class Where:
    """One message list of a record being checked, with everything a list rule needs."""

    name: str  # messages | chosen | rejected | completion
    messages: list[Message]
    record: Record
    origins: Origins
    policy: Policy

    @property
    def prompt(self) -> bool:
        return self.name == "messages"

    def role_path(self, i: int) -> str:
        return self.origins.get(self.name, i).role_path


@dataclass(frozen=True)
class Rule:
    """A rule: what it checks (`check`, per message list or, with `per_record`, once per record), the codes it
    reports, and one way to break it in a plain SFT conversation (`violate`: canonical JSON of
    [system?, user, assistant, ...] -> a copy that breaks the rule; None where such a conversation cannot break it).
    `stops`: when it reports, the list's other rules are skipped (and, for the prompt, the record's)."""

    name: str
    codes: tuple[Code, ...]
    check: Callable[[Where], list[Problem]]
    violate: Callable[[v.Json], v.Json | None]
    per_record: bool = False
    stops: bool = False


def check_record(record: Record, origins: Origins, policy: Policy = STRICT) -> list[Problem]:
    """All conversation rules for one record (media existence is separate: it needs the file system)."""
    if record.kind == "text":
        return [] if record.text and record.text.strip() else [problem("text", "empty_content", "text is empty")]
    out: list[Problem] = []
    prompt: Where | None = None
    for name, messages in record.message_lists():
        where = Where(name, messages, record, origins, policy)
        prompt = prompt or where
        for rule in RULES:
            if rule.per_record:
                continue
            found = rule.check(where)
            out += found
            if found and rule.stops:
                if where.prompt:
                    return out
                break
    assert prompt is not None  # a conversation record always has `messages`
    for rule in RULES:
        if rule.per_record:
            out += rule.check(prompt)
    return out


def check_nonempty(w: Where) -> list[Problem]:
    """A message list has messages."""
    if w.messages:
        return []
    path = w.origins.list_path(w.name)
    return [problem(path, "empty_conversation", "the conversation has no messages" if w.prompt else f"{path} has no messages")]


def check_contents(w: Where) -> list[Problem]:
    """Empty or whitespace-only content is an error unless the message carries tool calls."""
    return [
        problem(w.origins.get(w.name, i).content_path, "empty_content",
                f"{m.role} message has empty content; write the text or remove the message")
        for i, m in enumerate(w.messages)
        if not m.content.strip() and not m.tool_calls
    ]


def check_order(w: Where) -> list[Problem]:
    """Optional leading system (prompt only); then user-side (user/tool) and assistant turns alternate; a tool
    result follows a message that makes tool calls. Answers (chosen/rejected/completion) start on the assistant side."""
    out: list[Problem] = []
    messages, policy = w.messages, w.policy
    expect = "user" if w.prompt else "assistant"
    start = 1 if w.prompt and messages[0].role == "system" else 0
    prev: Message | None = None
    for i in range(start, len(messages)):
        m, where = messages[i], w.origins.get(w.name, i)
        spelled = where.role_name or m.role
        if m.role == "system":
            out.append(problem(where.role_path, "role_order", "a system message may only come first"))
            continue
        if m.role == "tool" and not _answers_call(prev, policy):
            out.append(problem(where.role_path, "role_order",
                               f"'{spelled}' (a tool result) must follow an assistant message that makes tool calls"))
        parallel = m.role == "tool" and prev is not None and prev.role == "tool" and policy.parallel_tools
        run = m.role == "user" and prev is not None and prev.role == "user" and policy.user_runs
        side = "assistant" if m.role == "assistant" else "user"
        if side != expect and not parallel and not run:
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


def check_end(w: Where) -> list[Problem]:
    """An SFT conversation has an assistant turn and ends with one (an answer, or tool calls: OpenAI's function-calling
    examples train the call itself); a preference/KTO prompt ends on the user side (user or tool); an answer list
    ends with an assistant message."""
    messages, last = w.messages, w.role_path(len(w.messages) - 1)
    if not w.prompt:
        if messages[-1].role != "assistant":
            return [problem(last, "role_order", f"{w.name} must end with an assistant message")]
        return []
    if w.record.kind != "sft":
        if messages[-1].role in ("user", "tool"):
            return []
        return [problem(last, "role_order", "a preference/KTO prompt must end with a user (or tool) turn; the answer "
                                            "belongs in chosen/rejected/completion")]
    if not any(m.role == "assistant" for m in messages):
        return [problem(last, "missing_assistant", "the conversation has no assistant message, so there is nothing to "
                                                   "train on")]
    if messages[-1].role != "assistant":
        return [problem(last, "role_order", "an SFT conversation must end with an assistant message; remove the "
                                            "trailing turn or add the answer")]
    return []


def check_placeholders(w: Where) -> list[Problem]:
    """Each media list needs exactly as many `<image>`/`<video>`/`<audio>` placeholders as items."""
    out: list[Problem] = []
    record = w.record
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


SIMILAR_ANSWERS = 0.95  # normalised edit similarity from which chosen and rejected count as near-identical


def answer_text(messages: list[Message]) -> str:
    """An answer as one comparable text: contents, reasoning and tool calls, whitespace normalised."""
    parts = []
    for m in messages:
        parts.append(m.reasoning or "")
        parts.append(m.content)
        parts += [f"{c.name}({sorted(c.arguments.items())})" for c in m.tool_calls or ()]
    return normalise("\n".join(p for p in parts if p))


def check_answers(w: Where) -> list[Problem]:
    """Preference records: chosen and rejected must differ. Identical answers give DPO a margin of exactly zero
    (no gradient from the pair); answers that differ only in a few characters (whitespace, punctuation, a word)
    teach the model that noise, so they are flagged from `SIMILAR_ANSWERS` on."""
    rec = w.record
    if rec.kind != "preference" or not rec.chosen or not rec.rejected:
        return []
    path = w.origins.list_path("rejected")
    if _plain(rec.chosen) == _plain(rec.rejected):
        return [problem(path, "identical_answers", "chosen and rejected are identical: the pair carries no preference; "
                                                   "fix the rejected answer or drop the row")]
    similarity = edit_similarity(answer_text(rec.chosen), answer_text(rec.rejected), SIMILAR_ANSWERS)
    if similarity is None:
        return []
    return [problem(path, "similar_answers", f"chosen and rejected are {similarity:.1%} alike (normalised edit "
                                             f"similarity >= {SIMILAR_ANSWERS:.0%}): check that they differ in what "
                                             "the preference is about")]


def _plain(messages: list[Message]) -> list[tuple[object, ...]]:
    return [(m.role, m.content, m.reasoning, [(c.name, c.arguments) for c in m.tool_calls or ()]) for m in messages]


def check_reasoning_roles(w: Where) -> list[Problem]:
    """Reasoning belongs to assistant turns: on a user, system or tool turn no template renders it where it stands."""
    return [problem(w.origins.get(w.name, i).content_path, "reasoning_misplaced",
                    f"reasoning on a {m.role} message; only assistant turns carry reasoning (move it or remove it)")
            for i, m in enumerate(w.messages) if m.reasoning is not None and m.role != "assistant"]


def check_think_tags(w: Where) -> list[Problem]:
    """Assistant turns hold no think tags once their leading `<think>` block is split off (unclosed, unopened or
    repeated blocks would be trained as text)."""
    out = []
    for i, m in enumerate(w.messages):
        if m.role == "assistant" and (why := tag_problem(m.content, m.reasoning)) is not None:
            out.append(problem(w.origins.get(w.name, i).content_path, "reasoning_tags", why))
    return out


def check_reasoning_answer(w: Where) -> list[Problem]:
    """Reasoning that repeats the answer word for word: usually a copy made by a conversion script."""
    return [problem(w.origins.get(w.name, i).content_path, "reasoning_is_answer",
                    "the reasoning is the answer itself (whitespace aside); check how the row was made")
            for i, m in enumerate(w.messages)
            if m.reasoning is not None and m.role == "assistant" and m.content.strip() and same_text(m.reasoning, m.content)]


RULES: tuple[Rule, ...] = (  # in the order they run
    Rule("non-empty conversation", ("empty_conversation",), check_nonempty, lambda r: v.edit(r, v.empty), stops=True),
    Rule("non-blank content", ("empty_content",), check_contents, lambda r: v.edit(r, v.blank_user)),
    Rule("turn order", ("role_order",), check_order, lambda r: v.edit(r, v.two_answers)),
    Rule("conversation end", ("role_order", "missing_assistant"), check_end, lambda r: v.edit(r, v.ends_on_user)),
    Rule("media placeholders", ("placeholder_mismatch",), check_placeholders, lambda r: v.edit(r, v.placeholder),
         per_record=True),
    Rule("reasoning on assistant turns", ("reasoning_misplaced",), check_reasoning_roles,
         lambda r: v.edit(r, v.user_reasoning)),
    Rule("think tags", ("reasoning_tags",), check_think_tags, lambda r: v.edit(r, v.unclosed_think)),
    Rule("reasoning is not the answer", ("reasoning_is_answer",), check_reasoning_answer,
         lambda r: v.edit(r, v.reasoning_is_answer)),
    # only preference records have answers to compare: no plain SFT conversation breaks it
    Rule("distinct answers", ("identical_answers", "similar_answers"), check_answers, lambda r: None, per_record=True),
)
