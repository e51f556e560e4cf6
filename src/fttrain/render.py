"""The only module of fttrain that prints: the pre-flight summary, a run's result, `fttrain inspect`'s token view,
the cache listing, errors. Under torchrun / accelerate every rank runs the CLI: only rank 0 prints to stdout."""

from __future__ import annotations

import os
import time
from typing import Any, Iterable

from rich.console import Console
from rich.text import Text

from ftdata import render as ftdata_render
from ftdata.render import safe

out = Console(highlight=False, emoji=False, quiet=os.environ.get("RANK", "0") != "0")
err = Console(stderr=True, highlight=False, emoji=False)


def error(message: str) -> None:
    """'Error: ...' on stderr (the caller exits)."""
    err.print(f"Error: {safe(message)}", soft_wrap=True)


def internal_error(kind: str, message: str) -> None:
    err.print(f"internal error: {kind}: {safe(message)} (run again with --debug for the traceback; please report it)",
              soft_wrap=True)


def data_problems(reports: list[Any]) -> None:
    """The invalid rows that stopped a run, as `ftdata validate` shows them."""
    ftdata_render.validation_text(reports, max_errors=10)


def versions(found: dict[str, str | None]) -> None:
    """`fttrain env`: each training package's version."""
    for name, version in found.items():
        out.print(f"{name:14} {version or 'not installed'}", markup=False)


def line(text: str) -> None:
    """One plain line on stdout (the version, a path written)."""
    out.print(safe(text), soft_wrap=True, markup=False)


def result(r: Any, dry_run: bool, prepare_only: bool) -> None:
    """What a run did: the prepared folders (`prepare`), the dry run's end, or steps, loss, samples and saved paths."""
    if prepare_only:
        for folder in r.prepared:
            out.print(f"prepared {safe(str(folder))}", soft_wrap=True)
        return
    if dry_run:
        out.print("dry run: every row read, validated, rendered and tokenized; no model loaded, nothing trained",
                  soft_wrap=True)
        return
    out.print(f"[green]done[/green]: {r.steps} steps, loss {r.losses[0]:.4f} -> {r.losses[-1]:.4f}"
              if r.losses else f"[green]done[/green]: {r.steps} steps")
    for prompt, answer in r.samples:
        out.print(f"[bold]sample[/bold] {safe(prompt[:60])!s} -> {safe(answer)}", soft_wrap=True)
    for path in r.saved:
        out.print(f"saved {safe(str(path))}", soft_wrap=True)


def preflight(p: Any) -> None:
    """The pre-flight summary: each dataset and what happened to its samples, model, method, trainable parameters,
    effective batch."""
    if p.bundled:
        out.print(f"[bold yellow]No --model given: using the bundled tiny test model ({safe(p.model)}). "
                  "It is for demos and tests, not for real fine-tuning.[/bold yellow]", soft_wrap=True)
    for s in p.sources:
        c = s.counts
        out.print(f"dataset {safe(s.name)}: {s.report.records} records, {len(s.records)} used"
                  + (f", {s.report.invalid} invalid skipped" if s.report.invalid else ""), soft_wrap=True)
        out.print(f"  {counts_line(c, p.max_length, p.policy)}", soft_wrap=True)
        for failure in c.failures[:3]:
            out.print(f"  skipped: {safe(failure)}", soft_wrap=True)
    if getattr(p, "cache", ""):
        out.print(safe(p.cache), soft_wrap=True)
    c = p.counts
    out.print(f"samples: {c.samples}  kept: {c.kept}  longest: {max(c.lengths, default=0)} tokens  masks: "
              + ", ".join(f"{k} {n}" for k, n in sorted(c.strategies.items())))
    if c.expanded:
        out.print(f"--reasoning-history expand: {c.expanded} samples added (one per assistant turn with reasoning)",
                  soft_wrap=True)
    if p.reasoning:
        out.print(safe(p.reasoning), soft_wrap=True)
    out.print(f"train: {p.train_samples}  eval: {p.eval_samples}")
    if p.dry_run:
        out.print(f"model: {safe(p.model)} (tokenizer only)  method: {p.method}", soft_wrap=True)
    else:
        out.print(f"model: {safe(p.model)}  method: {p.method}  trainable parameters: {p.trainable:,} of {p.total:,} "
                  f"({100 * p.trainable / max(p.total, 1):.2f}%)  effective batch size: {p.effective_batch}",
                  soft_wrap=True)
    for note in p.notes:
        out.print(f"note: {safe(note)}", soft_wrap=True)


def counts_line(c: Any, max_length: int, policy: str) -> str:
    """One dataset's fate line: 'samples 300: over 512 tokens 265 (policy truncate: 133 cut, 132 dropped; answers
    that lost their EOS 133), nothing to train on 0, unrenderable 0, kept 168'."""
    return (f"samples {c.samples}: over {max_length} tokens {c.over_length} (--overlong {policy}: {c.truncated} cut "
            f"to fit, {c.dropped_over_length} dropped; answers that lost their end/EOS {c.eos_cut}), nothing to train "
            f"on {c.dropped_no_target}, unrenderable {c.unrenderable}, kept {c.kept}")


def visible(text: str) -> str:
    """Control, bidi and zero-width characters shown as escapes (a token must not drive the terminal); newlines and
    tabs stay."""
    return "".join(c if c in "\n\t" or c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def inspection(found: Any, heading: Any, summary: Iterable[str]) -> None:
    """`fttrain inspect`: each shown row token by token (trained tokens highlighted, the ones the model learns to
    stop on in bold), then the dataset's summary lines. Text, not markup: the data is shown as it is."""
    for view in found.rows:
        out.print(Text(visible(heading(view)), style="bold"), soft_wrap=True)
        for name, pieces in view.sequences:
            text = Text(f"[{name}] ", style="bold")
            for p in pieces:
                shown = p.text.replace("\n", "\u21b5\n") if p.trained else p.text
                text.append(visible(shown),
                            style=("bold black on green" if p.token_id in found.stops else "black on green")
                            if p.trained else "dim")
            out.print(text, soft_wrap=True)
    for summary_line in summary:
        out.print(Text(visible(summary_line)), soft_wrap=True)


def cache_listing(found: list[Any], root: str, human: Any) -> None:
    """`fttrain cache`: each run key with its size, last use, model and datasets (STALE and why), then the total."""
    for k in found:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(k.last_used))
        out.print(f"{safe(k.path.name)}  {human(k.bytes)}  last used {used}  model {safe(k.model)}  datasets "
                  f"{safe(', '.join(k.datasets))}" + (f"  STALE: {k.stale}" if k.stale else ""), soft_wrap=True)
    out.print(f"{len(found)} run key(s), {human(sum(k.bytes for k in found))} in {safe(root)}", soft_wrap=True)
