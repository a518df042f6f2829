"""call-args: a parameter `impl IntoPyObject<'py, Target = PyTuple>` passed as call arguments -> `impl PyCallArgs<'py>` (0.25).

What it does
    Up to PyO3 0.24 the `args` of `call`, `call1`, `call_method` and `call_method1` were any
    `IntoPyObject<'py, Target = PyTuple>`; 0.25 made them the sealed `pyo3::call::PyCallArgs<'py>`
    (tuples, `Bound<PyTuple>`, `Py<PyTuple>`, ...). A function that takes such a parameter and
    passes it on as call arguments no longer compiles ("cannot used as a Python `call` argument"):

        fn call_soon<'py>(f: &Bound<'py, PyAny>, args: impl IntoPyObject<'py, Target = PyTuple>)
        ->
        fn call_soon<'py>(f: &Bound<'py, PyAny>, args: impl pyo3::call::PyCallArgs<'py>)

    Callers pass tuples, which are `PyCallArgs`.

What it will not do
    - A parameter also used in other ways than as call arguments keeps its type: reported when
      the requirement moves to 0.25 or later, as the call does not compile there.
    - Generic parameters (`A: IntoPyObject<'py, Target = PyTuple>`) are left alone.

Fix safety
    Safe: every argument the callers can pass (tuples) implements the new bound.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_25

INFO = CodemodInfo(
    id="call-args",
    summary="a parameter `impl IntoPyObject<'py, Target = PyTuple>` passed to `call*` -> `impl PyCallArgs<'py>` (>= 0.25)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_25,
    max_target=None,
    guide=f"{GUIDE}#from-024-to-025",
    docs=__doc__.strip(),
    triggers=("Target = PyTuple", "Target=PyTuple"),
    removes_at=V0_25,
)

CALLS = {"call": 0, "call1": 0, "call_method": 1, "call_method1": 1}  # method -> index of its args argument


def _tuple_conversion(source: bytes, written: Node) -> str | None:
    """`impl IntoPyObject<'py, Target = PyTuple>` -> "'py" (its lifetime), else None."""
    text = rust.text(source, written).replace(" ", "")
    if written.type != "abstract_type" or not text.startswith("implIntoPyObject<") or "Target=PyTuple" not in text:
        return None
    lifetime = text[len("implIntoPyObject<"):].split(",")[0]
    return lifetime if lifetime.startswith("'") else None


def _call_argument_uses(ctx: Context, body: Node, name: str) -> tuple[int, int]:
    """(uses of `name` in body, those that are the args argument of a `call*` method)."""
    uses = [n for n in rust.spelled(ctx.source, body, [name]) if n.type == "identifier"]
    as_args = 0
    for use in uses:
        args = use.parent
        call = args.parent if args is not None and args.type == "arguments" else None
        function = call.child_by_field_name("function") if call is not None else None
        if function is None or function.type != "field_expression":
            continue
        method = ctx.text(function.child_by_field_name("field"))
        values = [a for a in args.named_children if a.type not in ("line_comment", "block_comment")]
        as_args += method in CALLS and len(values) > CALLS[method] and values[CALLS[method]] == use
    return len(uses), as_args


def _unused_tuple_import(ctx: Context, edits: list[Edit]) -> list[Edit]:
    """`use pyo3::types::PyTuple` goes when the rewritten types were its only users."""
    replaced = [(e.start, e.end) for e in edits]
    mentions = [n for n in rust.spelled(ctx.source, ctx.tree.root_node, ["PyTuple"])
                if not rust.in_use_declaration(n) and not any(a <= n.start_byte < b for a, b in replaced)]
    if mentions:
        return []
    index = FileIndex.build(ctx.source)
    return [e for leaf in index.all_leaves() if not leaf.is_glob and leaf.path[-1] == "PyTuple" and leaf.alias is None
            and leaf.path[0] == "pyo3" for e in rust.remove_use_leaf(ctx.source, leaf)]


class CallArgsCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        edits = []
        for fn in rust.tree_nodes(ctx.tree, ("function_item",)):
            params, body = fn.child_by_field_name("parameters"), fn.child_by_field_name("body")
            for param in params.named_children if params is not None and body is not None else []:
                written, pattern = param.child_by_field_name("type"), param.child_by_field_name("pattern")
                lifetime = _tuple_conversion(ctx.source, written) if written is not None else None
                if lifetime is None or pattern is None or pattern.type != "identifier":
                    continue
                uses, as_args = _call_argument_uses(ctx, body, ctx.text(pattern))
                if as_args and as_args == uses:
                    edits.append(Edit(written.start_byte, written.end_byte,
                                      f"impl pyo3::call::PyCallArgs<{lifetime}>".encode()))
                elif as_args:
                    ctx.finding(written, "a tuple conversion used as call arguments and otherwise: from 0.25 call "
                                "arguments are `pyo3::call::PyCallArgs`; change the type by hand", removed_in=V0_25)
        if edits:
            edits.extend(_unused_tuple_import(ctx, edits))
        ctx.fix("call arguments: `impl IntoPyObject<Target = PyTuple>` -> `impl PyCallArgs`", edits)


CODEMOD = CallArgsCodemod()
