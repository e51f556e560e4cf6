"""Inputs for the shard and Ray tests: what breaks Arrow-typed readers and line numbering, in files the CLI reads."""

import json
from pathlib import Path

from conftest import DATA, FIXTURES


def dumps(row: object) -> str:
    return json.dumps(row, ensure_ascii=False)


def moss_file(folder: Path) -> Path:
    """The real MOSS sample with ids that are numbers in some rows and text in others (as in MOSS-003), a UTF-8 byte
    order mark, blank lines, a CRLF line, a raw U+2028 inside a string, a row that breaks a MOSS rule, a line
    that is not JSON and one that is not an object."""
    rows = [json.loads(line) for line in (FIXTURES / "moss" / "moss_sample.jsonl").read_text().splitlines()]
    for i, row in enumerate(rows):
        if i % 2:
            row["conversation_id"] = str(row["conversation_id"])
    rows[3]["chat"]["turn_1"]["Human"] = "no markers"  # marker_mismatch
    rows[6]["meta_instruction"] += "\u2028(a line separator, legal inside a JSON string)"
    lines = [dumps(r) for r in rows]
    lines[8] += "\r"
    lines[5:5] = ["", "   "]
    lines[12:12] = ['{"conversation_id": 99, "chat": ', "[1, 2]"]
    path = folder / "moss.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    return path


def plain_file(folder: Path, n: int = 40) -> Path:
    """sharegpt rows, mostly plain conversations (the fast lane: counted while reading, copied as they are), some
    with tools and preference pairs (the full lane), two invalid."""
    rows = (DATA / "sharegpt" / "valid" / "sharegpt_valid.jsonl").read_text().splitlines()
    lines = []
    for i in range(n):
        if i % 10 == 3:
            lines.append(rows[i % len(rows)])
        elif i % 17 == 5:
            lines.append(dumps({"conversations": [{"from": "human", "value": f"q{i}"}]}))  # no answer
        else:
            lines.append(dumps({"conversations": [{"from": "human", "value": f"q{i % 7}"},
                                                  {"from": "gpt", "value": f"a{i % 7}"}]}))  # some duplicates
    path = folder / "plain.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path
