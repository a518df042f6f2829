"""Inline suppression: `// pyo3-migrate: ignore[codemod-id, ...]` (`#` in Python, TOML and YAML).

At the end of a line it covers that line; on a line of its own it covers the item that starts on
the next line (in Rust, the whole item: a `fn`, `struct`, `impl`, `static` with its attributes
and body; elsewhere, the next line). `ignore` with no list covers every codemod. A fix that
touches a covered line is dropped whole (a fix is an atomic group of edits: most codemods make
one per file, so an ignore may hold back more than its line), and so is a finding on one; both
are counted in the report.
"""

from __future__ import annotations

import re

from pyo3_migrate.core import syntax

_MARK = re.compile(rb"(?://|#)\s*pyo3-migrate:\s*ignore(?:\[([^\]]*)\])?")
ALL = "*"


def covered(source: bytes, path_suffix: str) -> dict[int, set[str]]:
    """1-based line -> codemod ids suppressed there (ALL for every one)."""
    if b"pyo3-migrate" not in source:
        return {}
    lines = source.split(b"\n")
    found: dict[int, set[str]] = {}
    for number, line in enumerate(lines, 1):
        match = _MARK.search(line)
        if match is None:
            continue
        ids = {i.strip().decode() for i in (match.group(1) or b"").split(b",") if i.strip()} or {ALL}
        if line[: match.start()].strip():
            span = (number, number)
        else:
            span = _item_after(source, number, path_suffix) or (number + 1, number + 1)
        for covered_line in range(span[0], span[1] + 1):
            found.setdefault(covered_line, set()).update(ids)
    return found


def _item_after(source: bytes, line: int, suffix: str) -> tuple[int, int] | None:
    """The lines of the Rust item that starts on the line after `line` (attributes included)."""
    if suffix != ".rs":
        return None
    text = source.split(b"\n")[line] if line < source.count(b"\n") + 1 else b""
    column = len(text) - len(text.lstrip())
    tree = syntax.parse(source)
    node = tree.root_node.named_descendant_for_point_range((line, column), (line, column))
    while node is not None and node.parent is not None and node.start_point[0] == line \
            and node.parent.start_point[0] == line:
        node = node.parent
    if node is None or node.start_point[0] != line:
        return None
    end = node.end_point[0]
    sibling = node.next_named_sibling  # attributes are siblings of the item they annotate
    while node.type == "attribute_item" and sibling is not None:
        end = sibling.end_point[0]
        if sibling.type != "attribute_item":
            break
        sibling = sibling.next_named_sibling
    return line + 1, end + 1


def suppressed(ids_at: dict[int, set[str]], codemod: str, lines: range | list[int]) -> bool:
    return any(codemod in ids_at.get(n, ()) or ALL in ids_at.get(n, ()) for n in lines)
