"""Stream the elements of a top-level JSON array without loading the file: memory stays flat in file size.

A regex finds the structural bytes (brackets, braces, quotes, commas, backslashes) chunk by chunk; only those are
looked at in Python, and each element's bytes are handed to orjson whole.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

TOKENS = re.compile(rb'[\[\]{}",\\]')
CHUNK = 1 << 20
TRAILING = b"\x00trailing"  # sentinel: content after the closing bracket
UNCLOSED = b"\x00unclosed"  # sentinel: the file ends inside the array


class NotAnArray(Exception):
    """The file does not start with `[` (after whitespace and an optional BOM)."""


def iter_elements(f: BinaryIO, chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield the raw bytes of each top-level element; an empty element (trailing or double comma) yields b""."""
    buf = f.read(chunk)
    while len(buf) < 4 or not buf.removeprefix(b"\xef\xbb\xbf").strip():
        more = f.read(chunk)
        if not more:
            break
        buf += more
    buf = buf.removeprefix(b"\xef\xbb\xbf")
    pos = len(buf) - len(buf.lstrip())
    if buf[pos:pos + 1] != b"[":
        raise NotAnArray
    depth, in_str, escape_at, commas = 0, False, -2, 0
    elem = pos + 1  # start of the current element in buf
    while True:
        for m in TOKENS.finditer(buf, pos):
            i = m.start()
            if i == escape_at + 1:
                continue  # the byte after a backslash inside a string
            ch = buf[i]
            if in_str:
                if ch == 0x5C:  # backslash
                    escape_at = i
                elif ch == 0x22:  # quote
                    in_str = False
            elif ch == 0x22:
                in_str = True
            elif ch in b"[{":
                depth += 1
            elif ch in b"]}":
                depth -= 1
                if depth == 0:
                    item = buf[elem:i].strip()
                    if item or commas:
                        yield item
                    if (buf[i + 1:] + f.read()).strip():
                        yield TRAILING
                    return
            elif ch == 0x2C and depth == 1:  # comma
                yield buf[elem:i].strip()
                commas += 1
                elem = i + 1
        more = f.read(chunk)
        if not more:
            yield UNCLOSED
            return
        # keep the current element's bytes and rescan only what is new
        pos = len(buf) - elem
        escape_at -= elem
        buf = buf[elem:] + more
        elem = 0
