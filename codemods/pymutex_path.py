"""pymutex-path: `pyo3::types::PyMutex` -> `pyo3::sync::PyMutex`, and the other types 0.30 moved out of `pyo3::types`.

What it does
    PyO3 0.30 moved `PyMutex` and `PyMutexGuard` to `pyo3::sync`, and `CapsuleName`, `PyCodeInput`,
    `PyFrozenSetBuilder`, `PySendResult`, `PySliceIndices` and `PyStringData` into the modules of
    their types (`pyo3::types::capsule`, `code`, `frozenset`, `iterator`, `slice`, `string`),
    keeping deprecated aliases in `pyo3::types`. Imports and written paths move (only the module
    segment changes):

        use pyo3::types::{PyDict, PyMutex};       ->  use pyo3::types::PyDict;  (+ `use pyo3::sync::PyMutex;`)
        use pyo3::types::PyMutex;                  ->  use pyo3::sync::PyMutex;
        pyo3::types::PyMutexGuard<'_, T>           ->  pyo3::sync::PyMutexGuard<'_, T>
        pyo3::types::PyStringData<'_>              ->  pyo3::types::string::PyStringData<'_>

    It also flags, as findings, the `PyBuffer` slice methods 0.30 deprecated as unsound
    (`as_slice`, `as_mut_slice`, `as_fortran_slice`, `as_fortran_mut_slice`): their replacement,
    `unsafe fn as_slice_ptr`, needs a person to state the safety argument.

What it will not do
    - A moved type reached through `use pyo3::types::*` keeps the glob (the alias still works,
      with a deprecation warning): reported.

Fix safety
    Safe: the same types under their new path.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_30

INFO = CodemodInfo(
    id="pymutex-path",
    summary="types 0.30 moved out of `pyo3::types` (`PyMutex` to `pyo3::sync`, ..); deprecated `PyBuffer` slice "
            "methods reported (>= 0.30)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_30,
    max_target=None,
    guide=f"{GUIDE}#from-029-to-030",
    docs=__doc__.strip(),
    triggers=("PyMutex", "CapsuleName", "PyCodeInput", "PyFrozenSetBuilder", "PySendResult", "PySliceIndices",
              "PyStringData", "as_slice", "as_mut_slice", "as_fortran_slice", "as_fortran_mut_slice"),
)

# name -> the module 0.30 moved it to, written after `pyo3::` (each checked with cargo against 0.30.1)
MOVED = {
    "PyMutex": "sync", "PyMutexGuard": "sync", "CapsuleName": "types::capsule", "PyCodeInput": "types::code",
    "PyFrozenSetBuilder": "types::frozenset", "PySendResult": "types::iterator", "PySliceIndices": "types::slice",
    "PyStringData": "types::string",
}
BUFFER_SLICES = ("as_slice", "as_mut_slice", "as_fortran_slice", "as_fortran_mut_slice")


def _import_edits(ctx: Context, index: FileIndex) -> list[Edit]:
    edits = []
    for leaf in index.all_leaves():
        if leaf.is_glob or leaf.path[:2] != ("pyo3", "types") or leaf.path[-1] not in MOVED or len(leaf.path) != 3:
            continue
        if leaf.standalone:
            types = leaf.node.child_by_field_name("path") if leaf.node.type == "scoped_identifier" else None
            segment = types.child_by_field_name("name") if types is not None else None
            if segment is not None and ctx.text(segment) == "types":
                edits.append(Edit(segment.start_byte, segment.end_byte, MOVED[leaf.path[-1]].encode()))
                continue
        moved = f"use pyo3::{MOVED[leaf.path[-1]]}::{leaf.path[-1]}" + (f" as {leaf.alias}" if leaf.alias else "") + ";"
        edits.extend(rust.remove_use_leaf(ctx.source, leaf))
        end, indent = leaf.declaration.end_byte, rust.indent_at(ctx.source, leaf.declaration.start_byte).decode()
        edits.append(Edit(end, end, f"{rust.line_ending(ctx.source).decode()}{indent}{moved}".encode()))
    return edits


def _written_paths(ctx: Context) -> list[Edit]:
    """`pyo3::types::PyMutex` written in code -> `pyo3::sync::PyMutex` (and the others likewise)."""
    edits = []
    for name in rust.spelled(ctx.source, ctx.tree.root_node, list(MOVED)):
        path = name.parent
        if path is None or path.type not in ("scoped_type_identifier", "scoped_identifier") or rust.in_use_declaration(name):
            continue
        module = path.child_by_field_name("path")
        if module is not None and rust.path_segments(ctx.source, module) in (("pyo3", "types"), ("::pyo3", "types")):
            segment = module.child_by_field_name("name")
            edits.append(Edit(segment.start_byte, segment.end_byte, MOVED[ctx.text(name)].encode()))
    return edits


def _buffer_slices(ctx: Context) -> None:
    if b"PyBuffer" not in ctx.source:
        return
    for name in rust.spelled(ctx.source, ctx.tree.root_node, list(BUFFER_SLICES)):
        field = name.parent
        call = field.parent if field is not None and field.type == "field_expression" else None
        if call is None or call.type != "call_expression" or not _takes_py(call):
            continue
        ctx.finding(name, f"`PyBuffer::{ctx.text(name)}` is deprecated as unsound in 0.30: use the unsafe "
                    f"`{'as_fortran_slice_ptr' if 'fortran' in ctx.text(name) else 'as_slice_ptr'}` and state why "
                    "the buffer is not mutated meanwhile")


def _takes_py(call: Node) -> bool:
    """PyBuffer's slice methods take one argument, the `py` token (`[T]::as_slice` takes none)."""
    args = call.child_by_field_name("arguments")
    return args is not None and len([a for a in args.named_children if a.type not in ("line_comment", "block_comment")]) == 1


class PyMutexPathCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        _buffer_slices(ctx)
        present = rust.words(ctx.source)
        if not any(name.encode() in present for name in MOVED):
            return
        index = FileIndex.build(ctx.source)
        used = [n for n in rust.spelled(ctx.source, ctx.tree.root_node, list(MOVED)) if not rust.in_use_declaration(n)]
        for leaf in index.all_leaves():
            if leaf.is_glob and leaf.path[:2] == ("pyo3", "types") and used:
                name = ctx.text(used[0])
                ctx.finding(leaf.node, f"`{name}` comes through `use pyo3::types::*`, where 0.30 keeps only a "
                            f"deprecated alias: import it from `pyo3::{MOVED[name]}`")
        ctx.fix("types 0.30 moved -> their new modules", _import_edits(ctx, index) + _written_paths(ctx))


CODEMOD = PyMutexPathCodemod()
