"""Unified diffs of bytes, in the form `git apply` accepts (a/ b/ headers, no-newline markers)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Callable

NO_NEWLINE = b"\\ No newline at end of file\n"


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _emit(prefix: bytes, line: bytes) -> bytes:
    if line.endswith(b"\n"):
        return prefix + line
    return prefix + line + b"\n" + NO_NEWLINE


def _range(start: int, length: int) -> str:
    # the unified format's "start,length"; an empty range names the line before it
    if length == 1:
        return f"{start + 1}"
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"


Spans = list[tuple[int, int, int, int]]  # (start, end) in before, (start, end) in after: whole lines

# Unchanged lines matched on each side of a changed span: enough for difflib to align a change
# as it would over the whole file (so small files get the same diff either way).
SPAN_MARGIN = 20


def _matcher(before: bytes, after: bytes, spans: Spans | None) -> tuple[list[bytes], list[bytes], difflib.SequenceMatcher]:
    """A line matcher whose opcodes come from difflib run on the changed spans only (with the
    lines between them equal), so its cost follows the change, not the file; whole files when
    the spans are not known."""
    a, b = _lines(before), _lines(after)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if spans is None:
        return a, b, matcher
    blocks: list[list[int]] = []  # [i1, i2, j1, j2]: line ranges of a and b to match
    i = j = 0  # lines of a and b before the next span
    a_pos = b_pos = 0  # their byte offsets
    for a_start, a_end, b_start, b_end in spans:
        i1 = i + before.count(b"\n", a_pos, a_start)
        j1 = j + after.count(b"\n", b_pos, b_start)
        i2 = i1 + len(_lines(before[a_start:a_end]))
        j2 = j1 + len(_lines(after[b_start:b_end]))
        pad = min(SPAN_MARGIN, i1 - (blocks[-1][1] if blocks else 0))
        pad_end = min(SPAN_MARGIN, len(a) - i2)
        block = [i1 - pad, i2 + pad_end, j1 - pad, j2 + pad_end]
        if blocks and block[0] <= blocks[-1][1]:
            blocks[-1][1], blocks[-1][3] = block[1], block[3]
        else:
            blocks.append(block)
        i, j, a_pos, b_pos = i2, j2, a_end, b_end
    opcodes: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    for i1, i2, j1, j2 in blocks:
        _append(opcodes, ("equal", i, i1, j, j1))
        inner = difflib.SequenceMatcher(None, a[i1:i2], b[j1:j2], autojunk=False)
        for tag, x1, x2, y1, y2 in inner.get_opcodes():
            _append(opcodes, (tag, i1 + x1, i1 + x2, j1 + y1, j1 + y2))
        i, j = i2, j2
    _append(opcodes, ("equal", i, len(a), j, len(b)))
    matcher.opcodes = opcodes or [("equal", 0, 0, 0, 0)]  # get_opcodes() returns these as they are
    return a, b, matcher


def _append(opcodes: list, opcode: tuple[str, int, int, int, int]) -> None:
    tag, i1, i2, j1, j2 = opcode
    if i1 == i2 and j1 == j2:
        return
    if tag == "equal" and opcodes and opcodes[-1][0] == "equal":
        previous = opcodes.pop()
        opcode = ("equal", previous[1], i2, previous[3], j2)
    opcodes.append(opcode)


def unified_diff(
    path: Path,
    before: bytes,
    after: bytes,
    context: int = 3,
    label: Callable[[list[bytes], list[bytes]], str] | None = None,
    spans: Spans | None = None,
) -> bytes:
    """A git-style unified diff of one file, empty when nothing changed.

    `label(removed, added)` may name each hunk: its text goes after the hunk header's closing
    `@@`, where git puts a function name and `git apply` reads nothing. `spans` (from
    `FileResult.changed_spans`) limit the line matching to where the file changed.
    """
    if before == after:
        return b""
    a, b, matcher = _matcher(before, after, spans)
    posix = path.as_posix()
    out = [f"diff --git a/{posix} b/{posix}\n".encode(), f"--- a/{posix}\n".encode(), f"+++ b/{posix}\n".encode()]
    for group in matcher.get_grouped_opcodes(context):
        a_start, a_end = group[0][1], group[-1][2]
        b_start, b_end = group[0][3], group[-1][4]
        header = f"@@ -{_range(a_start, a_end - a_start)} +{_range(b_start, b_end - b_start)} @@"
        if label is not None:
            removed = [line for tag, i1, i2, _, _ in group if tag != "equal" for line in a[i1:i2]]
            added = [line for tag, _, _, j1, j2 in group if tag != "equal" for line in b[j1:j2]]
            name = label(removed, added)
            header += f" {name}" if name else ""
        out.append(header.encode() + b"\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(_emit(b" ", line) for line in a[i1:i2])
                continue
            out.extend(_emit(b"-", line) for line in a[i1:i2])
            out.extend(_emit(b"+", line) for line in b[j1:j2])
    return b"".join(out)


def map_line(before: bytes, after: bytes, line: int, spans: Spans | None = None) -> int:
    """The 1-based line of `before` that line `line` of `after` stands for (findings are made on
    the migrated bytes; a dry run must point into the file as it still is on disk)."""
    if before == after:
        return line
    index = line - 1
    _a, _b, matcher = _matcher(before, after, spans)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if j1 <= index < j2 or (j1 == j2 == index):
            offset = index - j1
            return i1 + (offset if tag == "equal" else min(offset, max(i2 - i1 - 1, 0))) + 1
    return min(line, len(_lines(before)) or 1)
