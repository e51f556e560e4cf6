"""Datasets for a run: descriptor entries (or data files) -> validated canonical records -> trl's columns.

Nothing is dropped silently: invalid rows stop the run (or, with --skip-bad-rows, are counted); samples over
max length are truncated or dropped and counted; a sample left without trained tokens is dropped and counted.
"""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ftdata.api import Dataset, DescriptorError, open_datasets
from ftdata.core.canonical import MEDIA_KINDS, PLACEHOLDERS, Record, chat_messages
from ftdata.core.reports import FileReport
from ftdata.core.tokens import ids, render, text_ids
from ftdata.io.readers import UnreadableFile
from fttrain.checks import UsageError
from fttrain.lengths import IGNORE, fit_labelled, fit_pair
from fttrain.reasoning import Blocks, count_blocks, expand
from fttrain.spec import RunSpec, Stage
from fttrain.template import RENDER_ERRORS, encode_conversation, time_limit

T = TypeVar("T")

KINDS: dict[Stage, tuple[str, ...]] = {"sft": ("sft", "text"), "dpo": ("preference",), "kto": ("kto",)}


class DataError(Exception):
    """The data cannot be trained on as given; `reports` holds the validation reports to show."""

    def __init__(self, message: str, reports: list[FileReport] | None = None) -> None:
        super().__init__(message)
        self.reports = reports or []


@dataclass
class Source:
    """One named dataset of the run with its valid records and its counts."""

    name: str
    records: list[Record]
    report: FileReport
    positions: list[str] = field(default_factory=list)  # where each record is, for messages ("moss line 12")
    media_dropped: Counter[str] = field(default_factory=Counter)  # --drop-media: rows and media items removed
    counts: Counts | None = None  # filled when its rows are built
    file: str = ""  # the data file (a descriptor entry's file_name), for each prepared row's provenance
    lines: list[int] = field(default_factory=list)  # each record's line (or record number), for its provenance


@dataclass
class Counts:
    """What happened to one dataset's samples on the way to the trainer (shown in the pre-flight summary).

    samples = kept + dropped_over_length + dropped_no_target + unrenderable (samples counted after
    --reasoning-history expand); over_length = truncated + dropped_over_length (a sample cut to nothing trained
    counts as dropped for length).
    """

    samples: int = 0
    over_length: int = 0
    truncated: int = 0
    eos_cut: int = 0  # kept, but an answer lost its end (the end-of-turn / EOS token the model learns to stop on)
    dropped_over_length: int = 0
    dropped_no_target: int = 0
    unrenderable: int = 0
    expanded: int = 0  # samples added by --reasoning-history expand (one per assistant turn with reasoning)
    reasoning: Blocks = field(default_factory=Blocks)  # reasoning blocks of trained turns: rendered, trained
    max_token_id: int = -1
    images: int = 0  # a vision-language run: images read (their sizes), rows holding them, their tokens counted
    media_rows: int = 0
    image_tokens: int = 0
    image_cut: int = 0  # samples dropped because fitting them to --max-length would cut an image
    lengths: list[int] = field(default_factory=list)  # each sample's tokens before fitting (stats counts the same)
    strategies: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.samples - self.dropped_over_length - self.dropped_no_target - self.unrenderable

    def add(self, other: Counts) -> Counts:
        """The sum of two counts (the run's totals from each dataset's)."""
        total = Counts(max_token_id=max(self.max_token_id, other.max_token_id), lengths=self.lengths + other.lengths,
                       strategies=self.strategies + other.strategies, failures=self.failures + other.failures,
                       reasoning=self.reasoning.add(other.reasoning))
        for name in ("samples", "over_length", "truncated", "eos_cut", "dropped_over_length", "dropped_no_target",
                     "unrenderable", "expanded", "images", "media_rows", "image_tokens", "image_cut"):
            setattr(total, name, getattr(self, name) + getattr(other, name))
        return total


def load_sources(source: Path, spec: RunSpec, stage: Stage, images_ok: bool = False) -> list[Source]:
    """The run's datasets: named entries, the only entry, all local entries of the stage's kind, or a data file;
    `images_ok`: a vision-language model takes rows with images."""
    datasets, strict = _open(source, spec)
    return _pick(source, datasets, spec, stage, strict, images_ok)


def load_first_stage(source: Path, spec: RunSpec, images_ok: bool = False) -> tuple[Stage, list[Source]]:
    """The data as the first stage that takes it sees it (conversations, then preference, then KTO), read once."""
    datasets, strict = _open(source, spec)
    read = [(ds, list(ds.checked)) for ds in datasets]
    errors = []
    for stage in KINDS:  # sft, dpo, kto
        try:
            return stage, _pick(source, [replace(ds, checked=iter(items)) for ds, items in read], spec, stage, strict,
                                images_ok)
        except DataError as error:
            if error.reports:  # invalid rows: the same for every stage
                raise
            errors.append(str(error))
    raise DataError("; ".join(errors))


def _open(source: Path, spec: RunSpec) -> tuple[list[Dataset], bool]:
    """The datasets asked for, and whether each must be of the stage's kind: one asked for by name (or the only
    one) must; others are just not picked."""
    names = [n.strip() for n in spec.dataset.split(",")] if spec.dataset else None
    try:
        datasets = open_datasets(source, names)
    except DescriptorError as err:
        if err.report is None:  # an entry that is not there (or not local): a usage error, exit 2
            raise UsageError(str(err)) from None
        raise DataError(str(err), [err.report]) from None
    return datasets, names is not None or len(datasets) == 1


def _pick(source: Path, datasets: list[Dataset], spec: RunSpec, stage: Stage, strict: bool,
          images_ok: bool = False) -> list[Source]:
    sources = [s for s in (_collect(ds, spec, stage, strict, images_ok) for ds in datasets) if s.records]
    if not sources:
        raise DataError(f"no entry of {source} holds {stage} data ({' or '.join(KINDS[stage])} records)")
    return sources


def _collect(ds: Dataset, spec: RunSpec, stage: Stage, strict_kind: bool, images_ok: bool = False) -> Source:
    records: list[Record] = []
    positions: list[str] = []
    lines: list[int] = []
    report = ds.report()
    wrong_kind: Counter[str] = Counter()
    for item in ds.checked:
        report.add(item)
        if item.valid and item.record is not None:
            if item.record.kind in KINDS[stage]:
                records.append(item.record)
                positions.append(f"{ds.name} line {item.line}" if item.line else f"{ds.name} record {item.index + 1}")
                lines.append(item.line or item.index + 1)
            else:
                wrong_kind[item.record.kind] += 1
    if report.invalid and not spec.skip_bad_rows:
        raise DataError(f"{report.invalid} invalid row(s) in {ds.name}; fix them, or pass --skip-bad-rows to train on "
                        f"the {report.valid} valid ones", [report])
    if wrong_kind and strict_kind:
        kinds = ", ".join(f"{n} {k}" for k, n in wrong_kind.items())
        if records:
            raise DataError(f"{ds.name} mixes record kinds ({kinds} beside {len(records)} {stage} rows); split it")
        raise DataError(f"{ds.name} holds {kinds} records, not {stage} data ({' or '.join(KINDS[stage])})")
    file = getattr(ds.entry, "file_name", None) or ds.path
    records, dropped = _media(ds.name, records, positions, spec, images_ok)
    source = Source(ds.name, records, report, positions, file=file, lines=lines)
    source.media_dropped = dropped
    return source


def _media(name: str, records: list[Record], positions: list[str], spec: RunSpec,
           images_ok: bool = False) -> tuple[list[Record], Counter[str]]:
    """Rows with media the model cannot take stop the run (a text-only model would learn `<image>` as text, in
    silence), or with --drop-media lose those media and their placeholders, counted; a vision-language model
    (`images_ok`) keeps its images either way."""
    kinds_held = ("videos", "audios") if images_ok else MEDIA_KINDS
    found = [i for i, r in enumerate(records) if any(getattr(r, k) for k in kinds_held)]
    if not found:
        return records, Counter()
    kinds = Counter({k: sum(len(getattr(records[i], k) or []) for i in found) for k in kinds_held})
    if not spec.drop_media:
        held = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        fix = ("the vision-language model's processor is given images only: their video/audio placeholders would be "
               "trained as text and the media never seen. Remove those media, or pass --drop-media to train these "
               "rows without their video and audio (images kept)" if images_ok else
               "fttrain trains text-only models: the <image>/<video>/<audio> placeholders would be trained as text "
               "and the media never seen. Pass a vision-language model (a folder with its processor) as --model to "
               "train images, or --drop-media to train their text only")
        raise DataError(f"{len(found)} row(s) of {name} hold media ({held}; first: {positions[found[0]]}) and {fix}")
    out = list(records)
    for i in found:
        out[i] = without_media(records[i], kinds_held)
    return out, kinds + Counter(rows=len(found))


def without_media(record: Record, kinds: tuple[str, ...] = MEDIA_KINDS) -> Record:
    """The record with its media lists of `kinds` removed and their placeholders taken out of every message."""
    update: dict[str, Any] = {k: None for k in kinds}
    for name in ("messages", "chosen", "rejected", "completion"):
        msgs = getattr(record, name)
        if msgs is not None:
            update[name] = [m.model_copy(update={"content": strip_placeholders(m.content, kinds)}) for m in msgs]
    return record.model_copy(update=update)


def strip_placeholders(text: str, kinds: tuple[str, ...] = MEDIA_KINDS) -> str:
    for kind in kinds:
        text = text.replace(PLACEHOLDERS[kind], "")
    return text


def paced_gc(items: Iterable[T], every: int = 500) -> Iterator[T]:
    """`items`, with Python's automatic cycle collection paused; young objects are collected every `every` items.

    Tokenizing makes ~10k offset tuples a conversation: with automatic collection they are promoted and set off
    full collections that walk every loaded record each time, which measured at half of SFT preprocessing.
    Nothing here makes reference cycles; young ones from library internals are still collected, and automatic
    collection is back when the loop ends, however it ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i, item in enumerate(items, start=1):
            yield item
            if not i % every:
                gc.collect(1)
    finally:
        if was_enabled:
            gc.enable()


class RenderError(Exception):
    """A row the chat template cannot render (or not within the time limit); `where` names the row."""


Row = dict[str, Any]


def sft_rows(tokenizer: Any, source: Source, spec: RunSpec, counts: Counts,
             reasoning: str | None = "reasoning_content") -> list[Row]:
    """Tokenized SFT samples with our own labels (every trained turn, EOS included), fitted to --max-length;
    reasoning rendered through `reasoning` (see `fttrain.reasoning`), expanded per --reasoning-history."""
    def encode(rec: Record) -> list[Row]:
        if rec.kind == "text":
            return [row for row in [fit(text_ids(tokenizer, rec), None)] if row is not None]
        conversations = [rec.messages or []]
        if spec.reasoning_history == "expand" and reasoning is not None:
            conversations = expand(conversations[0], spec.train_on)
            counts.expanded += len(conversations) - 1
            counts.samples += len(conversations) - 1
        rows = []
        for messages in conversations:
            enc = encode_conversation(tokenizer, messages, rec.tools, spec.train_on, reasoning=reasoning)
            counts.strategies[enc.strategy] += 1
            counts.reasoning = counts.reasoning.add(count_blocks(enc, messages, spec.train_on))
            rows += [row for row in [fit(enc.input_ids, enc.labels)] if row is not None]
        return rows

    def fit(input_ids: list[int], labels: list[int] | None) -> Row | None:
        if labels is None:
            labels = list(input_ids)
            counts.strategies["text"] += 1
        counts.lengths.append(len(input_ids))
        counts.max_token_id = max(counts.max_token_id, max(input_ids, default=-1))
        trained = [i for i, label in enumerate(labels) if label != IGNORE]
        if not trained:
            counts.dropped_no_target += 1
            return None
        kept = fit_labelled(labels, spec.max_length, spec.overlong)
        if kept is not None and not any(labels[k] != IGNORE for k in kept):
            kept = None  # cut to nothing trained: dropped for its length
        if not _fitted(counts, len(input_ids), kept is not None, spec.max_length):
            return None
        assert kept is not None
        # the last trained token (the answer's EOS) left out: the model would not learn to stop there
        counts.eos_cut += trained[-1] not in kept
        return {"input_ids": [input_ids[k] for k in kept], "labels": [labels[k] for k in kept]}

    return _rows(source, spec, counts, encode)


def preference_rows(tokenizer: Any, source: Source, spec: RunSpec, counts: Counts,
                    reasoning: str | None = "reasoning_content") -> list[Row]:
    """DPO (prompt_ids/chosen_ids/rejected_ids) or KTO (prompt_ids/completion_ids/label) rows, tokenized as trl
    tokenizes conversational rows (the prompt with its generation prompt, split where it stops being a prefix of
    prompt + answer), each row with its own tools, fitted to --max-length by our policy."""
    def encode(rec: Record) -> Row | None:
        prompt, answers = encode_preference(tokenizer, rec, reasoning)
        counts.strategies["prompt/completion"] += 1
        longest = len(prompt) + max(map(len, answers))
        counts.lengths.append(longest)
        counts.max_token_id = max(counts.max_token_id, *(max(x, default=-1) for x in [prompt, *answers]))
        fitted = fit_pair(prompt, answers, spec.max_length, spec.overlong)
        if fitted is not None and not all(fitted[1]):
            fitted = None  # the prompt filled the budget: no answer token left to compare
        if not _fitted(counts, longest, fitted is not None, spec.max_length):
            return None
        assert fitted is not None
        # an answer cut at its end lost its end-of-turn / EOS (keep_end cuts starts, not ends)
        counts.eos_cut += spec.overlong != "keep_end" and any(len(b) < len(a) for a, b in zip(answers, fitted[1]))
        names = ["chosen_ids", "rejected_ids"] if rec.kind == "preference" else ["completion_ids"]
        row: Row = {"prompt_ids": fitted[0], **dict(zip(names, fitted[1]))}
        if rec.kind == "kto":
            row["label"] = rec.label
        return row

    return _rows(source, spec, counts, encode)


def encode_preference(tokenizer: Any, rec: Record,
                      reasoning: str | None = "reasoning_content") -> tuple[list[int], list[list[int]]]:
    """(prompt ids, [answer ids, ...]) of a preference or KTO record, split as trl 1.16 splits them: the prompt
    rendered with its generation prompt, cut where it stops being a prefix of every prompt + answer render."""
    prompt = chat_messages(rec.messages or [], reasoning_key=reasoning)
    answers = [rec.chosen, rec.rejected] if rec.kind == "preference" else [rec.completion]
    prompt_ids = ids(tokenizer, render(tokenizer, prompt, rec.tools, generation_prompt=True))
    full = [ids(tokenizer, render(tokenizer, prompt + chat_messages(a or [], reasoning_key=reasoning), rec.tools))
            for a in answers]
    cut = min(_common_prefix(prompt_ids, f) for f in full)
    return prompt_ids[:cut], [f[cut:] for f in full]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _fitted(counts: Counts, length: int, kept: bool, max_length: int) -> bool:
    """Count a sample's fate against --max-length; True when it is kept."""
    if length > max_length:
        counts.over_length += 1
        if kept:
            counts.truncated += 1
        else:
            counts.dropped_over_length += 1
    return kept


def _rows(source: Source, spec: RunSpec, counts: Counts, encode: Callable[[Record], Row | list[Row] | None],
          bad_row: tuple[type[Exception], ...] = ()) -> list[Row]:
    """Every record encoded within the render time limit; a row the template cannot render (or that `encode` finds
    at fault, `bad_row`: an image that cannot be read) stops the run naming it, or with --skip-bad-rows is skipped
    and counted."""
    rows = []
    for where, rec in paced_gc(zip(source.positions, source.records)):
        counts.samples += 1
        try:
            with time_limit(spec.render_timeout):
                row = encode(rec)
        except bad_row as error:
            if not spec.skip_bad_rows:
                raise DataError(f"{where}: {error} (fix the row, or pass --skip-bad-rows to skip such rows, "
                                "counted)") from None
            counts.unrenderable += 1
            counts.failures.append(f"{where}: {error}")
            continue
        except RENDER_ERRORS as error:
            message = f"{where}: the chat template cannot render this row: {type(error).__name__}: {error}"
            if not spec.skip_bad_rows:
                raise RenderError(message + " (fix the row or the template, or pass --skip-bad-rows to skip such "
                                  "rows, counted)") from None
            counts.unrenderable += 1
            counts.failures.append(message)
            continue
        if isinstance(row, list):
            rows += row
        elif row is not None:
            rows.append(row)
    return rows


__all__ = ["Counts", "DataError", "RenderError", "Source", "UnreadableFile", "encode_preference", "load_sources",
           "preference_rows", "sft_rows"]
