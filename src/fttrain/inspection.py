"""`fttrain inspect`: what a run would train on, token by token (axolotl's `preprocess --debug`, with the masking
strategy, the EOS and per-role shares): rows shown in the terminal or a self-contained HTML page."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdata.core.canonical import PLACEHOLDERS, Message, Record
from ftdata.core.tokens import text_ids
from ftdata.render import LazyProgress
from fttrain.data import Source, encode_preference, load_first_stage
from fttrain.model import bundled_model, load_tokenizer
from fttrain.reasoning import Blocks, count_blocks, expand, preflight_line, resolve_key, spans
from fttrain.spec import RunSpec, Stage
from fttrain.template import (
    IGNORE,
    RENDER_ERRORS,
    Encoded,
    TrainOn,
    encode_conversation,
    end_of_turn,
    time_limit,
)
from fttrain.vision import Vision, VisionError, image_parts, vision_of


@dataclass
class Piece:
    """One token: its text (its span of the render), id, whether the loss is on it, and whose it is."""

    text: str
    token_id: int
    trained: bool
    role: str


@dataclass
class RowView:
    where: str
    strategy: str
    sequences: list[tuple[str, list[Piece]]]  # (name, tokens): the conversation, or prompt + chosen / rejected
    supervised: int
    tokens: int
    eos_turns: tuple[int, int]  # (trained turns that end with an end-of-turn / EOS token, trained turns)
    reasoning: Blocks = field(default_factory=Blocks)


@dataclass
class Inspection:
    """Rows to show, and the whole dataset's figures."""

    stage: Stage
    template: str
    rows: list[RowView] = field(default_factory=list)
    samples: int = 0
    tokens: int = 0
    supervised: int = 0
    zero: list[str] = field(default_factory=list)  # rows with no supervised token
    by_role: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    strategies: Counter[str] = field(default_factory=Counter)
    unrenderable: list[str] = field(default_factory=list)
    stops: set[int] = field(default_factory=set)  # token ids that end a turn (EOS, end-of-turn)
    reasoning: Blocks = field(default_factory=Blocks)
    reasoning_key: str | None = None
    reasoning_note: str | None = None  # the template renders none of the data's reasoning (a run would stop)
    history: str = "template"


def inspect_data(source: Path, spec: RunSpec, show: int) -> Inspection:
    """Render and mask every row of the source (as a run would), keep the first `show` rows' tokens."""
    model = Path(spec.model) if spec.model else bundled_model()
    tokenizer = load_tokenizer(model, spec)
    vision = vision_of(model, tokenizer, source, spec.trust_remote_code)
    stage, sources = load_first_stage(source, spec, images_ok=vision is not None)
    found = Inspection(stage, template_note(model, tokenizer, spec), history=spec.reasoning_history)
    found.stops = _stop_ids(tokenizer)
    found.reasoning_key, found.reasoning_note = resolve_key(tokenizer, spec, [r for s in sources for r in s.records])
    with LazyProgress(f"inspecting {source.name}", 2.0, quiet=os.environ.get("RANK", "0") != "0") as tick:
        for s in sources:
            _inspect_source(tokenizer, s, spec, show, found, tick, vision)
    return found


def _inspect_source(tokenizer: Any, s: Source, spec: RunSpec, show: int, found: Inspection,
                    tick: Callable[[int], None], vision: Vision | None = None) -> None:
    """Render and mask every row of one dataset into `found`."""
    stops = found.stops
    for where, rec in zip(s.positions, s.records):
        found.samples += 1
        tick(found.samples)
        try:
            with time_limit(spec.render_timeout):
                view = _view(tokenizer, rec, where, spec, stops, found.reasoning_key, vision)
        except RENDER_ERRORS + (VisionError,) as error:
            found.unrenderable.append(f"{where}: {type(error).__name__}: {error}")
            continue
        found.strategies[view.strategy] += 1
        found.reasoning = found.reasoning.add(view.reasoning)
        found.tokens += view.tokens
        found.supervised += view.supervised
        found.by_source[s.name] += view.supervised
        for _, pieces in view.sequences:
            found.by_role.update(p.role for p in pieces if p.trained)
        if not view.supervised:
            found.zero.append(where)
        if len(found.rows) < show:
            found.rows.append(view)


def _view(tokenizer: Any, rec: Record, where: str, spec: RunSpec, stops: set[int], key: str | None,
          vision: Vision | None = None) -> RowView:
    if rec.kind in ("sft", "text") and rec.messages is not None:
        samples = [rec.messages]
        if vision is not None:  # the placeholders as the processor's image text (as fttrain.visionrows encodes them)
            samples = [[m.model_copy(update={"content": m.content.replace(PLACEHOLDERS["images"], vision.image_text)})
                        for m in rec.messages]]
        if spec.reasoning_history == "expand" and key is not None:
            samples = expand(rec.messages, spec.train_on)
        sequences, blocks, strategy = [], Blocks(), ""
        for n, messages in enumerate(samples, start=1):
            enc = encode_conversation(tokenizer, messages, rec.tools, spec.train_on, with_owners=True, reasoning=key)
            blocks = blocks.add(count_blocks(enc, messages, spec.train_on, tokenizer))
            name = f"sample {n} of {len(samples)}" if len(samples) > 1 else "conversation"
            pieces = _pieces(enc, messages, spec.train_on)
            sequences.append((name, image_spans(tokenizer, pieces, vision, rec.images or []) if vision else pieces))
            strategy = enc.strategy
        view = _row(where, strategy, sequences, stops)
        view.reasoning = blocks
        return view
    if rec.kind == "text":
        ids = text_ids(tokenizer, rec)  # as training sees it: the text and EOS
        return _row(where, "text", [("text", [Piece(tokenizer.decode([t]), t, True, "text") for t in ids])], stops)
    prompt, answers = encode_preference(tokenizer, rec, key)
    names = ["chosen", "rejected"] if rec.kind == "preference" else ["completion (" + ("desirable" if rec.label else "undesirable") + ")"]
    sequences = [(name, [Piece(tokenizer.decode([t]), t, False, "prompt") for t in prompt]
                  + [Piece(tokenizer.decode([t]), t, True, name.split()[0]) for t in answer])
                 for name, answer in zip(names, answers)]
    return _row(where, "prompt/completion", sequences, stops)


def _pieces(enc: Encoded, messages: list[Message], train_on: TrainOn) -> list[Piece]:
    """The tokens of one render, each with its owner's role; reasoning tokens marked apart ('assistant reasoning')."""
    offsets = enc.offsets or []
    owners = enc.owners or []
    thinking = {k for span in spans(enc, messages, train_on).values() if span is not None for k in range(*span)}
    pieces, shown = [], 0
    for k, (t, label, (a, b), o) in enumerate(zip(enc.input_ids, enc.labels, offsets, owners)):
        # byte-level tokens of one character share its span: the character is shown once, with the first
        role: str = messages[o].role if o >= 0 else ("all" if label != IGNORE else "")
        if k in thinking:
            role = "assistant reasoning" if label != IGNORE else "reasoning (masked)"
        pieces.append(Piece(enc.text[max(a, shown):b], t, label != IGNORE, role))
        shown = max(shown, b)
    return pieces


def image_spans(tokenizer: Any, pieces: list[Piece], vision: Vision, images: list[str]) -> list[Piece]:
    """Each image's part of the render shown as one span ('[image 1: a.jpg 300x168, 16 tokens]' and the rest of its
    tokens), never trained, as a run expands and masks it (`fttrain.vision.image_parts`)."""
    parts = image_parts(tokenizer, [p.token_id for p in pieces], vision, images)
    out: list[Piece] = []
    k = 0
    while k < len(pieces):
        shown, width = parts.get(k, ([], 0))
        out += [Piece(text, token, False, "image") for text, token in shown] if width else [pieces[k]]
        k += width or 1
    return out


def _row(where: str, strategy: str, sequences: list[tuple[str, list[Piece]]], stops: set[int]) -> RowView:
    supervised = sum(p.trained for _, pieces in sequences for p in pieces)
    tokens = sum(len(pieces) for _, pieces in sequences)
    runs = ending = 0
    for _, pieces in sequences:
        current: list[Piece] = []
        for p in pieces + [Piece("", -1, False, "")]:
            if p.trained:
                current.append(p)
            elif current:
                runs += 1
                ending += any(q.token_id in stops for q in current)
                current = []
    return RowView(where, strategy, sequences, supervised, tokens, (ending, runs))


def _stop_ids(tokenizer: Any) -> set[int]:
    """Token ids that end a turn: EOS, and the template's end-of-turn token when it is a single token."""
    stops = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    try:
        eot = end_of_turn(tokenizer).strip()
        ids = tokenizer(eot, add_special_tokens=False)["input_ids"]
        if len(ids) == 1:
            stops.add(ids[0])
    except RENDER_ERRORS:
        pass  # no end-of-turn text to find: EOS alone
    return stops


def template_note(model: Path, tokenizer: Any, spec: RunSpec) -> str:
    """Whether the training template is the tokenizer's own (a replaced one changes the format the model knows)."""
    from transformers import AutoTokenizer

    own = AutoTokenizer.from_pretrained(model, trust_remote_code=spec.trust_remote_code).chat_template
    if own == tokenizer.chat_template:
        return "the tokenizer's own chat template"
    if not own:
        return f"--chat-template {spec.chat_template} (the tokenizer has none of its own)"
    return (f"--chat-template {spec.chat_template}, which DIFFERS from the tokenizer's own: the model is trained on a "
            "format it was not built for, and must be prompted the same way later")


def shares(found: Inspection) -> tuple[str, str]:
    """'assistant 97.1%, tool 2.9%' per role and per source, of all supervised tokens."""
    def line(counter: Counter[str]) -> str:
        total = sum(counter.values()) or 1
        return ", ".join(f"{k} {100 * n / total:.1f}%" for k, n in counter.most_common()) or "none"

    return line(found.by_role), line(found.by_source)


def summary_lines(found: Inspection) -> list[str]:
    """The dataset's figures, as the terminal and the HTML page show them."""
    roles, sources = shares(found)
    zero = f"{len(found.zero)}" + (f" ({', '.join(found.zero[:5])}{', ...' if len(found.zero) > 5 else ''})"
                                   if found.zero else "")
    return [f"samples: {found.samples}  tokens: {found.tokens}  supervised: {found.supervised} "
            f"({100 * found.supervised / max(found.tokens, 1):.1f}%)",
            f"rows with zero supervised tokens: {zero}",
            f"supervised tokens by role: {roles}",
            f"supervised tokens by source: {sources}",
            "masking: " + ", ".join(f"{k} {n}" for k, n in sorted(found.strategies.items())),
            *reasoning_lines(found),
            f"template: {found.template}",
            f"rows the template cannot render: {len(found.unrenderable)}"]


def reasoning_lines(found: Inspection) -> list[str]:
    """Reasoning over the dataset: blocks and tokens rendered, trained, dropped by the template (or why none are)."""
    r = found.reasoning
    if found.reasoning_note:
        return [f"reasoning: {found.reasoning_note}"]
    line = preflight_line(r, found.reasoning_key, found.history)
    if line is None:
        return []
    return [line, f"reasoning tokens: rendered {r.tokens_rendered}, trained {r.tokens_trained}, dropped by the "
                  f"template {r.tokens_dropped} ({r.dropped} block(s))"]


def row_heading(view: RowView) -> str:
    eos, turns = view.eos_turns
    r = view.reasoning
    thinking = (f", reasoning: {r.rendered} of {r.turns} block(s) rendered, {r.trained} trained ({r.tokens_trained} "
                f"tokens), {r.dropped} dropped by the template") if r.turns else ""
    return (f"{view.where}: {view.tokens} tokens, {view.supervised} supervised, masking {view.strategy}, EOS trained "
            f"in {eos} of {turns} trained turns{thinking}")


CSS = ("body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}pre{white-space:pre-wrap;word-break:break-all;"
       "font:13px/1.5 ui-monospace,monospace;border:1px solid #ddd;padding:.6em;border-radius:4px}"
       ".t{background:#b7f5c0;color:#05400f}.m{color:#888}.t.eos{background:#2fbf4a;color:#fff}"
       "h2{font-size:1em;margin-top:1.6em}.legend span{padding:0 .4em}")


def html_page(found: Inspection) -> str:
    """A self-contained page (no scripts, no outside resources): the summary, then each shown row's tokens, trained
    ones highlighted, each with its id and role on hover."""
    from html import escape

    stops = found.stops
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>fttrain inspect</title>",
             f"<style>{CSS}</style></head><body><h1>fttrain inspect ({found.stage})</h1><ul>"]
    parts += [f"<li>{escape(line)}</li>" for line in summary_lines(found)]
    parts.append("</ul><p class='legend'><span class='t'>trained</span><span class='t eos'>trained end of turn</span>"
                 "<span class='m'>masked</span></p>")
    for view in found.rows:
        parts.append(f"<h2>{escape(row_heading(view))}</h2>")
        for name, pieces in view.sequences:
            spans = []
            for p in pieces:
                cls = ("t eos" if p.token_id in stops else "t") if p.trained else "m"
                spans.append(f"<span class='{cls}' title='id {p.token_id} {escape(p.role or 'masked')}'>"
                             f"{escape(p.text)}</span>")
            parts.append(f"<p>{escape(name)}</p><pre>{''.join(spans)}</pre>")
    parts.append("</body></html>\n")
    return "".join(parts)
