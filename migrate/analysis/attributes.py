"""Outer attributes as PyO3 reads them: `#[pymodule(..)]`, `#[pyclass(..)]`, `#[derive(..)]`, also
inside `cfg_attr` branches, and where a new option goes in an attribute's argument list.

Attribute arguments are token trees to tree-sitter, so options are read token by token.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.core.model import Edit

_COMMENTS = ("line_comment", "block_comment")


@dataclass(frozen=True)
class AttrUse:
    """One attribute as written, or one attribute inside a `cfg_attr` branch."""

    path: tuple[str, ...]
    path_end: int  # byte offset right after the path
    args: Node | None  # its token tree, if any
    in_cfg_attr: bool = False


def attributes_before(item: Node) -> list[Node]:
    """The outer attribute items of item, in order (comments between them skipped)."""
    found = []
    sibling = item.prev_sibling
    while sibling is not None and sibling.type in ("attribute_item", *_COMMENTS):
        if sibling.type == "attribute_item":
            found.append(sibling)
        sibling = sibling.prev_sibling
    return list(reversed(found))


def path_of_tokens(source: bytes, tokens: list[Node]) -> tuple[str, ...]:
    """`pyo3 :: pyclass` as tokens -> ("pyo3", "pyclass")."""
    return tuple(s for s in (rust.text(source, t) for t in tokens if t.type != "::") if s)


def attr_uses(source: bytes, item: Node) -> list[AttrUse]:
    """The attributes of item (outer attributes before it), with `cfg_attr` branches unfolded."""
    uses: list[AttrUse] = []
    for attr_item in attributes_before(item):
        attr = next((c for c in attr_item.named_children if c.type == "attribute"), None)
        if attr is None or not attr.named_children:
            continue
        path_node = attr.named_children[0]
        args = attr.child_by_field_name("arguments")
        path = rust.path_segments(source, path_node)
        if path == ("cfg_attr",) and args is not None:
            for branch in split_top(args)[1:]:
                use = _branch_use(source, branch)
                if use is not None:
                    uses.append(use)
        else:
            uses.append(AttrUse(path, path_node.end_byte, args))
    return uses


def _branch_use(source: bytes, tokens: list[Node]) -> AttrUse | None:
    """`pyo3::pymodule(name = "x")` as tokens of a cfg_attr branch."""
    if not tokens:
        return None
    args = tokens[-1] if tokens[-1].type == "token_tree" else None
    path_tokens = tokens[:-1] if args is not None else tokens
    if not path_tokens or any(t.type not in ("identifier", "::") for t in path_tokens):
        return None
    return AttrUse(path_of_tokens(source, path_tokens), path_tokens[-1].end_byte, args, in_cfg_attr=True)


def split_top(tree: Node) -> list[list[Node]]:
    """A token tree's inner tokens, split at its top-level commas."""
    groups: list[list[Node]] = [[]]
    for child in tree.children[1:-1]:
        if child.type == ",":
            groups.append([])
        elif child.type not in _COMMENTS:
            groups[-1].append(child)
    return groups if groups != [[]] else []


def attribute_options(source: bytes, use: AttrUse) -> dict[str, Node | None]:
    """`name = "x", gil_used = false, submodule` -> {"name": <"x">, "gil_used": <false>, "submodule": None}."""
    out: dict[str, Node | None] = {}
    if use.args is None:
        return out
    for group in split_top(use.args):
        if group and group[0].type == "identifier":
            key = rust.text(source, group[0])
            value = group[2] if len(group) >= 3 and group[1].type == "=" else None
            out[key] = value
    return out


def derived(source: bytes, use: AttrUse) -> set[str]:
    """The trait names a `derive(..)` attribute lists (last path segment: `std::clone::Clone` -> Clone)."""
    if use.path != ("derive",) or use.args is None:
        return set()
    return {path_of_tokens(source, group)[-1] for group in split_top(use.args) if path_of_tokens(source, group)}


def indent_text(source: bytes, offset: int) -> str:
    return rust.indent_at(source, offset).decode()


def option_insertion(source: bytes, use: AttrUse, option: str) -> tuple[int, str]:
    """(offset, text) that writes `option` into this attribute's argument list (made when there is none).

    The list keeps its layout: one line per option stays so, a trailing comma stays last, and a
    comment inside the list keeps its place.
    """
    if use.args is None:
        return use.path_end, f"({option})"
    close = use.args.children[-1]
    inner = use.args.children[1:-1]
    tokens = [c for c in inner if c.type not in _COMMENTS]
    if not inner:
        return close.start_byte, option
    eol = rust.line_ending(source).decode()
    if not tokens:  # only comments inside: after them, with no comma in front
        last_comment = inner[-1]
        line_end = source.find(b"\n", last_comment.end_byte, close.start_byte)
        if last_comment.type == "line_comment" and line_end != -1:
            return line_end + 1, f"{indent_text(source, last_comment.start_byte)}{option},{eol}"
        return last_comment.end_byte, f" {option}"
    last = tokens[-1]
    if last.type != ",":
        return last.end_byte, f", {option}"
    line_end = source.find(b"\n", last.end_byte, close.start_byte)
    if line_end == -1:
        return last.end_byte, f" {option}"
    rest = source[last.end_byte : line_end].strip()
    if rest and not rest.startswith(b"//"):
        return last.end_byte, f" {option}"  # more on the comma's line: stay on it
    # one option per line: a line of its own, after the comment that ends the comma's line
    return line_end + 1, f"{indent_text(source, tokens[0].start_byte)}{option},{eol}"


_PYCLASSES: dict[bytes, frozenset[str]] = rust.run_cache()


def _pyclasses_of(source: bytes) -> frozenset[str]:
    """The `#[pyclass]` types one file defines (once per bytes: several codemods ask)."""
    if source not in _PYCLASSES:
        names = set()
        if b"pyclass" in source:
            for item in rust.tree_nodes(rust.parse(source), ("struct_item", "enum_item")):
                name = item.child_by_field_name("name")
                if name is not None and any("pyclass" in rust.text(source, a) for a in attributes_before(item)):
                    names.add(rust.text(source, name))
        _PYCLASSES[source] = frozenset(names)
    return _PYCLASSES[source]


def pyclass_names(snapshot) -> dict:
    """Crate manifest -> the names of its `#[pyclass]` types (a `downcast::<T>()` or `extract::<T>()`
    of one is PyO3's, and its extraction error is a borrow error, not a `PyErr`)."""
    return {crate.manifest: set().union(*(_pyclasses_of(snapshot.contents[p]) for p in snapshot.rust_files(crate)))
            for crate in snapshot.project.crates}


def option_removal(source: bytes, use: AttrUse, option: str) -> Edit | None:
    """The edit that takes a bare `option` out of this attribute's argument list, with the comma
    that separates it; the parentheses go with the last option."""
    if use.args is None:
        return None
    groups = [g for g in split_top(use.args) if g]  # a trailing comma leaves an empty group
    at = next((i for i, g in enumerate(groups) if len(g) == 1 and rust.text(source, g[0]) == option), None)
    if at is None:
        return None
    if len(groups) == 1:
        return Edit(use.args.start_byte, use.args.end_byte, b"")
    if at + 1 < len(groups):
        return Edit(groups[at][0].start_byte, groups[at + 1][0].start_byte, b"")
    return Edit(groups[at - 1][-1].end_byte, groups[at][0].end_byte, b"")
