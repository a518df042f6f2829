"""initializer-from: a `#[new]` that returns an existing object is reported (0.28 removed `From<Py<T>>` and `From<Bound<T>>` for `PyClassInitializer`).

What it does
    Up to 0.27 a constructor could hand back an object that already exists, through
    `PyClassInitializer`'s `From<Py<T>>`/`From<Bound<'_, T>>` impls:

        #[new]
        fn new(py: Python<'_>) -> PyResult<Py<Self>> { CACHED.get(py).clone_ref(py) ... }

    0.28 removed those impls, so such a `#[new]` (returning `Py<Self>`, `Bound<'_, Self>`, or the
    class by name, also inside `PyResult`/`Result`) no longer compiles. Reports each one, holding the
    requirement below 0.28 until a person restructures it (a `#[staticmethod]` factory returning the
    cached object, or a `#[new]` that builds a fresh value).

What it will not do
    - Rewrite it: which object the constructor should return is the author's design.
    - Follow `PyClassInitializer::from(x)` calls elsewhere (the type of `x` is not known here).

Fix safety
    Reports only.
"""

from __future__ import annotations

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import attr_uses
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Safety
from pyo3_migrate.core.version import V0_28

INFO = CodemodInfo(
    id="initializer-from",
    summary="report a `#[new]` returning `Py<Self>`/`Bound<Self>` (0.28 removed those `PyClassInitializer` conversions)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_28,
    max_target=None,
    guide=f"{GUIDE}#from-027-to-028",
    docs=__doc__.strip(),
    triggers=("#[new]",),
    reports_only=True,
    removes_at=V0_28,
)

_WRAPPERS = ("PyResult", "Result")
_OBJECTS = ("Py", "Bound")


def _returned_object(source: bytes, node, owner: str) -> bool:
    """`Py<Self>`, `Bound<'_, Self>` (or the class by name), also inside `PyResult`/`Result`."""
    if node is None or node.type != "generic_type":
        return False
    name = rust.text(source, node.child_by_field_name("type")).rsplit("::", 1)[-1]
    args = [c for c in node.child_by_field_name("type_arguments").named_children if c.type != "lifetime"]
    if name in _WRAPPERS and args:
        return _returned_object(source, args[0], owner)
    return name in _OBJECTS and len(args) == 1 and rust.text(source, args[0]) in ("Self", owner)


class InitializerFromCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        if b"#[new]" not in ctx.source or not any(word in ctx.source for word in (b"Py<", b"Bound<")):
            return
        for item in rust.nodes_of_kinds(ctx.tree.root_node, ("function_item",)):
            if "new" not in [u.path[-1] for u in attr_uses(ctx.source, item) if u.path]:
                continue
            impl = item.parent.parent if item.parent is not None else None
            owner = ctx.text(impl.child_by_field_name("type")) if impl is not None and impl.type == "impl_item" else "Self"
            if _returned_object(ctx.source, item.child_by_field_name("return_type"), owner):
                ctx.finding(item, "this `#[new]` returns an existing object, which PyO3 0.28 no longer converts "
                            "into a `PyClassInitializer`: return a fresh value, or make it a `#[staticmethod]` "
                            "factory", V0_28)


CODEMOD = InitializerFromCodemod()
