"""Stream the elements of a top-level JSON array without loading the file: memory stays flat in file size.

String literals are skipped with `bytes.find` (memchr speed, however long they are); only the few bytes between
them (brackets, braces, commas, whitespace) are looked at in Python, and each element's bytes are handed to
orjson whole.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

CHUNK = 1 << 20
TRAILING = b"\x00trailing"  # sentinel: content after the closing bracket
UNCLOSED = b"\x00unclosed"  # sentinel: the file ends inside the array
BACKSLASH, COMMA = 0x5C, 0x2C
OPEN, CLOSE, STRUCTURE = frozenset(b"[{"), frozenset(b"]}"), frozenset(b"[]{},")


class NotAnArray(Exception):
    """The file does not start with `[` (after whitespace and an optional BOM)."""


def _string_end(buf: bytes, start: int) -> int:
    """Index just past the string literal opening at `start`, or -1 when it does not close within `buf`."""
    end = start
    while (end := buf.find(b'"', end + 1)) >= 0:
        before = end - 1
        while buf[before] == BACKSLASH:
            before -= 1
        if (end - 1 - before) % 2 == 0:  # an even run of backslashes: this quote is not escaped
            return end + 1
    return -1


def _opening(f: BinaryIO, chunk: int) -> tuple[bytes, int]:
    """The first bytes of the file (a byte order mark dropped) and where its '[' is; NotAnArray when it has none."""
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
    return buf, pos


def iter_elements(f: BinaryIO, chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield the raw bytes of each top-level element; an empty element (trailing or double comma) yields b""."""
    buf, pos = _opening(f, chunk)
    depth, commas = 0, 0
    elem = pos + 1  # start of the current element in buf
    while True:
        while True:
            quote = buf.find(b'"', pos)
            for i in range(pos, quote if quote >= 0 else len(buf)):  # between strings: structure and whitespace
                ch = buf[i]
                if ch not in STRUCTURE:
                    continue
                if ch in OPEN:
                    depth += 1
                elif ch in CLOSE:
                    depth -= 1
                    if depth == 0:
                        item = buf[elem:i].strip()
                        if item or commas:
                            yield item
                        if (buf[i + 1:] + f.read()).strip():
                            yield TRAILING
                        return
                elif ch == COMMA and depth == 1:
                    yield buf[elem:i].strip()
                    commas += 1
                    elem = i + 1
            if quote < 0:
                pos = len(buf)
                break
            end = _string_end(buf, quote)
            if end < 0:  # the string goes on past this buffer: scan it again with more bytes
                pos = quote
                break
            pos = end
        more = f.read(chunk)
        if not more:
            yield UNCLOSED
            return
        # keep the current element's bytes and scan on from where the last complete token ended
        pos -= elem
        buf = buf[elem:] + more
        elem = 0
