"""clone-ref: replace a hand-written clone of a once-cell holding `Py<T>` with `cell.clone_ref(py)`.

What it does
    Crates that keep Python objects in a `GILOnceCell` (or `PyOnceLock`) often clone the cell by
    hand: make a new empty cell, and if the old one holds a value, `set` a `clone_ref(py)` of it.
    PyO3 has had `GILOnceCell<Py<T>>::clone_ref(py)` since 0.22.3 (and `PyOnceLock<Py<T>>::clone_ref`
    since 0.26), which is exactly that code. The forms recognised:

        let cell = GILOnceCell::new();            // or PyOnceLock::new(), a path, an alias, Default
        if let Some(v) = other.get(py) {          // or `match other.get(py) { Some(v) => .., None => {} }`
            let _ = cell.set(py, v.clone_ref(py)); // or `.ok()`, `.unwrap()`, `.expect(..)`
        }                                         // or `other.get(py).map(|v| cell.set(py, v.clone_ref(py)))`

    become `let cell = other.clone_ref(py);`, and the one-expression form
    `GILOnceCell::new(other.get(py).map(|ob| ob.clone_ref(py)))` becomes `other.clone_ref(py)`.

What it will not do
    It changes a clone only when the declarations say the cell holds `Py<_>` (or `PyObject`):
    `clone_ref` exists for no other content. Otherwise it reports the place. A `Clone` impl that
    leaves a cache empty on purpose (`cache: OnceLock::new()`) is not a clone of the cell: untouched.

Fix safety
    Safe: the method does what the removed code did.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from migrate import rust
from migrate.cells import GIL_ONCE_CELL, PY_ONCE_LOCK, CellInventory, build_inventory, method_call, receiver_key
from migrate.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from migrate.model import Edit, Safety
from migrate.version import V0_22_3

INFO = CodemodInfo(
    id="clone-ref",
    summary="hand-written clones of GILOnceCell/PyOnceLock<Py<T>> -> cell.clone_ref(py)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_22_3,
    max_target=None,
    guide=f"{GUIDE}#deprecation-of-gilonce-cell-type",
    docs=__doc__.strip(),
)

_RESULT_SUFFIXES = {"ok", "unwrap", "expect"}
_COMMENTS = ("line_comment", "block_comment")


@dataclass
class Facts:
    inventories: tuple[CellInventory, CellInventory]  # GILOnceCell's, PyOnceLock's

    def holds_py(self, key: str | None) -> bool:
        return key is not None and any(inv.holds_py(key) for inv in self.inventories)

    def constructor_paths(self, ctx: Context) -> set[int]:
        """Ids of nodes spelling a cell type in this file (`GILOnceCell`, `PyOnceLock`, aliases)."""
        ids = set()
        for inv in self.inventories:
            cells = inv.files.get(ctx.path)
            if cells is not None:
                ids.update(ref.node.id for ref in cells.refs.refs)
        return ids


@dataclass
class _Get:
    """`SOURCE.get(PY)`, the read of the cell being cloned."""

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
    return _Get(receiver, values[0])


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
        written = rust.text(source, pattern).strip() if pattern is not None else ""
        if written in ("None", "_") and _empty(value):
            empty = True
            continue
        binding = _some_binding(source, pattern.named_children[0] if pattern and pattern.named_children else None)
        if binding and _is_set_of(source, value, cell, _setter(source, binding, get, cloned)):
            filled = True
    return get if filled and empty else None


def _map_fill(source: bytes, expr: Node, cell: str) -> _Get | None:
    """`SOURCE.get(py).map(|v| CELL.set(py, v.clone_ref(py)))`, optionally `.unwrap_or(..)`-free."""
    parts = method_call(source, expr)
    if parts is None or parts[1] != "map":
        return None
    get = _as_get(source, parts[0])
    closure = _single_closure_arg(parts[2])
    if get is None or closure is None:
        return None
    binding, body = closure
    return get if _is_set_of(source, body, cell, _setter(source, binding, get, False)) else None


def _constructor(source: bytes, value: Node | None, cell_type_ids: set[int]) -> Node | None:
    """The call node if value builds an empty cell (`X::new()`, `Default::default()`, `X::default()`)."""
    if value is None or value.type != "call_expression":
        return None
    function = value.child_by_field_name("function")
    args = value.child_by_field_name("arguments")
    if function is None or args is None or function.type != "scoped_identifier":
        return None
    if [c for c in args.named_children if c.type not in _COMMENTS]:
        return None
    name = rust.text(source, function.child_by_field_name("name"))
    path = function.child_by_field_name("path")
    if rust.text(source, function) == "Default::default":
        return value
    if name in ("new", "default") and path is not None and path.id in cell_type_ids:
        return value
    return None


def _next_statement(node: Node) -> Node | None:
    sibling = node.next_named_sibling
    while sibling is not None and sibling.type in _COMMENTS:
        sibling = sibling.next_named_sibling
    return sibling


def _statement_lines(source: bytes, stmt: Node, previous: Node) -> Edit:
    """Delete stmt with the whitespace that separates it from the previous statement."""
    return Edit(previous.end_byte, stmt.end_byte, b"")


def _annotated_py(source: bytes, let: Node) -> bool:
    annotation = let.child_by_field_name("type")
    if annotation is None:
        return False
    compact = "".join(rust.text(source, annotation).split())
    return "<Py<" in compact or "<PyObject>" in compact or "<pyo3::Py<" in compact


class CloneRefCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        return Facts((build_inventory(snapshot, GIL_ONCE_CELL), build_inventory(snapshot, PY_ONCE_LOCK)))

    def transform(self, ctx: Context) -> None:
        if b".get(" not in ctx.source:
            return
        facts: Facts = ctx.facts
        cell_type_ids = facts.constructor_paths(ctx)
        if not cell_type_ids:
            return
        for node in rust.walk(ctx.tree.root_node):
            if rust.in_macro(node) is not None:
                continue
            if node.type == "let_declaration":
                self._statement_form(ctx, facts, node, cell_type_ids)
            elif node.type == "call_expression":
                self._expression_form(ctx, facts, node, cell_type_ids)

    def _statement_form(self, ctx: Context, facts: Facts, let: Node, cell_type_ids: set[int]) -> None:
        source = ctx.source
        pattern = let.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "mut_pattern":
            pattern = pattern.named_children[0]
        constructor = _constructor(source, let.child_by_field_name("value"), cell_type_ids)
        if pattern is None or pattern.type != "identifier" or constructor is None:
            return
        fill = _next_statement(let)
        get = _fill_statement(source, fill, ctx.text(pattern)) if fill is not None else None
        if get is None:
            return
        if not (facts.holds_py(receiver_key(source, get.source_cell)) or _annotated_py(source, let)):
            ctx.finding(let, "manual clone of a once-cell: cannot tell it holds Py<_>; if it does, use `.clone_ref(py)`")
            return
        clone = f"{ctx.text(get.source_cell)}.clone_ref({ctx.text(get.py)})"
        ctx.fix(
            f"manual clone of `{ctx.text(get.source_cell)}` -> clone_ref",
            [Edit(constructor.start_byte, constructor.end_byte, clone.encode()), _statement_lines(source, fill, let)],
        )

    def _expression_form(self, ctx: Context, facts: Facts, call: Node, cell_type_ids: set[int]) -> None:
        source = ctx.source
        function = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        if function is None or function.type != "scoped_identifier" or args is None:
            return
        path = function.child_by_field_name("path")
        if rust.text(source, function.child_by_field_name("name")) != "new" or path is None or path.id not in cell_type_ids:
            return
        values = [c for c in args.named_children if c.type not in _COMMENTS]
        get = _mapped_get(source, values[0]) if len(values) == 1 else None
        if get is None:
            return
        if not facts.holds_py(receiver_key(source, get.source_cell)):
            ctx.finding(call, "manual clone of a once-cell: cannot tell it holds Py<_>; if it does, use `.clone_ref(py)`")
            return
        clone = f"{ctx.text(get.source_cell)}.clone_ref({ctx.text(get.py)})"
        ctx.fix(f"manual clone of `{ctx.text(get.source_cell)}` -> clone_ref", [Edit(call.start_byte, call.end_byte, clone.encode())])


CODEMOD = CloneRefCodemod()
