"""from-py-with: `#[pyo3(from_py_with = "path")]` -> `#[pyo3(from_py_with = path)]` (0.24; 0.25 removed the string).

What it does
    PyO3 0.24 lets `from_py_with` name its function as a path and deprecated the string literal;
    0.25 removed the string form. On struct fields of `#[derive(FromPyObject)]` types and on
    function arguments alike, the quotes go:

        #[pyo3(from_py_with = "get_body")]      ->   #[pyo3(from_py_with = get_body)]
        #[pyo3(item, from_py_with = "conv::ts")] ->  #[pyo3(item, from_py_with = conv::ts)]

What it will not do
    - A string that is not a plain path (`"Self::f::<T>"`, an empty string) is reported: the
      requirement then stops at 0.24, the last release that reads the string.
    - Attributes written inside a macro body are reported (token trees are not rewritten); the
      requirement then stops at 0.24 too.

Fix safety
    Safe: the same function, named the way PyO3 0.24 and later read it.
"""

from __future__ import annotations

import keyword

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_24, V0_25

INFO = CodemodInfo(
    id="from-py-with",
    summary='`#[pyo3(from_py_with = "f")]` -> `from_py_with = f` (>= 0.24)',
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_24,
    max_target=None,
    guide=f"{GUIDE}#from-023-to-024",
    docs=__doc__.strip(),
    triggers=("from_py_with",),
    removes_at=V0_25,
)

GONE = V0_25  # 0.25 removed the string form


def _is_path(text: str) -> bool:
    """`f`, `module::f`, `Self::f`, `crate::a::b`: identifiers joined by `::`."""
    parts = text.split("::")
    return all(p.isidentifier() and not keyword.iskeyword(p) or p in ("crate", "self", "super", "Self") for p in parts) \
        and bool(text)


def _string_value(ctx: Context, name: Node) -> Node | None:
    """`from_py_with = "f"` inside an attribute's tokens -> the string literal node."""
    equals = name.next_sibling
    value = equals.next_sibling if equals is not None and equals.type == "=" else None
    return value if value is not None and value.type == "string_literal" else None


class FromPyWithCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        edits = []
        for name in rust.spelled(ctx.source, ctx.tree.root_node, ["from_py_with"]):
            if name.parent is None or name.parent.type != "token_tree":
                continue
            value = _string_value(ctx, name)
            if value is None:
                continue
            inner = ctx.text(value)[1:-1]
            if any(a.type in ("macro_definition", "macro_invocation") for a in rust.ancestors(name)):
                ctx.finding(value, f"`from_py_with = {ctx.text(value)}` inside a macro: token trees are not rewritten, "
                            "write the function without quotes by hand", removed_in=GONE)
            elif not any(a.type == "attribute_item" for a in rust.ancestors(name)):
                continue
            elif _is_path(inner):
                edits.append(Edit(value.start_byte, value.end_byte, inner.encode()))
            else:
                ctx.finding(value, f"`from_py_with = {ctx.text(value)}` is not a plain path: write the function "
                            "without quotes by hand (0.25 reads only the path form)", removed_in=GONE)
        ctx.fix('`from_py_with = "f"` -> `from_py_with = f`', edits)


CODEMOD = FromPyWithCodemod()
