"""once-lock: replace `GILOnceCell` with `PyOnceLock` (PyO3 >= 0.26) or `std::sync::OnceLock` (0.23-0.25).

What it does
    PyO3 deprecated `pyo3::sync::GILOnceCell` in 0.26 and removed it in 0.28. Its initialisation
    is racy (the closure may run more than once) and relies on the GIL. For targets >= 0.26 every
    reference becomes `PyOnceLock`, whose methods take the same `py` arguments, so call sites do
    not change. For targets 0.23-0.25 the cell becomes `std::sync::OnceLock`: `get_or_init(py, f)`
    becomes `get_or_init_py_attached(py, f)` from `pyo3::sync::OnceLockExt`, `get(py)` becomes
    `get()` and `set(py, v)` becomes `set(v)`; `get_mut`, `take` and `into_inner` stay as they are.
    A `py` (parameter, closure parameter or `let`) that was only passed to those calls becomes
    `_py`, so the crate builds without an unused-variable warning.

    Every declaration is covered: statics (also inside functions and `#[cfg]` impls, and inside
    `thread_local!`), struct fields (a `const fn new` stays `const`), newtype and enum payloads,
    arrays of cells, `&'static` parameters, locals, generic `T`; written bare, through an alias,
    a glob (`use pyo3::sync::*`, `use super::*`), or as a full path (also the old
    `pyo3::once_cell::GILOnceCell`). `use` lines are rewritten in place, commas and braces kept
    tidy, and no import is left unused; a file that keeps some cells imports both names.

Example
    use pyo3::sync::GILOnceCell;                  use pyo3::sync::PyOnceLock;
    static CLS: GILOnceCell<Py<PyType>> =   ->    static CLS: PyOnceLock<Py<PyType>> =
        GILOnceCell::new();                           PyOnceLock::new();

    With a 0.23-0.25 target:
    use pyo3::sync::GILOnceCell;                  use pyo3::sync::OnceLockExt;
    static CLS: GILOnceCell<Py<PyType>> =   ->    use std::sync::OnceLock;
        GILOnceCell::new();                       static CLS: OnceLock<Py<PyType>> = OnceLock::new();
    CLS.get_or_init(py, || ..)                    CLS.get_or_init_py_attached(py, || ..)

What it will not do
    - Names are resolved first: a crate's own type named `GILOnceCell` is reported (a GIL-reliant
      cell is unsound under free-threading), never edited, also next to PyO3's in the same crate.
    - A cell changes together with all its uses across the project, and with the cells its
      values meet (a `&'static` parameter and what is passed to it, `[INIT; N]`), or not at all.
      For 0.23-0.25, `get_or_try_init`, `import` and `clone_ref` have no std equivalent, and a
      cell used in a way this tool cannot follow (inside a macro, passed to an unknown function,
      in `thread_local!`, through a type alias or a return type) cannot be tracked to its calls:
      such a cell stays GILOnceCell and is reported with the advice to target 0.26 or later.
    - Mentions inside macro invocations and `macro_rules!` bodies are token trees, not paths: they
      are reported with their location, and the import they need stays.
    - A `static mut` cell is reported, not converted (its `take()`/`set()` resets race).
    - A `pub use pyo3::sync::GILOnceCell` re-export is the crate's API: it stays.
    - Strings and comments are never edited.

Fix safety
    Safe. `PyOnceLock` and `OnceLock` initialise once (no racy re-run): code that re-entered its
    own initialiser would now deadlock, which such code already had to avoid under free-threading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.cells import CELL, CELL_ARITY, GIL_ONCE_CELL, CellInventory, CellUse, arguments, build_inventory
from pyo3_migrate.analysis.imports import UseEditor
from pyo3_migrate.analysis.names import CrateNames, ItemRef
from pyo3_migrate.analysis.rust import UseLeaf
from pyo3_migrate.analysis.tokens import unused_token_renames
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety, drop_contained
from pyo3_migrate.core.version import V0_23, V0_26, V0_28, Version

GONE = V0_28  # GILOnceCell's last release is 0.27: a crate that keeps one stays below 0.28

INFO = CodemodInfo(
    id="once-lock",
    summary="GILOnceCell -> PyOnceLock (>= 0.26) or std OnceLock + OnceLockExt (0.23-0.25)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#replacement-of-giloncecell-with-pyoncelock",
    docs=__doc__.strip(),
    stages=(V0_26,),  # std OnceLock below, PyOnceLock from here
    triggers=("GILOnceCell",),
    removes_at=V0_28,
    lookalike="GILOnceCell",  # a crate's own is reported past 0.28 too
)

NO_STD_EQUIVALENT = {
    "get_or_try_init": "`get_or_try_init` has no stable std equivalent",
    "import": "`import` exists only on PyO3's cells",
    "clone_ref": "`clone_ref` exists only on PyO3's cells",
}
TARGET_ADVICE = "target PyO3 >= 0.26 to move it to PyOnceLock"

STD_ONCE_LOCK = ("std", "sync", "OnceLock")
PY_ONCE_LOCK = ("pyo3", "sync", "PyOnceLock")
ONCE_LOCK_EXT = ("pyo3", "sync", "OnceLockExt")


@dataclass(frozen=True)
class Target:
    """What a cell becomes: PyOnceLock (>= 0.26) or std's OnceLock (0.23-0.25)."""

    std: bool

    @property
    def path(self) -> tuple[str, ...]:
        return STD_ONCE_LOCK if self.std else PY_ONCE_LOCK

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def use_path(self) -> str:
        return "::".join(self.path)


def target_of(version: Version) -> Target:
    return Target(std=version < V0_26)


# ------------------------------------------------------------------------------------------ deciding


def std_call_problem(source: bytes, use: CellUse) -> str | None:
    """Why a call on a cell cannot become a std OnceLock call (None: it can)."""
    if use.method in NO_STD_EQUIVALENT:
        return NO_STD_EQUIVALENT[use.method]
    args = use.call.child_by_field_name("arguments")
    if args is None or len(arguments(args)) != CELL_ARITY[use.method]:
        return f"`.{use.method}(..)` is called with an unexpected number of arguments"
    return None


def own_reasons(snapshot: Snapshot, inv: CellInventory, std: bool) -> dict[tuple, str]:
    """Why each cell, on its own, has to stay as it is."""
    reasons: dict[tuple, str] = {}
    for ident, decl in inv.by_ident.items():
        if decl.mutable:
            reasons[ident] = f"{CELL} is a `static mut` cell (its take()/set() resets race): port it by hand"
    if not std:
        return reasons
    for ident, decl in inv.by_ident.items():
        alias = _type_named_otherwise(inv, decl)
        if alias is not None:
            reasons.setdefault(ident, f"its type is written `{alias}` (an alias?), which the std route cannot "
                                      f"retarget; {TARGET_ADVICE}")
    for uses in inv.uses.values():
        for use in uses:
            if use.decl is None or use.in_macro:
                continue
            problem = std_call_problem(snapshot.contents[use.path], use)
            if problem is not None:
                where = rust.place(use.path, snapshot.contents[use.path], use.call)
                reasons.setdefault(use.decl, f"{problem} (at {where}); {TARGET_ADVICE}")
    for ident, notes in inv.notes.items():
        reasons.setdefault(ident, f"{notes[0].message}, so its calls cannot be followed; {TARGET_ADVICE}")
    return reasons


def _type_named_otherwise(inv: CellInventory, decl) -> str | None:
    """The declared type of a cell, when it is written without naming the cell type (`static B: Slot`
    after `type Slot = GILOnceCell<..>`): std's `OnceLock` would not reach it. None otherwise."""
    if decl.kind == "payload":
        return None  # a payload's node is its type, which names the cell
    type_node = decl.node.child_by_field_name("type")
    cells = inv.files.get(decl.path)
    if type_node is None or cells is None:
        return None
    if any(type_node.start_byte <= ref.node.start_byte < type_node.end_byte for ref in cells.refs.refs):
        return None
    return " ".join(inv.names.index[decl.path].source[type_node.start_byte : type_node.end_byte].decode().split())


def _groups(inv: CellInventory) -> dict[tuple, tuple]:
    """Union-find over cells whose values meet: ident -> its group's root."""
    parent = {ident: ident for ident in inv.by_ident}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in inv.links:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    return {ident: find(ident) for ident in parent}


def held_cells(snapshot: Snapshot, inv: CellInventory, std: bool) -> dict[tuple, str]:
    """Every cell that stays, with the reason (its own, or that of a cell it shares values with)."""
    reasons = own_reasons(snapshot, inv, std)
    root_of = _groups(inv)
    cause_of_group: dict[tuple, tuple] = {}
    for ident in reasons:
        cause_of_group.setdefault(root_of[ident], ident)
    held = {}
    for ident in inv.by_ident:
        cause = cause_of_group.get(root_of[ident])
        if cause is None:
            continue
        if cause == ident:
            held[ident] = reasons[ident].replace(CELL, "it")
        else:
            name = inv.by_ident[cause].describe()
            held[ident] = f"it shares values with {name}, which stays: {reasons[cause].replace(CELL, name)}"
    return held


@dataclass
class Facts:
    inventory: CellInventory
    held: dict[bool, dict[tuple, str]]  # std mode? -> cell ident -> reason
    std_calls: dict[Path, list[CellUse]] = field(default_factory=dict)  # calls to rewrite (0.23-0.25)
    ext_scopes: set[tuple[Path, int]] = field(default_factory=set)  # module scopes that will need OnceLockExt
    leaf_counts: dict[bool, dict[tuple[Path, int], "LeafUse"]] = field(default_factory=dict)

    @property
    def names(self) -> CrateNames:
        return self.inventory.names

    def ref_reason(self, path: Path, ref: ItemRef, target: Target) -> str | None:
        """Why a mention stays (None: it is converted)."""
        if ref.in_item_macro is not None:
            if target.std:
                return f"a cell in `thread_local!` is used through `with` closures this tool does not follow; {TARGET_ADVICE}"
            return None
        ident = self.inventory.files[path].ref_decl.get(ref.span[0])
        if ident is None:
            if target.std:
                return ("this `GILOnceCell` is not the type of a static, field, payload, local or parameter (a return "
                        "type, alias, bound, or a `GILOnceCell::method(&cell, ..)` call?): the cells it stands for cannot "
                        f"be followed to their calls; {TARGET_ADVICE}")
            return None
        return self.held[target.std].get(ident)

    def leaf_use(self, leaf_file: Path, leaf: UseLeaf, target: Target) -> "LeafUse":
        return self.leaf_counts[target.std].get((leaf_file, leaf.node.start_byte), LeafUse())

    def leaf_pinned(self, leaf_file: Path, leaf: UseLeaf, target: Target) -> bool:
        """The import must keep naming GILOnceCell (something still uses it, or it is public API)."""
        return self.leaf_use(leaf_file, leaf, target).kept > 0 or leaf.public


@dataclass
class LeafUse:
    """What goes through one `use` of GILOnceCell."""

    converted: int = 0  # mentions written through it that change
    kept: int = 0  # mentions (also inside macros) that stay GILOnceCell
    relayed: int = 0  # changing mentions of other files that reached the item through it (a re-export)


def _count_leaves(facts: Facts, std: bool) -> dict[tuple[Path, int], LeafUse]:
    counts: dict[tuple[Path, int], LeafUse] = {}
    target = Target(std)

    def entry(leaf_file: Path, leaf: UseLeaf) -> LeafUse:
        return counts.setdefault((leaf_file, leaf.node.start_byte), LeafUse())

    for path, cells in facts.inventory.files.items():
        for ref in cells.refs.refs:
            if ref.leaf is None:
                continue
            kept = facts.ref_reason(path, ref, target) is not None
            for relay_file, relay in ref.relays:
                if kept:
                    entry(relay_file, relay).kept += 1
                else:
                    entry(relay_file, relay).relayed += 1
            if kept:
                entry(ref.leaf_file, ref.leaf).kept += 1
            else:
                entry(ref.leaf_file, ref.leaf).converted += 1
        for leaf_file, leaf in cells.refs.macro_leaves:
            entry(leaf_file, leaf).kept += 1
    return counts


class OnceLockCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        inventory = build_inventory(snapshot, GIL_ONCE_CELL)
        held = {std: held_cells(snapshot, inventory, std) for std in (False, True)}
        facts = Facts(inventory, held)
        facts.leaf_counts = {std: _count_leaves(facts, std) for std in (False, True)}
        facts.std_calls = _std_calls(inventory, held[True])
        facts.ext_scopes = _ext_scopes(facts.std_calls)
        return facts

    def transform(self, ctx: Context) -> None:
        facts: Facts = ctx.facts
        cells = facts.inventory.files.get(ctx.path)
        if cells is None:
            return
        _report_unconvertible_mentions(ctx, cells.refs)
        target = target_of(ctx.target)
        calls = facts.std_calls.get(ctx.path, []) if target.std else []
        if not cells.refs.refs and not cells.refs.uses and not calls:
            return
        plan = _Plan(ctx, facts, target)
        for ref in cells.refs.refs:
            reason = facts.ref_reason(ctx.path, ref, target)
            if reason is not None:
                plan.hold(ref, reason)
            else:
                plan.convert(ref)
        for ident, reason in facts.held[target.std].items():
            decl = facts.inventory.by_ident[ident]
            if decl.path == ctx.path:
                ctx.finding(decl.node, f"{decl.describe()} stays GILOnceCell: {reason}", removed_in=GONE)
        for use in calls:
            plan.rewrite_std_call(use)
        for leaf in cells.refs.uses:
            plan.settle_import(leaf)
        ctx.fix(f"GILOnceCell -> {'std::sync::OnceLock + OnceLockExt' if target.std else 'PyOnceLock'}", plan.edits())


def _std_calls(inv: CellInventory, held: dict[tuple, str]) -> dict[Path, list[CellUse]]:
    """The calls to rewrite for std's OnceLock, by file: every use of a cell that converts."""
    calls: dict[Path, list[CellUse]] = {}
    for uses in inv.uses.values():
        for use in uses:
            if use.decl is not None and use.decl not in held and not use.in_macro:
                calls.setdefault(use.path, []).append(use)
    return calls


def _ext_scopes(calls: dict[Path, list[CellUse]]) -> set[tuple[Path, int]]:
    """The module scopes (file, scope id) that will call `get_or_init_py_attached`."""
    return {
        (path, rust.module_scope(use.call).id)
        for path, uses in calls.items()
        for use in uses
        if use.method == "get_or_init"
    }


def _report_unconvertible_mentions(ctx: Context, refs) -> None:
    for node in refs.in_macros:
        ctx.finding(node, "GILOnceCell is named inside a macro: token trees are not rewritten, port it by hand",
                    removed_in=GONE)
    if refs.lookalikes:
        ctx.finding(
            refs.lookalikes[0],
            "this crate's own `GILOnceCell` type (not PyO3's) relies on the GIL and is unsound under "
            "free-threading: port it to PyOnceLock or std OnceLock by hand",
        )
    for node in refs.unresolved:
        ctx.finding(node, "cannot tell which `GILOnceCell` this is (no import in scope): left as is", removed_in=GONE)


# ------------------------------------------------------------------------------------------- editing


class _Plan(UseEditor):
    """Collects the edits of one file, then settles its imports so they match what was written."""

    def __init__(self, ctx: Context, facts: Facts, target: Target):
        super().__init__(ctx.source, ctx.path, facts.names)
        self.ctx = ctx
        self.facts = facts
        self.target = target
        self._reported: set[int] = set()
        self._ext_scopes: dict[int, Node] = {}  # module scopes whose calls need OnceLockExt
        self._ext_given: set[int] = set()  # scopes where an import was turned into OnceLockExt
        self._spelled_out: dict[int, tuple[UseLeaf, list[ItemRef]]] = {}  # `use pyo3::sync;` -> paths rewritten
        self._dropped_tokens: list[Node] = []  # `py` arguments std's `get()`/`set(v)` no longer take

    # -- mentions of the type
    def hold(self, ref: ItemRef, reason: str) -> None:
        """Leave a mention as it is; a cell's own reason is reported at its declaration."""
        if self.facts.inventory.files[self.ctx.path].ref_decl.get(ref.span[0]) is not None:
            return
        at = ref.in_item_macro or ref.node
        if at.id not in self._reported:
            self._reported.add(at.id)
            self.ctx.finding(at, f"stays GILOnceCell: {reason}", removed_in=GONE)

    def convert(self, ref: ItemRef) -> None:
        if ref.qualified:
            self._convert_qualified(ref)
        elif ref.leaf is not None:
            if ref.leaf.alias is None or self.facts.leaf_pinned(ref.leaf_file, ref.leaf, self.target):
                self.replace(ref.span, self._bare_name(ref.leaf_file, ref.leaf.scope))
        else:  # through a glob: the new name must be in scope where it is written
            self.replace(ref.span, self._name_at(ref))

    def _convert_qualified(self, ref: ItemRef) -> None:
        written = self.source[ref.span[0] : ref.span[1]].decode()
        lead = "::" if written.lstrip().startswith("::") else ""
        segments = [s for s in ref.path if s]
        if not self.target.std and _spelled_in_pyo3_sync(tuple(segments)):
            start, end = ref.name_span
            self.replace((start, end), self.target.name)  # `pyo3::sync::X` keeps its spelling
        else:
            self.replace(ref.span, lead + self.target.use_path)
            if ref.head_leaf is not None and ref.head_leaf[0] == self.ctx.path:
                self._spelled_out.setdefault(ref.head_leaf[1].node.start_byte, (ref.head_leaf[1], []))[1].append(ref)

    def _bare_name(self, leaf_file: Path, scope: Node) -> str:
        """How to write the new type where an import scope is seen: the bare name, unless taken."""
        found = self.names.resolve(leaf_file, rust.inner_anchor(scope), self.target.name)
        if found is None or found.target == self.target.path:
            return self.target.name
        return self.target.use_path

    def _name_at(self, ref: ItemRef) -> str:
        return self.name_at(ref.in_item_macro or ref.node, self.target.path)

    # -- std call sites
    def rewrite_std_call(self, use: CellUse) -> None:
        call = use.call
        function = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        values = arguments(args)
        if use.method == "get":
            has_comment = len(values) != len(args.named_children)
            start, end = (values[0].start_byte, values[0].end_byte) if has_comment else (args.start_byte + 1, args.end_byte - 1)
            self._edits.append(Edit(start, end, b""))
            self._dropped_tokens.append(values[0])
        elif use.method == "set":
            self._edits.append(Edit(values[0].start_byte, values[1].start_byte, b""))
            self._dropped_tokens.append(values[0])
        elif use.method == "get_or_init":
            field_node = function.child_by_field_name("field")
            self.replace((field_node.start_byte, field_node.end_byte), "get_or_init_py_attached")
            if not self.names.imports_at(self.ctx.path, call, ONCE_LOCK_EXT):
                scope = rust.module_scope(call)
                self._ext_scopes[scope.id] = scope


    # -- imports
    def settle_import(self, leaf: UseLeaf) -> None:
        use = self.facts.leaf_use(self.ctx.path, leaf, self.target)
        pinned = self.facts.leaf_pinned(self.ctx.path, leaf, self.target)
        if not use.converted:
            if use.relayed and not pinned:  # a re-export whose users now import the new type themselves
                self._edits.extend(_without_blank_line_left(self.source, rust.remove_use_leaf(self.source, leaf)))
            return
        scope = leaf.scope
        if pinned:
            # both kinds of use: keep the old import, bring the new name in beside it
            if self._bare_name(self.ctx.path, scope) == self.target.name and not self._scope_has(scope, self.target.name):
                self.add_import(scope, self.target.use_path)
            return
        if self.target.std:
            self._retarget_std(leaf, scope)
        else:
            self._retarget_py_once_lock(leaf, scope)

    def _scope_has(self, scope: Node, name: str) -> bool:
        found = self.names.resolve(self.ctx.path, rust.inner_anchor(scope), name)
        return found is not None and found.target == self.target.path

    def _retarget_py_once_lock(self, leaf: UseLeaf, scope: Node) -> None:
        written = tuple(leaf.path)
        if leaf.alias is None and self._scope_has(scope, "PyOnceLock"):
            self.remove_use(leaf)
        elif _spelled_in_pyo3_sync(written):
            self._edits.append(rust.rename_leaf(leaf, "PyOnceLock"))
        else:
            self._replace_leaf(leaf, scope, "pyo3::sync::PyOnceLock")

    def _retarget_std(self, leaf: UseLeaf, scope: Node) -> None:
        if leaf.alias is not None:
            self._replace_leaf(leaf, scope, "std::sync::OnceLock")
            return
        has_once_lock = self._scope_has(scope, "OnceLock")
        needs_ext = scope.id in self._ext_scopes and scope.id not in self._ext_given
        if needs_ext and leaf.path == GIL_ONCE_CELL:
            self._edits.append(rust.rename_leaf(leaf, "OnceLockExt"))
            self._ext_given.add(scope.id)
            if not has_once_lock:
                self.add_import(scope, "std::sync::OnceLock")
        elif has_once_lock:
            self.remove_use(leaf)
        else:
            self._replace_leaf(leaf, scope, "std::sync::OnceLock")

    def _replace_leaf(self, leaf: UseLeaf, scope: Node, new_path: str) -> None:
        """Point an import at a new path: in place when it stands alone, else a `use` of its own."""
        if leaf.standalone:
            path_node = leaf.node.child_by_field_name("path") if leaf.alias is not None else leaf.node
            self.replace((path_node.start_byte, path_node.end_byte), new_path)
            return
        self.remove_use(leaf)
        self.add_import(scope, new_path + (f" as {leaf.alias}" if leaf.alias else ""))


    def _settle_ext(self) -> None:
        """Import OnceLockExt where calls need it, unless the parent seen through `use super::*`
        has calls of its own (and so gets the import)."""
        for scope_id, scope in self._ext_scopes.items():
            if scope_id in self._ext_given:
                continue
            parent = self.names.parent_module(self.ctx.path, scope) if self._sees_parent(scope) else None
            if parent is not None and (parent.file, parent.scope.id) in self.facts.ext_scopes:
                continue
            self.add_import(scope, "pyo3::sync::OnceLockExt")

    def _sees_parent(self, scope: Node) -> bool:
        leaves = self.names.index[self.ctx.path].uses.get(scope.id, [])
        return any(leaf.is_glob and leaf.path == ("super", "*") for leaf in leaves)

    def _drop_unused_module_imports(self) -> None:
        """`use pyo3::sync;` only there for `sync::GILOnceCell`, now spelled `std::sync::OnceLock`."""
        for leaf, rewritten in self._spelled_out.values():
            if self.names.mentions_outside_uses(self.ctx.path, leaf.local_name) == len(rewritten) and not leaf.public:
                self.remove_use(leaf)

    def edits(self) -> list[Edit]:
        self._settle_ext()
        self._drop_unused_module_imports()
        return drop_contained(list(self._edits) + unused_token_renames(self.source, self._dropped_tokens)
                              + self.import_edits())


def _without_blank_line_left(source: bytes, edits: list[Edit]) -> list[Edit]:
    """A removal of whole lines that also takes the blank line it would leave doubled."""
    return [
        Edit(e.start, rust.absorb_blank_line(source, e.start, e.end), e.replacement) if not e.replacement else e
        for e in edits
    ]


def _spelled_in_pyo3_sync(path: tuple[str, ...]) -> bool:
    """`pyo3::sync::X` or `sync::X` (after `use pyo3::sync`): the new name can keep that spelling."""
    return len(path) >= 2 and path[0] in ("pyo3", "sync") and path[-2] == "sync"


CODEMOD = OnceLockCodemod()
