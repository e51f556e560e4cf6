"""Stats.merge: the stats of parts of an input, merged in any order, are the stats of the whole input."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from shard_inputs import plain_file

from ftdata.api import stats
from ftdata.core.stats import Stats


def test_stats_of_parts_merge_in_any_order(tmp_path: Path) -> None:
    rows = plain_file(tmp_path, 60).read_text().splitlines()
    whole = stats([tmp_path / "plain.jsonl"])
    parts = []
    for i, cut in enumerate([rows[:7], rows[7:30], rows[30:]]):
        part = tmp_path / f"part{i}.jsonl"
        part.write_text("\n".join(cut) + "\n")
        parts.append(stats([part]))
    merged = Stats(files=whole.files)
    for part in reversed(parts):
        part.files = []
        merged.merge(part)
    assert merged.summary() == whole.summary()
    assert merged.duplicates == whole.duplicates > sum(p.duplicates for p in parts)  # copies across parts count


def test_stats_merge_refuses_a_field_it_has_no_rule_for() -> None:
    @dataclass
    class Wider(Stats):
        by_source: dict[str, int] = field(default_factory=dict)

    with pytest.raises(TypeError, match="no rule for the field 'by_source'"):
        Wider().merge(Wider())
