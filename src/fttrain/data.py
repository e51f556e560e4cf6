"""Datasets for a run: descriptor entries (or data files) -> validated canonical records -> trl's columns.

Nothing is dropped silently: invalid rows stop the run (or, with --skip-bad-rows, are counted); samples over
max length are truncated or dropped and counted; a sample left without trained tokens is dropped and counted.
"""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

from ftdata.api import Dataset, DescriptorError, open_datasets
from ftdata.canonical import Record, chat_messages
from ftdata.io import UnreadableFile
from ftdata.reports import FileReport
from ftdata.tokens import count, text_ids
from fttrain.spec import RunSpec, Stage
from fttrain.template import encode_conversation

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


@dataclass
class Counts:
    """What happened to samples on the way to the trainer (shown in the pre-flight summary)."""

    samples: int = 0
    over_length: int = 0
    truncated: int = 0
    dropped_over_length: int = 0
    dropped_no_target: int = 0
    max_token_id: int = -1
    lengths: list[int] = field(default_factory=list)


def load_sources(source: Path, spec: RunSpec, stage: Stage) -> list[Source]:
    """The run's datasets: named entries, the only entry, all local entries of the stage's kind, or a data file."""
    names = [n.strip() for n in spec.dataset.split(",")] if spec.dataset else None
    try:
        datasets = open_datasets(source, names)
    except DescriptorError as err:
        raise DataError(str(err), [err.report] if err.report else []) from None
    # a dataset asked for by name (or the only one) must be of the stage's kind; others are just not picked
    strict = names is not None or len(datasets) == 1
    sources = [s for s in (_collect(ds, spec, stage, strict) for ds in datasets) if s.records]
    if not sources:
        raise DataError(f"no entry of {source} holds {stage} data ({' or '.join(KINDS[stage])} records)")
    return sources


def _collect(ds: Dataset, spec: RunSpec, stage: Stage, strict_kind: bool) -> Source:
    records: list[Record] = []
    report = ds.report()
    wrong_kind: Counter[str] = Counter()
    for item in ds.checked:
        report.add(item)
        if item.valid and item.record is not None:
            if item.record.kind in KINDS[stage]:
                records.append(item.record)
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
    return Source(ds.name, records, report)


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


def sft_rows(tokenizer: Any, records: list[Record], spec: RunSpec, counts: Counts) -> list[dict[str, list[int]]]:
    """Tokenized SFT samples with our own labels (every trained turn, EOS included)."""
    rows = []
    for rec in paced_gc(records):
        counts.samples += 1
        if rec.kind == "text":
            input_ids = text_ids(tokenizer, rec)
            labels = list(input_ids)
        else:
            enc = encode_conversation(tokenizer, rec.messages or [], rec.tools, spec.train_on)
            input_ids, labels = enc.input_ids, enc.labels
        counts.lengths.append(len(input_ids))
        counts.max_token_id = max(counts.max_token_id, max(input_ids, default=-1))
        if len(input_ids) > spec.max_length:
            counts.over_length += 1
            if spec.overlong == "drop":
                counts.dropped_over_length += 1
                continue
            counts.truncated += 1
            input_ids, labels = input_ids[: spec.max_length], labels[: spec.max_length]
        if all(label == -100 for label in labels):
            counts.dropped_no_target += 1
            continue
        rows.append({"input_ids": input_ids, "labels": labels})
    return rows


def preference_rows(tokenizer: Any, records: list[Record], spec: RunSpec, counts: Counts) -> list[dict[str, Any]]:
    """DPO (prompt/chosen/rejected) or KTO (prompt/completion/label) rows, conversational, as trl takes them."""
    rows = []
    for rec in paced_gc(records):
        counts.samples += 1
        answers = {"chosen": rec.chosen, "rejected": rec.rejected} if rec.kind == "preference" else {"completion": rec.completion}
        row: dict[str, Any] = {"prompt": chat_messages(rec.messages or []),
                               **{k: chat_messages(v or []) for k, v in answers.items()}}
        if rec.kind == "kto":
            row["label"] = rec.label
        longest = count(tokenizer, rec)
        counts.lengths.append(longest)
        if longest > spec.max_length:
            counts.over_length += 1
            if spec.overlong == "drop":
                counts.dropped_over_length += 1
                continue
            counts.truncated += 1  # trl truncates to max_length; we count it
        rows.append(row)
    return rows


__all__ = ["Counts", "DataError", "Source", "UnreadableFile", "load_sources", "preference_rows", "sft_rows"]
