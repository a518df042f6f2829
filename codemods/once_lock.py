"""once-lock: replace `GILOnceCell` with `PyOnceLock` (PyO3 >= 0.26) or `std::sync::OnceLock` (0.23-0.25).

What it does
    PyO3 deprecated `pyo3::sync::GILOnceCell` in 0.26 and removed it in 0.28. Its initialisation
    is racy (the closure may run more than once) and relies on the GIL. For targets >= 0.26 every
    reference becomes `PyOnceLock`, whose methods take the same `py` arguments, so call sites do
    not change. For targets 0.23-0.25 the cell becomes `std::sync::OnceLock`: `get_or_init(py, f)`
    becomes `get_or_init_py_attached(py, f)` from `pyo3::sync::OnceLockExt`, `get(py)` becomes
    `get()` and `set(py, v)` becomes `set(v)`.

Example
    use pyo3::sync::GILOnceCell;                  use pyo3::sync::PyOnceLock;
    static CLS: GILOnceCell<Py<PyType>> =   ->    static CLS: PyOnceLock<Py<PyType>> =
        GILOnceCell::new();                           PyOnceLock::new();

What it will not do
    - Names are resolved first: a crate's own type named `GILOnceCell` is reported (a GIL-reliant
      cell is unsound under free-threading), never edited.
    - A cell changes together with all its uses across the project, or not at all. For 0.23-0.25,
      `get_or_try_init`, `import` and `clone_ref` have no std equivalent: such a cell stays and is
      reported with a suggestion to target 0.26 or later.
    - Mentions inside macro invocations and `macro_rules!` bodies are token trees, not paths: they
      are reported with their location. A `static mut` cell is reported, not converted.
    - Strings and comments are never edited.

Fix safety
    Safe. `PyOnceLock` initialises once (no racy re-run): code that re-entered its own
    initialiser would now deadlock, which such code already had to avoid under free-threading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from migrate import rust
from migrate.cells import GIL_ONCE_CELL, CellInventory, build_inventory
from migrate.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from migrate.model import Edit, Safety
from migrate.names import ItemRef, canonical, glob_provides
from migrate.rust import FileIndex, UseLeaf
from migrate.version import V0_23, V0_26

INFO = CodemodInfo(
    id="once-lock",
    summary="GILOnceCell -> PyOnceLock (>= 0.26) or std OnceLock + OnceLockExt (0.23-0.25)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#deprecation-of-gilonce-cell-type",
    docs=__doc__.strip(),
)

NO_STD_EQUIVALENT = {
    "get_or_try_init": "`get_or_try_init` has no stable std equivalent",
    "import": "`import` exists only on PyO3's cells",
    "clone_ref": "`clone_ref` exists only on PyO3's cells",
}
PY_ONCE_LOCK = "PyOnceLock"
STD_ONCE_LOCK = ("std", "sync", "OnceLock")
ONCE_LOCK_EXT = ("pyo3", "sync", "OnceLockExt")


@dataclass
class Facts:
    inventory: CellInventory
    held_always: dict[str, str] = field(default_factory=dict)  # key -> reason (any target)
    held_for_std: dict[str, str] = field(default_factory=dict)  # key -> reason (0.23-0.25 targets)

    def reason(self, key: str | None, std_mode: bool) -> str | None:
        if key is None:
            if std_mode and self.held_for_std:
                return "a type-only position (parameter, return type, alias) stays while some cell stays"
            return None
        if key in self.held_always:
            return self.held_always[key]
        return self.held_for_std.get(key) if std_mode else None


def _py_token_like(source: bytes, node: Node) -> bool:
    """A first argument that reads as a `Python<'py>` token (`py`, `_py`, `obj.py()`)."""
    written = rust.text(source, node)
    return "py" in written.lower() and node.type in ("identifier", "call_expression", "field_expression")


class OnceLockCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        inventory = build_inventory(snapshot, GIL_ONCE_CELL)
        facts = Facts(inventory)
        for key, decls in inventory.decls.items():
            if any(d.mutable for d in decls):
                facts.held_always[key] = f"`static mut` cell `{key}`: port by hand (its take()/set() resets race)"
        for key, uses in inventory.uses.items():
            for use in uses:
                line = snapshot.contents[use.path][: use.call.start_byte].count(b"\n") + 1
                where = f"{use.path}:{line}"
                if use.in_macro:
                    facts.held_for_std.setdefault(
                        key, f"cell `{key}` is used inside a macro at {where}: target PyO3 >= 0.26, or port by hand"
                    )
                elif use.method in NO_STD_EQUIVALENT:
                    facts.held_for_std.setdefault(
                        key,
                        f"cell `{key}` stays GILOnceCell: {NO_STD_EQUIVALENT[use.method]} (at {where}); "
                        "target PyO3 >= 0.26 to move it to PyOnceLock",
                    )
        return facts

    def transform(self, ctx: Context) -> None:
        facts: Facts = ctx.facts
        cells = facts.inventory.files.get(ctx.path)
        if cells is None:
            return
        _report_unconvertible_mentions(ctx, cells.refs)
        if not cells.refs.refs and not cells.refs.uses:
            return
        std_mode = ctx.target < V0_26
        plan = _Plan(ctx, cells.index, std_mode)
        for ref in cells.refs.refs:
            key = cells.owner_key.get(ref.node.id)
            reason = facts.reason(key, std_mode)
            if reason is not None:
                plan.hold(ref, reason)
            else:
                plan.convert(ref)
        if std_mode:
            for key, uses in facts.inventory.uses.items():
                if facts.reason(key, True) is None:
                    for use in uses:
                        if use.path == ctx.path and not use.in_macro:
                            plan.rewrite_method_call(use.call, use.method)
        for leaf in cells.refs.uses:
            plan.settle_import(leaf)
        edits = plan.edits()
        target = "PyOnceLock" if not std_mode else "std::sync::OnceLock + OnceLockExt"
        ctx.fix(f"GILOnceCell -> {target}", edits)


def _report_unconvertible_mentions(ctx: Context, refs) -> None:
    for node in refs.in_macros:
        ctx.finding(node, "GILOnceCell is named inside a macro: token trees are not rewritten, port it by hand")
    if refs.lookalikes:
        ctx.finding(
            refs.lookalikes[0],
            "this crate's own `GILOnceCell` type (not PyO3's) relies on the GIL and is unsound under "
            "free-threading: port it to PyOnceLock or std OnceLock by hand",
        )
    for node in refs.unresolved:
        ctx.finding(node, "cannot tell which `GILOnceCell` this is (no import in scope): left as is")


class _Plan:
    """Collects the edits of one file, then settles its imports so they match what was written."""

    def __init__(self, ctx: Context, index: FileIndex, std_mode: bool):
        self.ctx = ctx
        self.source = ctx.source
        self.index = index
        self.std_mode = std_mode
        self._edits: list[Edit] = []
        self._by_leaf: dict[int, tuple[list[ItemRef], list[ItemRef]]] = {}  # leaf id -> (converted, held)
        self._imports: dict[int, tuple[Node, list[str]]] = {}  # scope id -> (scope, use paths to add)
        self._reported: set[int] = set()
        self._wrote_ext_call: Node | None = None
        self._ext_in_scope = False

    # -- references
    def hold(self, ref: ItemRef, reason: str) -> None:
        self._tally(ref, held=True)
        decl = ref.node
        for a in rust.ancestors(ref.node):
            if a.type in ("static_item", "field_declaration", "let_declaration", "parameter", "const_item"):
                decl = a
                break
        if decl.id not in self._reported:
            self._reported.add(decl.id)
            self.ctx.finding(decl, reason)

    def convert(self, ref: ItemRef) -> None:
        self._tally(ref, held=False)
        if ref.qualified:
            replacement = "std::sync::OnceLock" if self.std_mode else None
            if not self.std_mode and canonical(ref.path) != ref.path:
                replacement = "pyo3::sync::PyOnceLock"
            if replacement is None:
                self._replace(ref.name_node, PY_ONCE_LOCK)
            else:
                lead = "::" if rust.text(self.source, ref.node).lstrip().startswith("::") and not self.std_mode else ""
                self._replace(ref.node, lead + replacement)
            return
        if ref.leaf is not None and ref.leaf.alias is not None:
            return  # written through an alias: the alias is re-pointed (or the ref renamed) when settling
        self._replace(ref.node, "OnceLock" if self.std_mode else PY_ONCE_LOCK)
        if ref.leaf is None:  # resolved through a glob or a parent module: the new name must be in scope
            self._need_name_at(ref.node)

    def _tally(self, ref: ItemRef, held: bool) -> None:
        if ref.leaf is not None:
            converted, kept = self._by_leaf.setdefault(ref.leaf.node.id, ([], []))
            (kept if held else converted).append(ref)

    def _replace(self, node: Node, new: str) -> None:
        self._edits.append(Edit(node.start_byte, node.end_byte, new.encode()))

    # -- std mode call sites
    def rewrite_method_call(self, call: Node, method: str) -> None:
        function = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        values = [c for c in args.named_children if c.type not in ("line_comment", "block_comment")]
        if method in ("get", "set", "get_or_init") and (not values or not _py_token_like(self.source, values[0])):
            return
        if method == "get" and len(values) == 1:
            self._edits.append(Edit(args.start_byte + 1, args.end_byte - 1, b""))
        elif method == "set" and len(values) == 2:
            self._edits.append(Edit(values[0].start_byte, values[1].start_byte, b""))
        elif method == "get_or_init" and len(values) == 2:
            self._replace(function.child_by_field_name("field"), "get_or_init_py_attached")
            self._wrote_ext_call = self._wrote_ext_call or call

    def _need_name_at(self, node: Node) -> None:
        scope = _module_scope(node)
        path = "std::sync::OnceLock" if self.std_mode else "pyo3::sync::PyOnceLock"
        written = path.rsplit("::", 1)[-1]
        if self.index.resolve(node, written, glob_provides) is None:
            self._add_import(scope, path)

    def _add_import(self, scope: Node, path: str) -> None:
        entry = self._imports.setdefault(scope.id, (scope, []))
        if path not in entry[1]:
            entry[1].append(path)

    # -- imports
    def settle_import(self, leaf: UseLeaf) -> None:
        converted, held = self._by_leaf.get(leaf.node.id, ([], []))
        scope = leaf.declaration.parent
        if held and not converted:
            return
        if held:  # both kinds of use: keep the old import, bring the new name in beside it
            new_name = "OnceLock" if self.std_mode else PY_ONCE_LOCK
            for ref in converted:
                if ref.leaf.alias is not None:
                    self._replace(ref.node, new_name)
            self._add_import(scope, "std::sync::OnceLock" if self.std_mode else "pyo3::sync::PyOnceLock")
            return
        if self.std_mode:
            self._settle_std(leaf, scope)
        else:
            self._settle_py_once_lock(leaf, scope)

    def _settle_py_once_lock(self, leaf: UseLeaf, scope: Node) -> None:
        in_sync = canonical(leaf.path) == leaf.path
        if leaf.alias is None and self.index.scope_imports(scope, ("pyo3", "sync", PY_ONCE_LOCK)):
            self._edits.extend(rust.remove_use_leaf(self.source, leaf))
        elif in_sync:
            self._edits.append(rust.rename_leaf(leaf, PY_ONCE_LOCK))
        elif leaf.standalone:
            path = leaf.node.child_by_field_name("path") if leaf.alias else leaf.node
            self._replace(path, "pyo3::sync::PyOnceLock")
        else:
            self._edits.extend(rust.remove_use_leaf(self.source, leaf))
            alias = f" as {leaf.alias}" if leaf.alias else ""
            self._add_import(scope, f"pyo3::sync::PyOnceLock{alias}")

    def _settle_std(self, leaf: UseLeaf, scope: Node) -> None:
        needs_ext = self._wrote_ext_call is not None and not self.index.scope_imports(scope, ONCE_LOCK_EXT)
        in_sync = canonical(leaf.path) == leaf.path
        if leaf.alias is not None:
            if leaf.standalone:
                self._replace(leaf.node.child_by_field_name("path"), "std::sync::OnceLock")
            else:
                self._edits.extend(rust.remove_use_leaf(self.source, leaf))
                self._add_import(scope, f"std::sync::OnceLock as {leaf.alias}")
        elif needs_ext and in_sync:
            self._edits.append(rust.rename_leaf(leaf, "OnceLockExt"))
            needs_ext = False
            if not self.index.scope_imports(scope, STD_ONCE_LOCK):
                self._add_import(scope, "std::sync::OnceLock")
        elif leaf.standalone and not self.index.scope_imports(scope, STD_ONCE_LOCK):
            self._replace(leaf.node, "std::sync::OnceLock")
        else:
            self._edits.extend(rust.remove_use_leaf(self.source, leaf))
            if not self.index.scope_imports(scope, STD_ONCE_LOCK):
                self._add_import(scope, "std::sync::OnceLock")
        if needs_ext:
            self._add_import(scope, "pyo3::sync::OnceLockExt")
        self._ext_in_scope = True

    def edits(self) -> list[Edit]:
        call = self._wrote_ext_call
        if call is not None and not self._ext_in_scope:
            if self.index.resolve(call, "OnceLockExt", glob_provides) is None:
                self._add_import(_module_scope(call), "pyo3::sync::OnceLockExt")
        edits = list(self._edits)
        for scope, paths in self._imports.values():
            edits.append(rust.add_uses(self.source, scope, paths))
        return _dedupe_edits(edits)


def _module_scope(node: Node) -> Node:
    for a in rust.ancestors(node):
        if rust.is_module_scope(a):
            return a
    raise ValueError("node outside a module")


def _dedupe_edits(edits: list[Edit]) -> list[Edit]:
    out: list[Edit] = []
    for edit in sorted(set(edits), key=lambda e: (e.start, e.end)):
        if out and edit.start < out[-1].end:
            continue  # a contained edit (e.g. a renamed ref inside a removed line) loses
        out.append(edit)
    return out


CODEMOD = OnceLockCodemod()
