"""Finding what a name refers to before rewriting it.

`find_refs` lists every place a file names one PyO3 item (by `use`, bare name, alias, or fully
qualified path), resolved through the file's `use` declarations, so that a crate's own type of
the same name is never mistaken for PyO3's. Mentions inside macro invocations and `macro_rules!`
bodies are token trees, not paths: they come back separately, to be reported, never edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from migrate import rust
from migrate.rust import FileIndex, UseLeaf

# What a glob import of these PyO3 modules brings in (only the names our codemods care about).
_GLOB_ITEMS = {
    ("pyo3", "sync"): {"GILOnceCell", "GILProtected", "PyOnceLock", "OnceLockExt", "OnceExt", "MutexExt", "RwLockExt"},
    ("pyo3", "once_cell"): {"GILOnceCell"},
    ("pyo3", "prelude"): {"Python", "Py", "PyObject", "PyAny", "Bound", "PyResult", "PyErr", "PyModule"},
    ("pyo3",): {"Python", "Py", "PyObject", "PyAny", "Bound", "PyResult", "PyErr", "prepare_freethreaded_python"},
}

# Old spellings of a path -> where the item lives now.
CANONICAL = {("pyo3", "once_cell", "GILOnceCell"): ("pyo3", "sync", "GILOnceCell")}


def canonical(path: tuple[str, ...]) -> tuple[str, ...]:
    path = tuple(p for p in path if p)
    return CANONICAL.get(path, path)


def glob_provides(prefix: tuple[str, ...], name: str) -> bool:
    return name in _GLOB_ITEMS.get(canonical(prefix), set())


@dataclass(frozen=True)
class ItemRef:
    """One mention of the item in code (not in a `use`)."""

    node: Node  # the node spelling the reference: a bare name, or the whole qualified path
    name_node: Node  # its last segment
    written: str  # the name as written at the last segment (an alias, or the item's own name)
    qualified: bool  # written as a path (`pyo3::sync::X`), not a bare name
    leaf: UseLeaf | None  # the explicit import it resolved through (None: qualified, or a glob)
    path: tuple[str, ...]  # the full path as written/resolved (before canonicalising)


@dataclass
class FileRefs:
    uses: list[UseLeaf] = field(default_factory=list)  # explicit imports of the item
    refs: list[ItemRef] = field(default_factory=list)
    in_macros: list[Node] = field(default_factory=list)  # mentions inside token trees
    lookalikes: list[Node] = field(default_factory=list)  # references to a same-named item of the crate
    unresolved: list[Node] = field(default_factory=list)  # bare names nothing in the file explains


def _segments_resolved(index: FileIndex, node: Node, segs: tuple[str, ...]) -> tuple[str, ...]:
    """Resolve the first segment of a written path through imports (`sync::X` after `use pyo3::sync`)."""
    head = segs[0]
    if head in ("crate", "self", "super"):
        return segs
    resolved = index.resolve(node, head, glob_provides)
    if resolved is not None and resolved[-1] == head:
        return resolved + segs[1:]
    return segs


def find_refs(index: FileIndex, item: tuple[str, ...]) -> FileRefs:
    """Every mention of PyO3's `item` (a canonical path such as ("pyo3", "sync", "GILOnceCell"))."""
    source = index.source
    out = FileRefs()
    name = item[-1]
    local_names = {name}
    for leaf in index.all_leaves():
        if not leaf.is_glob and canonical(leaf.path) == item:
            out.uses.append(leaf)
            local_names.add(leaf.local_name)
    for node in rust.walk(index.tree.root_node):
        kind = node.type
        if kind == "use_declaration":
            continue
        if kind == "identifier" and node.parent is not None and node.parent.type in ("token_tree", "token_tree_pattern"):
            if rust.text(source, node) in local_names:
                out.in_macros.append(node)
            continue
        if kind not in ("type_identifier", "identifier", "scoped_type_identifier", "scoped_identifier"):
            continue
        if any(a.type == "use_declaration" for a in rust.ancestors(node)):
            continue
        parent = node.parent
        if kind in ("scoped_type_identifier", "scoped_identifier"):
            last = node.child_by_field_name("name")
            path_node = node.child_by_field_name("path")
            if last is None or path_node is None or rust.text(source, last) != name:
                continue
            segs = rust.path_segments(source, node)
            resolved = _segments_resolved(index, node, segs)
            if canonical(resolved) == item:
                out.refs.append(ItemRef(node, last, name, True, None, segs))
            elif resolved[0] == "crate":
                out.lookalikes.append(node)
            continue
        # a bare name: skip the last segment of a qualified path (handled above) and non-paths
        if parent is not None and parent.type in ("scoped_type_identifier", "scoped_identifier"):
            if parent.child_by_field_name("name") is not None and parent.child_by_field_name("name").id == node.id:
                continue
        if kind == "identifier" and (parent is None or parent.type not in ("scoped_identifier",)):
            continue  # plain identifiers are values, not type paths (`GILOnceCell::new` is handled)
        written = rust.text(source, node)
        if written not in local_names:
            continue
        resolved = index.resolve(node, written, glob_provides)
        if resolved is None:
            out.unresolved.append(node)
        elif canonical(resolved) == item:
            out.refs.append(ItemRef(node, node, written, False, index.leaf_for(node, written), resolved))
        elif resolved[0] == "crate":
            out.lookalikes.append(node)
    return out
