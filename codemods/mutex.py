"""mutex: replace `GILProtected<RefCell<T>>` / `GILProtected<Cell<T>>` with `std::sync::Mutex<T>` (PyO3 >= 0.24).

What it does
    PyO3 deprecated `pyo3::sync::GILProtected` in 0.26 (it does not exist at all on free-threaded
    builds since 0.23, and 0.28 removed it). Its `RefCell`/`Cell` contents become a
    `std::sync::Mutex<T>`, locked with `pyo3::sync::MutexExt::lock_py_attached(py)` (PyO3 0.24+),
    which detaches from the interpreter while it waits, so it cannot deadlock with the GIL or with
    Python's global synchronisation events:

    - types: `GILProtected<RefCell<T>>` and `GILProtected<Cell<T>>` become `Mutex<T>`, also inside
      a once-cell (`GILOnceCell<GILProtected<RefCell<T>>>` becomes `GILOnceCell<Mutex<T>>`; the
      `once-lock` codemod moves the cell itself, to `PyOnceLock` or `OnceLock`);
    - constructors: `GILProtected::new(RefCell::new(x))` becomes `Mutex::new(x)`, which is `const`:
      statics and `const fn new()` wrappers stay const-initialised;
    - accesses: `X.get(py).borrow()` and `X.get(py).borrow_mut()` become
      `X.lock_py_attached(py).expect("X lock poisoned")`; for `Cell`, `X.get(py).get()` becomes
      `*X.lock_py_attached(py).expect("X lock poisoned")` and `X.get(py).set(v)` becomes
      `*X.lock_py_attached(py).expect("X lock poisoned") = v`;
    - a local bound to the cell, `let c = X.get(py);`, whose every later use is one of those
      operations, becomes one guard for all of them: `let mut c = X.lock_py_attached(py).expect(..);`,
      `c.borrow_mut().push(x)` -> `c.push(x)`, `c.get()` -> `*c`, `c.set(v)` -> `*c = v` (held to
      the end of its block, under the same checks as a bound borrow guard below);
    - imports: `GILProtected` leaves `use` trees (commas and braces stay tidy), `std::sync::Mutex`
      and `pyo3::sync::MutexExt` are imported where needed, `RefCell`/`Cell` imports that nothing
      uses any more are removed. Where `Mutex` already means another type, the path is written out.

    Poisoning policy, the same everywhere: every lock ends in `.expect("<name> lock poisoned")`
    (`<name>`: the static, field or once-cell), as in PyO3's own migration guide. A poisoned lock
    means a thread panicked while holding it; the next access panics too, with that message.

    For targets below 0.24 (no `MutexExt` yet) nothing is edited: each `GILProtected` is reported
    with the advice to target 0.24 or later.

Example
    Before:
        use pyo3::sync::GILProtected;
        use std::cell::RefCell;

        static SEEN: GILProtected<RefCell<Vec<u64>>> = GILProtected::new(RefCell::new(Vec::new()));

        SEEN.get(py).borrow_mut().push(7);

    After:
        use pyo3::sync::MutexExt;
        use std::sync::Mutex;

        static SEEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

        SEEN.lock_py_attached(py).expect("SEEN lock poisoned").push(7);

What it will not do
    A static, field or local changes together with all of its uses across the project, or not at
    all; when any use is not understood, all of them stay and the declaration is reported with the
    reason:
    - a borrow held across a call that may run Python code (anything but common std container,
      `Option` and `clone_ref`/`bind` methods), or held while any `GILProtected` value is accessed
      again: a `RefCell` borrow there panics on re-entry (or, for two shared borrows, works), a
      `Mutex` would deadlock. This covers `let guard = X.get(py).borrow_mut();` followed by such
      statements, and `if let`/`match`/`for` scrutinees whose borrow lives through the body;
    - a borrow guard passed on by value, returned, or bound with a type annotation (`Ref`/`RefMut`
      would need rewriting);
    - a local read in the tail expression of its own block (`let c = ..; c.get(py).get()`): the
      lock guard, a temporary, would be dropped after the local and not compile;
    - `__traverse__` methods and `traverse(visit)`: a GC traversal must not lock a `Mutex`;
    - `GILProtected` of anything but `RefCell`/`Cell` (a plain value, a `HashMap`, ...), or inside
      anything but a once-cell (`Arc`, `Vec`, arrays), or in parameters, aliases and return types;
    - other `RefCell`/`Cell` methods (`replace`, `take`, `try_borrow`, ...) and uses inside macro
      invocations or `macro_rules!` (token trees, not expressions).
    Names are resolved first: a crate's own type named `GILProtected` is reported (it relies on the
    GIL and is unsound under free-threading), never edited. Strings and comments are never edited.

Fix safety
    Safe for the shapes it accepts: every borrow it converts is released before any call that could
    re-enter Python or touch another `GILProtected` value, so the lock cannot be taken twice by one
    thread, and waiting threads detach from the interpreter. Two behaviours do change: a panic
    while a lock is held poisons it, so later accesses panic with "<name> lock poisoned" (a
    `RefCell` simply became usable again); and a `Py` object dropped while the lock is held (e.g.
    the old value `HashMap::insert` returns) could run a `__del__` that re-enters the same value,
    which deadlocks where the `RefCell` panicked.
"""

from __future__ import annotations

from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.imports import UseEditor
from pyo3_migrate.analysis.names import canonical
from pyo3_migrate.analysis.protected import (
    CELL_KINDS,
    EDITS_FROM,
    GIL_PROTECTED,
    MUTEX_EXT,
    STD_MUTEX,
    Access,
    Ctor,
    Decl,
    Facts,
    FileScan,
    LocalGuard,
    Protected,
    build_facts,
    call_args,
    is_field,
    known_glob,
)
from pyo3_migrate.analysis.rust import UseLeaf
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety, apply_edits
from pyo3_migrate.core.version import V0_24, V0_28, Version

GONE = V0_28  # GILProtected's last release is 0.27: a crate that keeps one stays below 0.28

INFO = CodemodInfo(
    id="mutex",
    summary="GILProtected<RefCell<T>>/GILProtected<Cell<T>> -> std Mutex<T> + MutexExt::lock_py_attached (>= 0.24)",
    language="rust",
    safety=Safety.SAFE,
    # GILProtected exists from 0.19; below 0.24 (no MutexExt) the codemod only reports.
    min_target=Version(0, 19),
    max_target=None,
    guide=f"{GUIDE}#deprecation-of-gilprotected",
    docs=__doc__.strip(),
    stages=(V0_24,),  # below 0.24 it only reports
    triggers=("GILProtected",),
    removes_at=V0_28,
    lookalike="GILProtected",  # a crate's own is reported past 0.28 too
)

class MutexCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        return build_facts(snapshot)

    def transform(self, ctx: Context) -> None:
        facts: Facts = ctx.facts
        scan = facts.files.get(ctx.path)
        if scan is None:
            return
        _report_file(ctx, scan)
        if ctx.target < EDITS_FROM:
            for protected in facts.keys.values():
                for anchor in _anchors(protected, ctx.path):
                    ctx.finding(
                        anchor,
                        f"`{protected.key}` is GILProtected: moving it to std Mutex + pyo3::sync::MutexExt "
                        f"needs PyO3 >= 0.24 (target is {ctx.target}); target 0.24 or later",
                        removed_in=GONE,
                    )
            return
        for protected in facts.keys.values():
            if protected.reason is not None:
                for anchor in _anchors(protected, ctx.path):
                    ctx.finding(anchor, f"`{protected.key}` stays GILProtected: {protected.reason}", removed_in=GONE)
        plan = _Plan(ctx, scan, facts)
        plan.build()
        ctx.fix("GILProtected -> std::sync::Mutex + MutexExt", plan.edits())


def _anchors(protected: Protected, path: Path) -> list[Node]:
    """Where to report a key in one file: its declarations, else its constructors."""
    if protected.decls:
        return [d.item for d in protected.decls if d.path == path]
    return [c.call for c in protected.ctors if c.path == path]


def _report_file(ctx: Context, scan: FileScan) -> None:
    for node in scan.refs.in_macros:
        ctx.finding(node, "GILProtected is named inside a macro: token trees are not rewritten, port it by hand",
                    removed_in=GONE)
    if scan.refs.lookalikes:
        ctx.finding(
            scan.refs.lookalikes[0],
            "this crate's own `GILProtected` type (not PyO3's) relies on the GIL and is unsound under "
            "free-threading: port it to std::sync::Mutex by hand",
        )
    for node in scan.refs.unresolved:
        ctx.finding(node, "cannot tell which `GILProtected` this is (no import in scope): left as is", removed_in=GONE)
    for node, reason in scan.others:
        ctx.finding(node, reason, removed_in=GONE)


# --------------------------------------------------------------------------------------- edits


class _Plan(UseEditor):
    """The edits of one file: types, constructors, accesses, then the `use` trees to match."""

    def __init__(self, ctx: Context, scan: FileScan, facts: Facts):
        super().__init__(ctx.source, ctx.path, facts.names)
        self.ctx = ctx
        self.scan = scan
        self.index = scan.index
        self.facts = facts
        self._ext_scopes: dict[int, Node] = {}  # module scopes that need MutexExt
        self._use_ops: list[tuple[UseLeaf, str | None]] = []  # leaf -> None (remove) or a new name

    def _convertible(self, key: str | None) -> bool:
        if key is None:
            return False
        protected = self.facts.keys.get(key)
        return protected is not None and protected.reason is None

    def build(self) -> None:
        for protected, decls, ctors, accesses in self.facts.in_file(self.ctx.path):
            if protected.reason is not None:
                continue
            for decl in decls:
                self._convert_type(decl)
            for ctor in ctors:
                self._convert_ctor(ctor)
            for access in accesses:
                self._convert_access(access)
        for guard in self.facts.locals_in(self.ctx.path):
            if self.facts.keys[guard.key].reason is None:
                self._convert_local(guard)
        self._settle_gil_protected_imports()
        self._settle_cell_imports()

    # -- names
    def _mutex_name(self, node: Node, qualified: bool) -> str:
        if qualified:
            return "std::sync::Mutex"
        resolved = self.facts.names.resolve(self.ctx.path, node, "Mutex")
        if resolved is not None:
            return "Mutex" if canonical(resolved.target) == STD_MUTEX else "std::sync::Mutex"
        scope = rust.module_scope(node)
        if not self._can_import(scope, "Mutex"):
            return "std::sync::Mutex"
        self.add_import(scope, "std::sync::Mutex")
        return "Mutex"

    def _can_import(self, scope: Node, name: str) -> bool:
        for leaf in self.index.uses.get(scope.id, []):
            if leaf.is_glob and not known_glob(leaf.path[:-1]):
                return False  # an unknown glob may bring its own `name`; an import would shadow it
            if not leaf.is_glob and leaf.local_name == name:
                return False
        return name not in self.index.definitions.get(scope.id, set())


    # -- rewrites
    def _convert_type(self, decl: Decl) -> None:
        generic, value = decl.generic, decl.value_type
        written = generic.child_by_field_name("type")
        name = self._mutex_name(generic, written.type == "scoped_type_identifier")
        self._edits.append(Edit(generic.start_byte, value.start_byte, f"{name}<".encode()))
        self._edits.append(Edit(value.end_byte, generic.end_byte, b">"))

    def _convert_ctor(self, ctor: Ctor) -> None:
        function = ctor.call.child_by_field_name("function")
        qualified = function.child_by_field_name("path").type == "scoped_identifier"
        name = self._mutex_name(ctor.call, qualified)
        inner_args = ctor.inner.child_by_field_name("arguments")
        self._edits.append(Edit(function.start_byte, inner_args.start_byte + 1, f"{name}::new(".encode()))
        self._edits.append(Edit(inner_args.end_byte - 1, ctor.call.end_byte, b")"))

    def _convert_access(self, access: Access) -> None:
        source = self.source
        get_field = access.get_call.child_by_field_name("function").child_by_field_name("field")
        op_field = access.expr.child_by_field_name("function").child_by_field_name("field")
        expect = f'expect("{access.key} lock poisoned")'
        self._edits.append(Edit(get_field.start_byte, get_field.end_byte, b"lock_py_attached"))
        if access.op in ("borrow", "borrow_mut"):
            self._edits.append(Edit(op_field.start_byte, access.expr.end_byte, expect.encode()))
        elif access.op == "get":
            parens = _needs_parens(access.expr)
            self._edits.append(Edit(access.expr.start_byte, access.expr.start_byte, b"(*" if parens else b"*"))
            closing = expect + (")" if parens else "")
            self._edits.append(Edit(op_field.start_byte, access.expr.end_byte, closing.encode()))
        else:  # set
            value = call_args(access.expr)[0]
            self._edits.append(Edit(access.expr.start_byte, access.expr.start_byte, b"*"))
            self._edits.append(
                Edit(op_field.start_byte, access.expr.end_byte, f"{expect} = {rust.text(source, value)}".encode())
            )
        self._need_ext(access.expr)

    def _convert_local(self, guard: LocalGuard) -> None:
        """`let c = X.get(py);` -> `let mut c = X.lock_py_attached(py).expect(..);`, and each
        `c.borrow_mut()` -> `c`, `c.get()` -> `*c`, `c.set(v)` -> `*c = v`: one guard for all."""
        get_field = guard.get_call.child_by_field_name("function").child_by_field_name("field")
        self._edits.append(Edit(get_field.start_byte, get_field.end_byte, b"lock_py_attached"))
        self._edits.append(Edit(guard.get_call.end_byte, guard.get_call.end_byte,
                                f'.expect("{guard.key} lock poisoned")'.encode()))
        if any(op in ("borrow_mut", "set") for _, op in guard.uses):
            pattern = guard.let.child_by_field_name("pattern")
            self._edits.append(Edit(pattern.start_byte, pattern.start_byte, b"mut "))
        for call, op in guard.uses:
            if op in ("borrow", "borrow_mut"):
                self._edits.append(Edit(call.start_byte, call.end_byte, guard.name.encode()))
            elif op == "get":
                text = f"(*{guard.name})" if _needs_parens(call) else f"*{guard.name}"
                self._edits.append(Edit(call.start_byte, call.end_byte, text.encode()))
            else:  # around the value, whose own uses of the guard are edited too
                value = call_args(call)[0]
                self._edits.append(Edit(call.start_byte, value.start_byte, f"*{guard.name} = ".encode()))
                self._edits.append(Edit(value.end_byte, call.end_byte, b""))
        self._need_ext(guard.get_call)

    def _need_ext(self, node: Node) -> None:
        """`lock_py_attached` is MutexExt's: the scope imports it unless it already has it."""
        scope = rust.module_scope(node)
        resolved = self.facts.names.resolve(self.ctx.path, node, "MutexExt")
        if resolved is None:
            self._ext_scopes[scope.id] = scope
        elif canonical(resolved.target) != MUTEX_EXT:
            self.add_import(scope, "pyo3::sync::MutexExt as _")

    # -- imports
    def _settle_gil_protected_imports(self) -> None:
        # an import may serve other files (`use super::*`): count its refs across the project
        converted: dict[int, int] = {}
        held: dict[int, int] = {}
        refs, macro_leaves = self.facts.imported_through(self.ctx.path)
        for scan, ref in refs:
            _role, key = scan.roles.get(ref.node.id, ("other", None))
            bucket = converted if self._convertible(key) else held
            bucket[ref.leaf.node.start_byte] = bucket.get(ref.leaf.node.start_byte, 0) + 1
        for leaf in macro_leaves:
            held[leaf.node.start_byte] = held.get(leaf.node.start_byte, 0) + 1
        for leaf in self.scan.refs.uses:
            start = leaf.node.start_byte
            if not converted.get(start) or held.get(start) or leaf.public:
                continue
            scope = leaf.declaration.parent
            if (
                scope is not None
                and scope.id in self._ext_scopes
                and leaf.alias is None
                and canonical(leaf.path) == GIL_PROTECTED
            ):
                self._use_ops.append((leaf, "MutexExt"))
                del self._ext_scopes[scope.id]
            else:
                self._use_ops.append((leaf, None))
        for scope in self._ext_scopes.values():
            if self.index.scope_imports(scope, MUTEX_EXT):
                continue
            self.add_import(scope, "pyo3::sync::MutexExt")
        self._ext_scopes = {}

    def _settle_cell_imports(self) -> None:
        removed = [e for e in self._edits if e.end > e.start]
        for leaf in self.index.all_leaves():
            if leaf.is_glob or leaf.public or canonical(leaf.path) not in CELL_KINDS:
                continue
            if self._glob_importers_mention(leaf.local_name):
                continue
            scope = leaf.declaration.parent
            if scope is None:
                continue
            covered = uncovered = 0
            for node in rust.spelled(self.source, scope, {leaf.local_name}):
                if node.type not in ("type_identifier", "identifier"):
                    continue
                if any(a.type == "use_declaration" for a in rust.ancestors(node)):
                    continue
                parent = node.parent
                scoped = parent is not None and parent.type in ("scoped_identifier", "scoped_type_identifier")
                if scoped and is_field(parent, "name", node):
                    continue  # a qualified path does not go through this import
                if any(e.start <= node.start_byte and node.end_byte <= e.end for e in removed):
                    covered += 1
                else:
                    uncovered += 1
            if covered and not uncovered:
                self._use_ops.append((leaf, None))

    def _glob_importers_mention(self, name: str) -> bool:
        """Another file that may see this file's imports through a glob (`use super::*`) names `name`."""
        word = name.encode()
        return any(scan.path != self.ctx.path and word in scan.index.source for scan in self.facts.inheriting())

    def edits(self) -> list[Edit]:
        edits = list(self._edits)
        edits.extend(_use_edits(self.source, self._use_ops))
        order = ["pyo3::sync::MutexExt", "pyo3::sync::MutexExt as _", "std::sync::Mutex"]

        def arrange(scope: Node, paths: list[str]) -> list[str]:
            has_mutex = self.index.scope_imports(scope, STD_MUTEX)
            return [p for p in order if p in paths and not (p == "std::sync::Mutex" and has_mutex)]

        edits.extend(self.import_edits(arrange))
        return _tidy_blank_lines(self.source, sorted(set(edits), key=lambda e: (e.start, e.end)))


def _tidy_blank_lines(source: bytes, edits: list[Edit]) -> list[Edit]:
    """A removed `use` line that leaves a blank line at the top of the file, or two blank lines in
    a row, takes the blank line after it along."""
    out = []
    for i, edit in enumerate(edits):
        whole_lines = edit.replacement == b"" and edit.end > edit.start and source[edit.end - 1 : edit.end] == b"\n"
        if whole_lines and (edit.start == 0 or source[edit.start - 1 : edit.start] == b"\n"):
            blank_above = edit.start == 0 or source[: edit.start].endswith((b"\n\n", b"\n\r\n"))
            next_end = source.find(b"\n", edit.end)
            next_line = source[edit.end : next_end + 1] if next_end != -1 else b""
            others = [e for j, e in enumerate(edits) if j != i and edit.end <= e.start <= next_end]
            if blank_above and next_line and not next_line.strip() and not others:
                edit = Edit(edit.start, next_end + 1, b"")
        out.append(edit)
    return out


def _needs_parens(expr: Node) -> bool:
    parent = expr.parent
    if parent is None:
        return False
    if parent.type in ("field_expression", "try_expression", "await_expression"):
        return True
    if parent.type == "index_expression" and parent.named_children[0].id == expr.id:
        return True
    if parent.type == "call_expression" and is_field(parent, "function", expr):
        return True
    return False




def _use_edits(source: bytes, ops: list[tuple[UseLeaf, str | None]]) -> list[Edit]:
    """Edits removing or renaming use leaves; several in one declaration are applied one by one."""
    by_decl: dict[int, list[tuple[UseLeaf, str | None]]] = {}
    seen: set[int] = set()
    for leaf, new in ops:
        if leaf.node.id in seen:
            continue
        seen.add(leaf.node.id)
        by_decl.setdefault(leaf.declaration.start_byte, []).append((leaf, new))
    edits: list[Edit] = []
    for start, items in by_decl.items():
        if len(items) == 1:
            leaf, new = items[0]
            edits.extend(rust.remove_use_leaf(source, leaf) if new is None else [rust.rename_leaf(leaf, new)])
            continue
        declaration = items[0][0].declaration
        region_start = source.rfind(b"\n", 0, start) + 1
        line_end = source.find(b"\n", declaration.end_byte)
        region_end = len(source) if line_end == -1 else line_end + 1
        current = source
        items.sort(key=lambda item: item[1] is None)  # renames first: they keep the tree's shape
        for leaf, new in items:
            decl = _declaration_at(current, start)
            if decl is None:
                break
            leaves = rust.use_leaves(current, decl)
            match = next((c for c in leaves if c.path == leaf.path and c.alias == leaf.alias), None)
            if match is None:
                continue
            step = rust.remove_use_leaf(current, match) if new is None else [rust.rename_leaf(match, new)]
            whole = any(e.start <= decl.start_byte and decl.end_byte <= e.end for e in step)
            current = apply_edits(current, step)
            if whole:
                break
        delta = len(current) - len(source)
        old, new_text = source[region_start:region_end], current[region_start : region_end + delta]
        prefix = 0
        while prefix < min(len(old), len(new_text)) and old[prefix] == new_text[prefix]:
            prefix += 1
        suffix = 0
        while suffix < min(len(old), len(new_text)) - prefix and old[-1 - suffix] == new_text[-1 - suffix]:
            suffix += 1
        edits.append(Edit(region_start + prefix, region_end - suffix, new_text[prefix : len(new_text) - suffix]))
    return edits


def _declaration_at(source: bytes, start: int) -> Node | None:
    for node in rust.walk(rust.parse(source).root_node):
        if node.type == "use_declaration" and node.start_byte == start:
            return node
        if node.start_byte > start:
            break
    return None


CODEMOD = MutexCodemod()
