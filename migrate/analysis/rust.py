"""Rust syntax helpers: scopes, macros, `use` trees, per-file name lookup and `use` editing.

Everything here works on bytes and returns values; nothing touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tree_sitter import Node, Tree

# The core's syntax and line helpers, re-exported: codemods read all of Rust through `rust.`.
from pyo3_migrate.core.lines import (  # noqa: F401
    UTF8_BOM,
    absorb_blank_line,
    indent_at,
    line_ending,
    line_start,
    tidy_removals,
    whole_lines,
)
from pyo3_migrate.core.model import Edit
from pyo3_migrate.core.syntax import (  # noqa: F401
    RUST,
    clear_caches,
    error_count,
    first_error,
    nodes_of_kinds,
    tree_nodes,
    parse,
    parsed_files,
    run_cache,
    syntax_error,
    text,
    walk,
    words,
)

# Nodes whose `use` declarations are visible to the nodes inside them.
_BLOCK_SCOPES = {"block"}
_MODULE_SCOPES = {"source_file", "declaration_list"}  # declaration_list only when it is a mod body
_DEFINITIONS = {"struct_item", "enum_item", "type_item", "union_item", "trait_item"}
_INDEXED_KINDS = ("use_declaration", *sorted(_DEFINITIONS))


_MACROS = ("macro_invocation", "macro_definition")


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


# Nodes whose children are raw tokens of a macro (`$( .. )*` repetitions included): no expressions.
TOKEN_GROUPS = ("token_tree", "token_tree_pattern", "token_repetition", "token_repetition_pattern")


# What tree-sitter-rust puts inside a macro's token trees: token groups and single tokens. Any
# other named node (an expression, a statement, an item, a type) is parsed syntax, so it is not
# inside a macro's tokens, and `in_macro` answers for it without walking up the tree.
_TOKEN_KINDS = frozenset({
    "token_tree", "token_tree_pattern", "token_repetition", "token_repetition_pattern", "token_binding_pattern",
    "metavariable", "fragment_specifier", "identifier", "self", "super", "crate", "mutable_specifier",
    "primitive_type", "lifetime", "label", "boolean_literal", "char_literal", "float_literal", "integer_literal",
    "string_literal", "raw_string_literal", "string_content", "escape_sequence", "line_comment", "block_comment",
    "doc_comment", "inner_doc_comment_marker", "outer_doc_comment_marker",
})


def in_macro(node: Node) -> Node | None:
    """The macro invocation or macro_rules! definition node is inside, if any (the node itself
    excluded: a `macro_invocation` is not inside itself)."""
    if node.is_named and node.type not in _TOKEN_KINDS and node.type not in _MACROS:
        return None
    for a in ancestors(node):
        if a.type in _MACROS:
            return a
    return None


def in_use_declaration(node: Node) -> bool:
    return any(a.type == "use_declaration" for a in ancestors(node))


def as_words(spellings) -> frozenset[bytes]:
    """Names as the byte words `spelled` looks for (a frozenset is taken as already made: callers
    that look in many files make it once)."""
    if isinstance(spellings, frozenset):
        return spellings
    return frozenset(w.encode() if isinstance(w, str) else w for w in spellings)


def spelled(source: bytes, root: Node, spellings) -> list[Node]:
    """The nodes under root that spell one of `spellings` exactly, in source order: found by a byte
    search, then the node there, so the cost follows the mentions, not the file. (A word inside a
    longer name, a string or a comment yields nothing.)"""
    found = []
    present = words(source)  # a name is a whole word: only the ones the file has are looked for
    for word in as_words(spellings) & present:
        at = source.find(word, root.start_byte, root.end_byte)
        while at != -1:
            end = at + len(word)
            node = root.descendant_for_byte_range(at, end)
            if node is not None and node.start_byte == at and node.end_byte == end and node.parent is not None:
                found.append(node)
            at = source.find(word, end, root.end_byte)
    return sorted(found, key=lambda n: (n.start_byte, -n.end_byte))


def in_source_order(nodes) -> list[Node]:
    """Distinct nodes in source order (an outer node before the inner ones that start with it)."""
    unique = {(n.start_byte, -n.end_byte, n.type): n for n in nodes}
    return [unique[key] for key in sorted(unique)]


def is_child(parent: Node, field_name: str, node: Node) -> bool:
    child = parent.child_by_field_name(field_name)
    return child is not None and child.id == node.id


def path_segments(source: bytes, node: Node) -> tuple[str, ...]:
    """`::pyo3 :: sync::X` -> ("pyo3", "sync", "X")."""
    return tuple(filter(None, map(str.strip, text(source, node).split("::"))))


def is_module_scope(node: Node) -> bool:
    if node.type == "source_file":
        return True
    return node.type == "declaration_list" and node.parent is not None and node.parent.type == "mod_item"


def is_scope(node: Node) -> bool:
    return node.type in _BLOCK_SCOPES or is_module_scope(node)


def scope_of(node: Node) -> Node:
    for a in ancestors(node):
        if is_scope(a):
            return a
    raise ValueError("node outside any scope")


def module_scope(node: Node) -> Node:
    """The module (file or `mod { .. }` body) that holds node."""
    for a in ancestors(node):
        if is_module_scope(a):
            return a
    raise ValueError("node outside a module")


def inner_anchor(scope: Node) -> Node:
    """A node inside scope: name resolution starts from a node's ancestors, so this sees scope's imports."""
    return scope.named_children[0] if scope.named_children else scope


def place(path: Path, source: bytes, node: Node) -> str:
    """`path:line` of node, for a finding's message that points at another place."""
    line = source.count(b"\n", 0, node.start_byte) + 1
    return f"{path.as_posix()}:{line}"


# ---------------------------------------------------------------------------------------- use trees


@dataclass(frozen=True)
class UseLeaf:
    """One imported name of a `use` declaration, e.g. `GILOnceCell as Cell` in a group."""

    path: tuple[str, ...]  # full path; a glob ends with "*"
    alias: str | None
    node: Node  # the leaf inside the use tree (identifier, scoped_identifier, use_as_clause, use_wildcard)
    name_node: Node | None  # the identifier holding the last path segment (None for a glob)
    declaration: Node  # the use_declaration

    @property
    def local_name(self) -> str:
        return self.alias or self.path[-1]

    @property
    def is_glob(self) -> bool:
        return self.path[-1] == "*"

    @property
    def public(self) -> bool:
        """A `pub use` (exactly `pub`): part of the crate's API, never removed or retargeted."""
        return any(c.type == "visibility_modifier" and c.text == b"pub" for c in self.declaration.children)

    @property
    def scope(self) -> Node:
        return self.declaration.parent

    @property
    def standalone(self) -> bool:
        """The leaf is the whole argument of its declaration (`use a::b::C;`)."""
        return self.node.parent is not None and self.node.parent.id == self.declaration.id


def _last_identifier(node: Node) -> Node:
    if node.type in ("scoped_identifier", "scoped_type_identifier"):
        return node.child_by_field_name("name")
    return node


def _expand(source: bytes, node: Node, prefix: tuple[str, ...], decl: Node) -> Iterator[UseLeaf]:
    kind = node.type
    if kind in ("identifier", "scoped_identifier", "crate", "self", "super", "metavariable"):
        segs = path_segments(source, node)
        if segs == ("self",) and prefix:
            yield UseLeaf(prefix, None, node, None, decl)  # `use a::b::{self}` imports b
        else:
            yield UseLeaf(prefix + segs, None, node, _last_identifier(node), decl)
    elif kind == "use_as_clause":
        path = node.child_by_field_name("path")
        alias = node.child_by_field_name("alias")
        yield UseLeaf(prefix + path_segments(source, path), text(source, alias), node, _last_identifier(path), decl)
    elif kind == "use_wildcard":
        inner = [c for c in node.named_children]
        segs = path_segments(source, inner[0]) if inner else ()
        yield UseLeaf(prefix + segs + ("*",), None, node, None, decl)
    elif kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        lst = node.child_by_field_name("list")
        segs = path_segments(source, path) if path is not None else ()
        yield from _expand(source, lst, prefix + segs, decl)
    elif kind == "use_list":
        for child in node.named_children:
            if child.type not in ("line_comment", "block_comment"):
                yield from _expand(source, child, prefix, decl)


def use_leaves(source: bytes, declaration: Node) -> list[UseLeaf]:
    arg = declaration.child_by_field_name("argument")
    return list(_expand(source, arg, (), declaration)) if arg is not None else []


_FILE_INDEXES: dict[bytes, "FileIndex"] = run_cache()


@dataclass
class FileIndex:
    """The `use` leaves and local type definitions of one file, by scope, for name resolution."""

    source: bytes
    tree: Tree
    uses: dict[int, list[UseLeaf]]  # scope node id -> leaves declared directly in that scope
    definitions: dict[int, set[str]]  # module scope node id -> names of types defined there
    items: list[Node]  # every struct/enum/union/trait/type item, in any scope, in source order

    @classmethod
    def build(cls, source: bytes) -> "FileIndex":
        """The index of source (one per distinct bytes in a run, on its cached tree)."""
        index = _FILE_INDEXES.get(source)
        if index is None:
            index = _FILE_INDEXES[source] = cls._build(source, parse(source))
        return index

    @classmethod
    def _build(cls, source: bytes, tree: Tree) -> "FileIndex":
        uses: dict[int, list[UseLeaf]] = {}
        definitions: dict[int, set[str]] = {}
        items: list[Node] = []
        for node in tree_nodes(tree, _INDEXED_KINDS):
            if node.type == "use_declaration":
                if node.parent is not None and is_scope(node.parent):
                    uses.setdefault(node.parent.id, []).extend(use_leaves(source, node))
                continue
            items.append(node)
            if node.parent is not None and is_module_scope(node.parent):
                name = node.child_by_field_name("name")
                if name is not None:
                    definitions.setdefault(node.parent.id, set()).add(text(source, name))
        return cls(source, tree, uses, definitions, items)

    def all_leaves(self) -> Iterator[UseLeaf]:
        for leaves in self.uses.values():
            yield from leaves

    def resolve(self, node: Node, name: str, glob_provides) -> tuple[str, ...] | None:
        """The full path `name` refers to at `node`, or None when nothing in this file says.

        One file only: `migrate.names.CrateNames` follows imports into other files.

        Paths of the crate's own items start with "crate". `glob_provides(prefix, name)` tells
        whether a glob import of `prefix` brings `name` in (we only know PyO3's modules).
        """
        for scope in [a for a in ancestors(node) if is_scope(a)]:
            leaves = self.uses.get(scope.id, [])
            for leaf in leaves:
                if not leaf.is_glob and leaf.local_name == name:
                    return leaf.path
            if is_module_scope(scope) and name in self.definitions.get(scope.id, set()):
                return ("crate", "<local>", name)
            for leaf in leaves:
                if leaf.is_glob and glob_provides(leaf.path[:-1], name):
                    return leaf.path[:-1] + (name,)
            if is_module_scope(scope):
                # `use super::*` sees the parent module's names (imports included); a module
                # in a file of its own resolves in another file, which the caller handles.
                if not any(leaf.is_glob and leaf.path[:-1] in (("super",), ("crate",)) for leaf in leaves):
                    return None
        return None

    def leaf_for(self, node: Node, name: str) -> UseLeaf | None:
        """The explicit (non-glob) use leaf that brings `name` into scope at node."""
        for scope in [a for a in ancestors(node) if is_scope(a)]:
            for leaf in self.uses.get(scope.id, []):
                if not leaf.is_glob and leaf.local_name == name:
                    return leaf
            if is_module_scope(scope):
                return None
        return None

    def scope_imports(self, scope: Node, path: tuple[str, ...]) -> bool:
        """Whether scope (or an enclosing one up to its module) imports `path` under its own name."""
        chain = [scope] + [a for a in ancestors(scope) if is_scope(a)]
        for s in chain:
            for leaf in self.uses.get(s.id, []):
                if leaf.path == path and leaf.alias is None:
                    return True
                if leaf.is_glob and leaf.path[:-1] == path[:-1]:
                    return True
            if is_module_scope(s):
                return False
        return False


# ------------------------------------------------------------------------------------- use editing


def remove_use_leaf(source: bytes, leaf: UseLeaf) -> list[Edit]:
    """Edits that remove one leaf from its use tree, keeping commas and braces tidy.

    A leaf alone in its declaration removes the declaration (and its line); a leaf alone in a
    group removes the group from its parent list, recursively; a one-line group left with a
    single item loses its braces (`sync::{A, B}` -> `sync::B`).
    """
    node = leaf.node
    while True:
        parent = node.parent
        if parent is None or parent.type == "use_declaration":
            start, end = whole_lines(source, leaf.declaration.start_byte, leaf.declaration.end_byte)
            return [Edit(start, end, b"")]
        if parent.type == "use_list":
            items = _list_items(parent)
            if len(items) > 1:
                return [_remove_list_item(source, parent, node, items)]
        node = parent


def _list_items(use_list: Node) -> list[Node]:
    return [c for c in use_list.named_children if c.type not in ("line_comment", "block_comment")]


def _remove_list_item(source: bytes, use_list: Node, item: Node, items: list[Node]) -> Edit:
    one_line = b"\n" not in source[use_list.start_byte : use_list.end_byte]
    has_comment = len(items) != len(use_list.named_children)
    if len(items) == 2 and one_line and not has_comment and use_list.parent.type == "scoped_use_list":
        (other,) = [i for i in items if i.id != item.id]
        if other.type != "self":
            return Edit(use_list.start_byte, use_list.end_byte, source[other.start_byte : other.end_byte])
    children = use_list.children
    index = next(i for i, c in enumerate(children) if c.id == item.id)
    # a comment between the item and its comma (`A /* why */, B`) speaks of the item: it goes too
    after = [c for c in children[index + 1 :] if c.type not in ("line_comment", "block_comment")]
    comma_after = after[0] if after[0].type == "," else None
    following = children[children.index(comma_after) + 1] if comma_after is not None else children[index + 1]
    if following.type != "}":
        # `A, ITEM, B` -> `A, B` (on one line or across lines: ITEM's indentation stays B's)
        return Edit(item.start_byte, following.start_byte, b"")
    end = comma_after.end_byte if comma_after is not None else item.end_byte
    start, wide_end = whole_lines(source, item.start_byte, end)
    if start != item.start_byte:
        return Edit(start, wide_end, b"")  # the last item had a line of its own
    previous_comma = children[index - 1]
    if previous_comma.type == ",":
        # `A, ITEM}` -> `A}`; `A, ITEM,}` -> `A,}`
        return Edit(previous_comma.start_byte, item.end_byte, b"")
    return Edit(item.start_byte, end, b"")


def rename_leaf(leaf: UseLeaf, new_name: str) -> Edit:
    assert leaf.name_node is not None
    return Edit(leaf.name_node.start_byte, leaf.name_node.end_byte, new_name.encode())


# What may sit among a scope's leading `use` lines (an item of any other kind ends them).
_HEADER_KINDS = {"use_declaration", "extern_crate_declaration", "inner_attribute_item", "attribute_item",
                 "line_comment", "block_comment"}


def leading_uses(scope: Node) -> list[Node]:
    """The `use` declarations at the top of a scope, before its first other item."""
    found = []
    for child in scope.named_children:
        if child.type == "use_declaration":
            found.append(child)
        elif child.type not in _HEADER_KINDS and not (child.type == "mod_item" and child.child_by_field_name("body") is None):
            break
    return found


def add_uses(source: bytes, scope: Node, use_paths: list[str]) -> Edit:
    """An edit inserting `use <path>;` lines into scope, after its leading `use`s (or at its top)."""
    eol = line_ending(source)
    decls = leading_uses(scope)
    if decls:
        last = decls[-1]
        indent = indent_at(source, last.start_byte)
        lines = b"".join(indent + f"use {p};".encode() + eol for p in use_paths)
        line_end = source.find(b"\n", last.end_byte)
        if line_end == -1:  # the last line of a file without a final newline
            return Edit(len(source), len(source), eol + lines[: -len(eol)])
        return Edit(line_end + 1, line_end + 1, lines)
    # no `use` yet: after inner attributes and inner doc comments at the top of the scope
    anchor = scope.start_byte if scope.type == "source_file" else scope.start_byte + 1
    if scope.type == "source_file" and source.startswith(UTF8_BOM):
        anchor = max(anchor, len(UTF8_BOM))  # the BOM stays the first bytes of the file
    first_item = None
    for child in scope.named_children:
        if child.type == "inner_attribute_item" or (
            child.type == "line_comment" and text(source, child).startswith("//!")
        ):
            anchor = child.end_byte
            continue
        first_item = child
        break
    if first_item is None:
        line_end = source.find(b"\n", anchor)
        at = len(source) if line_end == -1 else line_end + 1
        return Edit(at, at, b"".join(f"use {p};".encode() + eol for p in use_paths))
    indent = indent_at(source, first_item.start_byte)
    at = max(line_start(source, first_item.start_byte), anchor)
    lines = b"".join(indent + f"use {p};".encode() + eol for p in use_paths)
    return Edit(at, at, lines + (eol if scope.type == "source_file" else b""))
