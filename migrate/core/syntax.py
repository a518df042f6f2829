"""Parsing Rust with tree-sitter, and the run-scoped caches of facts derived from bytes.

The core's own view of syntax: parse (once per distinct bytes in a run), find the first syntax
error, walk a tree, query nodes by kind. Everything else about Rust lives in the analysis layer.
"""

from __future__ import annotations

import functools
from typing import Iterator

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

RUST = Language(tree_sitter_rust.language())
_PARSER = Parser(RUST)


# Parse trees by the bytes they were parsed from: every codemod and every pass reuses the tree of
# a file whose bytes have not changed. `clear_caches()` ends their lifetime (once per run).
_TREES: dict[bytes, Tree] = {}


def parse(source: bytes) -> Tree:
    tree = _TREES.get(source)
    if tree is None:
        tree = _TREES[source] = _PARSER.parse(source)
    return tree


def parse_edited(before: bytes, edits, after: bytes) -> Tree:
    """The tree of `after`, which is `before` with `edits` (non-overlapping, in `before`'s
    offsets) applied: re-parsed incrementally from before's tree when that one is at hand."""
    tree = _TREES.get(after)
    if tree is not None:
        return tree
    old = _TREES.get(before)
    if old is None:
        return parse(after)
    edited = old.copy()  # the old bytes' tree stays as it is: analyses of them may still hold its nodes
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):  # from the end: offsets before stay valid
        start = _point(before, edit.start)
        end = _point(before, edit.end)
        new_end = _advance(start, edit.replacement)
        edited.edit(edit.start, edit.end, edit.start + len(edit.replacement), start, end, new_end)
    tree = _TREES[after] = _PARSER.parse(after, edited)
    return tree


def _point(source: bytes, offset: int) -> tuple[int, int]:
    line_start = source.rfind(b"\n", 0, offset) + 1
    return source.count(b"\n", 0, offset), offset - line_start


def _advance(point: tuple[int, int], text: bytes) -> tuple[int, int]:
    lines = text.count(b"\n")
    if not lines:
        return point[0], point[1] + len(text)
    return point[0] + lines, len(text) - text.rfind(b"\n") - 1


def syntax_error(source: bytes, keep: bool = False) -> Node | None:
    """The first syntax error in source, or None. The tree is kept for the run only when asked
    (a file a codemod will read): checking every file must not hold every file's tree."""
    tree = parse(source) if keep else _TREES.get(source) or _PARSER.parse(source)
    return first_error(tree)


def parsed_files() -> int:
    """How many distinct files (bytes) this run has parsed so far (for progress)."""
    return len(_TREES)


# Other run-scoped caches of facts derived from bytes (file indexes, name tables, inventories).
_RUN_CACHES: list[dict] = [_TREES]


def run_cache() -> dict:
    """A dict that lives as long as the run's trees: for facts keyed by the bytes they come from."""
    cache: dict = {}
    _RUN_CACHES.append(cache)
    return cache


def clear_caches() -> None:
    """Forget every tree and derived fact (the engine calls it when a run ends)."""
    for cache in _RUN_CACHES:
        cache.clear()


# Bytes that cannot be part of an identifier become spaces: what is left splits into the words
# a file spells (a prefilter: no parse, one pass in C).
_NOT_IN_WORDS = bytes(b if (chr(b).isalnum() and b < 128) or b == ord("_") or b >= 128 else ord(" ")
                      for b in range(256))
_WORDS: dict[bytes, frozenset[bytes]] = run_cache()


def words(source: bytes) -> frozenset[bytes]:
    """The identifier-like words of source (keywords, names, and words in comments and strings)."""
    found = _WORDS.get(source)
    if found is None:
        found = _WORDS[source] = frozenset(source.translate(_NOT_IN_WORDS).split())
    return found


def may_declare_type(sources, name: str) -> bool:
    """Whether any of these files may declare a type `name` of its own (a byte prefilter: a
    `struct`, `enum`, `union`, `trait` or `type` keyword followed by the name)."""
    word = name.encode()
    spellings = [kind + b" " + word for kind in (b"struct", b"enum", b"union", b"trait", b"type")]
    return any(word in source and any(s in source for s in spellings) for source in sources)


_KIND_QUERIES: dict[tuple[str, ...], Query] = {}


def nodes_of_kinds(root: Node, kinds: tuple[str, ...]) -> list[Node]:
    """Every node of these kinds under root, in source order, found by tree-sitter (no Python
    walk, and nothing kept: callers that ask again for the same ones keep their own)."""
    query = _KIND_QUERIES.get(kinds)
    if query is None:
        query = _KIND_QUERIES[kinds] = Query(RUST, "[" + " ".join(f"({k})" for k in kinds) + "] @node")
    nodes = QueryCursor(query).captures(root).get("node", [])
    return sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte))


# The kinds codemods ask for over whole files. A query costs about the same whatever it asks
# for (its walk of the tree is the cost), so these share one query per tree, kept for the run.
_SHARED_KINDS = frozenset({
    "use_declaration", "struct_item", "enum_item", "type_item", "union_item", "trait_item", "impl_item",
    "function_item", "function_signature_item", "mod_item", "field_declaration", "let_declaration",
    "call_expression", "macro_definition", "macro_invocation", "token_tree", "line_comment",
    "attribute_item", "inner_attribute_item", "static_item"})
_SHARED: dict[int, tuple[Tree, dict[str, list[Node]]]] = run_cache()  # id(tree) -> (the tree, its nodes by kind)


@functools.cache
def _shared_query() -> Query:
    return Query(RUST, " ".join(f"({kind}) @{kind}" for kind in sorted(_SHARED_KINDS)))


def tree_nodes(tree: Tree, kinds: tuple[str, ...]) -> list[Node]:
    """`nodes_of_kinds` over a whole tree: for the shared kinds, from the tree's one query."""
    if not _SHARED_KINDS.issuperset(kinds):
        return nodes_of_kinds(tree.root_node, kinds)
    entry = _SHARED.get(id(tree))
    if entry is None:  # (the entry holds the tree: its id names no other while the entry lives)
        entry = _SHARED[id(tree)] = (tree, QueryCursor(_shared_query()).captures(tree.root_node))
    found = [node for kind in kinds for node in entry[1].get(kind, ())]
    return sorted(found, key=lambda n: (n.start_byte, -n.end_byte))


def text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8")


def walk(node: Node) -> Iterator[Node]:
    """All nodes below (and including) node, in source order (a TreeCursor: no child lists)."""
    cursor = node.walk()
    yield cursor.node
    if not cursor.goto_first_child():
        return
    depth = 1
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            cursor.goto_parent()
            depth -= 1
            if depth == 0:
                return


def error_count(tree: Tree) -> int:
    if not tree.root_node.has_error:
        return 0
    return sum(1 for n in walk(tree.root_node) if n.is_error or n.is_missing)


def first_error(tree: Tree) -> Node | None:
    if not tree.root_node.has_error:
        return None
    return next((n for n in walk(tree.root_node) if n.is_error or n.is_missing), None)
