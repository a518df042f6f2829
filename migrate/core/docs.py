"""Rust examples in doc comments: found, read as the snippet they are, and edited back in place.

`cargo test` compiles the fenced code blocks of `///` and `//!` comments and of `#[doc = ".."]`
strings (doctests), so a migration
that leaves them on the old API leaves a crate whose tests do not build. A block is Rust when its
fence says nothing or only what rustdoc reads as Rust (`rust`, `no_run`, `should_panic`,
`compile_fail`, `ignore`, `edition2021`, ...). Its lines become a snippet: the comment marker and
the one space after it go, and a hidden line (`# use pyo3::prelude::*;`) loses its `# ` too, so
the snippet is the code rustdoc compiles. Edits to the snippet come back line by line: a changed
line keeps its own marker and hidden `# `, a new line takes its neighbour's, a removed line goes
whole. Nothing else of the comment changes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tree_sitter import Tree

from pyo3_migrate.core.lines import line_ending
from pyo3_migrate.core.model import Edit
from pyo3_migrate.core.syntax import tree_nodes

_RUST_FENCE_WORDS = {"rust", "no_run", "should_panic", "compile_fail", "ignore", "test_harness", "allow_fail",
                     "edition2015", "edition2018", "edition2021", "edition2024", ""}


@dataclass(frozen=True)
class SnippetLine:
    start: int  # where the line's code starts in the file (after the marker, the space, a hidden `# `)
    end: int  # where it ends (before the line break)
    prefix: bytes  # what precedes the code on its line: indentation, `///` or `//!`, space, hidden `# `


@dataclass(frozen=True)
class Snippet:
    lines: tuple[SnippetLine, ...]
    text: bytes  # the code, one line per line, joined with "\n"
    # what new code may not contain to go back in place (the quote that would end a `#[doc = ".."]`)
    forbidden: tuple[bytes, ...] = ()


def _is_rust_fence(info: bytes) -> bool:
    words = info.replace(b",", b" ").split()
    return all(w.decode(errors="replace").lower() in _RUST_FENCE_WORDS for w in words)


def _doc_lines(source: bytes, tree: Tree) -> list[list[tuple[int, int]]]:
    """Runs of consecutive `///` or `//!` lines: (offset of the line's text after the marker, end)."""
    runs: list[list[tuple[int, int]]] = []
    last_line = -2
    for node in tree_nodes(tree, ("line_comment",)):
        text = source[node.start_byte:node.end_byte]
        if not (text.startswith(b"///") and not text.startswith(b"////")) and not text.startswith(b"//!"):
            continue
        line = node.start_point[0]
        end = node.end_byte
        while end > node.start_byte and source[end - 1:end] in (b"\n", b"\r"):
            end -= 1  # the line comment may hold its line break
        item = (node.start_byte + 3, end)
        if line == last_line + 1 and runs:
            runs[-1].append(item)
        else:
            runs.append([item])
        last_line = line
    return runs


def snippets(source: bytes, tree: Tree) -> list[Snippet]:
    """The Rust code blocks of the file's doc comments."""
    if b"```" not in source:
        return []
    found = []
    for run in _doc_lines(source, tree):
        inside, lines = False, []
        for start, end in run:
            content_start = start + 1 if source[start:start + 1] == b" " else start
            content = source[content_start:end]
            stripped = content.lstrip()
            if stripped.startswith(b"```"):
                if inside:
                    if lines:
                        found.append(_snippet(source, lines))
                    inside, lines = False, []
                elif _is_rust_fence(stripped[3:].strip()):
                    inside, lines = True, []
                else:
                    inside, lines = None, []  # a block of another language: skip to its end
                continue
            if inside is None:
                continue
            if inside:
                if content.startswith(b"# ") or content == b"#":
                    content_start += min(2, len(content))
                line_start = source.rfind(b"\n", 0, start) + 1
                lines.append(SnippetLine(content_start, end, source[line_start:content_start]))
        # an unclosed fence is not a block rustdoc compiles: dropped
    return found + attribute_snippets(source, tree)


def markdown_snippets(source: bytes) -> list[Snippet]:
    """The ```` ```rust ```` blocks of a Markdown file (only labelled ones: a bare fence in Markdown
    is anyone's code), hidden `# ` lines read as code, as rustdoc does when the file is included."""
    if b"```" not in source:
        return []
    return _fenced(source, 0, len(source), bare_is_rust=False)


def _fenced(source: bytes, begin: int, finish: int, bare_is_rust: bool, forbidden: tuple[bytes, ...] = ()) -> list[Snippet]:
    """The Rust blocks fenced with ``` in source[begin:finish], read line by line."""
    found, inside, lines = [], False, []
    offset = begin
    for raw in source[begin:finish].splitlines(keepends=True):
        end = offset + len(raw.rstrip(b"\r\n"))
        content = source[offset:end]
        stripped = content.lstrip()
        indent = len(content) - len(stripped)
        if stripped.startswith(b"```"):
            if inside:
                if lines:
                    found.append(_snippet(source, lines, forbidden))
                inside, lines = False, []
            else:
                info = stripped[3:].strip()
                inside = (bare_is_rust or b"rust" in info.lower()) and _is_rust_fence(info)
                inside = inside or None  # a block of another language: skip to its end
        elif inside:
            start = offset + indent
            if stripped.startswith(b"# ") or stripped == b"#":
                start += min(2, len(stripped))
            line_start = source.rfind(b"\n", 0, offset) + 1
            lines.append(SnippetLine(start, end, source[line_start:start]))
        offset += len(raw)
    return found


def attribute_snippets(source: bytes, tree: Tree) -> list[Snippet]:
    """The Rust blocks of `#[doc = r#".."#]` and `#[doc = ".."]` strings whose bytes are their text
    (a string with a backslash escape is left alone: its lines are not the file's)."""
    found = []
    for item in tree_nodes(tree, ("attribute_item", "inner_attribute_item")):
        attribute = next((c for c in item.named_children if c.type == "attribute"), None)
        value = attribute.child_by_field_name("value") if attribute is not None else None
        path = attribute.named_children[0] if attribute is not None and attribute.named_children else None
        if value is None or path is None or source[path.start_byte:path.end_byte] != b"doc":
            continue
        text = source[value.start_byte:value.end_byte]
        if value.type == "raw_string_literal":
            opening = text[: text.index(b'"') + 1]
            hashes = opening.count(b"#")
            begin, finish = value.start_byte + len(opening), value.end_byte - 1 - hashes
            forbidden = (b'"' + b"#" * hashes,)
        elif value.type == "string_literal" and b"\\" not in text:
            begin, finish, forbidden = value.start_byte + 1, value.end_byte - 1, (b'"', b"\\")
        else:
            continue
        if b"```" in source[begin:finish]:
            found += _fenced(source, begin, finish, bare_is_rust=True, forbidden=forbidden)
    return found


def _snippet(source: bytes, lines: list[SnippetLine], forbidden: tuple[bytes, ...] = ()) -> Snippet:
    return Snippet(tuple(lines), b"\n".join(source[line.start:line.end] for line in lines), forbidden)


def edits_back(source: bytes, snippet: Snippet, new_text: bytes) -> list[Edit]:
    """The file edits that make the snippet read new_text, line by line."""
    old_lines = snippet.text.split(b"\n")
    new_lines = new_text.split(b"\n")
    eol = line_ending(source)
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        for k in range(paired):  # changed lines: only their code
            line = snippet.lines[i1 + k]
            edits.append(Edit(line.start, line.end, new_lines[j1 + k]))
        if j2 - j1 > paired:  # new lines after the last paired (or before the block's next line)
            anchor = snippet.lines[i1 + paired - 1] if i1 + paired > 0 else None
            added = new_lines[j1 + paired:j2]
            if anchor is not None:
                text = b"".join(eol + anchor.prefix + a for a in added)
                edits.append(Edit(anchor.end, anchor.end, text))
            else:
                first = snippet.lines[0]
                line_start = first.start - len(first.prefix)
                text = b"".join(first.prefix + a + eol for a in added)
                edits.append(Edit(line_start, line_start, text))
        for k in range(i1 + paired, i2):  # removed lines: the whole line, marker and break included
            line = snippet.lines[k]
            line_start = line.start - len(line.prefix)
            line_end = source.find(b"\n", line.end)
            edits.append(Edit(line_start, line_end + 1 if line_end != -1 else line.end, b""))
    return edits
