"""numpy-fields: raw `PyArrayObject`/`PyArray_Descr` fields move under `.fields` (numpy 0.30, which PyO3 0.30 brings).

What it does
    Moving to PyO3 0.30 moves the `numpy` crate to 0.30 with it (the manifest codemod does that),
    and numpy 0.30 nested the fields of its raw C structs in a `fields` member, so that both can
    be opaque on the free-threaded stable ABI. Code that reads them through a raw pointer gets the
    extra step:

        let arr = ob.as_ptr() as *mut npyffi::PyArrayObject;
        let desc = (*arr).descr;                  ->  let desc = (*arr).fields.descr;
        let n = *(*arr).dimensions as usize;      ->  let n = *(*arr).fields.dimensions as usize;
        (*desc).type_num                          ->  (*desc).fields.type_num

    A pointer is known by how the function writes it: a `let` or a parameter typed
    `*mut`/`*const PyArrayObject` (or `PyArray_Descr`), a `let` whose value is cast `as` one, or a
    `let` bound to the `descr` field of a known array pointer.

What it will not do
    - Follow a pointer whose type the function does not write (a field of a struct, a value a
      function returns): rewrite those by hand, or use numpy's accessors (`PyArray_DATA`,
      `PyDataType_ELSIZE`, ...), which work on every ABI.
    - Touch a file that does not name `npyffi` (those are not numpy's structs).

Fix safety
    Safe: the same memory, read through the member that now holds it.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_30

INFO = CodemodInfo(
    id="numpy-fields",
    summary="numpy 0.30: raw `(*arr).descr`-style field reads go through `.fields`",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_30,
    max_target=None,
    guide=f"{GUIDE}#from-029-to-030",
    docs=__doc__.strip(),
    triggers=("PyArrayObject", "PyArray_Descr"),
    removes_at=V0_30,
)

# The members numpy 0.30 moved into `fields`, per struct (numpy 0.29's layouts).
MOVED = {
    "PyArrayObject": {"data", "nd", "dimensions", "strides", "base", "descr", "flags", "weakreflist"},
    "PyArray_Descr": {"typeobj", "kind", "type_", "byteorder", "_former_flags", "type_num"},
}
_FIELD_TYPES = {("PyArrayObject", "descr"): "PyArray_Descr"}  # what a member points to


def _pointee(source: bytes, written: Node | None) -> str | None:
    """`*mut npyffi::PyArrayObject` -> "PyArrayObject" (None for anything else)."""
    if written is None or written.type != "pointer_type":
        return None
    inner = written.child_by_field_name("type")
    name = rust.text(source, inner).rsplit("::", 1)[-1] if inner is not None else ""
    return name if name in MOVED else None


def _deref_of(source: bytes, node: Node | None) -> str | None:
    """`(*name)` -> name."""
    if node is None or node.type != "parenthesized_expression" or node.named_child_count != 1:
        return None
    inner = node.named_children[0]
    if inner.type != "unary_expression" or not rust.text(source, inner).startswith("*"):
        return None
    operand = inner.named_children[0] if inner.named_child_count else None
    return rust.text(source, operand) if operand is not None and operand.type == "identifier" else None


def _member(source: bytes, field: Node) -> tuple[str | None, str]:
    """`(*p).fields.x` or `(*p).x` -> (p, x)."""
    value, name = field.child_by_field_name("value"), rust.text(source, field.child_by_field_name("field"))
    if value is not None and value.type == "field_expression" and rust.text(
            source, value.child_by_field_name("field")) == "fields":
        value = value.child_by_field_name("value")
    return _deref_of(source, value), name


def _value_kind(source: bytes, value: Node | None, known: dict[str, str]) -> str | None:
    """The struct a `let`'s value points to: a cast `as *mut T`, or `(*arr).descr`."""
    if value is None:
        return None
    if value.type == "type_cast_expression":
        return _pointee(source, value.child_by_field_name("type"))
    if value.type == "field_expression":
        pointer, name = _member(source, value)
        return _FIELD_TYPES.get((known.get(pointer or ""), name))
    return None


def pointers(source: bytes, function: Node) -> dict[str, str]:
    """Local name -> the numpy struct it points to, as the function writes it (later lets win)."""
    known: dict[str, str] = {}
    params = function.child_by_field_name("parameters")
    for param in params.named_children if params is not None else []:
        kind, pattern = _pointee(source, param.child_by_field_name("type")), param.child_by_field_name("pattern")
        if kind is not None and pattern is not None and pattern.type == "identifier":
            known[rust.text(source, pattern)] = kind
    for let in rust.nodes_of_kinds(function, ("let_declaration",)):
        pattern = let.child_by_field_name("pattern")
        if pattern is None or pattern.type != "identifier":
            continue
        kind = _pointee(source, let.child_by_field_name("type")) or _value_kind(
            source, let.child_by_field_name("value"), known)
        if kind is not None:
            known[rust.text(source, pattern)] = kind
    return known


def field_edits(source: bytes, function: Node) -> list[Edit]:
    known = pointers(source, function)
    edits = []
    for field in rust.nodes_of_kinds(function, ("field_expression",)) if known else []:
        value = field.child_by_field_name("value")
        pointer = _deref_of(source, value)
        name = field.child_by_field_name("field")
        if pointer in known and name is not None and rust.text(source, name) in MOVED[known[pointer]]:
            edits.append(Edit(name.start_byte, name.start_byte, b"fields."))
    return edits


class NumpyFieldsCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        if b"npyffi" not in ctx.source or not ctx.info.triggered_by(ctx.source):
            return
        edits = []
        for function in rust.tree_nodes(ctx.tree, ("function_item",)):
            if not any(a.type == "function_item" for a in rust.ancestors(function)):  # nested ones are inside
                edits.extend(field_edits(ctx.source, function))
        ctx.fix("numpy 0.30: raw struct fields through `.fields`", edits)


CODEMOD = NumpyFieldsCodemod()
