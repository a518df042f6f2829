"""cast: `downcast*` -> `cast*` and `DowncastError` -> `CastError`, the names PyO3 0.27 gave them.

What it does
    PyO3 0.27 renamed the type-checked conversions of `Bound`, `Borrowed` and `Py` and their error
    types, deprecating the old names; 0.29 removed them. Only the identifier changes; arguments,
    turbofish and `?` stay:

        ob.downcast::<PyDict>()?            ->  ob.cast::<PyDict>()?
        let t: &Bound<'_, PyTuple> = item.downcast()?;   ->   ... = item.cast()?;
        any.downcast_into::<PyList>()       ->  any.cast_into::<PyList>()
        obj.downcast_bound::<Foo>(py)       ->  obj.cast_bound::<Foo>(py)
        E: From<DowncastError<'a, 'py>>     ->  E: From<CastError<'a, 'py>>

    (`downcast_exact`, `downcast_into_exact`, `downcast_unchecked`, `downcast_into_unchecked` and
    `downcast_bound_unchecked` likewise.) A `downcast` method is PyO3's only when the code says
    so: its turbofish names a Python type (a `Py*` type such as `PyDict` or numpy's `PyArray1`, or a
    `#[pyclass]` of the crate), or the result goes into a `let` typed `Bound<..>`/`Borrowed<..>`, or
    its receiver is declared `Bound<..>`/`Borrowed<..>`/`Py<..>` (a parameter or a typed `let`) or
    made by a PyO3 method (`obj.bind(py).downcast()`, `m.getattr("f")?.downcast()`), or `self` in
    an `impl` for a PyO3 handle (an extension trait on `Bound<'py, PyAny>`).
    `downcast_bound` is `Py`'s alone. `DowncastError`/`DowncastIntoError` are renamed where they
    resolve to PyO3 (imports included).

What it will not do
    - `downcast` of anything else is left alone: `anyhow::Error::downcast::<io::Error>()`,
      `Box<dyn Any>::downcast::<T>()`, a `downcast-rs` trait, a `downcast` method the crate defines
      itself (`self.downcast()` in an `impl` of its own type included).
    - A crate already on 0.29 or later is not read (as with every codemod and the release that
      removes what it rewrites): PyO3 has no `downcast` there, so every one that compiles is
      someone else's.
    - A `downcast` whose receiver's type is not written anywhere near is PyO3's in a file that
      mentions no other `downcast` provider (`anyhow`, `eyre`, `Any`, `dyn Error`, downcast-rs, a
      `downcast` of the crate's own);
      elsewhere it is reported in a crate still below 0.29 (rename it by hand if it is PyO3's), and
      the requirement then stops at 0.28.
    - `DowncastError::new(..)` changed its arguments (`CastError::new` takes the target type
      object): reported, and the error types in that file keep their old names.
    - Mentions inside other macros than the standard expression ones (`assert!`, `format!`,
      `println!`, `vec!`, ...) are token trees this codemod does not read: left as they are.

Fix safety
    Safe: the new names are the same conversions; their errors convert into `PyErr` as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import pyclass_names
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_27, V0_29

INFO = CodemodInfo(
    id="cast",
    summary="`downcast*` -> `cast*`, `DowncastError` -> `CastError` (>= 0.27)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_27,
    max_target=None,
    guide=f"{GUIDE}#from-026-to-027",
    docs=__doc__.strip(),
    triggers=("downcast", "Downcast"),
    removes_at=V0_29,
)

GONE = V0_29  # 0.29 removed the `downcast` names: a crate that keeps one stays below it
METHODS = {
    "downcast": "cast",
    "downcast_into": "cast_into",
    "downcast_exact": "cast_exact",
    "downcast_into_exact": "cast_into_exact",
    "downcast_unchecked": "cast_unchecked",
    "downcast_into_unchecked": "cast_into_unchecked",
    "downcast_bound": "cast_bound",
    "downcast_bound_unchecked": "cast_bound_unchecked",
}
PY_ONLY = {"downcast_bound", "downcast_bound_unchecked"}  # `Py`'s methods: no other crate spells them
ERRORS = {"DowncastError": "CastError", "DowncastIntoError": "CastIntoError"}
# `Py*` names that are not Python types: `anyhow::Error::downcast::<PyErr>()` is anyhow's.
_NOT_PYTHON_TYPES = {"PyErr", "PyResult", "PyRef", "PyRefMut", "PyBorrowError", "PyBorrowMutError"}
_PYO3_HANDLES = ("Bound<", "Borrowed<", "Py<", "PyObject")
_PYO3_MODULES = {("pyo3",), ("pyo3", "err"), ("::pyo3",)}


def _turbofish_type(function: Node) -> Node | None:
    """`x.downcast::<T>` -> the node of T (its last path segment)."""
    if function.type != "generic_function":
        return None
    args = function.child_by_field_name("type_arguments")
    types = [c for c in args.named_children if c.is_named] if args is not None else []
    if len(types) != 1:
        return None
    node = types[0]
    while node.type in ("generic_type", "scoped_type_identifier"):
        inner = node.child_by_field_name("type") if node.type == "generic_type" else node.child_by_field_name("name")
        if inner is None:
            break
        node = inner
    return node


def _declared_type(source: bytes, use: Node, name: str) -> str | None:
    """The written type of `name` where it is used: a typed `let` before it, or a parameter."""
    for scope in rust.ancestors(use):
        if scope.type == "block":
            for stmt in scope.named_children:
                if stmt.start_byte >= use.start_byte:
                    break
                if stmt.type == "let_declaration":
                    pattern, written = stmt.child_by_field_name("pattern"), stmt.child_by_field_name("type")
                    if pattern is not None and rust.text(source, pattern).removeprefix("mut ") == name:
                        return rust.text(source, written) if written is not None else ""
        if scope.type in ("function_item", "closure_expression"):
            params = scope.child_by_field_name("parameters")
            for param in params.named_children if params is not None else []:
                pattern, written = param.child_by_field_name("pattern"), param.child_by_field_name("type")
                if pattern is not None and rust.text(source, pattern).removeprefix("mut ") == name:
                    return rust.text(source, written) if written is not None else ""
            if scope.type == "function_item":
                return None
    return None


def _let_type(source: bytes, call: Node) -> str | None:
    """The written type of the `let` that the call's value goes into (through `?`, `.unwrap()`..)."""
    node = call
    while node.parent is not None and node.parent.type in ("try_expression", "field_expression", "call_expression",
                                                           "reference_expression", "parenthesized_expression"):
        node = node.parent
    parent = node.parent
    if parent is not None and parent.type == "let_declaration" and rust.is_child(parent, "value", node):
        written = parent.child_by_field_name("type")
        return rust.text(source, written) if written is not None else None
    return None


# Methods whose result is a PyO3 handle (`obj.bind(py)`, `m.getattr("x")?`): their `downcast` is PyO3's.
_PRODUCERS = {"bind", "bind_borrowed", "into_bound", "as_any", "into_any", "as_borrowed", "getattr", "call0", "call1",
              "call_method", "call_method0", "call_method1", "get_type"}
_PASS_THROUGH = {"unwrap", "expect"}


def _made_by_pyo3(source: bytes, expr: Node) -> bool:
    """`x.bind(py)`, `m.getattr("f")?`, `y.call1(args).unwrap()`: an expression PyO3's methods make."""
    while True:
        if expr.type in ("try_expression", "parenthesized_expression", "reference_expression") and expr.named_child_count:
            expr = expr.named_children[0]
            continue
        if expr.type != "call_expression":
            return False
        function = expr.child_by_field_name("function")
        if function is None or function.type != "field_expression":
            return False
        name = rust.text(source, function.child_by_field_name("field"))
        if name in _PRODUCERS:
            return True
        if name not in _PASS_THROUGH:
            return False
        expr = function.child_by_field_name("value")


def _python_type(written: str, pyclasses: set[str]) -> bool:
    """A type a `downcast::<T>()` to is PyO3's: a `Py*` Python type or a pyclass of the crate."""
    return written in pyclasses or (written.startswith("Py") and written not in _NOT_PYTHON_TYPES)


def _is_pyo3(written: str | None) -> bool:
    return written is not None and any(h in written for h in _PYO3_HANDLES)


# What else in a file can `downcast`: anyhow's and eyre's errors, `dyn Any`, `dyn Error`, downcast-rs.
_OTHER_DOWNCASTS = {b"anyhow", b"eyre", b"Any", b"downcast_rs"}


def only_pyo3_downcasts(source: bytes) -> bool:
    """A file that mentions no other `downcast` provider: its `downcast`s are PyO3's."""
    return not (_OTHER_DOWNCASTS & rust.words(source)) and b"dyn Error" not in source and b"error::Error" not in source


def _self_type(source: bytes, node: Node) -> str | None:
    """The type written after `impl .. for` (or `impl`) around node: what its `self` is."""
    impl = next((a for a in rust.ancestors(node) if a.type == "impl_item"), None)
    written = impl.child_by_field_name("type") if impl is not None else None
    return rust.text(source, written) if written is not None else None


def defined_downcasts(source: bytes) -> frozenset[str]:
    """The `downcast*` methods a file defines itself (in an `impl` or a trait)."""
    if b"fn downcast" not in source:
        return frozenset()
    kinds = ("function_item", "function_signature_item")
    names = (item.child_by_field_name("name") for item in rust.tree_nodes(rust.parse(source), kinds))
    return frozenset(text for text in (rust.text(source, n) for n in names if n is not None) if text in METHODS)


@dataclass(frozen=True)
class CrateFacts:
    pyclasses: frozenset[str] = frozenset()
    own_methods: frozenset[str] = frozenset()  # `downcast*` names the crate defines: not PyO3's by default


def verdict(ctx: Context, call: Node, function: Node, name: str, facts: CrateFacts) -> bool | None:
    """Whether `recv.name(..)` is PyO3's: True, False (someone else's), None (cannot tell)."""
    if name in PY_ONLY and name not in facts.own_methods:
        return True
    source = ctx.source
    target = _turbofish_type(function)
    if target is not None:
        return _python_type(rust.text(source, target), facts.pyclasses)
    let_type = _let_type(source, call)
    if let_type is not None:
        return _is_pyo3(let_type)
    receiver = function.child_by_field_name("value")
    if receiver is not None and _made_by_pyo3(source, receiver):
        return True
    if receiver is not None and receiver.type == "identifier":
        declared = _declared_type(source, call, rust.text(source, receiver))
        if declared:
            return _is_pyo3(declared)
    if receiver is not None and receiver.type == "self":
        own = _self_type(source, call)
        if own is not None:
            return _is_pyo3(own)
    return True if name not in facts.own_methods and only_pyo3_downcasts(source) else None


class CastCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> dict[Path, CrateFacts]:
        pyclasses = pyclass_names(snapshot)
        return {crate.manifest: CrateFacts(frozenset(pyclasses[crate.manifest]), frozenset().union(
                    *(defined_downcasts(snapshot.contents[p]) for p in snapshot.rust_files(crate))))
                for crate in snapshot.project.crates}

    def transform(self, ctx: Context) -> None:
        if not ctx.info.triggered_by(ctx.source):
            return
        crate = ctx.crate
        facts = ctx.facts.get(crate.manifest, CrateFacts()) if crate is not None else CrateFacts()
        edits: list[Edit] = []
        for node in rust.spelled(ctx.source, ctx.tree.root_node, list(METHODS)):
            edits.extend(self._method(ctx, node, facts))
        edits.extend(self._errors(ctx))
        ctx.fix("`downcast*` -> `cast*`", edits)

    def _method(self, ctx: Context, name: Node, facts: CrateFacts) -> list[Edit]:
        if name.parent is not None and name.parent.type == "token_tree":
            return _in_expression_macro(ctx, name, facts)
        field = name.parent
        if field is None or field.type != "field_expression" or not rust.is_child(field, "field", name):
            return []
        function = field.parent if field.parent is not None and field.parent.type == "generic_function" else field
        call = function.parent
        if call is None or call.type != "call_expression" or rust.in_macro(call) is not None:
            return []
        written = ctx.text(name)
        found = verdict(ctx, call, function, written, facts)
        if found:
            return [Edit(name.start_byte, name.end_byte, METHODS[written].encode())]
        if found is None:
            ctx.finding(name, f"cannot tell whether `.{written}()` is PyO3's (the receiver's type is not written "
                        f"here): if it is, rename it `.{METHODS[written]}()`", removed_in=GONE)
        return []

    def _errors(self, ctx: Context) -> list[Edit]:
        mentions = rust.spelled(ctx.source, ctx.tree.root_node, list(ERRORS))
        if not mentions:
            return []
        index = FileIndex.build(ctx.source)
        constructors = [m for m in mentions if _constructed(ctx, m)]
        for node in constructors:
            ctx.finding(node, f"`{ctx.text(node)}::new` changed its arguments in 0.27 (`{ERRORS[ctx.text(node)]}::new` "
                        "takes the target type object): port it by hand", removed_in=GONE)
        if constructors:
            return []
        edits = []
        for leaf in index.all_leaves():
            if not leaf.is_glob and leaf.path[-1] in ERRORS and leaf.path[:-1] in _PYO3_MODULES:
                edits.append(rust.rename_leaf(leaf, ERRORS[leaf.path[-1]]))
        for node in mentions:
            if rust.in_use_declaration(node) or rust.in_macro(node) is not None:
                continue
            word = ctx.text(node)
            if _written_path(ctx, node) in _PYO3_MODULES or _resolves_to_pyo3(index, node, word):
                edits.append(Edit(node.start_byte, node.end_byte, ERRORS[word].encode()))
        return edits


# Standard macros whose arguments are plain expressions: a `.downcast::<T>()` in them is a call.
_EXPRESSION_MACROS = {"assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "debug_assert_ne",
                      "println", "print", "eprintln", "eprint", "format", "write", "writeln", "panic", "dbg", "vec"}


def _in_expression_macro(ctx: Context, name: Node, facts: CrateFacts) -> list[Edit]:
    """`assert!(x.downcast::<PyDict>().is_ok())`: a method call in a standard macro's tokens."""
    invocation = rust.in_macro(name)
    macro = invocation.child_by_field_name("macro") if invocation is not None else None
    before, after = name.prev_sibling, name.next_sibling
    if macro is None or ctx.text(macro) not in _EXPRESSION_MACROS or before is None or before.type != ".":
        return []
    written = ctx.text(name)
    turbofish = after is not None and after.type == "::" and after.next_sibling is not None \
        and after.next_sibling.type == "<" and after.next_sibling.next_sibling is not None
    target = ctx.text(after.next_sibling.next_sibling) if turbofish else None
    theirs = written in facts.own_methods
    if (written in PY_ONLY and not theirs) or (target is not None and _python_type(target, facts.pyclasses)) or (
            target is None and not theirs and only_pyo3_downcasts(ctx.source)):
        return [Edit(name.start_byte, name.end_byte, METHODS[written].encode())]
    ctx.finding(name, f"cannot tell whether `.{written}()` in `{ctx.text(macro)}!` is PyO3's: if it is, rename "
                f"it `.{METHODS[written]}()`", removed_in=GONE)
    return []


def _constructed(ctx: Context, node: Node) -> bool:
    parent = node.parent
    return (parent is not None and parent.type == "scoped_identifier" and rust.is_child(parent, "path", node)
            and ctx.text(parent.child_by_field_name("name")) == "new")


def _written_path(ctx: Context, node: Node) -> tuple[str, ...] | None:
    """`pyo3::DowncastError` -> ("pyo3",): the path written before the name, if any."""
    parent = node.parent
    if parent is not None and parent.type in ("scoped_type_identifier", "scoped_identifier") and rust.is_child(parent, "name", node):
        path = parent.child_by_field_name("path")
        return rust.path_segments(ctx.source, path) if path is not None else None
    return None


def _resolves_to_pyo3(index: FileIndex, node: Node, word: str) -> bool:
    if node.parent is not None and node.parent.type in ("scoped_type_identifier", "scoped_identifier") \
            and rust.is_child(node.parent, "name", node):
        return False  # `other::DowncastError`: not ours to judge by imports
    resolved = index.resolve(node, word, lambda prefix, _name: prefix in _PYO3_MODULES)
    return resolved is not None and resolved[:-1] in _PYO3_MODULES


CODEMOD = CastCodemod()
