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
TRAILING_COMMA = b"\x00comma"  # sentinel: a comma after the last element (`[{...},]`): not an element
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


class _Lines:
    """File line and column of buffer positions, counted incrementally (positions asked for only grow)."""

    def __init__(self) -> None:
        self.line, self.start, self.counted = 1, 0, 0  # `start`: where the current line begins in buf

    def at(self, buf: bytes, i: int) -> tuple[int, int]:
        newlines = buf.count(b"\n", self.counted, i)
        if newlines:
            self.line += newlines
            self.start = buf.rfind(b"\n", self.counted, i) + 1
        self.counted = max(self.counted, i)
        return self.line, i - self.start + 1

    def shift(self, buf: bytes, by: int) -> None:
        """The buffer drops its first `by` bytes."""
        self.at(buf, by)
        self.counted -= by
        self.start -= by


def iter_elements(f: BinaryIO, chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield the raw bytes of each top-level element; an empty element (a doubled comma) yields b""."""
    return (raw for raw, _, _ in iter_located(f, chunk))


def _start(buf: bytes, elem: int, end: int) -> int:
    """Where the element in buf[elem:end] starts (its first byte that is not whitespace)."""
    item = buf[elem:end]
    return elem + len(item) - len(item.lstrip())


def _last(buf: bytes, elem: int, close: int, commas: int, comma: tuple[int, int], lines: _Lines,
          f: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """At the array's closing bracket: its last element (or the comma after the last one), and anything after it."""
    item = buf[elem:close].strip()
    if item:
        yield (item, *lines.at(buf, _start(buf, elem, close)))
    elif commas:
        yield (TRAILING_COMMA, *comma)
    rest = buf[close + 1:]
    if (rest + f.read()).strip():
        yield (TRAILING, *lines.at(buf, _start(buf, close + 1, len(buf)) if rest.strip() else close + 1))


def iter_located(f: BinaryIO, chunk: int = CHUNK) -> Iterator[tuple[bytes, int, int]]:
    """(raw bytes, file line, column) of each top-level element, where it starts (a sentinel: where the problem
    is); an empty element (a doubled comma) yields b"", a comma after the last one TRAILING_COMMA."""
    buf, pos = _opening(f, chunk)
    lines = _Lines()  # columns count bytes, from the first after a byte order mark
    depth, commas, comma = 0, 0, (1, 1)
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
                        yield from _last(buf, elem, i, commas, comma, lines, f)
                        return
                elif ch == COMMA and depth == 1:
                    item = buf[elem:i].strip()
                    yield (item, *lines.at(buf, _start(buf, elem, i)))
                    comma = lines.at(buf, i)
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
            yield (UNCLOSED, *lines.at(buf, len(buf)))
            return
        # keep the current element's bytes and scan on from where the last complete token ended
        pos -= elem
        lines.shift(buf, elem)
        buf = buf[elem:] + more
        elem = 0
