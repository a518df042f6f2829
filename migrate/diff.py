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


def unified_diff(
    path: Path, before: bytes, after: bytes, context: int = 3, label: Callable[[list[bytes], list[bytes]], str] | None = None
) -> bytes:
    """A git-style unified diff of one file, empty when nothing changed.

    `label(removed, added)` may name each hunk: its text goes after the hunk header's closing
    `@@`, where git puts a function name and `git apply` reads nothing.
    """
    if before == after:
        return b""
    a, b = _lines(before), _lines(after)
    posix = path.as_posix()
    out = [f"diff --git a/{posix} b/{posix}\n".encode(), f"--- a/{posix}\n".encode(), f"+++ b/{posix}\n".encode()]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
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


def map_line(before: bytes, after: bytes, line: int) -> int:
    """The 1-based line of `before` that line `line` of `after` stands for (findings are made on
    the migrated bytes; a dry run must point into the file as it still is on disk)."""
    if before == after:
        return line
    index = line - 1
    matcher = difflib.SequenceMatcher(None, _lines(before), _lines(after), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if j1 <= index < j2 or (j1 == j2 == index):
            offset = index - j1
            return i1 + (offset if tag == "equal" else min(offset, max(i2 - i1 - 1, 0))) + 1
    return min(line, len(_lines(before)) or 1)
