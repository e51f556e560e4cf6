"""Stream the elements of a top-level JSON array without loading the file: memory stays flat in file size.

String literals are skipped with `bytes.find` (memchr speed, however long they are); only the few bytes between
them (brackets, braces, commas, whitespace) are looked at in Python, and each element's bytes are handed to
orjson whole. Every complete element is yielded; what is wrong with the array itself (a missing `]`, commas after
the last element, a second array after the first) is one sentinel, located where it is; `array_items` makes items
of them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, BinaryIO, Iterator

from ftdata.core.problems import Problem
from ftdata.io.readers import Item, decode


class Mark(bytes):
    """A sentinel, never an element's bytes (an element may hold any bytes, these too)."""


CHUNK = 1 << 20
TRAILING = Mark(b"\x00trailing")  # sentinel: only brackets or commas after the closing bracket (no data)
SECOND = Mark(b"\x00second")  # sentinel: a second array starts after the first's closing bracket; its elements follow
UNCLOSED = Mark(b"\x00unclosed")  # sentinel: the file ends inside the array, after its last complete element
TRAILING_COMMA = Mark(b"\x00comma")  # sentinel: comma(s) after the last element (`[{...},]`, `[{...},,]`): not elements
BACKSLASH, COMMA = 0x5C, 0x2C
OPEN, CLOSE, STRUCTURE = frozenset(b"[{"), frozenset(b"]}"), frozenset(b"[]{},")
Located = tuple[bytes, int, int]


class NotAnArray(Exception):
    """The file does not start with `[` (after whitespace and an optional BOM)."""


class Cut(bytes):
    """The bytes of the element the file ends inside (truncated); `end`: the file's last line and column."""

    end: tuple[int, int]


class After(bytes):
    """Content after the array's closing bracket that is more than brackets and commas: kept, it may be data."""


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


def _wide(seg: bytes) -> int:
    """How many more bytes than characters `seg` holds (UTF-8; an invalid byte counts as one character)."""
    return 0 if seg.isascii() else len(seg) - len(seg.decode("utf-8", "surrogateescape"))


class _Lines:
    """File line and character column of buffer positions, counted incrementally (positions asked for only grow):
    columns count characters, as editors do, from the first after a byte order mark."""

    def __init__(self) -> None:
        self.line, self.start, self.counted = 1, 0, 0  # `start`: where the current line begins in buf
        self.wide = 0  # bytes beyond the first of each character in buf[start:counted]

    def at(self, buf: bytes, i: int) -> tuple[int, int]:
        if i <= self.counted:
            return self.line, i - self.start + 1 - self.wide + _wide(buf[i:self.counted])
        newline = buf.rfind(b"\n", self.counted, i)
        if newline >= 0:
            self.line += buf.count(b"\n", self.counted, i)
            self.start, self.wide = newline + 1, _wide(buf[newline + 1:i])
        else:
            self.wide += _wide(buf[self.counted:i])
        self.counted = i
        return self.line, i - self.start + 1 - self.wide

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


class _Array:
    """The scan's state: the buffer, the current element, the commas since the last element."""

    def __init__(self, f: BinaryIO, chunk: int) -> None:
        self.f, self.chunk, self.lines = f, chunk, _Lines()
        self.buf, pos = _opening(f, chunk)
        self.elem = pos + 1  # start of the current element in buf
        self.run: tuple[int, int] | None = None  # where the commas after the last element begin
        self.empties: list[tuple[int, int]] = []  # doubled commas since the last element: empty elements, unless
        # the array ends after them (then they are part of the `run`)

    def element(self, end: int) -> list[Located]:
        """The element in buf[elem:end] after the empty ones before it; none when it is empty. (Lists, not
        generators: this runs once per element.)"""
        item = self.buf[self.elem:end].strip()
        if not item:
            return []
        found = [(b"", *at) for at in self.empties] if self.empties else []
        self.empties, self.run = [], None
        found.append((item, *self.lines.at(self.buf, _start(self.buf, self.elem, end))))
        return found

    def comma(self, i: int) -> list[Located]:
        """A comma between top-level elements at buf[i]."""
        found = self.element(i)
        here = self.lines.at(self.buf, i)
        if not found:
            self.empties.append(here)
        if self.run is None:
            self.run = here
        self.elem = i + 1
        return found

    def close(self, i: int) -> Iterator[Located]:
        """The closing bracket at buf[i]: the last element or the commas after it, then what follows the array."""
        yield from self.element(i)
        if self.run is not None:
            yield (TRAILING_COMMA, *self.run)
        self.empties, self.run = [], None
        j = i + 1
        while not self.buf[j:].strip():
            more = self.f.read(self.chunk)
            if not more:
                self.elem = -1  # the scan is over
                return
            self.buf += more
        nxt = _start(self.buf, j, len(self.buf))
        at = self.lines.at(self.buf, nxt)
        if self.buf[nxt] == ord("["):  # a second array: its elements are read on
            self.elem = nxt + 1
            yield (SECOND, *at)
            return
        rest = (self.buf[nxt:] + self.f.read()).rstrip()
        self.elem = -1  # the scan is over
        yield (TRAILING if not rest.translate(None, b"]},\t\n\r ") else After(rest), *at)

    def end(self, truncated: bool) -> Iterator[Located]:
        """The file ends inside the array: its last element, whole or cut, and the missing bracket."""
        at_end = self.lines.at(self.buf, len(self.buf))
        if truncated:
            cut = Cut(self.buf[self.elem:].strip())
            cut.end = at_end
            yield from ((b"", *at) for at in self.empties)
            yield (cut, *self.lines.at(self.buf, _start(self.buf, self.elem, len(self.buf))))
            return
        yield from self.element(len(self.buf))
        yield (UNCLOSED, *at_end)

    def refill(self, pos: int) -> tuple[bool, int]:
        """Read on, keeping the current element's bytes: (whether there was more, the scan's position after)."""
        more = self.f.read(self.chunk)
        if not more:
            return False, pos
        self.lines.shift(self.buf, self.elem)
        self.buf, pos, self.elem = self.buf[self.elem:] + more, pos - self.elem, 0
        return True, pos


def iter_located(f: BinaryIO, chunk: int = CHUNK) -> Iterator[Located]:
    """(raw bytes, file line, character column) of each top-level element, where it starts (a sentinel: where the
    problem is); an empty element (a doubled comma) yields b"", the file ending inside an element a `Cut`."""
    a = _Array(f, chunk)
    depth, pos = 0, a.elem - 1
    while True:
        while True:
            buf = a.buf
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
                        yield from a.close(i)
                        if a.elem < 0:
                            return
                        depth, pos = 1, a.elem
                        break
                elif ch == COMMA and depth == 1:
                    yield from a.comma(i)
            else:
                if quote < 0:
                    pos = len(buf)
                    break
                end = _string_end(buf, quote)
                if end < 0:  # the string goes on past this buffer: scan it again with more bytes
                    pos = quote
                    break
                pos = end
        more, pos = a.refill(pos)
        if not more:
            yield from a.end(depth > 1 or pos < len(a.buf))
            return


ARRAY_PROBLEMS = {  # what is wrong with the array itself: one problem of the file each, no record
    TRAILING_COMMA: "a comma after the last element at line {line} column {column}; remove it (JSON allows none)",
    TRAILING: "content after the closing ']' of the array, at line {line} column {column}; remove it",
    SECOND: "a second array starts at line {line} column {column}, after the first one's closing ']'; its elements "
            "were read too; join the arrays into one",
    UNCLOSED: "the file ends inside the array (truncated?) at line {line} column {column}; the elements before were "
              "read",
}
EMPTY = "empty element: a doubled comma at line {line} column {column}; remove it"
CUT = ("the file ends inside this element at line {line} column {column} (truncated?); the elements before were "
       "read")
AFTER = ("content after the closing ']' of the array, at line {line} column {column}; move it into the array or "
         "remove it")
ORJSON_AT = re.compile(r"line (\d+) column (\d+) \(char \d+\)")


def _in_file(problem: Problem, line: int, column: int) -> Problem:
    """orjson's position inside an element (line 1 = the element's first line) as the file's line and column."""
    def move(m: re.Match[str]) -> str:
        row, col = int(m[1]), int(m[2])
        return f"line {line + row - 1} column {col + column - 1 if row == 1 else col}"

    return replace(problem, message=ORJSON_AT.sub(move, problem.message).replace("fix or remove this line",
                                                                               "fix or remove this element"))


def array_items(f: BinaryIO, file_level: list[Problem]) -> Iterator[Item]:
    """The items of a JSON array file; what is wrong with the array itself goes to `file_level` (no record).
    NotAnArray when the file is no array."""
    index = 0
    for raw, line, column in iter_located(f):
        if isinstance(raw, Mark):
            message = ARRAY_PROBLEMS[raw].format(line=line, column=column)
            file_level.append(Problem(None, line, "", "invalid_json", message, column))
            continue
        yield _element(index, raw, line, column)
        index += 1


def _element(index: int, raw: bytes, line: int, column: int) -> Item:
    """An array element as an item: decoded, or a located problem that keeps the element's text."""
    if not raw:
        message = EMPTY.format(line=line, column=column)
        return Item(index, line, Problem(None, None, "", "invalid_json", message), column=column)
    if isinstance(raw, (Cut, After)):
        end_line, end_column = raw.end if isinstance(raw, Cut) else (line, column)
        message = (CUT if isinstance(raw, Cut) else AFTER).format(line=end_line, column=end_column)
        value: Any = Problem(None, None, "", "invalid_json", message)
    else:
        value = decode(raw)
        if isinstance(value, Problem):
            value = _in_file(value, line, column)
    text = raw.decode("utf-8", "backslashreplace") if isinstance(value, Problem) else None
    return Item(index, line, value, text, column)
