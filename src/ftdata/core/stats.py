"""`ftdata stats`: what a dataset holds, before training on it (turns, roles, lengths, duplicates, features)."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Iterator, Sequence

from ftdata.core.canonical import Record
from ftdata.core.reports import Checked
from ftdata.core.rules import Origins
from ftdata.core.textkeys import conversation_key
from ftdata.core.tokens import count, reasoning_count

SHORT_ANSWER = 3  # characters: answers shorter than this are flagged as "very short"


@dataclass
class Stats:
    """Counts over the valid records of the given files (invalid ones are only counted)."""

    files: list[str] = field(default_factory=list)
    records: int = 0
    invalid: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    roles: Counter[str] = field(default_factory=Counter)
    turns: list[int] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    duplicates: int = 0
    short_answers: int = 0
    with_tools: int = 0
    with_media: int = 0
    with_system: int = 0
    max_length: int | None = None
    answer_ratios: list[float] = field(default_factory=list)  # preference: chosen / rejected characters
    labels: Counter[bool] = field(default_factory=Counter)  # KTO: rows per label
    with_reasoning: int = 0  # records with reasoning on some turn
    reasoning_turns: int = 0  # assistant turns with reasoning
    empty_think: int = 0  # empty <think></think> blocks read as no reasoning (non-thinking turns)
    reasoning_tokens: int = 0  # with a tokenizer: the reasoning texts' tokens
    media_items: list[int] = field(default_factory=list)  # per record with media: its images + videos + audios
    pixels: list[int] = field(default_factory=list)  # per image read here (local files, data URLs): width * height
    seconds: list[float] = field(default_factory=list)  # per audio / video read here: its duration
    image_tokens: int = 0  # with a processor: the tokens its images add (counted in `tokens`)
    _seen: set[int] = field(default_factory=set, repr=False)

    def add(self, rec: Record, tokens: int | None, origins: Origins | None = None, reasoning_tokens: int = 0) -> None:
        self.kinds[rec.kind] += 1
        turns = sum(m.reasoning is not None for _, ms in rec.message_lists() for m in ms)
        self.with_reasoning += turns > 0
        self.reasoning_turns += turns
        self.empty_think += origins.empty_think if origins is not None else 0
        self.reasoning_tokens += reasoning_tokens
        digest = conversation_key(rec)  # what `ftdata dedup` removes as an exact duplicate
        if digest in self._seen:
            self.duplicates += 1
        self._seen.add(digest)
        if rec.kind == "text":
            self.chars.append(len(rec.text or ""))
        else:
            msgs = [m for _, ms in rec.message_lists() for m in ms]
            self.roles.update(m.role for m in msgs)
            self.turns.append(sum(m.role == "user" for m in rec.messages or []))
            self.chars.append(sum(len(m.content) for m in msgs))
            answers = [m for m in msgs if m.role == "assistant" and not m.tool_calls]
            self.short_answers += any(len(m.content.strip()) < SHORT_ANSWER for m in answers)
            self.with_tools += bool(rec.tools or any(m.tool_calls for m in msgs))
            self.with_system += bool(rec.messages and rec.messages[0].role == "system")
        self.with_media += bool(rec.images or rec.videos or rec.audios)
        if rec.images or rec.videos or rec.audios:
            self.media_items.append(sum(len(getattr(rec, k) or []) for k in ("images", "videos", "audios")))
        if rec.kind == "preference":
            chosen, rejected = (sum(len(m.content) for m in ms or []) for ms in (rec.chosen, rec.rejected))
            self.answer_ratios.append(round(chosen / rejected, 2) if rejected else float("inf"))
        elif rec.kind == "kto" and rec.label is not None:
            self.labels[rec.label] += 1
        if tokens is not None:
            self.tokens.append(tokens)

    def merge(self, other: Stats) -> None:
        """Add the stats of another part of the same input (a shard of a distributed run); parts may come in any
        order: the summary sorts each distribution. Counters add up, per-record lists join, counts add."""
        self.duplicates += other.duplicates + len(self._seen & other._seen)  # a record in both parts: one more copy
        self._seen |= other._seen
        self.files += [f for f in other.files if f not in self.files]
        if self.max_length is None:
            self.max_length = other.max_length
        for f in fields(self):
            if f.name in ("files", "max_length", "duplicates", "_seen"):
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            elif isinstance(mine, list):
                mine.extend(theirs)
            elif isinstance(mine, (int, float)):
                setattr(self, f.name, mine + theirs)
            else:  # a new kind of field: say how it merges here rather than merge it wrong
                raise TypeError(f"Stats.merge: no rule for the field {f.name!r}")

    def summary(self) -> dict[str, Any]:
        valid = self.records - self.invalid

        def share(n: int) -> float:
            return round(n / valid, 4) if valid else 0.0

        out: dict[str, Any] = {
            "files": self.files, "records": self.records, "valid": valid, "invalid": self.invalid,
            "kinds": dict(self.kinds), "messages_per_role": dict(self.roles),
            "turns": spread(self.turns), "chars": spread(self.chars), "tokens": spread(self.tokens) if self.tokens else None,
            "exact_duplicates": self.duplicates, "short_answers": self.short_answers,
            "share_with_tools": share(self.with_tools), "share_with_media": share(self.with_media),
            "share_with_system": share(self.with_system),
            "media_per_record": spread(self.media_items), "image_pixels": spread(self.pixels),
            "media_seconds": spread([round(x, 2) for x in self.seconds]),
            "image_tokens": self.image_tokens if self.image_tokens else None,
            "reasoning": {"records": self.with_reasoning, "share": share(self.with_reasoning),
                          "turns": self.reasoning_turns, "empty_think_blocks": self.empty_think,
                          "tokens": self.reasoning_tokens if self.tokens else None},
        }
        if self.answer_ratios:
            # a length bias (chosen systematically longer) is what DPO most easily learns instead of quality
            finite = [r for r in self.answer_ratios if r != float("inf")]
            out["chosen_rejected_length_ratio"] = spread(finite)
            out["chosen_longer"] = share(sum(r > 1 for r in self.answer_ratios))
        if self.labels:
            out["kto_labels"] = {"desirable": self.labels[True], "undesirable": self.labels[False]}
        if self.max_length is not None and self.tokens:
            out["over_max_length"] = sum(t > self.max_length for t in self.tokens)
            out["max_length"] = self.max_length
        return out


def spread(values: Sequence[float]) -> dict[str, float] | None:
    """min / p50 / p95 / max / mean."""
    if not values:
        return None
    s = sorted(values)

    def pick(q: float) -> float:
        return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]

    mean = sum(s) / len(s)
    return {"min": s[0], "p50": pick(0.5), "p95": pick(0.95), "max": s[-1],
            "mean": round(mean, 2 if isinstance(s[0], float) else 1)}


# a record's images as (width, height) and its audios' and videos' seconds, where they can be read
Sizes = Callable[[Record], tuple[list[tuple[int, int]], list[float]]]
PerImage = Callable[[int, int], int]  # a processor's tokens for an image of (width, height)


PROGRESS_EVERY = 1024  # records between progress calls (tokenizing is slow: a few thousand records a second)


def collect(streams: Iterable[tuple[Iterator[Checked], Sizes | None]], files: list[str], tokenizer: Any = None,
            max_length: int | None = None, per_image: PerImage | None = None,
            progress: Callable[[int], None] | None = None) -> Stats:
    """Stats over checked records (invalid ones are only counted); tokens as `ftdata.core.tokens.count` counts them,
    plus, with `per_image`, the tokens a processor adds for each image (sized by the stream's `Sizes`); the sizes
    and durations of the media the stream's `Sizes` can read; `progress` is told the records counted so far, now and
    then."""
    stats = Stats(files=files, max_length=max_length)
    for stream, sizes in streams:
        for item in stream:
            stats.records += 1
            if progress is not None and not stats.records % PROGRESS_EVERY:
                progress(stats.records)
            if not item.valid or item.record is None:
                stats.invalid += 1
                continue
            rec = item.record
            found, seconds = sizes(rec) if sizes is not None and (rec.images or rec.videos or rec.audios) else ([], [])
            stats.pixels += [w * h for w, h in found]
            stats.seconds += seconds
            extra = sum(per_image(w, h) for w, h in found) if per_image is not None else 0
            stats.image_tokens += extra
            if tokenizer is None:
                stats.add(rec, None, item.origins)
            else:
                stats.add(rec, count(tokenizer, rec) + extra, item.origins, reasoning_count(tokenizer, rec))
    return stats


def scales(values: list[int]) -> tuple[bool, bool]:
    """(log x, log y) for a histogram of `values`: log x when the positive values span two decades or more (mixed
    data: short chats beside long documents), log y when the tallest bar is 20 times the median one or more."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    positive = arr[arr > 0]
    log_x = bool(positive.size) and float(positive.max()) / float(positive.min()) >= 100
    bins = np.geomspace(positive.min(), positive.max(), 41) if log_x else 40
    counts, _ = np.histogram(positive if log_x else arr, bins=bins)
    tall = counts[counts > 0]
    return log_x, bool(tall.size > 1 and tall.max() >= 20 * float(np.median(tall)))


def figure(stats: Stats, name: str = "") -> Any:
    """The histograms of turns, characters and (with a tokenizer) tokens per record as a matplotlib figure, each
    titled with the data's `name`, on log axes where the values or counts are skewed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    series = [("user turns per record", stats.turns), ("characters per record", stats.chars),
              ("tokens per record", stats.tokens)]
    series = [(t, v) for t, v in series if v]
    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 4), squeeze=False)
    for ax, (title, values) in zip(axes[0], series):
        log_x, log_y = scales(values)
        positive = [v for v in values if v > 0]
        ax.hist(positive if log_x else values, bins=np.geomspace(min(positive), max(positive), 41) if log_x else 40)
        ax.set_xscale("log" if log_x else "linear")
        ax.set_yscale("log" if log_y else "linear")
        ax.set_title(f"{title}\n{name}" if name else title, fontsize=10)
        ax.set_ylabel("records" + (" (log)" if log_y else ""))
        if log_x and len(positive) < len(values):
            ax.set_xlabel(f"log scale; {len(values) - len(positive)} records of 0 left out")
        if title.startswith("tokens") and stats.max_length:
            ax.axvline(stats.max_length, color="red", linestyle="--", label=f"max length {stats.max_length}")
            ax.legend()
    fig.tight_layout()
    return fig


def plot(stats: Stats, name: str = "") -> bytes:
    """`figure` as a PNG's bytes (the caller writes them through `ftdata.io.staging`, like every output)."""
    try:
        import matplotlib.pyplot as plt

        fig = figure(stats, name)
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    return png.getvalue()
