"""The values the core passes around: edits, fixes, findings and per-file results.

Offsets are UTF-8 byte offsets into the file as read (tree-sitter works in bytes).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class Safety(str, enum.Enum):
    SAFE = "safe"  # applied by default
    UNSAFE = "unsafe"  # applied only with --unsafe; listed otherwise
    DISPLAY_ONLY = "display-only"  # never applied, only shown


@dataclass(frozen=True, order=True)
class Edit:
    start: int
    end: int
    replacement: bytes

    def overlaps(self, other: "Edit") -> bool:
        if self.start == self.end == other.start == other.end:
            return True  # two insertions at one point: order would be ambiguous
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Fix:
    """An atomic group of edits in one file: applied all together or not at all."""

    codemod: str
    message: str
    edits: tuple[Edit, ...]
    safety: Safety = Safety.SAFE

    def overlaps(self, other: "Fix") -> bool:
        return any(a.overlaps(b) for a in self.edits for b in other.edits)


@dataclass(frozen=True)
class Finding:
    """Something a person must look at: no edit, a reason and a place."""

    codemod: str
    path: Path
    line: int
    column: int
    message: str

    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class FileResult:
    """What happened to one file across all codemods."""

    path: Path
    before: bytes
    after: bytes
    applied: list[Fix] = field(default_factory=list)
    held_back: list[Fix] = field(default_factory=list)  # unsafe fixes not asked for
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # edits a codemod dropped, with the reason
    input_error: str | None = None  # why the file could not be worked on at all (bad input)
    failures: list[str] = field(default_factory=list)  # a codemod that crashed on this file (a bug of ours)
    steps: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # (codemod, bytes before, after) per change

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def codemods(self) -> list[str]:
        return sorted({fix.codemod for fix in self.applied})

    def attribute(self, removed: list[bytes], added: list[bytes]) -> list[str]:
        """The codemods whose own steps removed or added any of these lines (for a diff hunk)."""
        found = []
        for codemod, before, after in self.steps:
            old, new = set(before.splitlines()), set(after.splitlines())
            mine_removed = old - new
            mine_added = new - old
            if any(line.rstrip(b"\r\n") in mine_removed for line in removed) or any(
                line.rstrip(b"\r\n") in mine_added for line in added
            ):
                if codemod not in found:
                    found.append(codemod)
        return found


def apply_edits(source: bytes, edits: list[Edit] | tuple[Edit, ...]) -> bytes:
    """Apply non-overlapping edits (any order) to source."""
    out = []
    pos = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < pos:
            raise ValueError(f"overlapping edits at byte {edit.start}")
        out.append(source[pos : edit.start])
        out.append(edit.replacement)
        pos = edit.end
    out.append(source[pos:])
    return b"".join(out)


def drop_contained(edits: list[Edit]) -> list[Edit]:
    """Sorted, distinct edits; one that starts inside an earlier one is dropped (a renamed
    mention inside a removed line loses to the removal)."""
    out: list[Edit] = []
    for edit in sorted(set(edits), key=lambda e: (e.start, e.end)):
        if out and edit.start < out[-1].end:
            continue
        out.append(edit)
    return out


def minimal_edit(before: bytes, after: bytes) -> Edit | None:
    """The one edit that turns before into after: common prefix and suffix kept as they are."""
    if before == after:
        return None
    start = 0
    limit = min(len(before), len(after))
    while start < limit and before[start] == after[start]:
        start += 1
    end_b, end_a = len(before), len(after)
    while end_b > start and end_a > start and before[end_b - 1] == after[end_a - 1]:
        end_b -= 1
        end_a -= 1
    return Edit(start, end_b, after[start:end_a])


def line_col(source: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line_start = source.rfind(b"\n", 0, offset) + 1
    line = source.count(b"\n", 0, offset) + 1
    column = len(source[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column
