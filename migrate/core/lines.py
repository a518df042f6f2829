"""Byte-level line hygiene shared by every edit: line starts and endings, indentation, and
removals that take whole lines (and a doubled blank line) along."""

from __future__ import annotations

from pyo3_migrate.core.model import Edit

UTF8_BOM = b"\xef\xbb\xbf"


def line_ending(source: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in source else b"\n"


def line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def offset_of_line(source: bytes, line: int) -> int:
    """The byte offset where 1-based line `line` starts (the end of source past the last line)."""
    offset = 0
    for _ in range(line - 1):
        found = source.find(b"\n", offset)
        if found == -1:
            return len(source)
        offset = found + 1
    return offset


def indent_at(source: bytes, offset: int) -> bytes:
    start = line_start(source, offset)
    line = source[start:offset]
    return line[: len(line) - len(line.lstrip(b" \t"))]


def whole_lines(source: bytes, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole lines when nothing else shares them."""
    first = line_start(source, start)
    if first == 0 and source.startswith(UTF8_BOM):
        first = len(UTF8_BOM)  # the BOM is not part of the first line: it stays
    last = source.find(b"\n", end)
    last = len(source) if last == -1 else last + 1
    if source[first:start].strip() or source[end:last].strip():
        return start, end
    return first, last


def _is_blank_line_before(source: bytes, offset: int) -> bool:
    """Nothing but the file's start (or its BOM) or a blank line precedes offset (a line start)."""
    if source[:offset] in (b"", UTF8_BOM):
        return True
    previous = source.rfind(b"\n", 0, offset - 1)
    return not source[previous + 1 : offset].strip()


def absorb_blank_line(source: bytes, start: int, end: int) -> int:
    """When removing whole lines [start, end) would leave a blank line doubled (or opening the
    file), the end that takes the following blank line along. (Not for a removal that other
    edits insert after: their insertion point would fall inside it.)"""
    if start != line_start(source, start) or end == 0 or source[end - 1 : end] != b"\n":
        return end
    next_end = source.find(b"\n", end)
    if next_end == -1 or source[end:next_end].strip() or not _is_blank_line_before(source, start):
        return end
    return next_end + 1


def tidy_removals(source: bytes, edits: list[Edit]) -> list[Edit]:
    """Whole-line removals that would leave a blank line doubled take that blank line along,
    unless another edit starts where it is (an import added after a removed `use`, say)."""
    out = []
    for edit in edits:
        end = edit.end if edit.replacement else absorb_blank_line(source, edit.start, edit.end)
        if end != edit.end and not any(o is not edit and edit.end <= o.start <= end for o in edits):
            edit = Edit(edit.start, end, b"")
        out.append(edit)
    return out
