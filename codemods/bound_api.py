"""bound-api: rename the `*_bound` constructors and imports that PyO3 0.23 renamed back.

What it does
    PyO3 0.21/0.22 spelled the Bound-API constructors with a `_bound` suffix; 0.23 gave the plain
    names back to them (deprecating the suffixed ones) and later releases removed the suffixed
    names. A crate on 0.22 cannot build on 0.25+ before these calls move:

        py.import_bound("json")?            ->  py.import("json")?
        PyDict::new_bound(py)               ->  PyDict::new(py)
        PySet::new_bound(py, &items)?       ->  PySet::new(py, &items)?
        PyTuple::new_bound(py, items)       ->  PyTuple::new(py, items)?     (0.23 returns PyResult)
        py.get_type_bound::<T>()            ->  py.get_type::<T>()
        T::type_object_bound(py)            ->  T::type_object(py)
        err.value_bound(py)                 ->  err.value(py)
        wrap_pyfunction_bound!(f, py)?      ->  wrap_pyfunction!(f, py)?

    Associated functions are renamed on PyO3's own types (the path must resolve to PyO3), with
    the names PyO3 0.23's deprecation notes give (`from_bound_object` -> `from_object`,
    `new_bound_with` -> `new_with`, ...); methods and `PyTypeInfo` functions whose `_bound` names
    only PyO3 uses (`get_type_bound`, `value_bound`, `traceback_bound`, `call_bound`, ...) are
    renamed wherever the crate defines no function of that name itself. Only the identifier
    changes; for `PyTuple::new`/`PyList::new`, which became fallible in 0.23, a `?` follows the
    call when the enclosing function returns a `PyResult`/`Result`. `use pyo3::wrap_pyfunction_bound;`
    becomes `use pyo3::wrap_pyfunction;` (or goes, when the prelude already brings it).

What it will not do
    - A fallible constructor inside a closure, or in a function that does not return a `Result`,
      has nowhere for its error to go: reported, not changed.
    - `*_bound` APIs whose signature changed in 0.23 (`eval_bound`, `run_bound`, `from_code_bound`
      take `&CStr` now; `into_py_dict_bound` became fallible) are reported with their location.
    - A method of the crate's own that happens to end in `_bound` on a non-PyO3 type is left alone:
      type paths must resolve to PyO3's types, `import_bound` must have one string argument, and a
      method name the crate defines itself is never renamed.
    - A companion crate's method of that era (numpy's `to_pyarray_bound`, `into_pyarray_bound`)
      is reported, so that the companion's bump is not silent. Any other `*_bound` method is
      left alone and unreported: `into_bound`, `downcast_bound` and `cast_bound` are current
      PyO3 names, and other crates have their own (std's `start_bound`, a graph's `node_bound`).

Fix safety
    Safe: the plain names are the same functions under their 0.23 names.
"""

from __future__ import annotations

from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_23, V0_25

GONE = V0_25  # the `*_bound` names' last release is 0.24: a crate that keeps one stays below 0.25

INFO = CodemodInfo(
    id="bound-api",
    summary="`*_bound` constructors and imports -> their 0.23 names (`py.import`, `PyDict::new`, ...)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#gil-refs-feature-removed",
    docs=__doc__.strip(),
    triggers=("_bound",),
    removes_at=V0_25,
)

# Type -> its `_bound` associated functions and their 0.23 names, where the signature stayed
# (PyO3 0.23's "renamed to" deprecation notes; each checked by compiling before and after).
RENAMED = {
    "PyDict": {"new_bound": "new", "from_sequence_bound": "from_sequence"},
    "PyString": {"new_bound": "new", "intern_bound": "intern", "from_object_bound": "from_object"},
    "PyBytes": {"new_bound": "new", "new_bound_with": "new_with"},
    "PyByteArray": {"new_bound": "new", "new_bound_with": "new_with", "from_bound": "from"},
    "PyFloat": {"new_bound": "new"},
    "PyModule": {"new_bound": "new", "import_bound": "import"},
    "PyTuple": {"empty_bound": "empty"},
    "PyList": {"empty_bound": "empty"},
    "PySet": {"new_bound": "new", "empty_bound": "empty"},
    "PyFrozenSet": {"new_bound": "new", "empty_bound": "empty"},
    "PySlice": {"new_bound": "new", "full_bound": "full"},
    "PyBool": {"new_bound": "new"},
    "PyCapsule": {"new_bound": "new", "new_bound_with_destructor": "new_with_destructor"},
    "PyType": {"new_bound": "new"},
    "PyComplex": {"from_doubles_bound": "from_doubles"},
    "PyMemoryView": {"from_bound": "from"},
    "PyIterator": {"from_bound_object": "from_object"},
    "PyNone": {"get_bound": "get"},
    "PyEllipsis": {"get_bound": "get"},
    "PyNotImplemented": {"get_bound": "get"},
    "PyErr": {"from_type_bound": "from_type", "from_value_bound": "from_value"},
}
# These became fallible in 0.23: the call needs a `?`.
NOW_FALLIBLE = {"PyTuple": {"new_bound": "new"}, "PyList": {"new_bound": "new"}}
# Methods (and `PyTypeInfo` functions, called on any class) whose `_bound` names are PyO3's.
METHODS = {
    "get_type_bound": "get_type",  # Python::get_type_bound::<T>(), PyErr::get_type_bound(py)
    "value_bound": "value",
    "traceback_bound": "traceback",
    "is_instance_bound": "is_instance",
    "write_unraisable_bound": "write_unraisable",
    "call_bound": "call",
    "call_method_bound": "call_method",
    "get_tzinfo_bound": "get_tzinfo",
    "finalize_bound": "finalize",
    "type_object_bound": "type_object",
    "is_type_of_bound": "is_type_of",
    "is_exact_type_of_bound": "is_exact_type_of",
}
TYPE_INFO_FUNCTIONS = {"type_object_bound", "is_type_of_bound", "is_exact_type_of_bound"}
WRAP_MACRO = ("wrap_pyfunction_bound", "wrap_pyfunction")
# Renamed with a changed signature: a person ports them.
CHANGED_SIGNATURE = {"eval_bound", "run_bound", "from_code_bound", "into_py_dict_bound", "new_type_bound",
                     "new_bound_with_fold", "new_closure_bound", "new_with_keywords_bound"}
# Companion crates' methods of the 0.21/0.22 era (rust-numpy 0.21/0.22), renamed in their 0.23
# releases: reported, since which companion release a crate moves to is its own decision.
COMPANION_METHODS = {"to_pyarray_bound", "into_pyarray_bound"}
_PYO3_TYPE_MODULES = {("pyo3", "types"), ("pyo3", "prelude"), ("pyo3",)}


def _is_pyo3_type(index: FileIndex, at: Node, name: str) -> bool:
    def any_pyo3_glob(prefix: tuple[str, ...], item: str) -> bool:
        return prefix in _PYO3_TYPE_MODULES and (item in RENAMED or item in NOW_FALLIBLE)

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


_FUNCTION_ITEMS = ("function_item", "function_signature_item")


def crate_function_names(snapshot: Snapshot) -> dict[Path, set[str]]:
    """Crate manifest -> the names of the functions and methods its own files define."""
    out: dict[Path, set[str]] = {}
    for crate in snapshot.project.crates:
        names = out.setdefault(crate.manifest, set())
        for path in snapshot.rust_files(crate):
            source = snapshot.contents[path]
            if b"_bound" not in source:
                continue
            for node in rust.tree_nodes(rust.parse(source), _FUNCTION_ITEMS):
                if node.type in _FUNCTION_ITEMS:
                    name = node.child_by_field_name("name")
                    if name is not None:
                        names.add(rust.text(source, name))
    return out


def _callee(function: Node) -> Node:
    """`f::<T>` -> `f`: a turbofish wraps the path or field it applies to."""
    if function.type == "generic_function":
        inner = function.child_by_field_name("function")
        return inner if inner is not None else function
    return function


class BoundApiCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> dict[Path, set[str]]:
        return crate_function_names(snapshot)

    def transform(self, ctx: Context) -> None:
        if b"_bound" not in ctx.source:
            return
        crate = ctx.crate
        own = ctx.facts.get(crate.manifest, set()) if crate is not None else set()
        index = FileIndex.build(ctx.source)
        edits: list[Edit] = []
        for node in rust.tree_nodes(ctx.tree, ("macro_invocation", "call_expression")):
            if node.type == "macro_invocation":
                edits.extend(self._macro(ctx, node))
                continue
            if node.type != "call_expression" or rust.in_macro(node) is not None:
                continue
            function = node.child_by_field_name("function")
            if function is None:
                continue
            function = _callee(function)
            if function.type == "field_expression":
                edits.extend(self._method(ctx, node, function, own))
            elif function.type == "scoped_identifier":
                edits.extend(self._associated(ctx, index, node, function, own))
        edits.extend(self._wrap_macro_imports(ctx, index))
        ctx.fix("`*_bound` APIs -> their 0.23 names", edits)

    def _method(self, ctx: Context, call: Node, function: Node, own: set[str]) -> list[Edit]:
        name = function.child_by_field_name("field")
        written = ctx.text(name)
        if written in own:
            return []
        if written in CHANGED_SIGNATURE:
            ctx.finding(name, f"`{written}` changed its signature in 0.23 (see the guide): port by hand", removed_in=GONE)
            return []
        if written == "import_bound":
            args = call.child_by_field_name("arguments")
            values = [c for c in args.named_children if c.type not in ("line_comment", "block_comment")]
            return [Edit(name.start_byte, name.end_byte, b"import")] if len(values) == 1 else []
        if written in METHODS:
            return [Edit(name.start_byte, name.end_byte, METHODS[written].encode())]
        if written in COMPANION_METHODS:
            ctx.finding(name, f"`.{written}(..)` is a companion crate's Bound-API name of the 0.21/0.22 era: "
                        "rename it as its crate's 0.23 release says")
        return []

    def _associated(self, ctx: Context, index: FileIndex, call: Node, function: Node, own: set[str]) -> list[Edit]:
        name = function.child_by_field_name("name")
        path = function.child_by_field_name("path")
        if name is None or path is None:
            return []
        written = ctx.text(name)
        if "_bound" not in written:  # also `from_bound_object`, `new_bound_with`
            return []
        if written in TYPE_INFO_FUNCTIONS:  # `PyTypeInfo`'s, called on any class
            return [] if written in own else [Edit(name.start_byte, name.end_byte, METHODS[written].encode())]
        owner = ctx.text(path)
        if path.type != "identifier" or not _is_pyo3_type(index, path, owner):
            return []
        if written in RENAMED.get(owner, {}):
            return [Edit(name.start_byte, name.end_byte, RENAMED[owner][written].encode())]
        if written in NOW_FALLIBLE.get(owner, {}):
            if not _enclosing_returns_result(ctx.source, call):
                ctx.finding(call, f"`{owner}::new` returns a PyResult from 0.23: no `?` can go here; port by hand",
                            removed_in=GONE)
                return []
            plain = NOW_FALLIBLE[owner][written].encode()
            return [Edit(name.start_byte, name.end_byte, plain), Edit(call.end_byte, call.end_byte, b"?")]
        ctx.finding(name, f"`{owner}::{written}` was renamed in 0.23, possibly with a new signature: port by hand",
                    removed_in=GONE)
        return []

    @staticmethod
    def _macro(ctx: Context, invocation: Node) -> list[Edit]:
        """`wrap_pyfunction_bound!(f, m)` (also `pyo3::wrap_pyfunction_bound!`) -> `wrap_pyfunction!(f, m)`."""
        name = invocation.child_by_field_name("macro")
        if name is not None and name.type == "scoped_identifier":
            name = name.child_by_field_name("name")
        if name is None or ctx.text(name) != WRAP_MACRO[0]:
            return []
        return [Edit(name.start_byte, name.end_byte, WRAP_MACRO[1].encode())]

    @staticmethod
    def _wrap_macro_imports(ctx: Context, index: FileIndex) -> list[Edit]:
        """`use pyo3::wrap_pyfunction_bound;` -> `use pyo3::wrap_pyfunction;`, or goes when the scope
        already brings `wrap_pyfunction` in (the prelude has it from 0.23 on)."""
        edits: list[Edit] = []
        for leaves in index.uses.values():
            for leaf in leaves:
                if leaf.is_glob or leaf.path[0] != "pyo3" or leaf.path[-1] != WRAP_MACRO[0] or leaf.alias is not None:
                    continue
                already = any(
                    other.path in (("pyo3", WRAP_MACRO[1]), ("pyo3", "prelude", "*"))
                    for other in leaves
                    if other is not leaf
                )
                edits.extend(rust.remove_use_leaf(ctx.source, leaf) if already else [rust.rename_leaf(leaf, WRAP_MACRO[1])])
        return edits


CODEMOD = BoundApiCodemod()
