"""interpreter-aware-cells: std `OnceLock<Py<..>>` / once_cell `OnceCell<Py<..>>` statics -> `PyOnceLock`.

What it does
    A static `std::sync::OnceLock` or `once_cell::sync::OnceCell` holding a Python object
    (`Py<..>`, `PyObject`) is filled by a closure that calls into Python: through
    `Python::with_gil`/`Python::attach` inside the closure, through a `py` token it captures, or
    through a function that attaches (a `Py` cannot be made without the interpreter). While one
    thread runs that closure it holds the cell's lock; a second thread that waits on the lock
    does so without detaching from the interpreter. With the GIL the first thread then waits for
    the GIL the second one holds; under free-threading the second one blocks a stop-the-world
    (a garbage collection) the first needs: a deadlock either way. PyO3's interpreter-aware
    cells detach while they wait.

    For targets >= 0.26 such a cell becomes `pyo3::sync::PyOnceLock`, and every use gains the
    `py` token in scope there: `get_or_init(py, || ..)`, `get_or_try_init(py, || ..)`,
    `get(py)`, `set(py, v)`. An initialiser that only attached, `|| Python::with_gil(|py| f(py))`
    (or `Python::attach`, also as the single expression of a block), loses that wrapper:
    `|| f(py)`. For targets 0.23-0.25 std's `OnceLock` stays and `get_or_init(|| ..)` becomes
    `get_or_init_py_attached(py, || ..)` from `pyo3::sync::OnceLockExt` (`get()` and `set(v)` do
    not change); a once_cell `OnceCell` becomes std's `OnceLock` on the way. A std cell that
    already uses `get_or_init_py_attached` somewhere keeps that route at any target.

    The token is the one in scope at each call: a `py: Python<'_>` parameter, the parameter of
    an enclosing `Python::with_gil(|py| ..)`/`Python::attach(|py| ..)` closure, a `let py =
    obj.py();`, or `slf.py()` for a `Bound`/`PyRef`/`PyRefMut` parameter `slf`. Names are
    resolved (bare, aliased, globbed `use std::sync::*`, fully qualified); `use` trees are tidied
    as `once-lock` does (the old import goes when nothing uses it, the new one is added).

Example
    use std::sync::OnceLock;                        use pyo3::sync::PyOnceLock;

    static DECIMAL: OnceLock<Py<PyAny>> =     ->    static DECIMAL: PyOnceLock<Py<PyAny>> =
        OnceLock::new();                                PyOnceLock::new();

    fn decimal(py: Python<'_>) -> &Py<PyAny> {      fn decimal(py: Python<'_>) -> &Py<PyAny> {
        DECIMAL.get_or_init(|| {                        DECIMAL.get_or_init(py, || {
            Python::with_gil(|py| {                         py.import("decimal")
                py.import("decimal")                            .unwrap()
                    .unwrap()                                   .getattr("Decimal")
                    .getattr("Decimal")                         .unwrap()
                    .unwrap()                                   .unbind()
                    .unbind()                               })
            })                                      }
        })
    }

    With a 0.23-0.25 target the static stays `OnceLock` and the call becomes
    `DECIMAL.get_or_init_py_attached(py, || ..)` (with `use pyo3::sync::OnceLockExt;`).

What it will not do
    - A cell changes together with all its uses across the project, or not at all. A use with no
      `Python` token in scope (`PyOnceLock` needs one at every `get`, `set` and `get_or_init`)
      keeps the whole cell as it is, reported: wrapping that call in `Python::attach(|py| ..)`
      changes the code's structure, so it is left to a person.
    - Only statics (also inside functions) holding exactly `Py<..>` or `PyObject` (`Py<PyType>`,
      `Py<PyModule>`, ...). One holding a tuple or another container of `Py` and filled through
      `get_or_init` is reported. Plain Rust data (regexes, tables, strings) is never touched, nor
      are cells that are struct fields, locals or parameters, cells in `thread_local!`, or cells
      only ever `set` and read (no initialiser runs under their lock).
    - Hand-rolled check-then-init (`if let Some(v) = CELL.get() { .. } .. CELL.set(v)` in one
      function) never holds a lock while Python runs and may exist to avoid re-entrancy: it is
      reported, not rewritten.
    - once_cell's `Lazy` and std's `LazyLock` holding a `Py` run their initialiser under a lock
      the same way, but every deref would have to become `get_or_init(py, ..)`: reported, not
      rewritten. `get_or_try_init` has no std equivalent that detaches: for a 0.23-0.25 target
      such a cell is reported with the advice to target 0.26.
    - A `static mut` cell, a cell used inside a macro, passed to a function or otherwise used in
      a way this tool cannot follow, is reported and kept.
    - A crate's own type named `OnceLock` or `OnceCell` is left alone. The `once_cell`
      dependency stays in Cargo.toml even when nothing uses it any more.

Fix safety
    Unsafe: applied only with `--unsafe`, listed otherwise. `PyOnceLock` initialises once per
    process and detaches while it waits; code that re-entered its own initialiser (or relied on
    a racing second initialiser to make progress) can deadlock or behave differently, and a
    `pub` static's type is part of the crate's API. The std-`OnceLock` route for 0.23-0.25 keeps
    the type and only changes how a waiting thread blocks; it is marked unsafe with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.cells import CELL, CellDecl, CellInventory, CellUse, arguments, build_inventory, site_of
from pyo3_migrate.analysis.imports import UseEditor
from pyo3_migrate.analysis.names import CrateNames, ItemRef, find_refs, item_names
from pyo3_migrate.analysis.rust import UseLeaf
from pyo3_migrate.analysis.tokens import insert_token, python_token, unwrap_attach
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety, drop_contained
from pyo3_migrate.core.version import V0_23, V0_26

INFO = CodemodInfo(
    id="interpreter-aware-cells",
    summary="std OnceLock / once_cell OnceCell statics holding Py -> PyOnceLock (>= 0.26) or OnceLockExt (0.23-0.25)",
    language="rust",
    safety=Safety.UNSAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#replacement-of-giloncecell-with-pyoncelock",
    docs=__doc__.strip(),
    stages=(V0_26,),  # std OnceLock + OnceLockExt below, PyOnceLock from here
    triggers=("OnceLock", "OnceCell", "Lazy"),
)

STD_ONCE_LOCK = ("std", "sync", "OnceLock")
ONCE_CELL = ("once_cell", "sync", "OnceCell")
PY_ONCE_LOCK = ("pyo3", "sync", "PyOnceLock")
ONCE_LOCK_EXT = ("pyo3", "sync", "OnceLockExt")
CELLS = {STD_ONCE_LOCK: "std `OnceLock`", ONCE_CELL: "once_cell `OnceCell`"}
LAZIES = {("once_cell", "sync", "Lazy"): "once_cell `Lazy`", ("std", "sync", "LazyLock"): "std `LazyLock`"}

INIT = {"get_or_init", "get_or_try_init"}
ATTACHED = "get_or_init_py_attached"
ARITY = {"get": 0, "set": 1, "get_or_init": 1, "get_or_try_init": 1}  # arguments before the token goes in
_COMMENTS = ("line_comment", "block_comment")
RISK = "its initialiser calls into Python while holding the cell's lock, and a waiting thread does not detach"


# ------------------------------------------------------------------------------------------ deciding


@dataclass
class CellPlan:
    """How one cell changes: its new type (None: the type stays) and the calls that gain a token."""

    item: tuple[str, ...]
    ident: tuple
    new_type: tuple[str, ...] | None
    calls: list[tuple[CellUse, str]] = field(default_factory=list)  # (use, token)

    @property
    def to_py_once_lock(self) -> bool:
        return self.new_type == PY_ONCE_LOCK


@dataclass
class LeafUse:
    converted: int = 0  # mentions through this import whose cell changes type
    kept: int = 0  # mentions that stay (also inside macros and re-exports)


@dataclass
class Mode:
    """The decisions for one family of targets (std route or PyOnceLock route)."""

    plans: dict[tuple, CellPlan] = field(default_factory=dict)
    held: dict[tuple, tuple[CellDecl, str]] = field(default_factory=dict)  # ident -> (decl, reason)
    leaves: dict[tuple[Path, int], LeafUse] = field(default_factory=dict)
    ext_scopes: set[tuple[Path, int]] = field(default_factory=set)  # (file, module scope start) calling the ext


@dataclass
class Facts:
    inventories: dict[tuple[str, ...], CellInventory]
    names: CrateNames
    modes: dict[bool, Mode] = field(default_factory=dict)  # std route? -> decisions
    lazies: dict[Path, list[tuple[Node, str]]] = field(default_factory=dict)


@lru_cache(maxsize=512)
def _mentions_py(type_text: str) -> bool:
    """Whether a type as written names a Python object anywhere: `Py<..>` (also `pyo3::Py<..>`,
    inside `Vec<..>` or a tuple) or `PyObject`."""
    source = f"type T = {type_text};".encode()
    for node in rust.walk(rust.parse(source).root_node):
        if node.type != "type_identifier":
            continue
        name = rust.text(source, node)
        holder = node.parent
        if holder is not None and holder.type == "scoped_type_identifier":  # `pyo3::Py<..>`
            holder = holder.parent
        if name == "PyObject" or (name == "Py" and holder is not None and holder.type == "generic_type"):
            return True
    return False


def _attached_call(node: Node, source: bytes) -> bool:
    """`CELL.get_or_init_py_attached(..)`: a use that already detaches while it waits."""
    parent = node.parent
    if parent is None or parent.type != "field_expression":
        return False
    value = parent.child_by_field_name("value")
    fld = parent.child_by_field_name("field")
    call = parent.parent
    return (value is not None and value.id == node.id and fld is not None and rust.text(source, fld) == ATTACHED
            and call is not None and call.type == "call_expression")


def _function_of(node: Node) -> Node | None:
    return next((a for a in rust.ancestors(node) if a.type == "function_item"), None)


def _check_then_init(contents: dict[Path, bytes], uses: list[CellUse]) -> str | None:
    """A function that reads the cell with `get()` and later fills it with `set(..)` itself."""
    first_get: dict[tuple, int] = {}
    for use in uses:
        function = _function_of(use.call)
        if use.method == "get" and function is not None and not use.in_macro:
            key = (use.path, function.start_byte)
            first_get[key] = min(first_get.get(key, use.call.start_byte), use.call.start_byte)
    for use in uses:
        function = _function_of(use.call)
        if use.method != "set" or function is None or use.in_macro:
            continue
        start = first_get.get((use.path, function.start_byte))
        if start is not None and start < use.call.start_byte:
            source = contents[use.path]
            name = function.child_by_field_name("name")
            return (f"{CELL} is filled by a hand-rolled check-then-init (`get()` then `set(..)` in `fn "
                    f"{rust.text(source, name)}`, {rust.place(use.path, source, use.call)}), which never holds a lock "
                    "while Python runs and may be there to avoid re-entrancy: left as is, review it by hand")
    return None


def decide(snapshot: Snapshot, inv: CellInventory, decl: CellDecl, std_route: bool) -> CellPlan | str | None:
    """A plan for one cell, the reason it stays (a Finding), or None when it is none of our business."""
    if decl.kind != "static" or decl.node.type != "static_item" or decl.inner is None:
        return None
    if not _mentions_py(decl.inner):
        return None  # plain Rust data
    contents = snapshot.contents
    uses = [u for u in inv.uses.get(decl.key, []) if u.decl == decl.ident]
    notes = inv.notes.get(decl.ident, [])
    attached = [n for n in notes if _attached_call(n.node, contents[n.path])]
    notes = [n for n in notes if n not in attached]
    check = _check_then_init(contents, uses)
    if check is not None:
        return check
    if not any(u.method in INIT for u in uses):
        return None  # never initialised through a closure here: nothing holds the lock while Python runs
    if not decl.holds_py:
        inner = " ".join(decl.inner.split())
        return (f"{CELL} holds `{inner}`, not a single `Py<..>`/`PyObject`; {RISK}: move it to "
                "`PyOnceLock` by hand")
    if decl.mutable:
        return f"{CELL} is a `static mut` cell: port it to `PyOnceLock` by hand"
    if notes:
        return f"{notes[0].message}, so its uses cannot all be followed ({RISK}): port it by hand"
    partners = [b if a == decl.ident else a for a, b in inv.links if decl.ident in (a, b)]
    if partners:
        return f"{_shared_with(inv, partners[0])} ({RISK}): port it by hand"
    item = inv.item
    to_py = not std_route and not (attached and item == STD_ONCE_LOCK)
    calls = []
    for use in uses:
        source = contents[use.path]
        where = rust.place(use.path, source, use.call)
        args = use.call.child_by_field_name("arguments")
        count = len(arguments(args)) if args is not None else -1
        if to_py:
            if use.method not in ARITY or count != ARITY[use.method]:
                return f"`.{use.method}(..)` at {where} has no `PyOnceLock` counterpart this tool knows: port it by hand"
        else:
            if use.method not in INIT:
                continue  # `get()`, `set(v)`: the same on std's OnceLock
            if use.method == "get_or_try_init":
                return (f"`.get_or_try_init(..)` at {where} has no std counterpart that detaches; target PyO3 "
                        ">= 0.26 to move it to `PyOnceLock`")
            if count != 1:
                return f"`.{use.method}(..)` at {where} is called with an unexpected number of arguments"
        token = python_token(source, use.call)
        if token is None:
            needs = "`PyOnceLock` needs at every use" if to_py else f"`{ATTACHED}` needs"
            return (f"`.{use.method}(..)` at {where} has no `Python` token in scope, which {needs} ({RISK}); "
                    "pass a `py` in, or wrap the call in `Python::attach(|py| ..)` by hand")
        calls.append((use, token))
    if to_py:
        new_type = PY_ONCE_LOCK
    else:
        new_type = STD_ONCE_LOCK if item == ONCE_CELL else None
    return CellPlan(item, decl.ident, new_type, calls)


def _shared_with(inv: CellInventory, partner: tuple) -> str:
    """How a cell's value reaches another declaration (a parameter, a field, another cell)."""
    other = inv.by_ident.get(partner)
    if other is not None and other.kind == "param" and other.function:
        return f"{CELL} is passed to `fn {other.function}` as `{other.key}`"
    if other is not None:
        return f"{CELL} shares values with {other.describe()}"
    return f"{CELL} shares values with another cell"


def _mode(snapshot: Snapshot, inventories: dict[tuple[str, ...], CellInventory], std_route: bool) -> Mode:
    mode = Mode()
    for inv in inventories.values():
        for ident, decl in inv.by_ident.items():
            outcome = decide(snapshot, inv, decl, std_route)
            if isinstance(outcome, CellPlan):
                mode.plans[ident] = outcome
            elif isinstance(outcome, str):
                mode.held[ident] = (decl, outcome)
    for plan in mode.plans.values():
        for use, _token in plan.calls:
            if not plan.to_py_once_lock and use.method == "get_or_init":
                mode.ext_scopes.add((use.path, rust.module_scope(use.call).start_byte))
    for inv in inventories.values():
        for path, cells in inv.files.items():
            for ref in cells.refs.refs:
                if ref.leaf is None:
                    continue
                changes = _new_type_of(mode, cells.ref_decl.get(ref.span[0])) is not None
                entry = mode.leaves.setdefault((ref.leaf_file, ref.leaf.node.start_byte), LeafUse())
                if changes:
                    entry.converted += 1
                else:
                    entry.kept += 1
                for relay_file, relay in ref.relays:
                    mode.leaves.setdefault((relay_file, relay.node.start_byte), LeafUse()).kept += 1
            for leaf_file, leaf in cells.refs.macro_leaves:
                mode.leaves.setdefault((leaf_file, leaf.node.start_byte), LeafUse()).kept += 1
    return mode


def _new_type_of(mode: Mode, ident: tuple | None) -> tuple[str, ...] | None:
    plan = mode.plans.get(ident) if ident is not None else None
    return plan.new_type if plan is not None else None


def _lazies(names: CrateNames, mentioned: set[tuple[str, ...]]) -> dict[Path, list[tuple[Node, str]]]:
    """`static X: Lazy<Py<..>>` / `LazyLock<Py<..>>`: the same risk, reported."""
    found: dict[Path, list[tuple[Node, str]]] = {}
    for item, label in LAZIES.items():
        if item not in mentioned:
            continue
        local_names = item_names(names, item)
        for path in names.files_with(local_names):
            source = names.sources[path]
            seen: set[int] = set()
            for ref in find_refs(names, path, item, local_names).refs:
                if ref.in_item_macro is not None:
                    continue
                site = site_of(source, ref.node)
                generic = ref.node.parent
                args = generic.child_by_field_name("type_arguments") if generic is not None and generic.type == "generic_type" else None
                if site is None or site.kind != "static" or args is None or not args.named_children:
                    continue
                inner = rust.text(source, args.named_children[0])
                if site.node.start_byte in seen or not _mentions_py(inner):
                    continue
                seen.add(site.node.start_byte)
                found.setdefault(path, []).append((site.node, (
                    f"`{site.key}` is a {label} holding `{' '.join(inner.split())}`: {RISK} (a deadlock risk); "
                    "move it to `PyOnceLock` by hand (each deref becomes `get_or_init(py, ..)`)")))
    return found


class InterpreterAwareCellsCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        sources = [snapshot.contents[p] for p in snapshot.rust_files()]
        mentioned = {item for item in (*CELLS, *LAZIES) if any(item[-1].encode() in s for s in sources)}
        inventories = {item: build_inventory(snapshot, item) for item in CELLS if item in mentioned}
        if inventories:
            names = next(iter(inventories.values())).names
        else:
            names = CrateNames.of_snapshot(snapshot) if mentioned else CrateNames({}, {})
        facts = Facts(inventories, names)
        facts.modes = {std: _mode(snapshot, inventories, std) for std in (False, True)}
        facts.lazies = _lazies(names, mentioned)
        return facts

    def transform(self, ctx: Context) -> None:
        facts: Facts = ctx.facts
        mode = facts.modes[ctx.target < V0_26]
        for node, message in facts.lazies.get(ctx.path, []):
            ctx.finding(node, message)
        for decl, reason in mode.held.values():
            if decl.path == ctx.path:
                kind = CELLS[_item_of(facts, decl.ident)]
                ctx.finding(decl.node, f"{decl.describe()} stays {kind}: {reason.replace(CELL, 'it')}")
        editor = _Editor(ctx, facts, mode)
        for item, inv in facts.inventories.items():
            cells = inv.files.get(ctx.path)
            if cells is None:
                continue
            editor.names = inv.names
            for ref in cells.refs.refs:
                new_type = _new_type_of(mode, cells.ref_decl.get(ref.span[0]))
                if new_type is not None:
                    editor.convert(ref, new_type)
            for leaf in cells.refs.uses:
                editor.settle_import(leaf)
        kinds = set()
        for plan in mode.plans.values():
            for use, token in plan.calls:
                if use.path == ctx.path:
                    editor.names = facts.inventories[plan.item].names
                    editor.rewrite_call(plan, use, token)
                    kinds.add(_describe(plan))
        for plan in mode.plans.values():
            if plan.new_type is not None and facts.inventories[plan.item].by_ident[plan.ident].path == ctx.path:
                kinds.add(_describe(plan))
        ctx.fix(f"interpreter-aware cells: {', '.join(sorted(kinds)) or 'imports'}", editor.edits())


def _item_of(facts: Facts, ident: tuple) -> tuple[str, ...]:
    return next(item for item, inv in facts.inventories.items() if ident in inv.by_ident)


def _describe(plan: CellPlan) -> str:
    if plan.to_py_once_lock:
        return f"{CELLS[plan.item]} holding Py -> PyOnceLock"
    if plan.new_type == STD_ONCE_LOCK:
        return f"{CELLS[plan.item]} holding Py -> std OnceLock + get_or_init_py_attached"
    return "get_or_init -> get_or_init_py_attached"


# ------------------------------------------------------------------------------------------- editing


class _Editor(UseEditor):
    """The edits of one file; imports are settled so that they match what was written."""

    def __init__(self, ctx: Context, facts: Facts, mode: Mode):
        super().__init__(ctx.source, ctx.path, facts.names)  # `names`: one per inventory, set as each is done
        self.ctx = ctx
        self.mode = mode
        self._targets: dict[tuple[Path, int], tuple[str, ...]] = {}  # leaf -> the type its converted refs take
        self._spelled_out: dict[int, tuple[UseLeaf, int]] = {}  # `use once_cell::sync;` -> paths rewritten
        self._ext_scopes: dict[int, tuple[Node, CrateNames]] = {}  # module scopes whose calls need OnceLockExt
        self._provided: set[tuple[int, str]] = set()  # (scope start, use path) this file's edits import

    # -- mentions of the type
    def convert(self, ref: ItemRef, new: tuple[str, ...]) -> None:
        full = "::".join(new)
        if ref.qualified:
            written = self.source[ref.span[0] : ref.span[1]].decode()
            lead = "::" if written.lstrip().startswith("::") else ""
            self.replace(ref.span, lead + full)
            if ref.head_leaf is not None and ref.head_leaf[0] == self.ctx.path:
                leaf = ref.head_leaf[1]
                _, count = self._spelled_out.get(leaf.node.start_byte, (leaf, 0))
                self._spelled_out[leaf.node.start_byte] = (leaf, count + 1)
            return
        if ref.leaf is not None and ref.leaf_file == self.ctx.path:
            self._targets[(ref.leaf_file, ref.leaf.node.start_byte)] = new
            if self._removable(ref.leaf) and ref.leaf.alias is not None and self.free_or_mine(ref.leaf.scope, new):
                return  # the alias itself is retargeted
            name = new[-1] if self.free_or_mine(ref.leaf.scope, new) else full
            self.replace(ref.name_span, name)
            return
        self.replace(ref.name_span, self.name_at(ref.node, new))

    def _removable(self, leaf: UseLeaf) -> bool:
        use = self.mode.leaves.get((self.ctx.path, leaf.node.start_byte), LeafUse())
        return use.kept == 0 and not leaf.public


    # -- imports
    def settle_import(self, leaf: UseLeaf) -> None:
        new = self._targets.get((self.ctx.path, leaf.node.start_byte))
        if new is None:
            return  # nothing written through it changes in this file
        scope = leaf.scope
        full = "::".join(new)
        has_new = self.resolves(rust.inner_anchor(scope), new[-1]) == new
        if not self._removable(leaf):
            if self.free_or_mine(scope, new) and not has_new:
                self.add_import(scope, full)
            return
        wanted = full + (f" as {leaf.alias}" if leaf.alias else "")
        provided = (scope.start_byte, wanted) in self._provided
        if not self.free_or_mine(scope, new) or (has_new and leaf.alias is None) or provided:
            self.remove_use(leaf)
        elif leaf.standalone:
            path_node = leaf.node.child_by_field_name("path") if leaf.alias is not None else leaf.node
            self.replace((path_node.start_byte, path_node.end_byte), full)
            self._provided.add((scope.start_byte, wanted))
        else:
            self.remove_use(leaf)
            self.add_import(scope, wanted)

    def add_import(self, scope: Node, path: str) -> None:
        if (scope.start_byte, path) in self._provided:
            return
        self._provided.add((scope.start_byte, path))
        super().add_import(scope, path)

    def _drop_unused_module_imports(self) -> None:
        """`use once_cell::sync;` only there for `sync::OnceCell`, now spelled out in full."""
        for leaf, rewritten in self._spelled_out.values():
            if self.names.mentions_outside_uses(self.ctx.path, leaf.local_name) == rewritten and not leaf.public:
                self.remove_use(leaf)

    # -- calls
    def rewrite_call(self, plan: CellPlan, use: CellUse, token: str) -> None:
        call = use.call
        function = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        values = arguments(args)
        if not plan.to_py_once_lock and use.method == "get_or_init":
            name = function.child_by_field_name("field")
            self.replace((name.start_byte, name.end_byte), ATTACHED)
            if not self.names.imports_at(self.ctx.path, call, ONCE_LOCK_EXT):
                scope = rust.module_scope(call)
                self._ext_scopes[scope.start_byte] = (scope, self.names)
        self._edits.append(insert_token(self.source, args, values, token))
        if use.method in INIT and values:
            unwrapped = unwrap_attach(self.source, values[0], token)
            if unwrapped is not None:
                self._edits.append(unwrapped)

    def _settle_ext(self) -> None:
        """Import OnceLockExt where calls need it, unless the parent module seen through
        `use super::*` has such calls too (and so gets the import)."""
        for scope, names in self._ext_scopes.values():
            leaves = names.index[self.ctx.path].uses.get(scope.id, [])
            sees_parent = any(leaf.is_glob and leaf.path == ("super", "*") for leaf in leaves)
            parent = names.parent_module(self.ctx.path, scope) if sees_parent else None
            if parent is not None and (parent.file, parent.scope.start_byte) in self.mode.ext_scopes:
                continue
            self.add_import(scope, "::".join(ONCE_LOCK_EXT))

    def edits(self) -> list[Edit]:
        self._settle_ext()
        self._drop_unused_module_imports()
        return drop_contained(list(self._edits) + self.import_edits())


CODEMOD = InterpreterAwareCellsCodemod()
