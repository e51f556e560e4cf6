"""`ReasoningKeys` (code `type_drift`): a file that writes reasoning under several conventions (`reasoning_content` in
some rows, `thinking` in others, a leading `<think>` block in yet others). ftdata reads them all, but a chat template
reads one key: loaded as it is (`datasets` + a trainer's template), the rows under the other keys train no reasoning.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ftdata.core.problems import Problem
from ftdata.core.reasoning import KEYS, OPEN, split_think
from ftdata.core.reports import Checked
from ftdata.io.drift import FREE_FORM

BLOCK = "<think> block"  # the convention without a key: a leading block in the content


@dataclass
class ReasoningKeys:
    """Per convention (a key, or the leading block): where it was first seen (index, line, path)."""

    first: dict[str, tuple[int, int | None, str]] = field(default_factory=dict)

    def see(self, item: Checked) -> None:
        if isinstance(item.raw, dict):
            self._row(item.raw, item.index, item.line)

    def see_plain(self, row: dict[str, Any], index: int, line: int | None, whole: bool = False) -> None:
        if whole:  # plain rows hold no reasoning: the fast lanes refuse reasoning keys and think tags
            self._row(row, index, line)

    def see_shaped(self, row: dict[str, Any], structure: Hashable, reasoning: bool, index: int, line: int | None) -> None:
        """A row the check lane took and described (`Format.check_shape`): without `reasoning` its message lists
        hold no convention (no reasoning key, no think tag: the lane lets none through), so only its free-form
        lists (tools), which no lane looks into, are read."""
        if reasoning:
            self._row(row, index, line)
            return
        for name, value in row.items():
            if name in FREE_FORM and type(value) is list:
                for m in value:
                    if type(m) is dict:
                        self._message(m, f"{name}[*]", index, line)

    def _row(self, row: dict[str, Any], index: int, line: int | None) -> None:
        for name, value in row.items():
            if type(value) is dict and type(value.get("messages")) is list:  # OpenAI preference rows' input
                name, value = f"{name}.messages", value["messages"]
            if type(value) is not list:
                continue
            for m in value:
                if type(m) is dict:
                    self._message(m, f"{name}[*]", index, line)

    def _message(self, m: dict[str, Any], path: str, index: int, line: int | None) -> None:
        for key in KEYS:
            text = m.get(key)
            if type(text) is str and text.strip() and key not in self.first:
                self.first[key] = (index, line, f"{path}.{key}")
        for key in ("content", "value"):
            text = m.get(key)
            if (type(text) is str and text.startswith(OPEN) and BLOCK not in self.first
                    and split_think(text).reasoning is not None):  # an empty block is no reasoning
                self.first[BLOCK] = (index, line, f"{path}.{key}")

    def merge(self, later: ReasoningKeys, records: int, lines: int) -> None:
        for key, (index, line, path) in later.first.items():
            if key not in self.first:
                self.first[key] = (index + records, None if line is None else line + lines, path)

    def problems(self) -> list[Problem]:
        if len(self.first) < 2:
            return []
        seen = sorted(self.first.items(), key=lambda kv: kv[1][0])
        said = ", ".join(f"{key} (first: {_where(index, line)})" for key, (index, line, _) in seen)
        index, line, path = seen[1][1]
        return [Problem(index, line, path, "type_drift",
                        f"reasoning is written under several conventions in this file: {said}; a chat template reads "
                        "one of them, so loaded as it is the other rows train no reasoning; `ftdata convert` writes "
                        "one (fttrain reads them all)")]


def _where(index: int, line: int | None) -> str:
    return f"line {line}" if line is not None else f"record {index}"
