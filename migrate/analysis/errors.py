"""Where an error goes: whether a `?` at a node hands its error to a `PyErr`.

Shared by the codemods that write a `?` (or keep one) whose error type changed: a `?` reaches a
`PyErr` when the function around it returns `PyResult`, or the closure around it is declared
`-> PyResult<..>`, or is mapped over and collected `::<PyResult<..>>`.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust

_PYRESULT = ("PyResult<", "pyo3::PyResult<", "Result<Self,PyErr>")


def is_pyresult(source: bytes, written: Node | None) -> bool:
    return written is not None and rust.text(source, written).replace(" ", "").startswith(_PYRESULT)


def _collected_into_pyresult(source: bytes, closure: Node) -> bool:
    """`xs.map(|x| ..).collect::<PyResult<..>>()`: the closure's error type is PyErr."""
    node = closure.parent  # arguments
    call = node.parent if node is not None else None
    outer = call.parent if call is not None else None
    while outer is not None and outer.type in ("field_expression", "generic_function", "call_expression"):
        if outer.type == "generic_function" and "collect::<" in rust.text(source, outer):
            args = outer.child_by_field_name("type_arguments")
            return args is not None and any(is_pyresult(source, t) for t in args.named_children)
        outer = outer.parent
    return False


def reaches_pyerr(source: bytes, node: Node) -> bool:
    """Whether a `?` at node hands its error to a PyErr."""
    for a in rust.ancestors(node):
        if a.type == "closure_expression":
            declared = a.child_by_field_name("return_type")
            return is_pyresult(source, declared) if declared is not None else _collected_into_pyresult(source, a)
        if a.type == "function_item":
            return is_pyresult(source, a.child_by_field_name("return_type"))
    return False
