"""raw-pointers: `Py::from_owned_ptr(py, p)` and friends -> `Bound::..(py, p)...unbind()` (0.28; 0.30 removed them).

What it does
    PyO3 0.28 deprecated the raw-pointer constructors of `Py` in favour of `Bound`'s, and 0.30
    removed them. Each call builds the same owned `Py` through `Bound`, its type still inferred
    from where it goes (`cast_into_unchecked` is what the `Py` constructor did):

        Py::from_owned_ptr(py, p)            ->  Bound::from_owned_ptr(py, p).cast_into_unchecked().unbind()
        Py::from_borrowed_ptr(py, p)         ->  Bound::from_borrowed_ptr(py, p).cast_into_unchecked().unbind()
        Py::from_owned_ptr_or_opt(py, p)     ->  Bound::from_owned_ptr_or_opt(py, p).map(|b| b.cast_into_unchecked().unbind())
        Py::from_owned_ptr_or_err(py, p)     ->  Bound::from_owned_ptr_or_err(py, p).map(|b| b.cast_into_unchecked().unbind())

    (`from_borrowed_ptr_or_opt`/`_or_err` likewise). `PyObject::..` needs no cast (`.unbind()`),
    `Py::<T>::..` names its T (`cast_into_unchecked::<T>()`).
    The calls were `unsafe` and still are: they stay in the `unsafe` block they were in.
    `Bound` is written with a `pyo3::` path when the file does not import it.

What it will not do
    - A call through a path that is not PyO3's `Py` (a type of the crate's own) is left alone.

Fix safety
    Safe: the same pointer taken the same way (owned or borrowed), the same unchecked type.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.names import is_pyo3_name, pyo3_spelling
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_28, V0_30

INFO = CodemodInfo(
    id="raw-pointers",
    summary="`Py::from_owned_ptr`/`from_borrowed_ptr` (and `_or_opt`/`_or_err`) -> `Bound::..` + `.unbind()` (>= 0.28)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_28,
    max_target=None,
    guide=f"{GUIDE}#from-027-to-028",
    docs=__doc__.strip(),
    triggers=("from_owned_ptr", "from_borrowed_ptr"),
    removes_at=V0_30,
)

CONSTRUCTORS = {"from_owned_ptr": "", "from_borrowed_ptr": "", "from_owned_ptr_or_opt": "map",
                "from_owned_ptr_or_err": "map", "from_borrowed_ptr_or_opt": "map", "from_borrowed_ptr_or_err": "map"}
_PY_TYPES = {"Py", "PyObject"}


def _owner(ctx: Context, index: FileIndex, path: Node) -> bool:
    """`Py`, `PyObject`, `Py::<T>`, `pyo3::Py`: PyO3's Py written before the constructor."""
    if path.type == "generic_type":
        path = path.child_by_field_name("type")
    if path is None:
        return False
    segments = rust.path_segments(ctx.source, path)
    if not segments or segments[-1] not in _PY_TYPES:
        return False
    if len(segments) > 1:
        return segments[0] in ("pyo3", "::pyo3")
    return is_pyo3_name(index, path, segments[-1])


def _conversion(ctx: Context, owner: Node) -> str:
    """From `Bound<PyAny>` to the `Py` the old call made: `PyObject` is one already, `Py::<T>` says
    its T, a bare `Py` leaves T to inference as before."""
    if owner.type == "generic_type":
        args = owner.child_by_field_name("type_arguments")
        written = ctx.text(args)[1:-1].strip() if args is not None else "PyAny"
        return "unbind()" if written in ("PyAny", "pyo3::PyAny") else f"cast_into_unchecked::<{written}>().unbind()"
    return "unbind()" if rust.path_segments(ctx.source, owner)[-1] == "PyObject" else "cast_into_unchecked().unbind()"


class RawPointersCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        index = None
        edits: list[Edit] = []
        for name in rust.spelled(ctx.source, ctx.tree.root_node, list(CONSTRUCTORS)):
            scoped = name.parent
            call = scoped.parent if scoped is not None else None
            if scoped is None or scoped.type != "scoped_identifier" or not rust.is_child(scoped, "name", name):
                continue
            if call is None or call.type != "call_expression" or rust.in_macro(call) is not None:
                continue
            index = index or FileIndex.build(ctx.source)
            owner = scoped.child_by_field_name("path")
            if owner is None or not _owner(ctx, index, owner):
                continue
            bound = pyo3_spelling(index, call, "Bound")
            into = _conversion(ctx, owner)
            tail = f".map(|b| b.{into})" if CONSTRUCTORS[ctx.text(name)] else f".{into}"
            edits.append(Edit(owner.start_byte, owner.end_byte, bound.encode()))
            edits.append(Edit(call.end_byte, call.end_byte, tail.encode()))
        ctx.fix("`Py` raw-pointer constructors -> `Bound`'s", edits)


CODEMOD = RawPointersCodemod()
