"""Cross-file facts about once-cells: where each cell is declared, what it holds, how it is used.

A cell is known by a key: the name of the static, field, local or parameter that holds it.
Uses are matched by the receiver's last name (`CELL.get(py)`, `self.cache.get(py)`,
`crate::m::CELL.set(py, v)`), so two cells with the same name share a fate: a collision can
only make a decision more careful, never bolder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from migrate import rust
from migrate.codemod import Snapshot
from migrate.names import FileRefs, ItemRef, find_refs
from migrate.rust import FileIndex

GIL_ONCE_CELL = ("pyo3", "sync", "GILOnceCell")
PY_ONCE_LOCK = ("pyo3", "sync", "PyOnceLock")

CELL_METHODS = {"get", "set", "get_or_init", "get_or_try_init", "import", "clone_ref", "get_mut", "take", "into_inner"}

# Where a key comes from, by the node kind that owns the type or constructor.
_OWNERS = {
    "static_item": "static",
    "const_item": "static",
    "field_declaration": "field",
    "let_declaration": "local",
    "parameter": "param",
}
_STOP = {"function_item", "impl_item", "trait_item", "type_item", "block", "source_file", "enum_variant",
         "ordered_field_declaration_list", "closure_expression", "function_signature_item"}


@dataclass
class CellDecl:
    key: str
    kind: str  # static, field, local, param, payload (newtype/enum), other
    path: Path
    node: Node  # the declaring node (static_item, field_declaration, ...)
    inner: str | None  # the T of Cell<T> as written, when the declaration says
    mutable: bool = False  # a `static mut`

    @property
    def holds_py(self) -> bool:
        return self.inner is not None and _is_py_type(self.inner)


def _is_py_type(inner: str) -> bool:
    compact = "".join(inner.split())
    for prefix in ("pyo3::", "::pyo3::"):
        if compact.startswith(prefix):
            compact = compact[len(prefix):]
    return compact.startswith("Py<") or compact == "PyObject"


@dataclass
class CellUse:
    key: str
    method: str
    path: Path
    call: Node  # the call_expression
    in_macro: bool = False


@dataclass
class FileCells:
    """Per file: the item references and which key each one belongs to."""

    index: FileIndex
    refs: FileRefs
    owner_key: dict[int, str | None]  # ref node id -> key (None: a type-only position)


@dataclass
class CellInventory:
    item: tuple[str, ...]
    decls: dict[str, list[CellDecl]] = field(default_factory=dict)
    uses: dict[str, list[CellUse]] = field(default_factory=dict)
    files: dict[Path, FileCells] = field(default_factory=dict)
    crate_defines_own: bool = False

    def holds_py(self, key: str) -> bool:
        decls = self.decls.get(key, [])
        return bool(decls) and any(d.holds_py for d in decls) and not any(
            d.inner is not None and not d.holds_py for d in decls
        )


def owner_of(source: bytes, node: Node) -> tuple[str | None, str, Node | None]:
    """(key, kind, declaring node) of the cell whose type or constructor `node` spells."""
    prev = node
    for a in rust.ancestors(node):
        kind = _OWNERS.get(a.type)
        if kind is not None:
            if a.type == "let_declaration":
                pattern = a.child_by_field_name("pattern")
                if pattern is not None and pattern.type == "mut_pattern":
                    pattern = pattern.named_children[0]
                if pattern is None or pattern.type != "identifier":
                    return None, "other", a
                return rust.text(source, pattern), kind, a
            if a.type == "parameter":
                pattern = a.child_by_field_name("pattern")
                if pattern is None or pattern.type != "identifier":
                    return None, "other", a
                return rust.text(source, pattern), kind, a
            name = a.child_by_field_name("name")
            return (rust.text(source, name) if name is not None else None), kind, a
        if a.type == "ordered_field_declaration_list":
            position = [c.id for c in a.named_children if c.type not in ("attribute_item", "visibility_modifier")]
            owner = a.parent
            index = position.index(prev.id) if prev.id in position else 0
            if owner is not None and owner.type in ("struct_item", "enum_variant"):
                return str(index), "payload", owner
            return None, "other", a
        if a.type in _STOP:
            return None, "other", a
        prev = a
    return None, "other", None


def _inner_type(source: bytes, ref: ItemRef) -> str | None:
    generic = ref.node.parent
    if generic is not None and generic.type == "generic_type":
        args = generic.child_by_field_name("type_arguments")
        if args is not None and args.named_children:
            return rust.text(source, args.named_children[0])
    return None


def _is_static_mut(node: Node | None) -> bool:
    return node is not None and node.type == "static_item" and any(c.type == "mutable_specifier" for c in node.children)


def receiver_key(source: bytes, node: Node) -> str | None:
    """The last name of a method receiver: `self.a.b` -> "b", `CELLS[i]` -> "CELLS", `&X` -> "X"."""
    kind = node.type
    if kind in ("identifier", "field_identifier", "integer_literal"):
        return rust.text(source, node)
    if kind == "field_expression":
        fld = node.child_by_field_name("field")
        return rust.text(source, fld) if fld is not None else None
    if kind == "scoped_identifier":
        name = node.child_by_field_name("name")
        return rust.text(source, name) if name is not None else None
    if kind == "index_expression":
        return receiver_key(source, node.named_children[0])
    if kind in ("reference_expression", "parenthesized_expression", "unary_expression") and node.named_children:
        return receiver_key(source, node.named_children[-1])
    return None


def method_call(source: bytes, call: Node) -> tuple[Node, str, Node] | None:
    """(receiver, method name, arguments) of a `recv.method(args)` call_expression."""
    function = call.child_by_field_name("function")
    if function is None or function.type != "field_expression":
        return None
    field_node = function.child_by_field_name("field")
    value = function.child_by_field_name("value")
    args = call.child_by_field_name("arguments")
    if field_node is None or value is None or args is None:
        return None
    return value, rust.text(source, field_node), args


def _macro_method_uses(source: bytes, token_tree: Node, keys: set[str]) -> list[tuple[str, str, Node]]:
    """`KEY . method (` sequences inside a macro's token tree."""
    found = []
    tokens = token_tree.children
    for i, tok in enumerate(tokens[:-2]):
        if tok.type == "identifier" and rust.text(source, tok) in keys and tokens[i + 1].type == ".":
            method = tokens[i + 2]
            if method.type == "identifier" and rust.text(source, method) in CELL_METHODS:
                found.append((rust.text(source, tok), rust.text(source, method), tok))
    return found


def build_inventory(snapshot: Snapshot, item: tuple[str, ...]) -> CellInventory:
    inv = CellInventory(item)
    files = snapshot.rust_files()
    for path in files:
        source = snapshot.contents[path]
        index = FileIndex.build(source)
        refs = find_refs(index, item)
        owner_key: dict[int, str | None] = {}
        for ref in refs.refs:
            key, kind, decl = owner_of(source, ref.node)
            owner_key[ref.node.id] = key
            inner = _inner_type(source, ref)
            if key is None:
                continue
            existing = inv.decls.setdefault(key, [])
            same = [d for d in existing if d.path == path and d.node.id == decl.id]
            if same:
                if inner and not same[0].inner:
                    same[0].inner = inner
                continue
            existing.append(CellDecl(key, kind, path, decl, inner, _is_static_mut(decl)))
        inv.files[path] = FileCells(index, refs, owner_key)
        if refs.lookalikes:
            inv.crate_defines_own = True
    keys = set(inv.decls)
    for path in files:
        source = snapshot.contents[path]
        tree = inv.files[path].index.tree
        for node in rust.walk(tree.root_node):
            if node.type == "call_expression":
                parts = method_call(source, node)
                if parts is None or parts[1] not in CELL_METHODS:
                    continue
                key = receiver_key(source, parts[0])
                if key in keys:
                    inv.uses.setdefault(key, []).append(CellUse(key, parts[1], path, node))
            elif node.type == "token_tree" and node.parent is not None and node.parent.type != "token_tree":
                for tok_tree in [node] + [d for d in rust.walk(node) if d.type == "token_tree" and d.id != node.id]:
                    for key, method, tok in _macro_method_uses(source, tok_tree, keys):
                        inv.uses.setdefault(key, []).append(CellUse(key, method, path, tok, in_macro=True))
    return inv
