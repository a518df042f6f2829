"""into-pyobject: `ToPyObject`/`IntoPy<PyObject>` impls and calls -> `IntoPyObject` (0.23; 0.25 removed the old traits).

What it does
    PyO3 0.23 replaced `ToPyObject` and `IntoPy` with the fallible `IntoPyObject`, deprecating the
    old traits; 0.25 removed them. A hand-written impl keeps its body as an inherent method of the
    type, and the new trait is implemented on top of it (for `&T` what `to_object(&self)` did,
    for `T` what `into_py(self)` did):

        impl ToPyObject for Response {              impl Response {
            fn to_object(&self, py: Python)             fn to_object(&self, py: Python) -> PyObject { .. }
                -> PyObject { .. }             ->   }
        }
                                                    impl<'py> IntoPyObject<'py> for &Response {
                                                        type Target = PyAny;
                                                        type Output = Bound<'py, Self::Target>;
                                                        type Error = std::convert::Infallible;

                                                        fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
                                                            Ok(self.to_object(py).into_bound(py))
                                                        }
                                                    }

    Calls become the new trait's, giving the same `Py<PyAny>`:

        x.into_py(py)     ->  x.into_pyobject(py)?.into_any().unbind()
        x.to_object(py)   ->  (&x).into_pyobject(py)?.into_any().unbind()

    with `?` where the error reaches a `PyErr` (a function returning `PyResult`, a closure declared
    or collected so), else `.unwrap()`: the conversions the old traits made could not fail, and a
    pyclass's `IntoPy` unwrapped its own `Py::new`, so neither panics where the old code did not.

What it will not do
    - Generic impls, impls on a `#[pyclass]` (the macro implements `IntoPyObject` itself),
      `IntoPy<T>` for any T but `PyObject`/`Py<PyAny>`, and `ToPyObject`/`IntoPy` in trait bounds
      or `dyn` types are reported: the requirement then stops at 0.24, the last release with them.
    - A call whose value goes into a `let` typed other than `PyObject`/`Py<PyAny>` (an
      `IntoPy<Py<PyTuple>>` conversion) is reported, not rewritten. Calls inside macros likewise.

Fix safety
    Safe: the same conversion code runs, reached through the trait that replaced the old ones.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import pyclass_names
from pyo3_migrate.analysis.errors import reaches_pyerr
from pyo3_migrate.analysis.names import pyo3_glob, pyo3_spelling
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_23, V0_25

INFO = CodemodInfo(
    id="into-pyobject",
    summary="`ToPyObject`/`IntoPy<PyObject>` impls and `to_object`/`into_py` calls -> `IntoPyObject` (>= 0.23)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#new-intopyobject-trait-unifies-to-python-conversions",
    docs=__doc__.strip(),
    triggers=("ToPyObject", "IntoPy", "to_object", "into_py"),
    removes_at=V0_25,
)

GONE = V0_25  # 0.25 removed ToPyObject and IntoPy
OLD_TRAITS = {"ToPyObject": ("to_object", True), "IntoPy": ("into_py", False)}  # trait -> (method, by reference)
CALLS = {"to_object": True, "into_py": False}  # method -> the receiver is borrowed
_PYOBJECT = {"PyObject", "Py<PyAny>", "pyo3::PyObject", "pyo3::Py<pyo3::PyAny>"}
_WORDS = {w.encode() for w in (*OLD_TRAITS, *CALLS)}


def _trait_name(source: bytes, impl: Node) -> tuple[str, Node] | None:
    trait = impl.child_by_field_name("trait")
    if trait is None:
        return None
    base = trait.child_by_field_name("type") if trait.type == "generic_type" else trait
    name = rust.text(source, base).split("::")[-1] if base is not None else ""
    return (name, trait) if name in OLD_TRAITS else None


def _converts_to_pyobject(source: bytes, trait: Node) -> bool:
    """`ToPyObject`, or `IntoPy<PyObject>` / `IntoPy<Py<PyAny>>`."""
    if trait.type != "generic_type":
        return True
    args = trait.child_by_field_name("type_arguments")
    return args is not None and rust.text(source, args).replace(" ", "")[1:-1] in _PYOBJECT


def rework_impl(ctx: Context, index: FileIndex, impl: Node, pyclasses: set[str]) -> list[Edit] | str:
    """The edits that turn one old-trait impl into an inherent method + an IntoPyObject impl, or why not."""
    source = ctx.source
    name, trait = _trait_name(source, impl)
    method, by_ref = OLD_TRAITS[name]
    own = impl.child_by_field_name("type")
    if impl.child_by_field_name("type_parameters") is not None or own is None or own.type != "type_identifier":
        return f"a generic `impl {name}`"
    if ctx.text(own) in pyclasses:
        return f"`impl {name}` on a `#[pyclass]` (the macro implements `IntoPyObject` for it)"
    if not _converts_to_pyobject(source, trait):
        return f"`impl {ctx.text(trait)}` (a conversion to another type than `PyObject`)"
    body = impl.child_by_field_name("body")
    methods = [c for c in body.named_children if c.type == "function_item"] if body is not None else []
    if [rust.text(source, m.child_by_field_name("name")) for m in methods] != [method]:
        return f"an `impl {name}` with other items than `{method}`"
    names = {n: pyo3_spelling(index, impl, n) for n in ("IntoPyObject", "PyAny", "Bound", "Python")}
    receiver = f"&{ctx.text(own)}" if by_ref else ctx.text(own)
    added = (
        f"\n\nimpl<'py> {names['IntoPyObject']}<'py> for {receiver} {{\n"
        f"    type Target = {names['PyAny']};\n"
        f"    type Output = {names['Bound']}<'py, Self::Target>;\n"
        "    type Error = std::convert::Infallible;\n\n"
        f"    fn into_pyobject(self, py: {names['Python']}<'py>) -> Result<Self::Output, Self::Error> {{\n"
        f"        Ok(self.{method}(py).into_bound(py))\n"
        "    }\n"
        "}"
    )
    return [Edit(trait.start_byte, own.start_byte, b""), Edit(impl.end_byte, impl.end_byte, added.encode())]


def _let_type(source: bytes, call: Node) -> str | None:
    parent = call.parent
    if parent is not None and parent.type == "let_declaration" and rust.is_child(parent, "value", call):
        written = parent.child_by_field_name("type")
        return rust.text(source, written).replace(" ", "") if written is not None else None
    return None


def rewrite_call(ctx: Context, name: Node) -> list[Edit] | str | None:
    """`x.into_py(py)` / `x.to_object(py)` -> the IntoPyObject chain (None: not such a call)."""
    field = name.parent
    call = field.parent if field is not None and field.type == "field_expression" else None
    if call is None or call.type != "call_expression" or not rust.is_child(field, "field", name):
        return None
    if _delegation(call, ctx.source):
        return None
    args = call.child_by_field_name("arguments")
    if args is None or len([a for a in args.named_children if a.type not in ("line_comment", "block_comment")]) != 1:
        return None
    written = _let_type(ctx.source, call)
    if written is not None and written not in _PYOBJECT:
        return f"`.{ctx.text(name)}(..)` into a `{written}`"
    receiver = field.child_by_field_name("value")
    simple = receiver.type in ("identifier", "field_expression", "self", "call_expression", "try_expression")
    edits = []
    if CALLS[ctx.text(name)]:
        wrapped = "&" + ctx.text(receiver) if simple else f"&({ctx.text(receiver)})"
        edits.append(Edit(receiver.start_byte, receiver.end_byte, f"({wrapped})".encode()))
    fallible = "?" if reaches_pyerr(ctx.source, call) else ".unwrap()"
    edits.append(Edit(name.start_byte, name.end_byte, b"into_pyobject"))
    edits.append(Edit(call.end_byte, call.end_byte, f"{fallible}.into_any().unbind()".encode()))
    return edits


def _trait_mentions(ctx: Context, impls: list[Node]) -> list[Node]:
    """`T: ToPyObject`, `impl IntoPy<..>` arguments, `dyn ToPyObject`: what a person ports (impl
    headers and imports are handled apart)."""
    headers = [(t.start_byte, t.end_byte) for t in (i.child_by_field_name("trait") for i in impls) if t is not None]
    return [
        node for node in rust.spelled(ctx.source, ctx.tree.root_node, list(OLD_TRAITS))
        if node.type == "type_identifier" and not rust.in_use_declaration(node)
        and not any(a <= node.start_byte < b for a, b in headers)
    ]


def _crates_with_bounds(snapshot: Snapshot) -> set:
    """The crates whose files name `ToPyObject`/`IntoPy` other than in imports and impl headers."""
    found = set()
    for crate in snapshot.project.crates:
        for path in snapshot.rust_files(crate):
            source = snapshot.contents[path]
            if not {t.encode() for t in OLD_TRAITS} & rust.words(source):
                continue
            tree = rust.parse(source)
            impls = [i for i in rust.tree_nodes(tree, ("impl_item",)) if _trait_name(source, i)]
            headers = [(t.start_byte, t.end_byte) for t in (i.child_by_field_name("trait") for i in impls) if t is not None]
            if any(n.type == "type_identifier" and not rust.in_use_declaration(n) and not any(a <= n.start_byte < b for a, b in headers)
                   for n in rust.spelled(source, tree.root_node, list(OLD_TRAITS))):
                found.add(crate.manifest)
                break
    return found


def _delegation(call: Node, source: bytes) -> bool:
    """`self.to_object(py)` inside an `into_pyobject`: the inherent method the new impl calls."""
    fn = next((a for a in rust.ancestors(call) if a.type == "function_item"), None)
    receiver = call.child_by_field_name("function").child_by_field_name("value")
    return fn is not None and rust.text(source, fn.child_by_field_name("name")) == "into_pyobject" \
        and receiver is not None and receiver.type == "self"


def _imports(ctx: Context, index: FileIndex, kept: bool) -> list[Edit]:
    """`use pyo3::ToPyObject;` -> `use pyo3::IntoPyObject;` (the calls need the trait in scope), or
    gone when it is in scope already; left while a kept mention still needs it."""
    if kept:
        return []
    edits, renamed = [], False
    for leaf in index.all_leaves():
        if leaf.is_glob or leaf.path[-1] not in OLD_TRAITS or leaf.path[0] != "pyo3" or leaf.alias is not None:
            continue
        in_scope = index.resolve(leaf.node, "IntoPyObject", pyo3_glob) is not None
        if in_scope or renamed:
            edits.extend(rust.remove_use_leaf(ctx.source, leaf))
        else:
            edits.append(rust.rename_leaf(leaf, "IntoPyObject"))
            renamed = True
    return edits


class IntoPyObjectCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> tuple[dict, set]:
        """(crate manifest -> its pyclass names, the crates that name the old traits in bounds or types)."""
        return pyclass_names(snapshot), _crates_with_bounds(snapshot)

    def transform(self, ctx: Context) -> None:
        if not _WORDS & rust.words(ctx.source):  # `into_pyobject` is not `into_py`
            return
        crate = ctx.crate
        names, bounded = ctx.facts
        pyclasses = names.get(crate.manifest, set()) if crate is not None else set()
        impls = [i for i in rust.tree_nodes(ctx.tree, ("impl_item",)) if _trait_name(ctx.source, i)]
        if crate is not None and crate.manifest in bounded:
            # generic code bound by the old traits needs their impls and calls as they are: the crate
            # moves as a whole once a person has ported the bounds
            for node in _trait_mentions(ctx, impls):
                ctx.finding(node, f"`{ctx.text(node)}` as a bound or type: use `IntoPyObject` (by hand: its error "
                            "type and lifetime are new); this crate's impls and calls wait for it", removed_in=GONE)
            return
        index = FileIndex.build(ctx.source)
        edits: list[Edit] = []
        kept = False
        for impl in impls:
            reworked = "an old-trait impl inside a macro" if rust.in_macro(impl) is not None else \
                rework_impl(ctx, index, impl, pyclasses)
            if isinstance(reworked, str):
                ctx.finding(impl, f"{reworked}: port it to `IntoPyObject` by hand (see the guide)", removed_in=GONE)
                kept = True
            else:
                edits.extend(reworked)
        for name in rust.spelled(ctx.source, ctx.tree.root_node, list(CALLS)):
            if rust.in_macro(name) is not None:
                continue
            done = rewrite_call(ctx, name)
            if isinstance(done, str):
                ctx.finding(name, f"{done}: convert it with `into_pyobject` by hand", removed_in=GONE)
            elif done:
                edits.extend(done)
        edits.extend(_imports(ctx, index, kept))
        ctx.fix("`ToPyObject`/`IntoPy` -> `IntoPyObject`", edits)


CODEMOD = IntoPyObjectCodemod()
