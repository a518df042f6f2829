"""attach: rename the GIL-era `Python` APIs to the attach/detach names of PyO3 0.26, and `PyObject` to `Py<PyAny>`.

What it does
    PyO3 0.26 renamed the APIs that speak of "the GIL" (there is none on free-threaded Python)
    and deprecated the old names, which 0.28 removed. Each call keeps its arguments; only the
    name changes:
        Python::with_gil(f)               ->  Python::attach(f)
        Python::with_gil_unchecked(f)     ->  Python::attach_unchecked(f)
        Python::assume_gil_acquired()     ->  Python::assume_attached()
        py.allow_threads(f)               ->  py.detach(f)
        pyo3::prepare_freethreaded_python()  ->  Python::initialize()
    and the deprecated alias `PyObject` becomes what it stands for, `Py<PyAny>` (`Py::<PyAny>` in
    an expression path such as `PyObject::from(..)`). An explicit import of `PyObject` is removed
    from its `use` tree; `Py` and `PyAny` are imported (`use pyo3::{Py, PyAny};`) where neither
    the prelude glob nor an explicit import already brings them in.

Example
    use pyo3::prelude::*;                         use pyo3::prelude::*;
    use pyo3::{PyObject, types::PyDict};          use pyo3::types::PyDict;

    fn build(py: Python<'_>) -> PyObject {   ->   fn build(py: Python<'_>) -> Py<PyAny> {
        py.allow_threads(|| work());                  py.detach(|| work());
        PyDict::new(py).into_any().unbind()           PyDict::new(py).into_any().unbind()
    }                                             }
    Python::with_gil(|py| build(py));             Python::attach(|py| build(py));

What it will not do
    - Names are resolved first: `with_gil` on another type (`MyRuntime::with_gil`), a trait
      method `x.with_gil(..)`, a crate's own `PyObject` or `Python` type are left alone.
    - `allow_threads` is renamed only on a receiver that is provably a `Python` token: a
      parameter or `let` typed `Python<'_>`, the closure parameter of `Python::with_gil`/`attach`,
      a `x.py()` call, or `Python::assume_gil_acquired()`. A receiver that looks like a token but
      cannot be proven one (`py` bound by some other closure, a `self.py` field) is reported;
      `allow_threads` methods on anything else are not PyO3's and stay.
    - Inside macro invocations and `macro_rules!` bodies (token trees, not paths) only
      `Python::with_gil(..)` and its siblings written with `Python::` are renamed, where `Python`
      is PyO3's (`tokio::select! { .. => Python::with_gil(|py| ..) }`); `allow_threads`,
      `PyObject` and `prepare_freethreaded_python` there are reported with their location, never
      edited. While such a mention of `PyObject` remains, its import stays too.
    - A `pub use` re-export of `PyObject` is public API: it is reported, not removed. Names are
      followed across the crate's files (`use super::*` in `tests.rs`, `crate::PyObject`,
      `super::super::PyObject`); a `PyObject` or `Python` that nothing in the crate explains (a
      module generated at build time) is reported, and while any file of the crate has one,
      explicit `PyObject` imports stay. A `PyObject` reached by a `crate::`/`self::`/`super::`
      path is written out as `pyo3::Py<pyo3::PyAny>`.
    - Strings and comments are never edited.

Fix safety
    Safe. The new names are the same functions under PyO3 0.26's names (the old ones are
    deprecated aliases of them), and `PyObject` is a type alias of `Py<PyAny>`: behaviour does
    not change. The fix needs PyO3 >= 0.26, where the new names first exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.names import CrateNames, glob_provides, item_names
from pyo3_migrate.analysis.rust import FileIndex, UseLeaf
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety, drop_contained
from pyo3_migrate.core.version import V0_26, V0_28

GONE = V0_28  # the GIL-era names' last release is 0.27: a crate that keeps one stays below 0.28

INFO = CodemodInfo(
    id="attach",
    summary="Python::with_gil/allow_threads/... -> attach/detach/...; PyObject -> Py<PyAny> (>= 0.26)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_26,
    max_target=None,
    guide=f"{GUIDE}#rename-of-pythonwith_gil-pythonallow_threads-and-pyo3prepare_freethreaded_python",
    docs=__doc__.strip(),
    triggers=("with_gil", "allow_threads", "assume_gil", "prepare_freethreaded_python", "PyObject"),
    removes_at=V0_28,
)

# Associated functions (and the `allow_threads` method, when written `Python::allow_threads(py, f)`).
RENAMES = {
    "with_gil": "attach",
    "with_gil_unchecked": "attach_unchecked",
    "assume_gil_acquired": "assume_attached",
    "allow_threads": "detach",
}
# Functions whose closure receives a `Python` token as its first parameter.
TOKEN_CLOSURE_FNS = {"with_gil", "attach", "with_gil_unchecked", "attach_unchecked"}
# Functions returning a `Python` token.
TOKEN_RETURNING_FNS = {"assume_gil_acquired", "assume_attached"}
PREPARE = "prepare_freethreaded_python"
PY_OBJECT = "PyObject"
PY_OBJECT_PATHS = {("pyo3", "PyObject"), ("pyo3", "prelude", "PyObject")}
_COMMENTS = ("line_comment", "block_comment")
_UNBOUND = object()
_TRIGGERS = tuple(word.encode() for word in INFO.triggers)


@dataclass
class Facts:
    # crates (by manifest) where some file names `PyObject` in a way this file cannot explain
    unexplained_py_object: set[Path] = field(default_factory=set)
    # across files (`use super::*` in a module of its own); None when no file needs it
    crate_names: CrateNames | None = None


def _crate_key(snapshot: Snapshot, path: Path) -> Path | None:
    crate = snapshot.project.crate_of(path)
    return crate.manifest if crate is not None else None


class AttachCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        facts = Facts()
        if any(word in snapshot.contents[p] for p in snapshot.rust_files() for word in _TRIGGERS):
            facts.crate_names = CrateNames.of_snapshot(snapshot)
        for path in snapshot.rust_files():
            source = snapshot.contents[path]
            if PY_OBJECT.encode() not in source:
                continue
            refs = _py_object_refs(_Names(source, FileIndex.build(source), facts.crate_names, path))
            if refs.unresolved:
                facts.unexplained_py_object.add(_crate_key(snapshot, path))
        return facts

    def transform(self, ctx: Context) -> None:
        source = ctx.source
        if not any(word in source for word in _TRIGGERS):
            return
        facts: Facts = ctx.facts if isinstance(ctx.facts, Facts) else Facts()
        names = _Names(source, FileIndex.build(source), facts.crate_names, ctx.path)
        _rename_python_functions(ctx, names)
        _rename_allow_threads(ctx, names)
        # one leaf per `use` declaration per pass: two removals from one list would each tidy it
        # on their own and clash; the engine's next pass removes the next leaf
        trimmed: set[int] = set()
        _replace_prepare(ctx, names, trimmed)
        keep_imports = _crate_key(ctx.snapshot, ctx.path) in facts.unexplained_py_object
        _replace_py_object(ctx, names, keep_imports, trimmed)
        _report_macro_mentions(ctx, names)


# ------------------------------------------------------------------------------------ resolution


class _Names:
    """What the names of one file refer to: PyO3's `Python`, `Py`, `PyAny`, or something else."""

    def __init__(self, source: bytes, index: FileIndex, crate: CrateNames | None = None, path: Path | None = None):
        self.source = source
        self.index = index
        self.crate = crate  # follows `use super::*` into the files of parent modules
        self.path = path

    def text(self, node: Node) -> str:
        return rust.text(self.source, node)

    def resolve(self, node: Node, name: str) -> tuple[str, ...] | None:
        found = self.index.resolve(node, name, glob_provides)
        return found if found is not None else self._resolve_across_files(node, name)

    def _resolve_across_files(self, node: Node, name: str) -> tuple[str, ...] | None:
        return self.resolve_path_across_files(node, (name,))

    def resolve_path_across_files(self, node: Node, segments: tuple[str, ...]) -> tuple[str, ...] | None:
        """What the crate-wide resolution says, when it indexed these very bytes (nodes are matched by span)."""
        index = self.crate.index.get(self.path) if self.crate is not None else None
        if index is None or index.source != self.source:
            return None
        twin = index.tree.root_node.descendant_for_byte_range(node.start_byte, node.end_byte)
        found = self.crate.resolve_path(self.path, twin, segments) if twin is not None else None
        return found.target if found is not None else None

    def pyo3_item(self, node: Node, name: str) -> bool | None:
        """Whether the bare `name` at node is PyO3's item of that name (None: nothing says)."""
        resolved = self.resolve(node, name)
        if resolved is None:
            return None
        return resolved[0] == "pyo3" and resolved[-1] == name

    def python_in_scope(self, node: Node) -> bool:
        """Whether a bare `Python` written at node would name PyO3's `Python`."""
        resolved = self.resolve(node, "Python")
        return resolved is not None and resolved[0] == "pyo3" and resolved[-1] == "Python"

    def python_path(self, path: Node) -> bool | None:
        """Whether a path node (`Python`, `pyo3::Python`, an alias) names PyO3's `Python` type.

        None when the path is a bare `Python` that nothing in the crate explains.
        """
        if path.type in ("identifier", "type_identifier"):
            written = self.text(path)
            resolved = self.resolve(path, written)
            if resolved is None:
                return None if written == "Python" else False
            return resolved[0] == "pyo3" and resolved[-1] == "Python"
        if path.type in ("scoped_identifier", "scoped_type_identifier"):
            segs = rust.path_segments(self.source, path)
            if not segs or segs[-1] != "Python":
                return False
            if segs[0] == "pyo3":
                return True
            head = self.resolve(path, segs[0])  # `use pyo3::marker; marker::Python`
            return head is not None and head[0] == "pyo3" and head[-1] == segs[0]
        return False

    def python_type(self, type_node: Node | None) -> bool | None:
        """Whether a type (`Python<'_>`, `pyo3::Python<'py>`, `&Python`) is PyO3's `Python`."""
        while type_node is not None and type_node.type == "reference_type":
            type_node = type_node.child_by_field_name("type")
        if type_node is None:
            return False
        if type_node.type == "generic_type":
            type_node = type_node.child_by_field_name("type")
        return self.python_path(type_node) if type_node is not None else False

    def python_fn(self, function: Node, fn_names: set[str]) -> bool | None:
        """Whether `function` (a call's function node) is PyO3's `Python::<one of fn_names>`.

        True: it is; False: it is that function of another `Python` type (the crate's own);
        None: it is no such function at all, or nothing says which `Python` it is.
        """
        if function.type == "generic_function":
            function = function.child_by_field_name("function")
        if function is None or function.type != "scoped_identifier":
            return None
        name = function.child_by_field_name("name")
        path = function.child_by_field_name("path")
        if name is None or path is None or self.text(name) not in fn_names:
            return None
        verdict = self.python_path(path)
        if verdict is False and rust.path_segments(self.source, path)[-1:] != ("Python",):
            return None
        return verdict


# ---------------------------------------------------------------------- Python::with_gil & friends


def _rename_python_functions(ctx: Context, names: _Names) -> None:
    edits: dict[str, list[Edit]] = {}
    mentions = rust.spelled(ctx.source, ctx.tree.root_node, RENAMES)
    for node in [n.parent for n in mentions if n.parent.type == "scoped_identifier" and rust.is_child(n.parent, "name", n)]:
        name = node.child_by_field_name("name")
        path = node.child_by_field_name("path")
        if name is None or path is None or names.text(name) not in RENAMES:
            continue
        old = names.text(name)
        verdict = names.python_path(path)
        if verdict is None:
            ctx.finding(node, f"cannot tell which `Python` this `{old}` belongs to (no import in scope): left as is",
                        removed_in=GONE)
        elif verdict:
            edits.setdefault(old, []).append(Edit(name.start_byte, name.end_byte, RENAMES[old].encode()))
    for old, group in edits.items():
        ctx.fix(f"Python::{old} -> Python::{RENAMES[old]}", group)


# --------------------------------------------------------------------------- py.allow_threads(..)


def _rename_allow_threads(ctx: Context, names: _Names) -> None:
    edits = []
    mentions = rust.spelled(ctx.source, ctx.tree.root_node, ["allow_threads"])
    for node in [n.parent for n in mentions if n.parent.type == "field_expression" and rust.is_child(n.parent, "field", n)]:
        field_node = node.child_by_field_name("field")
        receiver = node.child_by_field_name("value")
        if field_node is None or receiver is None or names.text(field_node) != "allow_threads":
            continue
        if node.parent is None or node.parent.type not in ("call_expression", "generic_function"):
            continue
        verdict = _is_token(names, receiver)
        if verdict is True:
            edits.append(Edit(field_node.start_byte, field_node.end_byte, b"detach"))
        elif verdict is None and "py" in names.text(receiver).lower():
            ctx.finding(
                field_node,
                f"cannot prove `{names.text(receiver)}` is a `Python` token: rename `allow_threads` to "
                "`detach` by hand if it is one",
                removed_in=GONE,
            )
    ctx.fix("py.allow_threads -> py.detach", edits)


def _is_token(names: _Names, expr: Node) -> bool | None:
    """Whether expr is a `Python` token: True proven, False proven not, None unknown."""
    while expr.type == "parenthesized_expression" and expr.named_child_count == 1:
        expr = expr.named_children[0]
    if expr.type == "call_expression":
        function = expr.child_by_field_name("function")
        args = expr.child_by_field_name("arguments")
        if function is None:
            return None
        if function.type == "field_expression":
            field_node = function.child_by_field_name("field")
            if field_node is not None and names.text(field_node) == "py" and args is not None and not [
                c for c in args.named_children if c.type not in _COMMENTS
            ]:
                return True
            return None
        return names.python_fn(function, TOKEN_RETURNING_FNS)
    if expr.type == "unsafe_block":
        block = expr.named_children[-1] if expr.named_children else None
        tail = block.named_children[-1] if block is not None and block.named_children else None
        return _is_token(names, tail) if tail is not None else None
    if expr.type != "identifier":
        return None
    return _binding_is_token(names, expr, names.text(expr))


def _binds(names: _Names, pattern: Node | None, name: str) -> bool:
    if pattern is None:
        return False
    return any(n.type == "identifier" and names.text(n) == name for n in rust.walk(pattern))


def _binding_is_token(names: _Names, use: Node, name: str) -> bool | None:
    """Find the binding of `name` visible at `use` and tell whether it holds a `Python` token."""
    previous = use
    for scope in rust.ancestors(use):
        kind = scope.type
        if kind == "block":
            for child in reversed(scope.named_children):
                if child.end_byte > use.start_byte or child.type != "let_declaration":
                    continue
                pattern = child.child_by_field_name("pattern")
                if not _binds(names, pattern, name):
                    continue
                if pattern.type != "identifier":
                    return None
                declared = child.child_by_field_name("type")
                if declared is not None:
                    return names.python_type(declared)
                value = child.child_by_field_name("value")
                return _is_token(names, value) if value is not None else None
        elif kind == "closure_expression":
            params = scope.child_by_field_name("parameters")
            found = _closure_param(names, scope, params, name) if params is not None else _UNBOUND
            if found is not _UNBOUND:
                return found
        elif kind in ("function_item", "function_signature_item"):
            params = scope.child_by_field_name("parameters")
            for param in params.named_children if params is not None else []:
                if param.type == "parameter" and _binds(names, param.child_by_field_name("pattern"), name):
                    return names.python_type(param.child_by_field_name("type"))
            return None  # a nested fn sees nothing of the enclosing scopes' locals
        elif kind in ("match_arm", "for_expression"):
            if _binds(names, scope.child_by_field_name("pattern"), name):
                return None
        elif kind in ("if_expression", "while_expression"):
            condition = scope.child_by_field_name("condition")
            if condition is not None and condition.id != previous.id:
                for n in rust.walk(condition):
                    if n.type == "let_condition" and _binds(names, n.child_by_field_name("pattern"), name):
                        return None
        previous = scope
    return None


def _closure_param(names: _Names, closure: Node, params: Node, name: str) -> object:
    """_UNBOUND when the closure does not bind name; else whether it binds a token (True/False/None)."""
    items = [p for p in params.named_children if p.type not in _COMMENTS]
    for position, param in enumerate(items):
        if param.type == "parameter":
            if not _binds(names, param.child_by_field_name("pattern"), name):
                continue
            declared = param.child_by_field_name("type")
            if declared is not None:
                return names.python_type(declared)
        elif not _binds(names, param, name):
            continue
        if position == 0 and param.type in ("identifier", "parameter"):
            args = closure.parent
            call = args.parent if args is not None and args.type == "arguments" else None
            if call is not None and call.type == "call_expression":
                function = call.child_by_field_name("function")
                if function is not None:
                    verdict = names.python_fn(function, TOKEN_CLOSURE_FNS)
                    if verdict is not None:
                        return verdict
        return None
    return _UNBOUND


# ---------------------------------------------------------------------- prepare_freethreaded_python


def _replace_prepare(ctx: Context, names: _Names, trimmed: set[int]) -> None:
    source = ctx.source
    spellings = {PREPARE} | {leaf.alias for leaf in names.index.all_leaves() if leaf.alias and leaf.path[-1] == PREPARE}
    if names.crate is not None:
        spellings |= item_names(names.crate, ("pyo3", PREPARE))
    if not any(word.encode() in source for word in spellings):
        return  # nothing here can name it
    edits: list[Edit] = []
    leaves = [
        leaf
        for leaf in names.index.all_leaves()
        if not leaf.is_glob and leaf.path == ("pyo3", PREPARE)
    ]
    for node in rust.walk(ctx.tree.root_node):
        if node.type not in ("identifier", "scoped_identifier") or rust.in_macro(node) is not None:
            continue
        if any(a.type == "use_declaration" for a in rust.ancestors(node)):
            continue
        parent = node.parent
        if node.type == "scoped_identifier":
            name = node.child_by_field_name("name")
            if name is None or names.text(name) != PREPARE:
                continue
            segs = rust.path_segments(source, node)
            if segs != ("pyo3", PREPARE):
                continue
            lead = "::" if names.text(node).lstrip().startswith("::") else ""
        else:
            if parent is not None and parent.type == "scoped_identifier":
                continue  # part of a path: handled above (or not PyO3's)
            written = names.text(node)
            if written not in spellings:
                continue
            resolved = names.resolve(node, written)
            if resolved != ("pyo3", PREPARE):
                continue
            lead = ""
        replacement = "Python::initialize" if names.python_in_scope(node) else f"{lead}pyo3::Python::initialize"
        edits.append(Edit(node.start_byte, node.end_byte, replacement.encode()))
    macro_mentions = _token_tree_mentions(names, {PREPARE})
    for leaf in leaves:
        if macro_mentions or _is_pub(leaf.declaration) or leaf.declaration.id in trimmed:
            continue
        trimmed.add(leaf.declaration.id)
        edits.extend(rust.remove_use_leaf(source, leaf))
    ctx.fix("pyo3::prepare_freethreaded_python() -> Python::initialize()", drop_contained(edits))


# --------------------------------------------------------------------------------- PyObject


@dataclass(frozen=True)
class _Ref:
    """One mention of PyO3's `PyObject` in code (not in a `use`)."""

    node: Node  # a bare name, or the whole qualified path
    name_node: Node  # its last segment
    qualified: bool
    leaf: UseLeaf | None  # the explicit import a bare name came through


@dataclass
class _PyObjectRefs:
    uses: list[UseLeaf] = field(default_factory=list)  # explicit imports of PyO3's PyObject
    refs: list[_Ref] = field(default_factory=list)
    unresolved: list[Node] = field(default_factory=list)  # names nothing in the crate explains
    stray: list[Node] = field(default_factory=list)  # PyO3's PyObject where `Py<PyAny>` cannot be written


_NAME_KINDS = ("identifier", "type_identifier", "scoped_identifier", "scoped_type_identifier")


def _named_by(source: bytes, root: Node, local: set[str]) -> list[Node]:
    """The names and paths a whole-file sweep would look at for these spellings: each name that
    spells one, and the path it ends."""
    out = []
    for node in rust.spelled(source, root, local):
        if node.type in _NAME_KINDS:
            out.append(node)
        parent = node.parent
        if parent.type in ("scoped_identifier", "scoped_type_identifier") and rust.is_child(parent, "name", node):
            out.append(parent)
    return rust.in_source_order(out)


def _py_object_refs(names: _Names) -> _PyObjectRefs:
    """Every mention of PyO3's `PyObject` in one file, resolved through its `use` declarations.

    `ffi::PyObject` (the C struct) and a crate's own `PyObject` resolve elsewhere and are skipped.
    """
    index = names.index
    source = index.source
    out = _PyObjectRefs()
    for leaf in index.all_leaves():
        if not leaf.is_glob and leaf.path in PY_OBJECT_PATHS:
            out.uses.append(leaf)
    local = {PY_OBJECT} | {leaf.local_name for leaf in out.uses}
    for node in _named_by(source, index.tree.root_node, local):
        kind = node.type
        parent = node.parent
        if parent is None or parent.type in rust.TOKEN_GROUPS:
            continue
        if kind in ("scoped_identifier", "scoped_type_identifier"):
            name = node.child_by_field_name("name")
            if name is None or node.child_by_field_name("path") is None or rust.text(source, name) != PY_OBJECT:
                continue
            if _in_use(node):
                continue
            target = _qualified_target(names, node)
            if target in PY_OBJECT_PATHS:
                out.refs.append(_Ref(node, name, True, None))
            elif target[0] in ("crate", "self", "super") and not any(
                PY_OBJECT in defined for defined in index.definitions.values()
            ):
                out.unresolved.append(node)  # `crate::PyObject`: may be PyO3's through another file's imports
            continue
        written = rust.text(source, node)
        if written not in local:
            continue
        if parent.type in ("scoped_identifier", "scoped_type_identifier"):
            last = parent.child_by_field_name("name")
            if last is not None and last.id == node.id:
                continue  # the last segment of a path: handled with the path
        elif kind == "identifier":
            continue  # a value or a binding, not a type
        name_of = parent.child_by_field_name("name")
        if name_of is not None and name_of.id == node.id:
            continue  # the name of a definition (`struct PyObject`, `type PyObject = ..`)
        if _in_use(node):
            continue
        resolved = names.resolve(node, written)
        if resolved is None:
            out.unresolved.append(node)
        elif resolved in PY_OBJECT_PATHS:
            if parent.type == "scoped_type_identifier":
                out.stray.append(node)  # `PyObject::Assoc` in a type
            else:
                out.refs.append(_Ref(node, node, False, index.leaf_for(node, written)))
    return out


def _in_use(node: Node) -> bool:
    return any(a.type == "use_declaration" for a in rust.ancestors(node))


def _qualified_target(names: _Names, path: Node) -> tuple[str, ...]:
    """The full path a written path names: its first segment resolved through the imports."""
    segs = rust.path_segments(names.source, path)
    if len(segs) == 2 and segs[0] in ("self", "super"):
        anchor = _module_anchor(path, segs[0])
        resolved = names.index.resolve(anchor, segs[1], glob_provides) if anchor is not None else None
        if resolved is not None:
            return resolved
    if segs and segs[0] in ("crate", "self", "super"):
        return names.resolve_path_across_files(path, segs) or segs
    if not segs or segs[0] in ("pyo3", "crate", "self", "super"):
        return segs
    head = names.resolve(path, segs[0])
    if head is not None and head[-1] == segs[0]:
        return head + segs[1:]
    return segs


def _module_anchor(node: Node, head: str) -> Node | None:
    """A node whose scopes start at the module `self` (or `super`) names, seen from node.

    None for `super` at a file's top: that module lives in another file."""
    scope = next((a for a in rust.ancestors(node) if rust.is_module_scope(a)), None)
    if scope is None:
        return None
    if head == "super":
        return scope.parent if scope.type == "declaration_list" else None  # the `mod` item
    return next((a for a in [node, *rust.ancestors(node)] if a.parent is not None and a.parent.id == scope.id), None)


def _replace_py_object(ctx: Context, names: _Names, keep_imports: bool, trimmed: set[int]) -> None:
    if b"PyObject" not in ctx.source:
        return
    found = _py_object_refs(names)
    for node in found.unresolved:
        ctx.finding(node, "cannot tell which `PyObject` this is (no import in scope): left as is", removed_in=GONE)
    for node in found.stray:
        ctx.finding(node, "`PyObject` in a position this codemod does not rewrite: replace it with `Py<PyAny>` by hand",
                    removed_in=GONE)
    if not found.refs and not found.uses:
        return
    edits: list[Edit] = []
    missing: dict[int, tuple[Node, list[str]]] = {}  # scope id -> (scope, names to import)
    for ref in found.refs:
        edits.append(_py_object_edit(names, ref, missing))
    macro_mentions = _token_tree_mentions(names, {leaf.local_name for leaf in found.uses} | {PY_OBJECT})
    for leaf in found.uses:
        if _is_pub(leaf.declaration):
            ctx.finding(
                leaf.node,
                "`pub use` re-exports PyO3's deprecated `PyObject` (public API): replace it by hand",
                removed_in=GONE,
            )
            continue
        if keep_imports or found.stray or macro_mentions or leaf.declaration.id in trimmed:
            continue
        trimmed.add(leaf.declaration.id)
        edits.extend(rust.remove_use_leaf(ctx.source, leaf))
    for scope, wanted in missing.values():
        path = f"pyo3::{{{', '.join(wanted)}}}" if len(wanted) > 1 else f"pyo3::{wanted[0]}"
        edits.append(rust.add_uses(ctx.source, scope, [path]))
    ctx.fix("PyObject -> Py<PyAny>", drop_contained(edits))


def _py_object_edit(names: _Names, ref: _Ref, missing: dict[int, tuple[Node, list[str]]]) -> Edit:
    in_expression = ref.node.type in ("identifier", "scoped_identifier")
    open_ = "::<" if in_expression else "<"
    if ref.qualified:
        if rust.path_segments(names.source, ref.node)[0] in ("crate", "self", "super"):
            # `super::PyObject` came through that module's imports, which may not hold `Py`/`PyAny`
            # (and `crate::Py` would name the crate's own items)
            return Edit(ref.node.start_byte, ref.node.end_byte, f"pyo3::Py{open_}pyo3::PyAny>".encode())
        prefix = names.text(ref.node)[: ref.name_node.start_byte - ref.node.start_byte]
        return Edit(ref.name_node.start_byte, ref.name_node.end_byte, f"Py{open_}{prefix}PyAny>".encode())
    parts = []
    for name in ("Py", "PyAny"):
        verdict = names.pyo3_item(ref.node, name)
        if verdict is None:
            scope = ref.leaf.declaration.parent if ref.leaf is not None else rust.module_scope(ref.node)
            entry = missing.setdefault(scope.id, (scope, []))
            if name not in entry[1]:
                entry[1].append(name)
            parts.append(name)
        elif verdict:
            parts.append(name)
        else:
            parts.append(f"pyo3::{name}")  # the bare name means something else here
    return Edit(ref.node.start_byte, ref.node.end_byte, f"{parts[0]}{open_}{parts[1]}>".encode())


# ------------------------------------------------------------------------------------ macros


def _token_tree_mentions(names: _Names, words: set[str]) -> list[Node]:
    """Identifiers among macro tokens that spell one of `words`, in source order."""
    return [n for n in rust.spelled(names.source, names.index.tree.root_node, words)
            if n.type == "identifier" and n.parent.type in rust.TOKEN_GROUPS]


def _report_macro_mentions(ctx: Context, names: _Names) -> None:
    """`Python::with_gil` and friends among macro tokens are renamed (a `Python::` path is the same
    path wherever the macro puts it); what needs more than a name is reported."""
    renames: list[Edit] = []
    for node in _token_tree_mentions(names, set(RENAMES) | {PREPARE, PY_OBJECT}):
        word = names.text(node)
        before = _previous_tokens(names, node, 3)
        if word == PY_OBJECT:
            if before[-1:] == ["::"] and before[-2:-1] not in (["pyo3"], ["prelude"]):
                continue  # `ffi::PyObject` and the like: another item of that name
            resolved = names.resolve(node, PY_OBJECT)
            if resolved is not None and resolved not in PY_OBJECT_PATHS:
                continue  # the crate's own type, or the FFI struct
            ctx.finding(node, "`PyObject` inside a macro: token trees are not rewritten, use `Py<PyAny>` by hand",
                        removed_in=GONE)
        elif word == PREPARE:
            ctx.finding(
                node, f"`{PREPARE}` inside a macro: token trees are not rewritten, use `Python::initialize` by hand",
                removed_in=GONE,
            )
        elif before[-1:] == ["::"] and before[-2:-1] == ["Python"]:
            resolved = names.resolve(node, "Python")
            if resolved is not None and resolved[0] != "pyo3":
                continue  # the crate's own `Python`
            if resolved is not None:
                renames.append(Edit(node.start_byte, node.end_byte, RENAMES[word].encode()))
                continue
            ctx.finding(node, f"cannot tell which `Python` this `{word}` in a macro belongs to (no import in "
                        f"scope): if it is PyO3's, use `Python::{RENAMES[word]}`", removed_in=GONE)
        elif word == "allow_threads" and before[-1:] == ["."] and "py" in "".join(before[:-1]).lower():
            ctx.finding(
                node,
                "`allow_threads` inside a macro: token trees are not rewritten, use `detach` by hand "
                "if the receiver is a `Python` token",
                removed_in=GONE,
            )
    ctx.fix("Python::with_gil & co. -> attach & co. among macro tokens", renames)


def _previous_tokens(names: _Names, node: Node, count: int) -> list[str]:
    """The texts of up to `count` tokens before node in its token tree, nearest last.

    A nested tree counts as one token, `()`: `x.py().allow_threads` reads `py`, `()`, `.`.
    """
    texts: list[str] = []
    sibling = node.prev_sibling
    while sibling is not None and len(texts) < count:
        texts.insert(0, "()" if sibling.type == "token_tree" else names.text(sibling))
        sibling = sibling.prev_sibling
    return texts


# ------------------------------------------------------------------------------------- helpers


def _is_pub(declaration: Node) -> bool:
    return any(c.type == "visibility_modifier" for c in declaration.children)






CODEMOD = AttachCodemod()
