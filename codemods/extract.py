"""extract: `impl FromPyObject` with `extract_bound` -> PyO3 0.27's `extract(Borrowed)` and `type Error`.

What it does
    PyO3 0.27 reworked the `FromPyObject` trait: it takes two lifetimes, the input is a
    `Borrowed<'a, 'py, PyAny>` (a cheap copyable handle that derefs to `Bound`) and the error type
    is the impl's own `type Error`. `extract_bound` is gone, so every hand-written impl of the
    0.21-0.26 shape stops compiling at 0.27. Each one moves to the new shape, keeping `PyErr` as
    its error:

        impl<'py> FromPyObject<'py> for Point {
            fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
                let x = ob.getattr("x")?;
                ..
        ->
        impl<'a, 'py> FromPyObject<'a, 'py> for Point {
            type Error = PyErr;

            fn extract(ob: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                let ob: &Bound<'py, PyAny> = &ob;
                let x = ob.getattr("x")?;
                ..

    The body reads its input as the `&Bound` it was written for, so it is left as it was
    (`Borrowed` has inherent methods of its own, `cast` among them, that return other types).
    `FromPyObject<'_>` becomes `FromPyObject<'_, '_>`. Calls of the removed function,
    `T::extract_bound(&obj)`, become `T::extract(obj.as_borrowed())`. `PyErr` and `Borrowed` are
    written with a `pyo3::` path when the file does not import them.

    The same rework gave `obj.extract::<T>()` the error type `T::Error`, which is no longer a
    `PyErr` when T is a handle (`Bound<..>`, `Py<..>`, `PyRef<..>`, `PyRefMut<..>`), `&[u8]` or a
    `#[pyclass]` of the crate. In a crate below 0.27, where such an error leaves the call as it is,
    it is made a `PyErr` again, exactly what it was:

        .map(|v| v.extract::<Shape>())              ->  .map(|v| v.extract::<Shape>().map_err(PyErr::from))
        Err(e) => Err(e),   (in `match x.extract::<&[u8]>(py)`)  ->  Err(e) => Err(e.into()),
        out.extract::<Bound<PyList>>()?  (in a closure)  ->  out.extract::<Bound<PyList>>().map_err(PyErr::from)?

    (the value of a closure, function or `return`; a `?` inside a closure, whose error type this
    codemod cannot see; a `match` arm that hands the error on). A `?` in a function returns a
    `PyResult` converts by itself, and `if let Ok(..)`, `.ok()`, `.is_ok()` do not care.

What it will not do
    - An impl whose `extract_bound` takes anything but one `&Bound<.., PyAny>` parameter bound to
      a plain name, or that is written inside a macro, is reported: the requirement then stops
      at 0.26, the last release with `extract_bound`.
    - An `extract()` without a turbofish whose error leaves it some other way: the compiler
      points at it (`.map_err(PyErr::from)` is the fix).

Fix safety
    Safe: the same conversion under the new signature, with the same error type.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.analysis.attributes import pyclass_names
from pyo3_migrate.analysis.names import pyo3_spelling
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_27

INFO = CodemodInfo(
    id="extract",
    summary="`impl FromPyObject` with `extract_bound(&Bound)` -> `extract(Borrowed)` + `type Error` (>= 0.27)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_27,
    max_target=None,
    guide=f"{GUIDE}#frompyobject-reworked-for-flexible-and-efficient-conversions",
    docs=__doc__.strip(),
    triggers=("extract_bound", "extract::<"),
    removes_at=V0_27,
)

GONE = V0_27  # 0.27 took `extract_bound` out of the trait: an impl kept as it is stays below 0.27
OLD, NEW = "extract_bound", "extract"


def _trait_lifetime(source: bytes, impl: Node) -> tuple[Node, str] | None:
    """`impl<..> FromPyObject<'py> for T` -> (the type arguments node, "'py")."""
    trait = impl.child_by_field_name("trait")
    if trait is None or trait.type != "generic_type":
        return None
    name = trait.child_by_field_name("type")
    if name is None or rust.text(source, name).split("::")[-1] != "FromPyObject":
        return None
    args = trait.child_by_field_name("type_arguments")
    lifetimes = [c for c in args.named_children] if args is not None else []
    if len(lifetimes) != 1 or lifetimes[0].type != "lifetime":
        return None  # already two lifetimes (0.27 shape), or not PyO3's trait
    return args, rust.text(source, lifetimes[0])


def _old_method(source: bytes, impl: Node) -> Node | None:
    body = impl.child_by_field_name("body")
    for item in body.named_children if body is not None else []:
        name = item.child_by_field_name("name") if item.type == "function_item" else None
        if name is not None and rust.text(source, name) == OLD:
            return item
    return None


def _input_parameter(source: bytes, method: Node) -> Node | None:
    """The one `name: &Bound<.., PyAny>` parameter, or None for any other shape."""
    params = method.child_by_field_name("parameters")
    found = [p for p in params.named_children if p.type != "line_comment"] if params is not None else []
    if len(found) != 1 or found[0].type != "parameter":
        return None
    pattern, written = found[0].child_by_field_name("pattern"), found[0].child_by_field_name("type")
    if pattern is None or pattern.type != "identifier" or written is None or written.type != "reference_type":
        return None
    inner = written.child_by_field_name("type")
    if inner is None or not rust.text(source, inner).replace(" ", "").startswith("Bound<") \
            or not rust.text(source, inner).replace(" ", "").endswith("PyAny>"):
        return None
    return found[0]


def _fresh_lifetime(source: bytes, impl: Node) -> str:
    used = rust.text(source, impl.child_by_field_name("type_parameters") or impl)
    return next(lt for lt in ("'a", "'b", "'x", "'input") if lt not in used)


def rework_impl(ctx: Context, index: FileIndex, impl: Node) -> list[Edit] | None:
    """The edits that move one `impl FromPyObject<'py>` to the 0.27 shape (None: not one we can)."""
    source = ctx.source
    found = _trait_lifetime(source, impl)
    method = _old_method(source, impl) if found is not None else None
    if method is None:
        return [] if found is None else None
    param = _input_parameter(source, method)
    if param is None:
        return None
    args, py = found
    edits: list[Edit] = []
    if py == "'_":
        input_lifetime = "'_"
        edits.append(Edit(args.start_byte, args.end_byte, b"<'_, '_>"))
    else:
        input_lifetime = _fresh_lifetime(source, impl)
        generics = impl.child_by_field_name("type_parameters")
        edits.append(Edit(generics.start_byte + 1, generics.start_byte + 1, f"{input_lifetime}, ".encode()))
        edits.append(Edit(args.start_byte, args.end_byte, f"<{input_lifetime}, {py}>".encode()))
    borrowed = pyo3_spelling(index, method, "Borrowed")
    written = param.child_by_field_name("type")
    edits.append(Edit(written.start_byte, written.end_byte, f"{borrowed}<{input_lifetime}, {py}, PyAny>".encode()))
    name = method.child_by_field_name("name")
    edits.append(Edit(name.start_byte, name.end_byte, NEW.encode()))
    indent = _indent(source, method.start_byte)
    error = pyo3_spelling(index, method, "PyErr")
    edits.append(Edit(method.start_byte, method.start_byte, f"type Error = {error};\n\n{indent}".encode()))
    edits.extend(_read_as_bound(ctx, method, rust.text(source, param.child_by_field_name("pattern")), py))
    return edits


def _indent(source: bytes, offset: int) -> str:
    line_start = source.rfind(b"\n", 0, offset) + 1
    return source[line_start:offset].decode() if not source[line_start:offset].strip() else ""


def _read_as_bound(ctx: Context, method: Node, name: str, py: str) -> list[Edit]:
    """`let ob: &Bound<'py, PyAny> = &ob;` first in the body, when the body reads its input."""
    body = method.child_by_field_name("body")
    if body is None or name.startswith("_") or not any(n.type == "identifier" for n in rust.spelled(ctx.source, body, [name])):
        return []
    shadow = f"let {name}: &Bound<{py}, PyAny> = &{name};"
    statements = [c for c in body.named_children]
    if statements and ctx.source.count(b"\n", body.start_byte, statements[0].start_byte):
        return [Edit(statements[0].start_byte, statements[0].start_byte,
                     f"{shadow}\n{_indent(ctx.source, statements[0].start_byte)}".encode())]
    return [Edit(body.start_byte + 1, body.start_byte + 1, f" {shadow}".encode())]


def _is_extract_call(ctx: Context, call: Node | None) -> bool:
    function = call.child_by_field_name("function") if call is not None and call.type == "call_expression" else None
    if function is None or function.type != "scoped_identifier":
        return False
    name = function.child_by_field_name("name")
    return name is not None and ctx.text(name) == OLD


def rewrite_call(ctx: Context, call: Node) -> list[Edit]:
    """`T::extract_bound(&obj)` -> `T::extract(obj.as_borrowed())`."""
    function = call.child_by_field_name("function")
    name = function.child_by_field_name("name")
    args = [a for a in call.child_by_field_name("arguments").named_children if a.type not in ("line_comment", "block_comment")]
    if len(args) != 1:
        return []
    edits = [Edit(name.start_byte, name.end_byte, NEW.encode())]
    arg = args[0]
    if arg.type == "reference_expression":
        value = arg.child_by_field_name("value")
        edits.append(Edit(arg.start_byte, value.start_byte, b""))
        arg = value
    simple = arg.type in ("identifier", "field_expression", "call_expression", "try_expression", "self")
    if not simple:
        edits.append(Edit(arg.start_byte, arg.start_byte, b"("))
    edits.append(Edit(arg.end_byte, arg.end_byte, b").as_borrowed()" if not simple else b".as_borrowed()"))
    return edits


# handles whose extraction error is a failed cast or borrow from 0.27 on, not a PyErr
_NOT_PYERR = {"Bound", "Py", "PyRef", "PyRefMut", "Borrowed"}


def _error_is_not_pyerr(written: str, pyclasses: set[str]) -> bool:
    text = written.replace(" ", "").lstrip("&")
    head = text.split("<")[0].split("::")[-1]
    if head == "Option" and text.endswith(">"):  # `Option<T>` fails as T does
        return _error_is_not_pyerr(text[text.index("<") + 1:-1], pyclasses)
    return text.startswith("[u8]") or head in _NOT_PYERR or head in pyclasses


def _value_leaves(call: Node) -> bool:
    """Whether the call's value is what a closure, a function or a `return` hands back."""
    node, parent = call, call.parent
    while parent is not None and parent.type == "block" and parent.named_children and parent.named_children[-1] == node:
        node, parent = parent, parent.parent
    if parent is None:
        return False
    if parent.type == "closure_expression" and rust.is_child(parent, "body", node):
        return True
    if parent.type == "function_item" and rust.is_child(parent, "body", node):
        return True
    return parent.type == "return_expression"


def _in_closure(node: Node) -> bool:
    for a in rust.ancestors(node):
        if a.type == "closure_expression":
            return True
        if a.type == "function_item":
            return False
    return False


def error_flow_edits(ctx: Context, index: FileIndex, pyclasses: set[str]) -> list[Edit]:
    """Make `x.extract::<T>()`'s error a PyErr again where it leaves the call (T's error is not one)."""
    edits = []
    for name in rust.spelled(ctx.source, ctx.tree.root_node, [NEW]):
        field = name.parent
        generic = field.parent if field is not None and field.type == "field_expression" else None
        call = generic.parent if generic is not None and generic.type == "generic_function" else None
        if call is None or call.type != "call_expression" or not rust.is_child(field, "field", name):
            continue
        args = generic.child_by_field_name("type_arguments")
        types = args.named_children if args is not None else []
        if len(types) != 1 or not _error_is_not_pyerr(ctx.text(types[0]), pyclasses) or rust.in_macro(call):
            continue
        pyerr = pyo3_spelling(index, call, "PyErr")
        as_pyerr = Edit(call.end_byte, call.end_byte, f".map_err({pyerr}::from)".encode())
        parent = call.parent
        if parent.type == "try_expression" and _in_closure(call) or _value_leaves(call):
            edits.append(as_pyerr)
        elif parent.type == "match_expression":
            edits.extend(_handed_on_errors(ctx, parent))
    return edits


def _handed_on_errors(ctx: Context, match: Node) -> list[Edit]:
    """`Err(e) => Err(e)` arms -> `Err(e) => Err(e.into())`."""
    edits = []
    body = match.child_by_field_name("body")
    for arm in body.named_children if body is not None else []:
        pattern, value = arm.child_by_field_name("pattern"), arm.child_by_field_name("value")
        if arm.type != "match_arm" or pattern is None or value is None:
            continue
        bound = ctx.text(pattern).replace(" ", "")
        if bound.startswith("Err(") and ctx.text(value).replace(" ", "") == bound:
            inner = bound[4:-1]
            edits.append(Edit(value.start_byte, value.end_byte, f"Err({inner}.into())".encode()))
    return edits


class ExtractCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> dict:
        return pyclass_names(snapshot)

    def transform(self, ctx: Context) -> None:
        crate = ctx.crate
        below = crate is not None and crate.pyo3_version is not None and crate.pyo3_version < V0_27
        if OLD.encode() not in ctx.source and not (below and NEW.encode() in ctx.source):
            return  # nothing of the old shape, and a crate at 0.27 already has the new errors
        index = FileIndex.build(ctx.source)
        edits: list[Edit] = []
        if below and NEW.encode() in ctx.source:
            edits.extend(error_flow_edits(ctx, index, ctx.facts.get(crate.manifest, set())))
        if OLD.encode() not in ctx.source:
            ctx.fix("`extract::<T>()` errors stay `PyErr`s", edits)
            return
        for impl in rust.tree_nodes(ctx.tree, ("impl_item",)):
            if rust.in_macro(impl) is not None:
                continue
            reworked = rework_impl(ctx, index, impl)
            if reworked is None:
                ctx.finding(impl, "an `impl FromPyObject` of the 0.21-0.26 shape this codemod cannot move to 0.27's "
                            "`extract(Borrowed)`: port it by hand (see the guide)", removed_in=GONE)
                continue
            edits.extend(reworked)
        for node in rust.spelled(ctx.source, ctx.tree.root_node, [OLD]):
            call = node.parent.parent if node.parent is not None else None
            if node.parent.type == "scoped_identifier" and call is not None and _is_extract_call(ctx, call):
                if rust.in_macro(call) is not None:
                    continue
                edits.extend(rewrite_call(ctx, call))
        ctx.fix("`FromPyObject::extract_bound` -> 0.27's `extract(Borrowed)`", edits)


CODEMOD = ExtractCodemod()
