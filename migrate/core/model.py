"""The values the core passes around: edits, fixes, findings and per-file results.

Offsets are UTF-8 byte offsets into the file as read (tree-sitter works in bytes).
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from pyo3_migrate.core.version import Version


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
    guide: str = ""  # the section of PyO3's migration guide its codemod follows (for reports)

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
    removed_in: Version | None = None  # the PyO3 release that no longer has what was kept here

    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class FileResult:
    """What happened to one file across all codemods."""

    path: Path
    before: bytes
    after: bytes
    suppressed: set = field(default_factory=set)  # (codemod, line, message) dropped by an inline `ignore`
    applied: list[Fix] = field(default_factory=list)
    held_back: list[Fix] = field(default_factory=list)  # unsafe fixes not asked for
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # edits a codemod dropped, with the reason
    input_error: str | None = None  # why the file could not be worked on at all (bad input)
    failures: list[str] = field(default_factory=list)  # a codemod that crashed on this file (a bug of ours)
    steps: list["Step"] = field(default_factory=list)  # one per codemod that changed the file, in order
    _spans: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def codemods(self) -> list[str]:
        return sorted({fix.codemod for fix in self.applied})

    def attribute(self, removed: list[bytes], added: list[bytes]) -> list[str]:
        """The codemods whose own steps removed or added any of these lines (for a diff hunk)."""
        found = []
        for step in self.steps:
            mine_removed, mine_added = step.line_changes()
            if any(line.rstrip(b"\r\n") in mine_removed for line in removed) or any(
                line.rstrip(b"\r\n") in mine_added for line in added
            ):
                if step.codemod not in found:
                    found.append(step.codemod)
        return found

    def changed_spans(self) -> list[tuple[int, int, int, int]] | None:
        """Where the file changed, as (start, end) byte spans of `before` and of `after` that
        cover every edit of every step, widened to whole lines; outside them the two are the
        same bytes. None when the steps do not account for the change (then diff whole files).
        Computed once for the bytes it is asked about."""
        key = (self.before, self.after, len(self.steps))
        if self._spans is None or self._spans[0] != key:
            self._spans = (key, self._changed_spans())
        return self._spans[1]

    def _changed_spans(self) -> list[tuple[int, int, int, int]] | None:
        spans: list[tuple[int, int]] = []
        shifts = [_Shifts.of(step.edits) for step in self.steps]
        for index, step in enumerate(self.steps):
            for edit in step.edits:
                start, end = edit.start, edit.end
                for earlier in reversed(shifts[:index]):
                    start, end = earlier.back(start, end)
                spans.append((start, end))
        if not spans:
            return None
        merged = _merge_lines(self.before, spans)
        out = []
        for start, end in merged:
            new_start, new_end = start, end
            for step_shifts in shifts:
                new_start, new_end = step_shifts.forward(new_start, new_end)
            out.append((start, end, new_start, new_end))
        if apply_edits(self.before, [Edit(a, b, self.after[c:d]) for a, b, c, d in out]) != self.after:
            return None
        if not all(_at_line_start(self.after, c) and _at_line_start(self.after, d) for _, _, c, d in out):
            return None
        return out


@dataclass
class Step:
    """One codemod's change to a file: the bytes before and after, and the edits between them."""

    codemod: str
    before: bytes
    after: bytes
    edits: tuple[Edit, ...]
    _lines: tuple[set[bytes], set[bytes]] | None = None

    def line_changes(self) -> tuple[set[bytes], set[bytes]]:
        """(lines only before, lines only after) this step, computed once."""
        if self._lines is None:
            old, new = set(self.before.splitlines()), set(self.after.splitlines())
            self._lines = (old - new, new - old)
        return self._lines


@dataclass(frozen=True)
class _Shifts:
    """One step's edits, sorted, with where each lands in the output: positions map across the
    step by bisection (the cost of a diff follows its edits, not their product)."""

    edits: list[Edit]
    starts: list[int]  # each edit's start in the input
    ends: list[int]  # ... its end
    out_starts: list[int]  # each edit's start in the output
    out_ends: list[int]  # ... its end
    before: list[int]  # the total shift of the edits before it
    total: int

    @classmethod
    def of(cls, edits: tuple[Edit, ...]) -> "_Shifts":
        ordered = sorted(edits)
        shift, before, out_starts, out_ends = 0, [], [], []
        for edit in ordered:
            before.append(shift)
            out_starts.append(edit.start + shift)
            out_ends.append(edit.start + shift + len(edit.replacement))
            shift += len(edit.replacement) - (edit.end - edit.start)
        return cls(ordered, [e.start for e in ordered], [e.end for e in ordered], out_starts, out_ends, before, shift)

    def back(self, start: int, end: int) -> tuple[int, int]:
        """A span of the output -> the span of the input it came from (a span that touches an
        edit's output takes in that edit's whole input)."""
        return self._back(start, lambda e: e.start), self._back(end, lambda e: e.end)

    def _back(self, at: int, edge) -> int:
        i = bisect_left(self.out_ends, at)  # the first edit whose output does not end before `at`
        if i == len(self.edits):
            return at - self.total
        return at - self.before[i] if at < self.out_starts[i] else edge(self.edits[i])

    def forward(self, start: int, end: int) -> tuple[int, int]:
        """A span of the input that holds every edit it touches -> the same span in the output."""
        i = bisect_left(self.starts, start)  # the first edit at or after the span's start
        j = bisect_right(self.ends, end)  # the first edit that ends past the span's end
        return (start + (self.before[i] if i < len(self.edits) else self.total),
                end + (self.before[j] if j < len(self.edits) else self.total))


def _at_line_start(data: bytes, offset: int) -> bool:
    return offset in (0, len(data)) or data[offset - 1 : offset] == b"\n"


def _merge_lines(data: bytes, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans widened to whole lines (with the line after an insertion at a line start), merged
    where they touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", max(end - 1, start) if end > start else end)
        end = len(data) if line_end == -1 else line_end + 1
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


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
