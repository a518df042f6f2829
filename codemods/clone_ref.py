"""clone-ref: replace a hand-written clone of a once-cell holding `Py<T>` with `cell.clone_ref(py)`.

What it does
    Crates that keep Python objects in a `GILOnceCell` (or `PyOnceLock`) often clone the cell by
    hand: make a new empty cell and, if the old one holds a value, `set` a `clone_ref(py)` of it.
    PyO3 has had `GILOnceCell<Py<T>>::clone_ref(py)` since 0.22.3 (and `PyOnceLock<Py<T>>::clone_ref`
    since 0.26, when the type appeared), which is exactly that code. The forms recognised:

        let cell = GILOnceCell::new();            // `mut`, a type, `X::<T>::new()`, `X::default()`,
                                                  // `Default::default()`; a path or an alias for X
        if let Some(v) = other.get(py) {          // or `match other.get(py) { Some(v) => .., None => {} }`
            let _ = cell.set(py, v.clone_ref(py)); // or `.ok()`, `.unwrap()`, `.expect(..)`, a bare call
        }

    The fill may also be `other.get(py).map(|v| cell.set(py, v.clone_ref(py)));` (with an
    expression or a block body, and optionally `let _ =`), and the read may do the cloning:
    `if let Some(v) = other.get(py).map(|o| o.clone_ref(py)) { let _ = cell.set(py, v); }`.
    The one-expression form `GILOnceCell::new(other.get(py).map(|ob| ob.clone_ref(py)))`, PyO3's
    own implementation spelled out (PyO3's `new` takes no argument, so it does not compile as
    written), is recognised too, wherever it stands (a `let`, a struct literal field). A `let`
    under `#[cfg(..)]` is recognised when its fill carries the same `#[cfg(..)]`.

Example
    Before:
        let cell = GILOnceCell::new();
        if let Some(v) = self.value.get(py) {
            let _ = cell.set(py, v.clone_ref(py));
        }
    After:
        let cell = self.value.clone_ref(py);

    Only the constructor call is replaced and the fill statement removed. A comment ending the
    fill's last line goes with it; every other comment stays byte for byte, comment lines
    between the `let` and the fill included.

What it will not do
    It changes a clone only when a declaration says the cell holds `Py<_>` (`Py<..>`, `PyObject`,
    `pyo3::Py<..>`): the source cell's (a static, a field, a parameter, anywhere in the crate; for
    `x.field` where x's type is written, a field of that type only) or the new cell's own type
    annotation or turbofish. `clone_ref` exists for no other content, and
    a type alias or a generic cannot be seen through, so otherwise it reports the place ("cannot
    tell it holds Py<_>") and leaves it. It also leaves alone: a fill that is not the statement
    right after the `let`, or does anything else (an `else` or `None` arm with work, a match guard,
    extra statements, another cell, another `py`, a changed value, a read of the new cell itself,
    a `#[cfg(..)]` other than the `let`'s);
    a `PyOnceLock` copied into a `GILOnceCell` or the reverse (`clone_ref` returns the source's
    type); read-outs such as `CELL.get_or_init(py, ..).clone_ref(py)`, which clone the content,
    not the cell; a `Clone` impl that leaves a cache empty on purpose (`cache: GILOnceCell::new()`);
    a crate's own type named `GILOnceCell`; anything inside `macro_rules!` or a macro invocation
    (token trees).

Fix safety
    Safe: the method is PyO3's own code for the same steps (a new cell, filled with a new reference
    when the source is full; `set` on a new cell cannot fail, so `.unwrap()` and `.expect(..)`
    never fired). The source expression is still evaluated once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Callable

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import attributes_before
from pyo3_migrate.analysis.cells import (
    GIL_ONCE_CELL,
    PY_ONCE_LOCK,
    CellDecl,
    CellInventory,
    build_inventory,
    field_owner,
    method_call,
    receiver_key,
    same_node,
)
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_22_3

def _may_clone(source: bytes) -> bool:
    """A manual clone reads the old cell with `.get(py)` and clones what it holds with `clone_ref`."""
    return b".get(" in source and b"clone_ref" in source


INFO = CodemodInfo(
    id="clone-ref",
    summary="hand-written clones of GILOnceCell/PyOnceLock<Py<T>> -> cell.clone_ref(py)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_22_3,
    max_target=None,
    guide=f"{GUIDE}#replacement-of-giloncecell-with-pyoncelock",
    docs=__doc__.strip(),
    triggers=("GILOnceCell", "PyOnceLock"),
)

_RESULT_SUFFIXES = {"ok", "unwrap", "expect"}
_COMMENTS = ("line_comment", "block_comment")


class Facts:
    """The cells of the snapshot the scan saw, built when a transform first meets a clone to
    decide (a pass that meets none, as the one after the first usually does, builds nothing)."""

    def __init__(self, build: Callable[[], tuple[CellInventory, CellInventory]]):
        self._build = build
        self._cell_types: dict[Path, dict[tuple[int, int], int]] = {}

    @cached_property
    def inventories(self) -> tuple[CellInventory, CellInventory]:
        """GILOnceCell's, PyOnceLock's: a cell type is its index here."""
        return self._build()

    def source(self, ctx: Context, get: _Get, kind: int | None) -> tuple[set[int], bool, str | None]:
        """What the declarations say of the cell read by `get`: (its cell types, whether it holds
        `Py<_>` as a `kind` cell (as its only type when kind is None), its T as written)."""
        exact = self._attributed(ctx.path, get.call)
        if exact is not None:
            declared, decl = exact
            return {declared}, decl.holds_py, decl.inner
        # not attributed to one declaration: by name, where a collision only makes it more careful,
        # among the fields of the struct read when the code names it (another type's field says nothing)
        key = receiver_key(ctx.source, get.source_cell)
        owner = self._field_owner(ctx.path, get.source_cell)
        decls = [(k, d) for k, inv in enumerate(self.inventories) for d in inv.decls.get(key or "", [])
                 if owner is None or d.owner == owner]
        kinds = {k for k, _ in decls}
        as_kind = kind if kind is not None else (min(kinds) if len(kinds) == 1 else None)
        holds = key is not None and as_kind is not None and self.inventories[as_kind].holds_py(key, owner)
        inner = next((d.inner for _, d in decls if d.inner), None)
        return kinds, holds, inner

    def _field_owner(self, path: Path, read: Node) -> str | None:
        """The struct `read` (`VALUE.field`) is a field of, when the declarations say."""
        names = self.inventories[0].names
        index = names.index.get(path) if names is not None else None
        scanned = same_node(index.tree.root_node, read) if index is not None else None
        return field_owner(names, path, scanned) if scanned is not None else None

    def _attributed(self, path: Path, call: Node) -> tuple[int, CellDecl] | None:
        """(cell type, declaration) of the cell the inventory says `call` reads, if it says."""
        span = (call.start_byte, call.end_byte)
        for kind, inv in enumerate(self.inventories):
            for uses in inv.uses.values():
                for use in uses:
                    if use.path == path and not use.in_macro and (use.call.start_byte, use.call.end_byte) == span:
                        decl = inv.by_ident.get(use.decl) if use.decl is not None else None
                        if decl is not None:
                            return kind, decl
        return None

    def cell_type_refs(self, ctx: Context) -> dict[tuple[int, int], int]:
        """Span -> cell type, for the nodes spelling a cell type in this file (paths and aliases too).

        Spans, not node ids: the scan's tree and this file's may be two parses of the same bytes."""
        spans = self._cell_types.get(ctx.path)
        if spans is None:
            spans = self._cell_types[ctx.path] = {}
            for kind, inv in enumerate(self.inventories):
                cells = inv.files.get(ctx.path)
                if cells is not None:
                    spans.update(((ref.node.start_byte, ref.node.end_byte), kind) for ref in cells.refs.refs)
        return spans


@dataclass
class _Get:
    """`SOURCE.get(PY)`, the read of the cell being cloned."""

    call: Node
    source_cell: Node
    py: Node


def _strip_parens(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


def _as_get(source: bytes, node: Node) -> _Get | None:
    parts = method_call(source, _strip_parens(node)) if node.type in ("call_expression", "parenthesized_expression") else None
    if parts is None:
        return None
    receiver, method, args = parts
    values = [c for c in args.named_children if c.type not in _COMMENTS]
    if method != "get" or len(values) != 1:
        return None
    return _Get(_strip_parens(node), receiver, values[0])


def _as_clone_ref_of(source: bytes, node: Node, binding: str, py: str) -> bool:
    """`BINDING.clone_ref(PY)`."""
    parts = method_call(source, node) if node.type == "call_expression" else None
    if parts is None:
        return False
    receiver, method, args = parts
    values = [c for c in args.named_children if c.type not in _COMMENTS]
    return (
        method == "clone_ref"
        and rust.text(source, receiver) == binding
        and len(values) == 1
        and rust.text(source, values[0]) == py
    )


def _mapped_get(source: bytes, node: Node) -> _Get | None:
    """`SOURCE.get(PY).map(|o| o.clone_ref(PY))`: a read that already clones."""
    parts = method_call(source, node) if node.type == "call_expression" else None
    if parts is None or parts[1] != "map":
        return None
    get = _as_get(source, parts[0])
    closure = _single_closure_arg(parts[2])
    if get is None or closure is None:
        return None
    param, body = closure
    if _as_clone_ref_of(source, body, param, rust.text(source, get.py)):
        return get
    return None


def _single_closure_arg(args: Node) -> tuple[str, Node] | None:
    values = [c for c in args.named_children if c.type not in _COMMENTS]
    if len(values) != 1 or values[0].type != "closure_expression":
        return None
    closure = values[0]
    params = closure.child_by_field_name("parameters")
    body = closure.child_by_field_name("body")
    names = [c for c in params.named_children] if params is not None else []
    if len(names) != 1 or names[0].type != "identifier" or body is None:
        return None
    return names[0].text.decode(), body


def _unwrap_result_use(source: bytes, expr: Node) -> Node:
    """`X.ok()` / `X.unwrap()` / `X.expect(..)` -> X (the Result of `set` may be consumed so)."""
    parts = method_call(source, expr) if expr.type == "call_expression" else None
    if parts is not None and parts[1] in _RESULT_SUFFIXES:
        return parts[0]
    return expr


def _is_set_of(source: bytes, node: Node, cell: str, value_ok) -> bool:
    """Whether node (a statement, block or expression) only does `CELL.set(PY, VALUE)`."""
    node = _single_statement(node)
    if node is None:
        return False
    if node.type == "let_declaration":
        pattern = node.child_by_field_name("pattern")
        if pattern is None or rust.text(source, pattern) != "_":
            return False
        node = node.child_by_field_name("value")
    elif node.type == "expression_statement":
        node = node.named_children[0] if node.named_children else None
    if node is None:
        return False
    call = _unwrap_result_use(source, node)
    parts = method_call(source, call) if call.type == "call_expression" else None
    if parts is None or parts[1] != "set" or rust.text(source, parts[0]) != cell:
        return False
    values = [c for c in parts[2].named_children if c.type not in _COMMENTS]
    return len(values) == 2 and value_ok(rust.text(source, values[0]), values[1])


def _single_statement(node: Node) -> Node | None:
    """A block with one statement -> that statement; anything else is itself."""
    while node is not None and node.type == "block":
        items = [c for c in node.named_children if c.type not in _COMMENTS]
        if len(items) != 1:
            return None
        node = items[0]
    return node


def _empty(node: Node | None) -> bool:
    return node is not None and (
        (node.type == "block" and not [c for c in node.named_children if c.type not in _COMMENTS])
        or node.type == "unit_expression"
    )


def _fill_statement(source: bytes, stmt: Node, cell: str) -> _Get | None:
    """If stmt copies another cell's content into CELL, the read it copies from."""
    expr = stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_children else stmt
    if expr.type == "let_declaration":  # `let _ = SOURCE.get(py).map(..);`
        pattern, expr = expr.child_by_field_name("pattern"), expr.child_by_field_name("value")
        if pattern is None or pattern.type != "_" or expr is None or stmt.child_by_field_name("type") is not None:
            return None
    if expr.type == "if_expression":
        return _if_let_fill(source, expr, cell)
    if expr.type == "match_expression":
        return _match_fill(source, expr, cell)
    if expr.type == "call_expression":
        return _map_fill(source, expr, cell)
    return None


def _setter(source: bytes, binding: str, get: _Get, already_cloned: bool):
    py = rust.text(source, get.py)

    def value_ok(py_arg: str, value: Node) -> bool:
        if py_arg != py:
            return False
        if already_cloned:
            return rust.text(source, value) == binding
        return _as_clone_ref_of(source, value, binding, py)

    return value_ok


def _if_let_fill(source: bytes, expr: Node, cell: str) -> _Get | None:
    condition = expr.child_by_field_name("condition")
    alternative = expr.child_by_field_name("alternative")
    if condition is None or condition.type != "let_condition":
        return None
    if alternative is not None:
        other = [c for c in alternative.named_children]
        if len(other) != 1 or not _empty(other[0]):
            return None
    binding = _some_binding(source, condition.child_by_field_name("pattern"))
    scrutinee = condition.child_by_field_name("value")
    if binding is None or scrutinee is None:
        return None
    get, cloned = _read(source, scrutinee)
    if get is None:
        return None
    body = expr.child_by_field_name("consequence")
    return get if _is_set_of(source, body, cell, _setter(source, binding, get, cloned)) else None


def _read(source: bytes, scrutinee: Node) -> tuple[_Get | None, bool]:
    get = _as_get(source, scrutinee)
    if get is not None:
        return get, False
    return _mapped_get(source, scrutinee), True


def _some_binding(source: bytes, pattern: Node | None) -> str | None:
    if pattern is None or pattern.type != "tuple_struct_pattern":
        return None
    kind = pattern.child_by_field_name("type")
    inner = [c for c in pattern.named_children if kind is None or c.id != kind.id]
    if kind is None or rust.text(source, kind) != "Some" or len(inner) != 1 or inner[0].type != "identifier":
        return None
    return rust.text(source, inner[0])


def _match_fill(source: bytes, expr: Node, cell: str) -> _Get | None:
    scrutinee = expr.child_by_field_name("value")
    body = expr.child_by_field_name("body")
    if scrutinee is None or body is None:
        return None
    get, cloned = _read(source, scrutinee)
    arms = [c for c in body.named_children if c.type == "match_arm"]
    if get is None or len(arms) != 2:
        return None
    filled = empty = False
    for arm in arms:
        pattern = arm.child_by_field_name("pattern")
        value = arm.child_by_field_name("value")
        if pattern is None or pattern.child_by_field_name("condition") is not None:
            return None  # `Some(v) if ..`: a guard copies only some contents
        if rust.text(source, pattern) in ("None", "_") and _empty(value):
            empty = True
            continue
        binding = _some_binding(source, pattern.named_children[0] if pattern.named_children else None)
        if binding and _is_set_of(source, value, cell, _setter(source, binding, get, cloned)):
            filled = True
    return get if filled and empty else None


def _map_fill(source: bytes, expr: Node, cell: str) -> _Get | None:
    """`SOURCE.get(py).map(|v| CELL.set(py, v.clone_ref(py)))`, its value unused."""
    parts = method_call(source, expr)
    if parts is None or parts[1] != "map":
        return None
    get = _as_get(source, parts[0])
    closure = _single_closure_arg(parts[2])
    if get is None or closure is None:
        return None
    binding, body = closure
    return get if _is_set_of(source, body, cell, _setter(source, binding, get, False)) else None


def _is_py(content: str) -> bool:
    """`Py<..>` or `PyObject`, bare or `pyo3::`-qualified (the contents `clone_ref` exists for)."""
    compact = "".join(content.split()).removeprefix("::").removeprefix("pyo3::")
    return compact.startswith("Py<") or compact == "PyObject"


@dataclass
class _NewCell:
    """`let NAME[: TYPE] = CONSTRUCTOR;`: an empty cell made to be filled."""

    name: str
    constructor: Node  # the call that builds the empty cell: the node the fix replaces
    kind: int | None  # its cell type (an index of Facts.inventories), when the constructor or annotation says
    content: str | None  # the T of the annotation or turbofish, when written


def _cell_type(node: Node | None, cell_types: dict[tuple[int, int], int]) -> tuple[int | None, str | None]:
    """(kind, T) of a written cell type: `GILOnceCell<T>`, `pyo3::sync::PyOnceLock<T>`, `Alias`, `Cell::<T>`."""
    if node is not None and node.type == "generic_type":
        args = node.child_by_field_name("type_arguments")
        kind, _ = _cell_type(node.child_by_field_name("type"), cell_types)
        values = [c for c in args.named_children if c.type not in _COMMENTS] if args is not None else []
        return kind, (values[0].text.decode() if kind is not None and len(values) == 1 else None)
    return (cell_types.get((node.start_byte, node.end_byte)), None) if node is not None else (None, None)


def _empty_value(source: bytes, let: Node) -> tuple[str, Node, Node] | None:
    """(name, call, its function) when the let is shaped like one making an empty cell: `let NAME
    = X::new()`, `X::default()`, `Default::default()` (whether X is a cell is not looked at)."""
    pattern = let.child_by_field_name("pattern")
    if pattern is not None and pattern.type == "mut_pattern":
        pattern = pattern.named_children[0]
    value = let.child_by_field_name("value")
    if pattern is None or pattern.type != "identifier" or value is None or value.type != "call_expression":
        return None
    function = value.child_by_field_name("function")
    args = value.child_by_field_name("arguments")
    if function is None or args is None or function.type != "scoped_identifier" or args.named_child_count:
        return None
    named = rust.text(source, function.child_by_field_name("name"))
    if rust.text(source, function) != "Default::default" and named not in ("new", "default"):
        return None
    return rust.text(source, pattern), value, function


def _new_cell(source: bytes, let: Node, empty: tuple[str, Node, Node],
              cell_types: dict[tuple[int, int], int]) -> _NewCell | None:
    """The let, if it makes an empty cell (`empty`: what _empty_value found in it)."""
    name, value, function = empty
    kind, content = _cell_type(let.child_by_field_name("type"), cell_types)
    if rust.text(source, function) != "Default::default":
        built, turbofish = _cell_type(function.child_by_field_name("path"), cell_types)
        if built is None or (kind is not None and kind != built):
            return None
        kind, content = built, content or turbofish
    return _NewCell(name, value, kind, content)


def _mentions(source: bytes, node: Node, name: str) -> bool:
    return any(n.type == "identifier" and rust.text(source, n) == name for n in rust.walk(node))


def _next_statement(node: Node) -> tuple[Node | None, list[Node]]:
    """The statement after node (comments skipped) and the attributes written right before it."""
    sibling = node.next_named_sibling
    while sibling is not None and sibling.type in _COMMENTS:
        sibling = sibling.next_named_sibling
    attributes = []
    while sibling is not None and sibling.type == "attribute_item":
        attributes.append(sibling)
        sibling = sibling.next_named_sibling
    return sibling, attributes


def _cfgs(source: bytes, attributes: list[Node]) -> list[str]:
    """The `#[cfg(..)]` conditions among attributes, spaces dropped."""
    conditions = []
    for item in attributes:
        attribute = item.named_children[0] if item.named_children else None
        name = attribute.named_children[0] if attribute is not None and attribute.named_children else None
        if name is not None and rust.text(source, name) == "cfg":
            conditions.append("".join(rust.text(source, attribute).split()))
    return conditions


def _line_end(source: bytes, offset: int) -> int:
    """Just after the newline ending the line that holds offset (or the end of the file)."""
    newline = source.find(b"\n", offset)
    return len(source) if newline == -1 else newline + 1


def _deletion(source: bytes, stmt: Node, first: Node) -> Edit:
    """Remove the fill statement (from `first`, its first attribute or itself), keeping every
    comment outside it byte for byte.

    When the statement has its lines to itself they go, with a `//` comment ending its last line
    (it talks about the statement) and one of two blank lines around it; comments on lines of
    their own before it stay. Sharing a line, only its bytes and the space that separates it go.
    """
    end = stmt.end_byte
    after = stmt.next_sibling
    if after is not None and after.type == "line_comment" and b"\n" not in source[end : after.start_byte]:
        end = after.end_byte
    start, stop = rust.line_start(source, first.start_byte), _line_end(source, end)
    if source[start : first.start_byte].strip():  # code before it on its first line
        return Edit(first.prev_sibling.end_byte, stmt.end_byte, b"")
    if source[end:stop].strip():  # code after it on its last line moves to its place
        return Edit(first.start_byte, stmt.next_sibling.start_byte, b"")
    blank_before = start > 0 and not source[rust.line_start(source, start - 1) : start].strip()
    following = _line_end(source, stop)
    if blank_before and stop < len(source) and not source[stop:following].strip():
        stop = following
    return Edit(start, stop, b"")


_UNSURE = "manual clone of a once-cell{held}: cannot tell it holds Py<_>; if it does, use `.clone_ref(py)`"


def _unsure(content: str | None) -> str:
    return _UNSURE.format(held=f" holding `{content}`" if content else "")


class CloneRefCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts | None:
        if not any(_may_clone(snapshot.contents[p]) for p in snapshot.rust_files()):
            return None  # no file can hold a manual clone: no cell needs looking up
        seen = replace(snapshot, contents=dict(snapshot.contents))  # the transforms edit the snapshot's own
        return Facts(lambda: (build_inventory(seen, GIL_ONCE_CELL), build_inventory(seen, PY_ONCE_LOCK)))

    def transform(self, ctx: Context) -> None:
        if not _may_clone(ctx.source):
            return
        facts: Facts = ctx.facts
        for node in rust.tree_nodes(ctx.tree, ("let_declaration", "call_expression")):
            if rust.in_macro(node) is not None:
                continue  # inside a macro: token trees, nothing there is an expression we could edit
            if node.type == "let_declaration":
                self._statement_form(ctx, facts, node)
            else:
                self._expression_form(ctx, facts, node)

    # Each form is matched by its shape first: the cell types (the inventories) are looked up only
    # for a shape that matches.
    def _statement_form(self, ctx: Context, facts: Facts, let: Node) -> None:
        source = ctx.source
        empty = _empty_value(source, let)
        fill, fill_attributes = _next_statement(let) if empty is not None else (None, [])
        get = _fill_statement(source, fill, empty[0]) if fill is not None else None
        cell = _new_cell(source, let, empty, facts.cell_type_refs(ctx)) if get is not None else None
        if cell is None or _mentions(source, get.source_cell, cell.name):
            return  # `c.get(py)` read the new, empty cell: in `let c = c.clone_ref(py)` it would be another
        if _cfgs(source, attributes_before(let)) != _cfgs(source, fill_attributes):
            return  # compiled under other conditions than the `let`, the fill may fill another cell, or none
        annotated_py = cell.content is not None and _is_py(cell.content)
        if self._decide(ctx, facts, let, get, cell.kind, annotated_py, cell.content):
            ctx.fix(
                f"manual clone of `{ctx.text(get.source_cell)}` -> clone_ref",
                [
                    Edit(cell.constructor.start_byte, cell.constructor.end_byte, _clone(ctx, get)),
                    _deletion(source, fill, (fill_attributes or [fill])[0]),
                ],
            )

    def _expression_form(self, ctx: Context, facts: Facts, call: Node) -> None:
        function = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        if function is None or function.type != "scoped_identifier" or args is None:
            return
        if ctx.text(function.child_by_field_name("name")) != "new":
            return
        values = [c for c in args.named_children if c.type not in _COMMENTS]
        get = _mapped_get(ctx.source, values[0]) if len(values) == 1 else None
        if get is None:
            return
        kind, content = _cell_type(function.child_by_field_name("path"), facts.cell_type_refs(ctx))
        if kind is not None and self._decide(ctx, facts, call, get, kind, content is not None and _is_py(content), content):
            ctx.fix(f"manual clone of `{ctx.text(get.source_cell)}` -> clone_ref", [Edit(call.start_byte, call.end_byte, _clone(ctx, get))])

    @staticmethod
    def _decide(ctx: Context, facts: Facts, at: Node, get: _Get, kind: int | None, annotated_py: bool, content: str | None) -> bool:
        """Whether `SOURCE.clone_ref(py)` may replace the clone; a finding when the types do not say."""
        declared, holds_py, declared_content = facts.source(ctx, get, kind)
        if kind is not None and declared and kind not in declared:
            return False  # a PyOnceLock copied into a GILOnceCell (or back): clone_ref would change the type
        if annotated_py or holds_py:
            return True
        ctx.finding(at, _unsure(content or declared_content))
        return False


def _clone(ctx: Context, get: _Get) -> bytes:
    return f"{ctx.text(get.source_cell)}.clone_ref({ctx.text(get.py)})".encode()


CODEMOD = CloneRefCodemod()
