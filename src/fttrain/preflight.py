"""Pre-flight checks on a run's data once it is read and tokenized, before a model loads: nothing silently lost or
doubled between a valid row and the model.

- Exact duplicates across the selected entries (`ftdata dedup`'s conversation key): the same conversation in two
  entries (a source converted to sharegpt and to alpaca in one folder, both picked up) is trained twice. The run
  stops, with the counts per entry and the fixes, unless --allow-duplicates; a dry run prints them as notes.
- Entries that would mostly not be trained: more than --max-dropped of an entry's samples dropped for length or left
  with nothing supervised. The run stops, naming the cause and the fix; --max-dropped 1 goes on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ftdata.core.canonical import MEDIA_KINDS
from ftdata.core.textkeys import conversation_key
from fttrain.checks import UsageError
from fttrain.data import Counts, Source
from fttrain.spec import RunSpec


@dataclass
class Repeats:
    """One entry's rows that another row of the run already holds: within the entry, and of earlier entries."""

    name: str
    path: str
    rows: int
    within: int = 0
    of: Counter[str] = field(default_factory=Counter)  # earlier entry -> rows of this one that repeat its rows

    @property
    def across(self) -> int:
        return sum(self.of.values())


def repeats(sources: list[Source]) -> list[Repeats]:
    """Per entry, in order: how many of its rows repeat a row of itself or of an earlier entry (dedup's key)."""
    first: dict[int, str] = {}
    found = []
    for s in sources:
        r = Repeats(s.name, _file(s.report.path), len(s.records))
        mine: set[int] = set()
        for record in s.records:
            key = conversation_key(record)
            owner = first.setdefault(key, s.name)
            if owner != s.name:
                r.of[owner] += 1
            elif key in mine:
                r.within += 1
            mine.add(key)
        found.append(r)
    return found


def _file(path: str) -> str:
    """The data file of 'dataset_info.json#entry' (for the `ftdata dedup` command to suggest); else `path`."""
    descriptor, _, name = path.rpartition("#")
    if not descriptor.endswith(".json"):
        return path
    try:
        entry = json.loads(Path(descriptor).read_text(encoding="utf-8")).get(name) or {}
    except (OSError, ValueError, AttributeError):
        return path
    file_name = entry.get("file_name") if isinstance(entry, dict) else None
    return str(Path(descriptor).parent / file_name) if isinstance(file_name, str) else path


def duplicates_line(found: list[Repeats]) -> str | None:
    """'exact duplicates across the selected datasets ...: b: 500 of 500 rows repeat rows of a; ...' with the
    fixes, or None when no entry repeats another's rows."""
    doubled = [r for r in found if r.across]
    if not doubled:
        return None
    per = "; ".join(f"{r.name}: {r.across} of {r.rows} rows repeat rows of "
                    + ", ".join(f"{k} ({n})" for k, n in r.of.most_common()) for r in doubled)
    keep = [r.name for r in found if r.rows - r.across - r.within > 0]
    files = " ".join(dict.fromkeys(r.path for r in found))
    return (f"exact duplicates across the selected datasets (the same conversation, as `ftdata dedup` counts them): "
            f"{per}; they would be trained more than once: choose the entries with --dataset {','.join(keep)}, "
            f"remove the copies with `ftdata dedup {files}` (and train on its output), or pass --allow-duplicates")


def dropped_line(source: Source, max_dropped: float, spec: RunSpec) -> str | None:
    """Why most of an entry's samples would not be trained, and the fix; None when at most `max_dropped` of them."""
    c: Counts = source.counts or Counts()
    lost = c.dropped_over_length + c.dropped_no_target
    if not c.samples or lost <= max_dropped * c.samples:
        return None
    head = (f"dataset {source.name}: {lost} of {c.samples} samples would not be trained ({c.dropped_over_length} "
            f"dropped for length, {c.dropped_no_target} with nothing supervised), more than --max-dropped "
            f"{max_dropped:g} of them")
    if c.dropped_over_length >= c.dropped_no_target:
        fix = ("the answers do not fit in --max-length " + str(spec.max_length)
               + (f" with --overlong {spec.overlong}" if spec.overlong != "split" else "")
               + ": pass a larger --max-length"
               + (" or --overlong split (keeps the end of the prompt and part of each answer)"
                  if spec.overlong != "split" else ""))
    else:
        fix = (f"no token is trained in those samples with --train-on {spec.train_on} (or their message weights are "
               "0): check what is trained with `fttrain inspect`, or choose another --train-on")
    return f"{head}: {fix}; or pass --max-dropped 1 to train on the {c.kept} left"


def check_data(sources: list[Source], spec: RunSpec, stop: bool = True) -> list[str]:
    """The checks above: raise UsageError (exit 2) on the first that fails when `stop`; else return them as notes
    (a dry run shows what the run would stop on)."""
    notes = []
    found = repeats(sources)
    line = duplicates_line(found)
    if line is not None and not spec.allow_duplicates:
        notes.append(line)
    notes += [d for d in (dropped_line(s, spec.max_dropped, spec) for s in sources) if d is not None]
    if stop and notes:
        raise UsageError(notes[0])
    notes = [f"a run would stop here: {n}" for n in notes]
    within = [f"{r.name} {r.within}" for r in found if r.within]
    if within:
        notes.append("rows repeated within a dataset (trained as often as they occur): " + ", ".join(within))
    if line is not None and spec.allow_duplicates:
        notes.append("--allow-duplicates: " + line.split(": they would be trained")[0])
    return notes + [media_line(s) for s in sources if s.media_dropped]


def media_line(source: Source) -> str:
    """'--drop-media: mllm_demo: 6 rows trained as text only (7 images removed, with their placeholders)'."""
    d = source.media_dropped
    held = ", ".join(f"{d[k]} {k}" for k in MEDIA_KINDS if d[k])
    how = "as text only" if d["images"] else "without their video and audio (images kept)"
    return f"--drop-media: {source.name}: {d['rows']} rows trained {how} ({held} removed, with their placeholders)"
