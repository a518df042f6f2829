"""as-py-pointer: imports of `AsPyPointer` go (0.23 deprecated the trait, 0.25 removed it); other uses are reported.

What it does
    `as_ptr()` is an inherent method of `Py<T>` and `Bound<'py, T>` since 0.21, so a file that only
    imported the trait to call it loses the import, which 0.25 makes an error:

        use pyo3::{AsPyPointer, prelude::*};     ->  use pyo3::prelude::*;
        use pyo3::AsPyPointer;                    ->  (the line goes)

What it will not do
    - Rewrite what needs the trait itself: a bound `T: AsPyPointer`, an `impl AsPyPointer for ..`,
      a call `AsPyPointer::as_ptr(&x)`. Each is a finding that holds the requirement below 0.25
      (where the trait is gone): the guide's replacement is `x.as_any().as_ptr()` on a `Bound` or
      `Py`, or a bound on the concrete type, which a person picks.

Fix safety
    Safe: the import names a trait whose method the types now have themselves.
"""

from __future__ import annotations

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Safety
from pyo3_migrate.core.version import V0_23, V0_25

INFO = CodemodInfo(
    id="as-py-pointer",
    summary="imports of the removed `AsPyPointer` trait go; bounds, impls and calls on it reported",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#from-022-to-023",
    docs=__doc__.strip(),
    triggers=("AsPyPointer",),
    removes_at=V0_25,
)


class AsPyPointerCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        if b"AsPyPointer" not in ctx.source:
            return
        named = [n for n in rust.spelled(ctx.source, ctx.tree.root_node, ["AsPyPointer"]) if not rust.in_use_declaration(n)]
        for name in named:
            ctx.finding(name, "`AsPyPointer` is gone in PyO3 0.25: call `.as_any().as_ptr()` on the `Bound`/`Py` "
                        "(or bound the concrete type) instead of naming the trait", V0_25)
        if named:
            return  # the import stays while the trait is named: the file keeps compiling below 0.25
        edits = []
        for leaf in FileIndex.build(ctx.source).all_leaves():
            if not leaf.is_glob and leaf.path[-1] == "AsPyPointer" and leaf.path[0] in ("pyo3", "crate", "self") \
                    and not leaf.alias:
                edits.extend(rust.remove_use_leaf(ctx.source, leaf))
        if edits:
            ctx.fix("`AsPyPointer` import removed (`as_ptr` is inherent on `Py` and `Bound`)", edits)


CODEMOD = AsPyPointerCodemod()
