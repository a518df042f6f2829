"""initializer-from: `PyClassInitializer::from` an existing `Py`/`Bound` is reported (0.28 removed those conversions).

What it does
    0.28 removed `From<Py<T>>` and `From<Bound<'_, T>>` for `PyClassInitializer<T>`, so code that
    builds an initializer from an object that already exists no longer compiles:

        let obj = Py::new(py, Config { level: 1 })?;
        Ok(PyClassInitializer::from(obj))            // 0.28: `Py<Config>: PyClass` is not satisfied

    Reports each `PyClassInitializer::from(x)` whose argument is plainly a `Py` or `Bound`: a
    `Py::new(..)`/`Bound::new(..)` call, or a name the same function binds to one (or declares with
    that type, a parameter included). Each finding holds the requirement below 0.28 until a person
    builds the initializer from a fresh value instead.

What it will not do
    - Report a `#[new]` that returns `Py<Self>` or `Bound<'_, Self>`: PyO3 still accepts those
      (checked with cargo against 0.30.1).
    - Guess: a `PyClassInitializer::from(x)` whose argument's type is not written where it is
      built or declared is left alone (a value of the class itself is the usual, valid case).

Fix safety
    Reports only.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Safety
from pyo3_migrate.core.version import V0_28

INFO = CodemodInfo(
    id="initializer-from",
    summary="report `PyClassInitializer::from(py_or_bound)` (0.28 removed those conversions)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_28,
    max_target=None,
    guide=f"{GUIDE}#from-027-to-028",
    docs=__doc__.strip(),
    triggers=("PyClassInitializer",),
    reports_only=True,
    removes_at=V0_28,
)

_OBJECTS = ("Py", "Bound")


def _unwrapped(node: Node) -> Node:
    """`x?` and `(x)` -> x."""
    while node.type in ("try_expression", "parenthesized_expression") and node.named_children:
        node = node.named_children[0]
    return node


def _makes_object(source: bytes, node: Node | None) -> bool:
    """`Py::new(..)` / `Bound::new(..)` (also with `?`)."""
    if node is None:
        return False
    node = _unwrapped(node)
    if node.type != "call_expression":
        return False
    segments = rust.path_segments(source, node.child_by_field_name("function"))
    return len(segments) >= 2 and segments[-2] in _OBJECTS and segments[-1] == "new"


def _object_type(source: bytes, node: Node | None) -> bool:
    """A written type `Py<..>`, `Bound<..>` (also behind `&`)."""
    while node is not None and node.type == "reference_type":
        node = node.child_by_field_name("type")
    if node is None or node.type != "generic_type":
        return False
    return rust.text(source, node.child_by_field_name("type")).rsplit("::", 1)[-1] in _OBJECTS


def _is_object(source: bytes, arg: Node) -> bool:
    """The argument is plainly a `Py`/`Bound`: made right there, or a name the function binds to one."""
    if _makes_object(source, arg):
        return True
    arg = _unwrapped(arg)
    if arg.type != "identifier":
        return False
    name = rust.text(source, arg)
    function = next((a for a in rust.ancestors(arg) if a.type == "function_item"), None)
    if function is None:
        return False
    for node in rust.nodes_of_kinds(function, ("let_declaration", "parameter")):
        pattern = node.child_by_field_name("pattern")
        if pattern is None or rust.text(source, pattern) not in (name, f"mut {name}") or node.start_byte > arg.start_byte:
            continue
        if _object_type(source, node.child_by_field_name("type")) or _makes_object(source, node.child_by_field_name("value")):
            return True
    return False


class InitializerFromCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        if b"PyClassInitializer" not in ctx.source:
            return
        for name in rust.spelled(ctx.source, ctx.tree.root_node, ["PyClassInitializer"]):
            path = name.parent  # `PyClassInitializer::from` or `pyo3::PyClassInitializer::from`
            while path is not None and path.parent is not None and path.parent.type == "scoped_identifier":
                path = path.parent
            call = path.parent if path is not None and path.type == "scoped_identifier" else None
            if call is None or call.type != "call_expression" or not rust.is_child(call, "function", path):
                continue
            if rust.text(ctx.source, path.child_by_field_name("name")) != "from":
                continue
            args = [a for a in call.child_by_field_name("arguments").named_children
                    if a.type not in ("line_comment", "block_comment")]
            if len(args) == 1 and _is_object(ctx.source, args[0]):
                ctx.finding(call, "PyO3 0.28 no longer builds a `PyClassInitializer` from an existing `Py`/`Bound`: "
                            "build it from a fresh value of the class (or return the object itself from `#[new]`)",
                            V0_28)


CODEMOD = InitializerFromCodemod()
