"""GILProtected values of a crate: where each is declared, constructed and accessed, and why one
must stay GILProtected (named in a macro, destructured, shared with another struct's field, an
access whose guard would outlive a call into Python, ...). The mutex codemod decides on these facts.

The access check is a temporary-lifetime analysis: a `borrow()`/`borrow_mut()` guard that becomes a
`Mutex` guard lives to the end of its statement (or its block, when bound by `let`); any call in
that span that may run Python code (and so re-enter and lock again) holds the value back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.cells import impl_type_name, method_call, owner_of, receiver_key
from pyo3_migrate.analysis.names import CrateNames, FileRefs, ItemRef, canonical, find_refs, item_names
from pyo3_migrate.analysis.rust import FileIndex, UseLeaf
from pyo3_migrate.core.codemod import Snapshot
from pyo3_migrate.core.version import V0_24

EDITS_FROM = V0_24
GIL_PROTECTED = ("pyo3", "sync", "GILProtected")
STD_MUTEX = ("std", "sync", "Mutex")
MUTEX_EXT = ("pyo3", "sync", "MutexExt")
CELL_KINDS = {
    ("std", "cell", "RefCell"): "RefCell",
    ("core", "cell", "RefCell"): "RefCell",
    ("std", "cell", "Cell"): "Cell",
    ("core", "cell", "Cell"): "Cell",
}
ONCE_CELLS = {("pyo3", "sync", "GILOnceCell"), ("pyo3", "sync", "PyOnceLock"), ("std", "sync", "OnceLock")}
ONCE_INIT = {"get_or_init", "get_or_init_py_attached", "get_or_try_init"}
OPS = {"RefCell": {"borrow": 0, "borrow_mut": 0}, "Cell": {"get": 0, "set": 1}}

# Calls that a held guard may span: std containers, Option/Result plumbing, reference counting.
SAFE_METHODS = {
    "len", "is_empty", "is_some", "is_none", "is_ok", "is_err", "as_ref", "as_mut", "as_deref",
    "as_deref_mut", "unwrap", "expect", "unwrap_or", "unwrap_or_default", "unwrap_or_else", "map",
    "map_or", "map_or_else", "and_then", "ok", "ok_or", "ok_or_else", "cloned", "copied", "clone",
    "get", "get_mut", "insert", "remove", "contains", "contains_key", "push", "pop", "push_back",
    "push_front", "pop_back", "pop_front", "clear", "extend", "retain", "truncate", "entry",
    "or_insert", "or_insert_with", "or_default", "and_modify", "iter", "iter_mut", "into_iter",
    "keys", "values", "values_mut", "first", "last", "take", "replace", "get_or_insert",
    "get_or_insert_with", "filter", "filter_map", "find", "any", "all", "count", "collect",
    "to_string", "to_owned", "into", "as_str", "as_slice", "borrow", "borrow_mut", "sort",
    "sort_unstable", "dedup", "drain", "swap", "min", "max", "clone_ref", "bind", "bind_borrowed",
    "unbind", "into_any", "as_any", "as_ptr",
}
PY_SAFE_METHODS = {"clone_ref", "bind", "bind_borrowed"}  # the ones that may take a `py` token
SAFE_FUNCTIONS = {"Some", "Ok", "Err"}
STD_TYPES = {"Vec", "HashMap", "HashSet", "BTreeMap", "BTreeSet", "VecDeque", "String", "Box", "Arc", "Rc", "Option"}
STD_CONSTRUCTORS = {"new", "with_capacity", "default", "from"}
STD_PATH_CALLS = {("mem", "take"), ("mem", "replace"), ("mem", "swap"), ("Default", "default")}
SAFE_MACROS = {"vec", "matches"}

_DECL_KINDS = ("static_item", "const_item", "field_declaration", "let_declaration")

# Globs whose names are known: an import we add cannot shadow one of their names unseen.
_SEEN_THROUGH = {
    ("pyo3",), ("pyo3", "prelude"), ("pyo3", "sync"), ("pyo3", "once_cell"), ("std", "cell"), ("core", "cell"),
}


def known_glob(prefix: tuple[str, ...]) -> bool:
    return canonical(prefix) in _SEEN_THROUGH


def _resolve(names: CrateNames, path: Path, node: Node) -> tuple[str, ...] | None:
    """The canonical path a written type path refers to (`RefCell`, `std::cell::RefCell`, `cell::RefCell`)."""
    source = names.index[path].source
    if node.type in ("scoped_type_identifier", "scoped_identifier"):
        segments = rust.path_segments(source, node)
        if rust.text(source, node).lstrip().startswith("::"):
            segments = ("",) + segments
        found = names.resolve_path(path, node, segments)
    elif node.type in ("type_identifier", "identifier"):
        found = names.resolve(path, node, rust.text(source, node))
    else:
        return None
    return canonical(found.target) if found is not None else None




def _snippet(source: bytes, node: Node, limit: int = 60) -> str:
    text = " ".join(rust.text(source, node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------------------- scan


@dataclass
class Decl:
    """A `GILProtected<..>` type written for a key (static, field or local)."""

    path: Path
    item: Node  # the static_item / field_declaration / let_declaration
    generic: Node  # GILProtected<..>
    value_type: Node | None  # the T of RefCell<T>/Cell<T>
    cell: str | None  # "RefCell", "Cell" or None (anything else)
    nested: bool  # inside a once-cell


@dataclass
class Ctor:
    """A `GILProtected::new(RefCell::new(x))` call."""

    path: Path
    call: Node
    inner: Node | None  # the RefCell::new(..) / Cell::new(..) call
    cell: str | None


@dataclass
class Access:
    path: Path
    key: str
    expr: Node  # the whole `X.get(py).borrow()` call (the op call)
    get_call: Node  # `X.get(py)`
    op: str  # borrow, borrow_mut, get, set


@dataclass
class LocalGuard:
    """`let c = X.get(py);` whose every later use is `c.borrow()`/`c.borrow_mut()` (RefCell) or
    `c.get()`/`c.set(v)` (Cell): one lock guard serves them all."""

    path: Path
    key: str
    let: Node
    get_call: Node  # `X.get(py)`
    name: str
    uses: list[tuple[Node, str]]  # (the `c.borrow_mut()` call, its method)


@dataclass
class Protected:
    key: str
    decls: list[Decl] = field(default_factory=list)
    ctors: list[Ctor] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)
    locals: list[LocalGuard] = field(default_factory=list)
    reason: str | None = None

    def hold(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    @property
    def nested(self) -> bool:
        return any(d.nested for d in self.decls)

    @property
    def cell(self) -> str | None:
        kinds = {d.cell for d in self.decls} | {c.cell for c in self.ctors}
        return kinds.pop() if len(kinds) == 1 else None


@dataclass
class FileScan:
    path: Path
    index: FileIndex
    refs: FileRefs
    roles: dict[int, tuple[str, str | None]]  # ref node id -> ("type"|"ctor"|"other", key)
    others: list[tuple[Node, str]] = field(default_factory=list)  # refs left alone, with the reason


@dataclass
class Facts:
    names: CrateNames
    keys: dict[str, Protected] = field(default_factory=dict)
    files: dict[Path, FileScan] = field(default_factory=dict)
    struct_fields: dict[str, set[str]] = field(default_factory=dict)  # struct name -> its field names
    _by_file: dict[Path, list[tuple[Protected, list[Decl], list[Ctor], list[Access]]]] | None = None
    _through: dict[Path, tuple[list, list]] | None = None
    _inheriting: list[FileScan] | None = None

    def inheriting(self) -> list[FileScan]:
        """The files with a `use super::*`, `crate::*` or `self::*`: the ones that may see another
        file's imports (listed once)."""
        if self._inheriting is None:
            self._inheriting = [scan for scan in self.files.values() if any(
                leaf.is_glob and leaf.path[0] in ("super", "crate", "self") for leaf in scan.index.all_leaves())]
        return self._inheriting

    def imported_through(self, path: Path) -> tuple[list[tuple[FileScan, ItemRef]], list[UseLeaf]]:
        """The references anywhere in the project whose import sits in `path` (with their file's
        scan), and the imports in `path` that mentions inside macros need (indexed once)."""
        if self._through is None:
            self._through = {}
            for scan in self.files.values():
                for ref in scan.refs.refs:
                    if ref.leaf is not None and ref.leaf_file is not None:
                        self._through.setdefault(ref.leaf_file, ([], []))[0].append((scan, ref))
                for leaf_file, leaf in scan.refs.macro_leaves:
                    self._through.setdefault(leaf_file, ([], []))[1].append(leaf)
        return self._through.get(path, ([], []))

    def in_file(self, path: Path) -> list[tuple[Protected, list[Decl], list[Ctor], list[Access]]]:
        """Per key, in key order: its declarations, constructors and accesses in one file
        (indexed once, when the facts are complete)."""
        if self._by_file is None:
            self._by_file = {}
            for protected in self.keys.values():
                files = {x.path for x in (*protected.decls, *protected.ctors, *protected.accesses, *protected.locals)}
                for file in sorted(files):
                    self._by_file.setdefault(file, []).append((
                        protected,
                        [d for d in protected.decls if d.path == file],
                        [c for c in protected.ctors if c.path == file],
                        [a for a in protected.accesses if a.path == file],
                    ))
        return self._by_file.get(path, [])

    def accesses_in(self, path: Path) -> list[Access]:
        """Every access of every key in one file, in key order."""
        return [access for _, _, _, accesses in self.in_file(path) for access in accesses]

    def locals_in(self, path: Path) -> list[LocalGuard]:
        return [g for protected in self.keys.values() for g in protected.locals if g.path == path]


def build_facts(snapshot: Snapshot) -> Facts:
    """Every GILProtected value of the snapshot: declarations, constructors, accesses, and why any must stay."""
    names = CrateNames.of_snapshot(snapshot)
    facts = Facts(names)
    spellings = item_names(names, GIL_PROTECTED)
    naming = set(names.files_with(spellings))  # only these can name the type
    for path in snapshot.rust_files():
        if path not in naming:
            continue
        source = snapshot.contents[path]
        refs = find_refs(names, path, GIL_PROTECTED, spellings)
        scan = FileScan(path, names.index[path], refs, {})
        facts.files[path] = scan
        for ref in refs.refs:
            _classify_ref(facts, path, source, scan, ref)
    if facts.keys:
        facts.struct_fields = _struct_fields(names, set(facts.keys))
        keyed = set(names.files_with(facts.keys))  # and only these can name a key
        for path in snapshot.rust_files():
            if path in keyed and path not in facts.files:
                facts.files[path] = FileScan(path, names.index[path], FileRefs(), {})
        facts.files = {p: facts.files[p] for p in snapshot.rust_files() if p in facts.files}  # file order
    kinds = _KeyKinds.of(facts)  # the declarations are all known now: what kind of name each key is
    for path, scan in facts.files.items():
        if scan.refs.refs or facts.keys:
            _collect_mentions(facts, kinds, path, snapshot.contents[path], scan)
    for protected in facts.keys.values():
        _validate(protected, snapshot)
        _check_scope(protected, snapshot)
    for protected in facts.keys.values():
        checks = [(a.path, a.expr, lambda src, a=a: _hold_problem(facts, src, a)) for a in protected.accesses]
        checks += [(g.path, g.let, lambda src, g=g: _local_problem(facts, src, g)) for g in protected.locals]
        for path, node, problem in checks:
            if protected.reason is not None:
                break
            source = snapshot.contents[path]
            reason = problem(source)
            if reason is not None:
                protected.hold(f"{reason} (at {rust.place(path, source, node)})")
    return facts


def _protected(facts: Facts, key: str) -> Protected:
    return facts.keys.setdefault(key, Protected(key))


def _classify_ref(facts: Facts, path: Path, source: bytes, scan: FileScan, ref: ItemRef) -> None:
    node = ref.node
    if ref.in_item_macro is not None:  # parsed out of `thread_local!`: another tree, not edited here
        scan.roles[node.id] = ("other", None)
        scan.others.append((ref.in_item_macro, "GILProtected inside `thread_local!`: port it by hand"))
        return
    parent = node.parent
    # GILProtected::new(..)
    if (
        parent is not None
        and parent.type == "scoped_identifier"
        and parent.child_by_field_name("path") is not None
        and parent.child_by_field_name("path").id == node.id
    ):
        name = parent.child_by_field_name("name")
        call = parent.parent
        if (
            name is not None
            and rust.text(source, name) == "new"
            and call is not None
            and call.type == "call_expression"
            and call.child_by_field_name("function").id == parent.id
        ):
            key = _ctor_key(source, call)
            scan.roles[node.id] = ("ctor", key)
            if key is None:
                reason = "a `GILProtected::new(..)` this codemod cannot tie to a static or field: left as is"
                scan.others.append((call, reason))
                cell = _enclosing_once_cell(source, call)
                if cell is not None:  # its value may still end up in that once-cell: keep the cell as it is
                    _protected(facts, cell).hold(f"{reason} (at {rust.place(path, source, call)})")
                return
            inner, cell = _ctor_inner(facts.names, path, call)
            _protected(facts, key).ctors.append(Ctor(path, call, inner, cell))
            return
    # GILProtected<..> in a type
    if parent is not None and parent.type == "generic_type" and parent.child_by_field_name("type").id == node.id:
        key, kind, item = owner_of(source, node)
        scan.roles[node.id] = ("type", key)
        if key is None:
            reason = "GILProtected in a type this codemod does not rewrite (alias, signature, impl): port it by hand"
            scan.others.append((parent, reason))
            return
        protected = _protected(facts, key)
        nested, position = _type_position(facts.names, path, parent, item)
        value_type, cell = _cell_inside(facts.names, path, parent)
        protected.decls.append(Decl(path, item, parent, value_type, cell, nested))
        if kind not in ("static", "field", "local"):
            where = rust.place(path, source, parent)
            protected.hold(f"it is a {kind} (at {where}): only statics, fields and locals are migrated")
        elif position is not None:
            protected.hold(f"{position} (at {rust.place(path, source, parent)})")
        elif cell is None:
            args = parent.child_by_field_name("type_arguments")
            inner_text = _snippet(source, args.named_children[0]) if args is not None and args.named_children else "?"
            protected.hold(
                f"it protects `{inner_text}`, not a RefCell or Cell: choose a Mutex, RwLock or atomic by hand "
                f"(at {rust.place(path, source, parent)})"
            )
        return
    scan.roles[node.id] = ("other", None)
    scan.others.append((node, "GILProtected in a position this codemod does not rewrite: port it by hand"))


_POSITIONS = "only statics, fields and once-cells are migrated"


def _type_position(names: CrateNames, path: Path, generic: Node, item: Node | None) -> tuple[bool, str | None]:
    """(inside a once-cell, why the position is not understood or None)."""
    source = names.index[path].source
    parent = generic.parent
    if parent is not None and item is not None and parent.id == item.id and parent.type in _DECL_KINDS:
        return False, None
    if parent is not None and parent.type == "type_arguments" and parent.parent is not None:
        outer = parent.parent
        outer_type = outer.child_by_field_name("type") if outer.type == "generic_type" else None
        first = [c for c in parent.named_children if c.type not in ("line_comment", "block_comment")]
        if outer_type is not None and first and first[0].id == generic.id:
            direct = outer.parent is not None and item is not None and outer.parent.id == item.id
            if direct and _resolve(names, path, outer_type) in ONCE_CELLS:
                return True, None
            return False, f"it sits inside `{_snippet(source, outer)}`: {_POSITIONS}"
    return False, f"GILProtected in `{_snippet(source, parent or generic)}`: {_POSITIONS}"


def _cell_inside(names: CrateNames, path: Path, generic: Node) -> tuple[Node | None, str | None]:
    args = generic.child_by_field_name("type_arguments")
    if args is None:
        return None, None
    inner = [c for c in args.named_children if c.type not in ("line_comment", "block_comment")]
    if len(inner) != 1 or inner[0].type != "generic_type":
        return None, None
    cell = CELL_KINDS.get(_resolve(names, path, inner[0].child_by_field_name("type")) or ())
    inner_args = inner[0].child_by_field_name("type_arguments")
    comments = ("line_comment", "block_comment")
    values = [c for c in inner_args.named_children if c.type not in comments] if inner_args else []
    if cell is None or len(values) != 1:
        return None, None
    return values[0], cell


def _ctor_inner(names: CrateNames, file: Path, call: Node) -> tuple[Node | None, str | None]:
    source = names.index[file].source
    args = call_args(call)
    if len(args) != 1 or args[0].type != "call_expression":
        return None, None
    inner = args[0]
    function = inner.child_by_field_name("function")
    if function is None or function.type != "scoped_identifier":
        return None, None
    name = function.child_by_field_name("name")
    path = function.child_by_field_name("path")
    if name is None or path is None or rust.text(source, name) != "new":
        return None, None
    cell = CELL_KINDS.get(_resolve(names, file, path) or ())
    if cell is None or len(call_args(inner)) != 1:
        return None, None
    return inner, cell


def call_args(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    if args is None:
        return []
    return [c for c in args.named_children if c.type not in ("line_comment", "block_comment", "attribute_item")]


def _ctor_key(source: bytes, call: Node) -> str | None:
    """The static, local, field or once-cell a `GILProtected::new(..)` call initialises."""
    parent = call.parent
    if parent is None:
        return None
    if parent.type in ("static_item", "const_item") and is_field(parent, "value", call):
        return rust.text(source, parent.child_by_field_name("name"))
    if parent.type == "let_declaration" and is_field(parent, "value", call):
        pattern = parent.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "mut_pattern":
            pattern = pattern.named_children[0] if pattern.named_children else None
        return rust.text(source, pattern) if pattern is not None and pattern.type == "identifier" else None
    if parent.type == "field_initializer" and is_field(parent, "value", call):
        return rust.text(source, parent.child_by_field_name("field"))
    # `CELL.get_or_init(py, || GILProtected::new(..))`, `CELL.set(py, GILProtected::new(..))`
    node = call
    while node.parent is not None:
        p = node.parent
        if p.type == "arguments":
            owner = p.parent
            parts = method_call(source, owner) if owner is not None and owner.type == "call_expression" else None
            if parts is not None and parts[1] in ONCE_INIT | {"set"}:
                return receiver_key(source, parts[0])
            function = owner.child_by_field_name("function") if owner is not None else None
            if function is not None and function.type == "generic_function":  # `Ok::<_, PyErr>(..)`
                function = function.child_by_field_name("function")
            if function is not None and function.type == "identifier" and rust.text(source, function) in ("Ok", "Some"):
                node = owner
                continue
            return None
        if p.type == "closure_expression" or (p.type == "block" and _is_tail(p, node)):
            node = p
            continue
        return None
    return None


def _enclosing_once_cell(source: bytes, node: Node) -> str | None:
    """The receiver of the nearest once-cell initialisation call (`CELL.get_or_init(..)`) around node."""
    for a in rust.ancestors(node):
        if a.type == "call_expression":
            parts = method_call(source, a)
            if parts is not None and parts[1] in ONCE_INIT | {"set"}:
                return receiver_key(source, parts[0])
    return None


def is_field(parent: Node, name: str, child: Node) -> bool:
    value = parent.child_by_field_name(name)
    return value is not None and value.id == child.id


def _is_tail(block: Node, node: Node) -> bool:
    named = [c for c in block.named_children if c.type not in ("line_comment", "block_comment")]
    return bool(named) and named[-1].id == node.id and node.type != "expression_statement"


# ------------------------------------------------------------------------------------ mentions


_MENTION_KINDS = (*rust.TOKEN_GROUPS, "field_identifier", "shorthand_field_identifier", "identifier")


@dataclass
class _KeyKinds:
    """Which keys name fields (with the structs declaring them) and which name values."""

    field_keys: set[str]
    owners: dict[str, set[str] | None]
    value_keys: set[str]

    @classmethod
    def of(cls, facts: Facts) -> "_KeyKinds":
        keys = facts.keys
        field_keys = {k for k, p in keys.items() if any(d.item.type == "field_declaration" for d in p.decls)}
        owners = {k: _declaring_structs(facts.names, keys[k]) for k in field_keys}
        value_keys = {
            k for k, p in keys.items() if k not in field_keys or any(d.item.type != "field_declaration" for d in p.decls)
        }
        return cls(field_keys, owners, value_keys)


def _collect_mentions(facts: Facts, kinds: _KeyKinds, path: Path, source: bytes, scan: FileScan) -> None:
    """Every place a key is named in an expression: accesses, or a reason to hold the key."""
    keys = facts.keys
    if not keys:
        return
    field_keys, owners, value_keys = kinds.field_keys, kinds.owners, kinds.value_keys
    spelled = rust.spelled(source, scan.index.tree.root_node, keys)
    candidates = [n.parent if n.parent.type in rust.TOKEN_GROUPS else n for n in spelled]
    for node in rust.in_source_order(n for n in candidates if n.type in _MENTION_KINDS):
        kind = node.type
        if kind in rust.TOKEN_GROUPS:
            if any(a.type in ("attribute_item", "inner_attribute_item") for a in rust.ancestors(node)):
                continue
            for tok in node.children:
                if tok.type == "identifier" and rust.text(source, tok) in keys:
                    keys[rust.text(source, tok)].hold(
                        f"it is named inside a macro at {rust.place(path, source, tok)}: token trees are not rewritten"
                    )
            continue
        if kind == "field_identifier" and rust.text(source, node) in field_keys:
            parent = node.parent
            if _of_another_struct(facts, source, parent, owners[rust.text(source, node)]):
                continue
            if parent.type == "field_expression" and is_field(parent, "field", node):
                _classify_mention(scan, path, source, keys[rust.text(source, node)], parent)
            elif parent.type == "field_initializer" and is_field(parent, "field", node):
                value = parent.child_by_field_name("value")
                if value is None or value.type != "call_expression" or not _is_ctor_of(scan, value):
                    keys[rust.text(source, node)].hold(
                        f"field initialised with `{_snippet(source, parent)}` at {rust.place(path, source, parent)}, "
                        "not with `GILProtected::new(..)`"
                    )
            elif parent.type in ("field_pattern", "shorthand_field_identifier") or "pattern" in parent.type:
                keys[rust.text(source, node)].hold(f"destructured at {rust.place(path, source, parent)}")
            continue
        if kind == "shorthand_field_identifier" and rust.text(source, node) in field_keys:
            if _of_another_struct(facts, source, node.parent, owners[rust.text(source, node)]):
                continue
            keys[rust.text(source, node)].hold(f"destructured at {rust.place(path, source, node)}")
            continue
        if kind != "identifier" or rust.text(source, node) not in value_keys:
            continue
        mention = _value_mention(node)
        if mention is not None:
            _classify_mention(scan, path, source, keys[rust.text(source, node)], mention)


def _declaring_structs(names: CrateNames, protected: Protected) -> set[str] | None:
    """The names of the structs that declare a field key (None: some declaration is not a struct's)."""
    found = set()
    for decl in protected.decls:
        body = decl.item.parent if decl.item.type == "field_declaration" else None
        struct = body.parent if body is not None else None
        if struct is None or struct.type != "struct_item" or struct.child_by_field_name("name") is None:
            return None
        found.add(rust.text(names.index[decl.path].source, struct.child_by_field_name("name")))
    return found


def _struct_fields(names: CrateNames, keys: set[str]) -> dict[str, set[str]]:
    """Struct name -> its fields, for the structs in files that spell a key (a field of another
    name never decides anything)."""
    out: dict[str, set[str]] = {}
    for path in names.files_with(keys):
        index = names.index[path]
        for node in rust.tree_nodes(index.tree, ("field_declaration",)):
            if node.type != "field_declaration" or node.parent is None or node.parent.parent is None:
                continue
            struct, name = node.parent.parent, node.child_by_field_name("name")
            if struct.type == "struct_item" and struct.child_by_field_name("name") is not None and name is not None:
                owner = rust.text(index.source, struct.child_by_field_name("name"))
                out.setdefault(owner, set()).add(rust.text(index.source, name))
    return out


def _of_another_struct(facts: Facts, source: bytes, site: Node, owners: set[str] | None) -> bool:
    """A field named at `site` (`self.f`, `S { f: .. }`, `S { f, .. } = ..`) that is certainly the
    field of another struct (one that declares a field of that name itself, so no `Deref` reaches
    the key's): a field of the same name, not a use of the key."""
    if owners is None:
        return False
    if site.type == "field_expression":
        value = site.child_by_field_name("value")
        name = impl_type_name(source, site) if value is not None and value.type == "self" else None
    else:
        holder = next((a for a in rust.ancestors(site) if a.type in ("struct_expression", "struct_pattern")), None)
        written = holder.child_by_field_name("name" if holder.type == "struct_expression" else "type") if holder else None
        name = _struct_name(source, written, site)
    field_name = site.child_by_field_name("field") if site.type in ("field_expression", "field_initializer") else None
    written_field = rust.text(source, field_name) if field_name is not None else None
    if name is None or name in owners:
        return False
    return written_field is None or written_field in facts.struct_fields.get(name, set())


def _struct_name(source: bytes, written: Node | None, at: Node) -> str | None:
    """The last segment of a written struct path, `Self` read as the impl's type."""
    if written is not None and written.type in ("generic_type", "generic_type_with_turbofish"):
        written = written.child_by_field_name("type")
    if written is None or written.type not in ("type_identifier", "scoped_type_identifier", "identifier", "scoped_identifier"):
        return None
    name = rust.path_segments(source, written)[-1]
    return impl_type_name(source, at) if name == "Self" else name


def _is_ctor_of(scan: FileScan, call: Node) -> bool:
    function = call.child_by_field_name("function")
    if function is None or function.type != "scoped_identifier":
        return False
    path = function.child_by_field_name("path")
    return path is not None and scan.roles.get(path.id, ("", None))[0] == "ctor"


_NOT_VALUES = {
    "static_item", "const_item", "function_item", "function_signature_item", "struct_item", "enum_item",
    "mod_item", "type_item", "union_item", "trait_item", "macro_definition", "parameter", "closure_parameters",
    "self_parameter", "use_declaration", "use_list", "scoped_use_list", "use_as_clause", "extern_crate_declaration",
    "label", "lifetime", "match_pattern", "field_pattern", "loop_label",
}


def _value_mention(node: Node) -> Node | None:
    """The expression that names a static/local key by `node`, or None when node is not a value."""
    parent = node.parent
    if parent is None or any(a.type == "use_declaration" for a in rust.ancestors(node)):
        return None
    if parent.type == "scoped_identifier":
        if not is_field(parent, "name", node):
            return None  # a module or type name in a path
        if parent.parent is not None and parent.parent.type == "scoped_identifier":
            return None  # `a::KEY::b`: not the value
        node, parent = parent, parent.parent
    if parent.type in _NOT_VALUES or parent.type.endswith("_pattern"):
        return None
    if parent.type == "let_declaration" and not is_field(parent, "value", node):
        return None
    if parent.type in ("for_expression",) and is_field(parent, "pattern", node):
        return None
    if parent.type in ("let_condition",) and is_field(parent, "pattern", node):
        return None
    if parent.type == "macro_invocation":
        return None
    return node


def _method_parent(source: bytes, node: Node) -> tuple[Node, str, list[Node]] | None:
    """(call, method name, argument nodes) when `node` is the receiver of `node.method(..)`."""
    fe = node.parent
    if fe is None or fe.type != "field_expression" or not is_field(fe, "value", node):
        return None
    call = fe.parent
    if call is None or call.type != "call_expression" or not is_field(call, "function", fe):
        return None
    return call, rust.text(source, fe.child_by_field_name("field")), call_args(call)


_NO_GC_LOCK = "a GC traversal cannot lock a Mutex, port it by hand"


def _classify_mention(scan: FileScan, path: Path, source: bytes, protected: Protected, mention: Node) -> None:
    here = rust.place(path, source, mention)
    for a in rust.ancestors(mention):
        if a.type == "function_item":
            name = a.child_by_field_name("name")
            if name is not None and rust.text(source, name) == "__traverse__":
                protected.hold(f"it is used in `__traverse__` at {here}: {_NO_GC_LOCK}")
                return
            break
    step = _method_parent(source, mention)
    if step is not None and step[1] == "traverse":
        protected.hold(f"`traverse(..)` at {here}: {_NO_GC_LOCK}")
        return
    base = mention
    if protected.nested:
        base = _once_cell_value(source, mention)
        if base is None:
            if step is not None and step[1] == "set" and step[2] and step[2][-1].type == "call_expression":
                if _is_ctor_of(scan, step[2][-1]):
                    return  # `CELL.set(py, GILProtected::new(..))`: the constructor is rewritten on its own
            protected.hold(f"the once-cell is used as `{_snippet(source, _statement_of(mention))}` at {here}")
            return
    get = _method_parent(source, base)
    if get is None or get[1] != "get" or len(get[2]) != 1:
        protected.hold(f"it is used as `{_snippet(source, _statement_of(mention))}` at {here}")
        return
    op = _method_parent(source, get[0])
    ops = OPS.get(protected.cell or "", {})
    if op is None and not protected.nested:
        guard = _local_guard(path, source, protected, get[0])
        if guard is not None:
            protected.locals.append(guard)
            return
    if op is None or op[1] not in ops or len(op[2]) != ops[op[1]]:
        after = f"`.get(py).{op[1]}(..)`" if op is not None else "`.get(py)` on its own"
        protected.hold(f"{after} at {here} is not a borrow this codemod rewrites")
        return
    protected.accesses.append(Access(path, protected.key, op[0], get[0], op[1]))


def _once_cell_value(source: bytes, mention: Node) -> Node | None:
    """`CELL.get_or_init(py, f)` / `CELL.get_or_try_init(py, f)?` / `CELL.get(py).unwrap()`: the &value expression."""
    step = _method_parent(source, mention)
    if step is None:
        return None
    call, name, _ = step
    if name in ("get_or_init", "get_or_init_py_attached"):
        return call
    if name == "get_or_try_init":
        return call.parent if call.parent is not None and call.parent.type == "try_expression" else None
    if name == "get":
        then = _method_parent(source, call)
        if then is not None and then[1] in ("unwrap", "expect"):
            return then[0]
    return None


def _statement_of(node: Node) -> Node:
    for a in rust.ancestors(node):
        if a.type in ("expression_statement", "let_declaration") or (a.parent is not None and a.parent.type == "block"):
            return a
    return node


def _validate(protected: Protected, snapshot: Snapshot) -> None:
    if not protected.decls:
        where = protected.ctors[0] if protected.ctors else None
        if where is not None and where.call.parent is not None and where.call.parent.type == "let_declaration":
            pass  # an untyped local: its constructor is its declaration
        else:
            at = f" (at {rust.place(where.path, snapshot.contents[where.path], where.call)})" if where else ""
            protected.hold(f"its type is not written as `GILProtected<..>` where it is declared{at}")
            return
    if protected.cell is None:
        protected.hold(
            "its declarations and constructors disagree on RefCell/Cell, "
            "or a constructor is not `GILProtected::new(RefCell::new(..))`"
        )
    if protected.nested and not all(d.nested for d in protected.decls):
        protected.hold("it is declared both inside and outside a once-cell")
    for ctor in protected.ctors:
        if ctor.inner is None:
            protected.hold(
                f"constructor `{_snippet(snapshot.contents[ctor.path], ctor.call)}` at "
                f"{rust.place(ctor.path, snapshot.contents[ctor.path], ctor.call)} "
                "is not `GILProtected::new(RefCell::new(..))`"
            )
    for decl in protected.decls:
        if decl.item.type in ("static_item", "const_item", "let_declaration") and not decl.nested:
            value = decl.item.child_by_field_name("value")
            source = snapshot.contents[decl.path]
            if value is None or not any(c.call.id == value.id for c in protected.ctors):
                shown = _snippet(source, value) if value is not None else "nothing"
                protected.hold(f"it is initialised with `{shown}` at {rust.place(decl.path, source, decl.item)}")


def _check_scope(protected: Protected, snapshot: Snapshot) -> None:
    """Hold a key whose uses this scan cannot all see, or whose files move to different targets."""
    word = protected.key.encode()  # a substring test: a file that cannot be parsed has no names to resolve
    for path in sorted(snapshot.broken):
        if path.suffix == ".rs" and word in snapshot.contents.get(path, b""):
            protected.hold(f"{path.as_posix()} mentions it but could not be parsed")
            return
    files = {d.path for d in protected.decls} | {c.path for c in protected.ctors} | {a.path for a in protected.accesses}
    targets = {snapshot.target_for(f) for f in files}
    if len({t is not None and t >= EDITS_FROM for t in targets}) > 1:
        protected.hold("its uses sit in crates with different PyO3 targets, some below 0.24")


# ------------------------------------------------------------------------------ guard lifetime


def _hold_problem(facts: Facts, source: bytes, access: Access) -> str | None:
    """Why the converted lock could not be held where the borrow was (None: it can)."""
    node = access.expr
    parent = node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        node, parent = parent, parent.parent
    if _outlives_local(facts.keys[access.key], node):
        return (
            "it is a local accessed in the tail expression of its own block: the lock guard, a temporary, "
            "would outlive the local (bind the value with `let` first)"
        )
    guard_name = None
    if access.op in ("borrow", "borrow_mut"):
        if parent.type == "let_declaration" and is_field(parent, "value", node):
            if parent.child_by_field_name("type") is not None:
                return "the borrow guard is bound with a type annotation (`Ref`/`RefMut`)"
            pattern = parent.child_by_field_name("pattern")
            if pattern is not None and pattern.type == "mut_pattern":
                pattern = pattern.named_children[0] if pattern.named_children else None
            if pattern is None or pattern.type != "identifier":
                if pattern is None or rust.text(source, pattern) != "_":
                    return "the borrow guard is destructured"
            else:
                guard_name = rust.text(source, pattern)
        elif not (
            (parent.type == "field_expression" and is_field(parent, "value", node))
            or (parent.type == "unary_expression" and rust.text(source, parent).startswith("*"))
            or parent.type == "reference_expression"
            or (parent.type == "index_expression" and parent.named_children[0].id == node.id)
        ):
            return f"the borrow guard is passed on by value in `{_snippet(source, parent)}`"
    elif access.op == "get" and parent.type == "reference_expression":
        return "a reference to the Cell's value is taken"
    elif access.op == "set" and not (
        parent.type == "expression_statement"
        or (parent.type == "closure_expression" and is_field(parent, "body", node))
        or (parent.type == "block" and _is_tail(parent, node))  # `()` either way
    ):
        return f"`.set(..)` is used as a value in `{_snippet(source, parent)}`"
    ranges = _temporary_scope(source, node, guard_name)
    if guard_name is not None:
        problem = _guard_escapes(source, ranges[1:], guard_name)
        if problem is not None:
            return problem
    others = [a for a in facts.accesses_in(access.path) if a.expr.id != access.expr.id]
    skip = (access.expr.start_byte, access.expr.end_byte)
    for r in ranges:
        for other in others:
            if r.start_byte <= other.expr.start_byte and other.expr.end_byte <= r.end_byte:
                if not (skip[0] <= other.expr.start_byte and other.expr.end_byte <= skip[1]):
                    line = source.count(b"\n", 0, other.expr.start_byte) + 1
                    return (
                        f"the borrow is still held where `{other.key}` is accessed on line {line} "
                        "(a Mutex is not re-entrant, and two held at once can deadlock)"
                    )
        problem = _unsafe_call(source, r, skip, guard_name)
        if problem is not None:
            return f"the borrow is held across `{problem}`, which may run Python code (a Mutex could deadlock there)"
    return None


def _local_guard(path: Path, source: bytes, protected: Protected, get_call: Node) -> LocalGuard | None:
    """`let c = X.get(py);` whose every later use in its block is one of the cell's operations,
    with the result read or written through (not passed on, not kept)."""
    let = get_call.parent
    if let is None or let.type != "let_declaration" or not is_field(let, "value", get_call) or let.child_by_field_name("type"):
        return None
    pattern = let.child_by_field_name("pattern")
    if pattern is None or pattern.type != "identifier" or let.parent is None or let.parent.type != "block":
        return None
    name = rust.text(source, pattern)
    ops = OPS.get(protected.cell or "", {})
    uses = []
    for node in (n for part in _rest_of_block(source, let, None)[1:] for n in rust.walk(part)):
        if node.type in rust.TOKEN_GROUPS and any(t.type == "identifier" and rust.text(source, t) == name
                                                   for t in node.children):
            return None  # named inside a macro
        if node.type != "identifier" or rust.text(source, node) != name:
            continue
        step = _method_parent(source, node)
        if step is None or step[1] not in ops or len(step[2]) != ops[step[1]]:
            return None
        call, op = step[0], step[1]
        parent = call.parent
        if op in ("borrow", "borrow_mut") and not (
            (parent.type == "field_expression" and is_field(parent, "value", call))
            or (parent.type == "unary_expression" and rust.text(source, parent).startswith("*"))
            or parent.type == "reference_expression"
            or (parent.type == "index_expression" and parent.named_children[0].id == call.id)
        ):
            return None
        uses.append((call, op))
    return LocalGuard(path, protected.key, let, get_call, name, uses) if uses else None


def _local_problem(facts: Facts, source: bytes, guard: LocalGuard) -> str | None:
    """Why one guard cannot live from the `let` to the end of its block (None: it can)."""
    ranges = _rest_of_block(source, guard.let, guard.name)
    others = [a.expr for a in facts.accesses_in(guard.path)] + [
        g.let for g in facts.locals_in(guard.path) if g.let.id != guard.let.id]
    for r in ranges:
        for other in others:
            if r.start_byte <= other.start_byte and other.end_byte <= r.end_byte:
                line = source.count(b"\n", 0, other.start_byte) + 1
                return (f"the guard `{guard.name}` would still be held where a GILProtected value is used on line "
                        f"{line} (a Mutex is not re-entrant, and two held at once can deadlock)")
        own = frozenset(call.id for call, _ in guard.uses)
        problem = _unsafe_call(source, r, (guard.let.start_byte, guard.let.end_byte), guard.name, own)
        if problem is not None:
            return f"the guard `{guard.name}` would be held across `{problem}`, which may run Python code"
    return None


def _outlives_local(protected: Protected, node: Node) -> bool:
    """Whether `node` is (part of) the tail expression of the block that declares a local key.

    Temporaries of a tail expression are dropped after the block's locals (before edition 2024):
    a `Ref` there never compiled, but `Cell::get` did, and its `MutexGuard` would not."""
    blocks = {d.item.parent.id for d in protected.decls if d.item.type == "let_declaration" and d.item.parent}
    blocks |= {
        c.call.parent.parent.id
        for c in protected.ctors
        if c.call.parent is not None and c.call.parent.type == "let_declaration" and c.call.parent.parent is not None
    }
    for a in rust.ancestors(node):
        if a.id in blocks:
            return True
        if a.type in ("expression_statement", "let_declaration", "closure_expression", "function_item"):
            return False
    return False


def _guard_escapes(source: bytes, nodes: list[Node], name: str) -> str | None:
    """Why a bound guard is used as more than a place to read and write through (None: it is not)."""
    for root in nodes:
        for node in rust.walk(root):
            if node.type in rust.TOKEN_GROUPS:
                if any(t.type == "identifier" and rust.text(source, t) == name for t in node.children):
                    return f"the guard `{name}` is used inside a macro"
                continue
            if node.type != "identifier" or rust.text(source, node) != name:
                continue
            parent = node.parent
            ok = (
                (parent.type == "field_expression" and is_field(parent, "value", node))
                or (parent.type == "unary_expression" and rust.text(source, parent).startswith("*"))
                or parent.type == "reference_expression"
                or (parent.type == "index_expression" and parent.named_children[0].id == node.id)
                or (parent.type == "arguments" and _callee(source, parent.parent) in ("drop", "std::mem::drop"))
            )
            if not ok:
                return f"the guard `{name}` is passed on in `{_snippet(source, parent)}`"
    return None


def _callee(source: bytes, call: Node) -> str:
    function = call.child_by_field_name("function")
    return rust.text(source, function) if function is not None else ""


def _temporary_scope(source: bytes, node: Node, guard_name: str | None) -> list[Node]:
    """The nodes during which the temporary (or bound) guard created at `node` stays alive."""
    child = node
    while child.parent is not None:
        p = child.parent
        t = p.type
        if t == "expression_statement":
            return [p]
        if t == "let_declaration":
            if guard_name is not None or _lifetime_extended(p, node):
                return _rest_of_block(source, p, guard_name)
            return [p]
        if t in ("if_expression", "while_expression") and is_field(p, "condition", child):
            if child.type in ("let_condition", "let_chain"):
                child = p
                continue
            return [child]
        if t == "match_arm" and is_field(p, "value", child):
            return [child]
        if t == "match_pattern":
            return [child]
        if t == "closure_expression" and is_field(p, "body", child):
            return [child]
        if t == "block" and p.parent is not None and p.parent.type in ("function_item", "closure_expression"):
            return [child]
        if t in ("function_item", "static_item", "const_item", "source_file"):
            return [child]
        child = p
    return [child]


def _lifetime_extended(let: Node, node: Node) -> bool:
    value = let.child_by_field_name("value")
    chain = []
    current = node.parent
    while current is not None and current.id != let.id:
        chain.append(current)
        current = current.parent
    allowed = {
        "reference_expression", "field_expression", "index_expression", "parenthesized_expression",
        "unary_expression", "struct_expression", "field_initializer_list", "field_initializer",
        "tuple_expression", "array_expression",
    }
    if value is None or not chain or any(c.type not in allowed for c in chain):
        return False
    for c in chain:
        if c.type == "field_expression" and c.parent is not None and c.parent.type == "call_expression":
            return False
    return any(c.type == "reference_expression" for c in chain)


def _rest_of_block(source: bytes, let: Node, guard_name: str | None) -> list[Node]:
    out = [let]
    block = let.parent
    if block is None:
        return out
    seen = False
    for child in block.named_children:
        if child.id == let.id:
            seen = True
            continue
        if not seen:
            continue
        written = "".join(rust.text(source, child).split())
        if guard_name is not None and written in (f"drop({guard_name});", f"std::mem::drop({guard_name});"):
            break
        out.append(child)
    return out


def _unsafe_call(source: bytes, root: Node, skip: tuple[int, int], guard_name: str | None,
                 own: frozenset[int] = frozenset()) -> str | None:
    """The first call in root (outside skip, and not one of the `own` calls, a guard's own
    operations, whose arguments still count) that may run Python code, as written, or None."""
    problems: list[tuple[int, int, str]] = []
    for node in rust.walk(root):
        if skip[0] <= node.start_byte and node.end_byte <= skip[1] or node.id in own:
            continue
        problem = None
        if node.type == "call_expression":
            problem = _call_problem(source, node, guard_name)
        elif node.type == "macro_invocation":
            name = node.child_by_field_name("macro")
            written = rust.text(source, name) if name is not None else "?"
            tokens = rust.text(source, node)
            if written not in SAFE_MACROS or "(" in tokens[len(written) + 1 :]:
                problem = f"{written}!(..)"
        elif node.type == "await_expression":
            problem = ".await"
        if problem is not None:
            problems.append((node.start_byte, node.end_byte, problem))
    return min(problems)[2] if problems else None  # the innermost of the earliest: evaluated first


def _call_problem(source: bytes, call: Node, guard_name: str | None) -> str | None:
    function = call.child_by_field_name("function")
    if function is None:
        return "?"
    if function.type == "generic_function":
        function = function.child_by_field_name("function") or function
    if function.type == "field_expression":
        name = rust.text(source, function.child_by_field_name("field"))
        receiver = function.child_by_field_name("value")
        shown = f".{name}(..)"
        if name not in SAFE_METHODS or receiver is None or rust.text(source, receiver) == "self":
            return shown
        if name not in PY_SAFE_METHODS and any(_py_like(source, a) for a in call_args(call)):
            return shown
        return None
    if function.type == "identifier":
        name = rust.text(source, function)
        if name in SAFE_FUNCTIONS:
            return None
        if name == "drop" and guard_name is not None and [rust.text(source, a) for a in call_args(call)] == [guard_name]:
            return None
        return f"{name}(..)"
    if function.type == "scoped_identifier":
        segs = rust.path_segments(source, function)
        if len(segs) >= 2 and segs[-2] in STD_TYPES and segs[-1] in STD_CONSTRUCTORS:
            return None
        if len(segs) >= 2 and tuple(segs[-2:]) in STD_PATH_CALLS or segs[-1] == "new_err":
            return None
        return f"{'::'.join(segs)}(..)"
    return _snippet(source, function, 30)


def _py_like(source: bytes, node: Node) -> bool:
    """An argument that reads as a `Python<'py>` token (`py`, `_py`, `self.py()`, `obj.py()`)."""
    written = rust.text(source, node).replace(" ", "")
    if node.type == "identifier":
        return written in ("py", "_py") or written.endswith("_py")
    return node.type == "call_expression" and written.endswith(".py()")
