"""bound-api: rename the `*_bound` constructors and imports that PyO3 0.23 renamed back.

What it does
    PyO3 0.21/0.22 spelled the Bound-API constructors with a `_bound` suffix; 0.23 gave the plain
    names back to them (deprecating the suffixed ones) and later releases removed the suffixed
    names. A crate on 0.22 cannot build on 0.25+ before these calls move:

        py.import_bound("json")?            ->  py.import("json")?
        PyDict::new_bound(py)               ->  PyDict::new(py)
        PyString::new_bound(py, "x")        ->  PyString::new(py, "x")
        PyTuple::new_bound(py, items)       ->  PyTuple::new(py, items)?     (0.23 returns PyResult)

    Only the identifier changes; for `PyTuple::new`/`PyList::new`, which became fallible in 0.23,
    a `?` follows the call when the enclosing function returns a `PyResult`/`Result`.

What it will not do
    - A fallible constructor inside a closure, or in a function that does not return a `Result`,
      has nowhere for its error to go: reported, not changed.
    - `*_bound` APIs whose signature changed in 0.23 (`eval_bound`, `run_bound`, `from_code_bound`
      take `&CStr` now; `into_py_dict_bound` became fallible) are reported with their location.
    - A method of the crate's own that happens to end in `_bound` on a non-PyO3 type is left alone:
      type paths must resolve to PyO3's types, and `import_bound` must have one string argument.

Fix safety
    Safe: the plain names are the same functions under their 0.23 names.
"""

from __future__ import annotations

from tree_sitter import Node

from migrate import rust
from migrate.codemod import GUIDE, Codemod, CodemodInfo, Context
from migrate.model import Edit, Safety
from migrate.rust import FileIndex
from migrate.version import V0_23

INFO = CodemodInfo(
    id="bound-api",
    summary="`*_bound` constructors and imports -> their 0.23 names (`py.import`, `PyDict::new`, ...)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#gil-refs-feature-removed",
    docs=__doc__.strip(),
)

# Type -> its `_bound` associated functions that keep their signature under the plain name.
SAME_SIGNATURE = {
    "PyDict": {"new_bound"},
    "PyString": {"new_bound", "intern_bound"},
    "PyBytes": {"new_bound"},
    "PyByteArray": {"new_bound"},
    "PyFloat": {"new_bound"},
    "PyModule": {"new_bound", "import_bound"},
    "PyTuple": {"empty_bound"},
    "PyList": {"empty_bound"},
}
# These became fallible in 0.23: the call needs a `?`.
NOW_FALLIBLE = {"PyTuple": {"new_bound"}, "PyList": {"new_bound"}}
# Renamed with a changed signature: a person ports them.
CHANGED_SIGNATURE = {"eval_bound", "run_bound", "from_code_bound", "into_py_dict_bound"}
_PYO3_TYPE_MODULES = {("pyo3", "types"), ("pyo3", "prelude"), ("pyo3",)}


def _is_pyo3_type(index: FileIndex, at: Node, name: str) -> bool:
    def any_pyo3_glob(prefix: tuple[str, ...], item: str) -> bool:
        return prefix in _PYO3_TYPE_MODULES and item in SAME_SIGNATURE.keys() | NOW_FALLIBLE.keys()

    resolved = index.resolve(at, name, any_pyo3_glob)
    return resolved is not None and resolved[0] == "pyo3"


def _enclosing_returns_result(source: bytes, node: Node) -> bool:
    """Whether a `?` at node would propagate out of a function returning a Result."""
    for a in rust.ancestors(node):
        if a.type == "closure_expression":
            return False
        if a.type == "function_item":
            returns = a.child_by_field_name("return_type")
            written = rust.text(source, returns).replace(" ", "") if returns is not None else ""
            return written.startswith(("PyResult<", "Result<", "pyo3::PyResult<"))
    return False


class BoundApiCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        if b"_bound" not in ctx.source:
            return
        index = FileIndex.build(ctx.source, ctx.tree)
        edits: list[Edit] = []
        for node in rust.walk(ctx.tree.root_node):
            if node.type != "call_expression":
                continue
            function = node.child_by_field_name("function")
            if function is None:
                continue
            if rust.in_macro(node) is not None:
                continue
            if function.type == "field_expression":
                edits.extend(self._method(ctx, node, function))
            elif function.type == "scoped_identifier":
                edits.extend(self._associated(ctx, index, node, function))
        ctx.fix("`*_bound` APIs -> their 0.23 names", edits)

    def _method(self, ctx: Context, call: Node, function: Node) -> list[Edit]:
        name = function.child_by_field_name("field")
        written = ctx.text(name)
        if written in CHANGED_SIGNATURE:
            ctx.finding(name, f"`{written}` changed its signature in 0.23 (see the guide): port by hand")
            return []
        args = call.child_by_field_name("arguments")
        values = [c for c in args.named_children if c.type not in ("line_comment", "block_comment")]
        if written != "import_bound" or len(values) != 1:
            return []
        return [Edit(name.start_byte, name.end_byte, b"import")]

    def _associated(self, ctx: Context, index: FileIndex, call: Node, function: Node) -> list[Edit]:
        name = function.child_by_field_name("name")
        path = function.child_by_field_name("path")
        if name is None or path is None or path.type != "identifier":
            return []
        written, owner = ctx.text(name), ctx.text(path)
        if not written.endswith("_bound") or not _is_pyo3_type(index, path, owner):
            return []
        plain = written[: -len("_bound")].encode()
        if written in SAME_SIGNATURE.get(owner, set()):
            return [Edit(name.start_byte, name.end_byte, plain)]
        if written in NOW_FALLIBLE.get(owner, set()):
            if not _enclosing_returns_result(ctx.source, call):
                ctx.finding(call, f"`{owner}::new` returns a PyResult from 0.23: no `?` can go here; port by hand")
                return []
            return [Edit(name.start_byte, name.end_byte, plain), Edit(call.end_byte, call.end_byte, b"?")]
        ctx.finding(name, f"`{owner}::{written}` was renamed in 0.23, possibly with a new signature: port by hand")
        return []


CODEMOD = BoundApiCodemod()
