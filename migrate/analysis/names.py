"""Finding what a name refers to before rewriting it.

`CrateNames` knows every file of the project as a module of its crate (`src/lib.rs` is the root,
`src/a/b.rs` is `crate::a::b`, inline `mod x { .. }` blocks are modules too) and resolves a name
written at a node the way rustc does, as far as `use` declarations, globs (`use super::*`,
`use pyo3::sync::*`), re-exports and the crate's own items can tell. It never guesses: what it
cannot resolve comes back as None.

`find_refs` lists every place a file names one PyO3 item (by `use`, bare name, alias, or fully
qualified path), so that a crate's own type of the same name is never mistaken for PyO3's.
Mentions inside macro invocations and `macro_rules!` bodies are token trees, not paths: they come
back separately, to be reported, never edited. `thread_local!` is the exception: its body is
ordinary item syntax, so it is parsed as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.rust import FileIndex, UseLeaf

_TABLES: dict[tuple, "CrateNames"] = rust.run_cache()

# What a glob import of these modules brings in (only the names our codemods care about).
_GLOB_ITEMS = {
    ("pyo3", "sync"): {"GILOnceCell", "GILProtected", "PyOnceLock", "OnceLockExt", "OnceExt", "MutexExt", "RwLockExt"},
    ("pyo3", "once_cell"): {"GILOnceCell"},
    ("pyo3", "prelude"): {"Python", "Py", "PyObject", "PyAny", "Bound", "PyResult", "PyErr", "PyModule"},
    ("pyo3",): {"Python", "Py", "PyObject", "PyAny", "Bound", "PyResult", "PyErr", "prepare_freethreaded_python"},
    ("std", "sync"): {"OnceLock", "Mutex", "RwLock", "Once", "Arc"},
}

# Old spellings of a path -> where the item lives now.
CANONICAL = {("pyo3", "once_cell", "GILOnceCell"): ("pyo3", "sync", "GILOnceCell")}

# Items that name a type, a value or a module, by the node kind that defines them.
TYPE_ITEMS = {"struct_item", "enum_item", "type_item", "union_item", "trait_item"}
VALUE_ITEMS = {"static_item", "const_item", "function_item"}

# Macros whose body is plain item syntax, parsed and edited like code outside macros.
ITEM_MACROS = {"thread_local"}


def canonical(path: tuple[str, ...]) -> tuple[str, ...]:
    path = tuple(p for p in path if p)
    return CANONICAL.get(path, path)


def glob_provides(prefix: tuple[str, ...], name: str) -> bool:
    return name in _GLOB_ITEMS.get(canonical(prefix), set())


# ------------------------------------------------------------------------------------------ modules


@dataclass(frozen=True)
class Module:
    crate: str  # the crate root's identity (one per lib/bin/test root)
    path: tuple[str, ...]  # () for the crate root
    file: Path
    scope: Node  # source_file, or the declaration_list of an inline `mod`


def module_path_of(file: Path, crate_dir: Path) -> tuple[str, tuple[str, ...]]:
    """(crate root id, module path) of a file by Cargo's layout: src/lib.rs is the root."""
    try:
        rel = file.relative_to(crate_dir)
    except ValueError:
        return str(file), ()
    parts = rel.parts
    if len(parts) < 2 or parts[0] != "src" or parts[1] == "bin" or rel.name == "main.rs" and len(parts) == 2:
        return str(file), ()
    inner = list(parts[1:])
    if inner == ["lib.rs"]:
        return f"{crate_dir}/src", ()
    inner[-1] = inner[-1].removesuffix(".rs")
    if inner[-1] == "mod":
        inner.pop()
    return f"{crate_dir}/src", tuple(inner)


@dataclass(frozen=True)
class Resolved:
    """What a name refers to."""

    target: tuple[str, ...]  # canonical path: ("pyo3", "sync", "X"), or ("crate", *module, name)
    chain: tuple[tuple[Path, UseLeaf], ...] = ()  # the `use` leaves followed, nearest first
    glob: tuple[Path, UseLeaf] | None = None  # the external glob that provided the name
    definition: tuple[Path, Node] | None = None  # the crate's own item

    @property
    def leaf(self) -> tuple[Path, UseLeaf] | None:
        return self.chain[0] if self.chain else None


class _LazyIndex(Mapping):
    """Path -> FileIndex of a table's files, each parsed when first asked for."""

    def __init__(self, names: "CrateNames"):
        self._names = names
        self._built: dict[Path, FileIndex] = {}

    def __getitem__(self, path: Path) -> FileIndex:
        index = self._built.get(path)
        if index is None:
            index = self._built[path] = FileIndex.build(self._names.sources[path])
            self._names._indexed(path, index)
        return index

    def __iter__(self):
        return iter(self._names.sources)

    def __len__(self) -> int:
        return len(self._names.sources)

    def __contains__(self, path: object) -> bool:
        return path in self._names.sources


class CrateNames:
    """Name resolution across the files of a project (pure: built from a snapshot's bytes).

    Lookups are memoized: a name in a module resolves once, however many glob re-export chains
    lead to it. A lookup that meets itself again (a glob cycle) answers None there, and what was
    computed under such a cut is not memoized, as its answer depends on where the walk began.
    """

    def __init__(self, contents: dict[Path, bytes], crate_dirs: dict[Path, Path]):
        self.sources: dict[Path, bytes] = {p: contents[p] for p in crate_dirs}  # the bytes it was made from
        self.index = _LazyIndex(self)
        self.modules: dict[tuple[str, tuple[str, ...]], Module] = {}
        self._module_of_scope: dict[tuple[Path, int], Module] = {}
        self._module_files: dict[tuple[str, tuple[str, ...]], Path] = {}  # file modules, known by path alone
        self._file_module: dict[Path, tuple[str, tuple[str, ...]]] = {}
        for path, crate_dir in crate_dirs.items():
            key = module_path_of(path, crate_dir)
            self._module_files.setdefault(key, path)
            self._file_module[path] = key
        self._memo: dict[tuple, Resolved | None] = {}
        self.spellings: dict[tuple[str, ...], frozenset[str]] = {}  # item -> its names (see item_names)
        self._active: set[tuple] = set()  # lookups under way (a glob cycle meets one again)
        self._cuts = 0  # how many times a cycle was cut so far

    @classmethod
    def of_snapshot(cls, snapshot) -> "CrateNames":
        """The names of a snapshot's Rust files: one table per distinct set of files and bytes,
        shared by every codemod (and pass) that sees the same ones."""
        crate_dirs = {}
        for crate in snapshot.project.crates:
            for path in snapshot.rust_files(crate):
                crate_dirs[path] = crate.directory
        key = tuple((path, crate_dirs[path], snapshot.contents[path]) for path in sorted(crate_dirs))
        names = _TABLES.get(key)
        if names is None:
            names = _TABLES[key] = cls(snapshot.contents, crate_dirs)
        return names

    def files_with(self, words) -> list[Path]:
        """The files that spell any of `words` as a whole word (a name can only be written where
        its letters are): the files worth parsing to find it."""
        wanted = {w.encode() for w in words}
        return [p for p, source in self.sources.items() if not wanted.isdisjoint(rust.words(source))]

    def _indexed(self, path: Path, index: FileIndex) -> None:
        """A file was parsed: its module and the inline `mod { .. }` modules in it become known."""
        crate, mod_path = self._file_module[path]
        self._add_module(Module(crate, mod_path, path, index.tree.root_node))

    def _module(self, key: tuple[str, tuple[str, ...]]) -> Module | None:
        """The module at (crate, path), parsing the file that defines it when it is first asked for."""
        module = self.modules.get(key)
        if module is not None:
            return module
        file = self._module_files.get(key)
        if file is not None:
            self.index[file]
            return self.modules.get(key)
        crate, path = key
        if path and self._module((crate, path[:-1])) is not None:
            return self.modules.get(key)  # an inline module, known once its parent's file is parsed
        return None

    def _add_module(self, module: Module) -> None:
        self.modules.setdefault((module.crate, module.path), module)
        self._module_of_scope[(module.file, module.scope.id)] = module
        for child in module.scope.named_children:
            body = child.child_by_field_name("body") if child.type == "mod_item" else None
            name = child.child_by_field_name("name") if body is not None else None
            if name is not None:
                source = self.sources[module.file]
                self._add_module(Module(module.crate, module.path + (rust.text(source, name),), module.file, body))

    # -- where a node is
    def module_at(self, file: Path, node: Node) -> Module | None:
        self.index[file]
        for scope in [node, *rust.ancestors(node)]:
            if rust.is_module_scope(scope):
                return self._module_of_scope.get((file, scope.id))
        return None

    def parent_module(self, file: Path, scope: Node) -> Module | None:
        """The module whose names `use super::*` brings into the module at scope."""
        self.index[file]
        module = self._module_of_scope.get((file, scope.id))
        return self._parent(module) if module is not None else None

    def _child(self, module: Module, name: str) -> Module | None:
        return self._module((module.crate, module.path + (name,)))

    def _parent(self, module: Module) -> Module | None:
        return self._module((module.crate, module.path[:-1])) if module.path else None

    # -- resolution
    def imports_at(self, file: Path, node: Node, item: tuple[str, ...]) -> bool:
        """Whether `item` (a trait, say) is in scope at node: resolved by its name, or imported
        under another name (`use pyo3::sync::OnceLockExt as _;`) in a scope around node."""
        found = self.resolve(file, node, item[-1])
        if found is not None and found.target == item:
            return True
        uses = self.index[file].uses
        return any(
            leaf.path == item for scope in rust.ancestors(node) if rust.is_scope(scope) for leaf in uses.get(scope.id, [])
        )

    def mentions_outside_uses(self, file: Path, name: str) -> int:
        """How often `name` is written as an identifier in file, outside `use` declarations."""
        index = self.index[file]
        return sum(
            1
            for node in rust.walk(index.tree.root_node)
            if node.type == "identifier" and rust.text(index.source, node) == name and not rust.in_use_declaration(node)
        )

    def resolve(self, file: Path, node: Node, name: str, namespace: str = "type") -> Resolved | None:
        """What `name`, written at `node` of `file`, refers to (namespace: "type" or "value")."""
        index = self.index[file]  # (parsed already: node is in it)
        for scope in rust.ancestors(node):
            if rust.is_module_scope(scope):
                module = self._module_of_scope.get((file, scope.id))
                return self._lookup(module, name, namespace) if module else None
            if scope.type != "block":
                continue
            for leaf in index.uses.get(scope.id, []):
                if not leaf.is_glob and leaf.local_name == name:
                    module = self.module_at(file, scope)
                    return self._follow(module, file, leaf, namespace) if module else None
            item = _module_item(index.source, scope, name, namespace)  # items declared in a block
            if item is not None:
                return Resolved(("crate", "<block>", name), definition=(file, item))
        return None

    def resolve_path(self, file: Path, node: Node, segments: tuple[str, ...], namespace: str = "type") -> Resolved | None:
        """What a written path (`pyo3::sync::X`, `crate::m::X`, `sync::X`) refers to at node."""
        if len(segments) == 1:
            return self.resolve(file, node, segments[0], namespace)
        module = self.module_at(file, node)
        if module is None:
            return None
        if segments[0] not in ("crate", "self", "super", ""):
            head = self.resolve(file, node, segments[0], "type")
            if head is not None and head.definition is None and head.target[0] != "crate":
                return Resolved(canonical(head.target + segments[1:]), head.chain)
        return self._resolve_in(module, segments, namespace)

    def _resolve_in(self, module: Module, segments: tuple[str, ...], namespace: str) -> Resolved | None:
        """Resolve a path relative to a module (the rules of `use` paths and of written paths)."""
        if not segments:
            return None
        head, rest = segments[0], segments[1:]
        if head == "":  # `::pyo3::..`: an extern crate
            return Resolved(canonical(rest))
        current: Module | None
        if head == "crate":
            current = self._module((module.crate, ()))
        elif head == "self":
            current = module
        elif head == "super":
            current = self._parent(module)
        else:
            current = self._child(module, head)
            if current is None:
                found = self._lookup(module, head, "type") if rest else None
                if found is not None and found.definition is None and found.target[0] != "crate":
                    return Resolved(canonical(found.target + rest), found.chain)
                if found is not None and found.target[0] == "crate":
                    current = self._module((module.crate, found.target[1:]))
                if current is None:
                    if not rest:
                        return self._lookup(module, head, namespace)
                    return Resolved(canonical(segments))  # an extern crate path (pyo3::.., std::..)
        while rest and rest[0] == "super" and current is not None:
            current, rest = self._parent(current), rest[1:]
        for segment in rest[:-1]:
            if current is None:
                return None
            current = self._child(current, segment)
        if current is None:
            return None
        if not rest:
            return Resolved(("crate",) + current.path)
        return self._lookup(current, rest[-1], namespace)

    def _follow(self, module: Module, file: Path, leaf: UseLeaf, namespace: str) -> Resolved:
        found = self._resolve_in(module, leaf.path, namespace)
        if found is None:
            return Resolved(canonical(leaf.path), ((file, leaf),))
        return replace(found, chain=((file, leaf),) + found.chain)

    def _lookup(self, module: Module, name: str, namespace: str) -> Resolved | None:
        """`name` in a module's own scope: its imports, its items, then its globs (memoized)."""
        key = (module.crate, module.path, name, namespace)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            self._cuts += 1
            return None
        self._active.add(key)
        cuts = self._cuts
        try:
            found = self._lookup_uncached(module, name, namespace)
        finally:
            self._active.discard(key)
        if self._cuts == cuts:
            self._memo[key] = found
        return found

    def _lookup_uncached(self, module: Module, name: str, namespace: str) -> Resolved | None:
        index = self.index[module.file]
        leaves = index.uses.get(module.scope.id, [])
        for leaf in leaves:
            if not leaf.is_glob and leaf.local_name == name:
                return self._follow(module, module.file, leaf, namespace)
        item = _module_item(index.source, module.scope, name, namespace)
        if item is not None:
            return Resolved(("crate",) + module.path + (name,), definition=(module.file, item))
        if self._child(module, name) is not None:
            return Resolved(("crate",) + module.path + (name,))
        for leaf in leaves:
            if not leaf.is_glob:
                continue
            prefix = leaf.path[:-1]
            inner = self._resolve_in(module, prefix, "type") if prefix else None
            if inner is not None and inner.target[:1] == ("crate",) and inner.definition is None:
                glob_module = self._module((module.crate, inner.target[1:]))
                found = self._lookup(glob_module, name, namespace) if glob_module else None
                if found is not None:
                    return found
            elif glob_provides(inner.target if inner else prefix, name):
                target = canonical((inner.target if inner else prefix) + (name,))
                return Resolved(target, glob=(module.file, leaf))
        return None


_SCOPE_ITEMS: dict[tuple[Node, str], dict[str, Node]] = rust.run_cache()


def _module_item(source: bytes, scope: Node, name: str, namespace: str) -> Node | None:
    """The first item named `name` declared directly in scope (each scope's items listed once)."""
    items = _SCOPE_ITEMS.get((scope, namespace))
    if items is None:
        kinds = TYPE_ITEMS if namespace == "type" else VALUE_ITEMS
        items = {}
        for child in scope.named_children:
            if child.type in kinds:
                item_name = child.child_by_field_name("name")
                if item_name is not None:
                    items.setdefault(rust.text(source, item_name), child)
        _SCOPE_ITEMS[(scope, namespace)] = items
    return items.get(name)


# --------------------------------------------------------------------------------------- item refs


@dataclass(frozen=True)
class ItemRef:
    """One mention of the item in code (not in a `use`)."""

    node: Node  # the node spelling the reference: a bare name, or the whole qualified path
    name_node: Node  # its last segment
    written: str  # the name as written at the last segment (an alias, or the item's own name)
    qualified: bool  # written as a path (`pyo3::sync::X`), not a bare name
    leaf: UseLeaf | None  # the import it came through, nearest first (None: qualified, a glob, a definition)
    path: tuple[str, ...]  # the path as written (qualified) or resolved (bare), before canonicalising
    leaf_file: Path | None = None  # the file holding `leaf` (another file, through `use super::*`)
    glob: tuple[Path, UseLeaf] | None = None  # the glob that provided a bare name
    start: int = -1  # byte range to edit (defaults to node's); differs inside `thread_local!`
    end: int = -1
    in_item_macro: Node | None = None  # the `thread_local!` invocation it sits in
    head_leaf: tuple[Path, UseLeaf] | None = None  # a qualified path's first segment imported (`use pyo3::sync;`)
    relays: tuple[tuple[Path, UseLeaf], ...] = ()  # re-exports `leaf` reached the item through

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end) if self.start >= 0 else (self.node.start_byte, self.node.end_byte)

    @property
    def name_span(self) -> tuple[int, int]:
        if self.start >= 0:
            return self.end - len(self.written.encode()), self.end
        return self.name_node.start_byte, self.name_node.end_byte


@dataclass
class FileRefs:
    uses: list[UseLeaf] = field(default_factory=list)  # explicit imports of the item in this file
    refs: list[ItemRef] = field(default_factory=list)
    in_macros: list[Node] = field(default_factory=list)  # mentions inside token trees
    macro_leaves: list[tuple[Path, UseLeaf]] = field(default_factory=list)  # imports those mentions need
    lookalikes: list[Node] = field(default_factory=list)  # references to a same-named item of the crate
    unresolved: list[Node] = field(default_factory=list)  # bare names nothing in the crate explains


def item_names(names: CrateNames, item: tuple[str, ...]) -> set[str]:
    """The item's own name and every alias an import gives it anywhere in the crate (once per
    table and item).

    An import can only alias the item under a name it reaches it by (its own or another alias),
    so only files that spell one of the names found so far are parsed, until no new alias shows.
    """
    if item not in names.spellings:
        names.spellings[item] = frozenset(_item_names(names, item))
    return set(names.spellings[item])


def _item_names(names: CrateNames, item: tuple[str, ...]) -> set[str]:
    found = {item[-1]}
    checked: set[tuple[Path, str]] = set()
    while True:
        grown = False
        for path in names.files_with(found):
            for leaf in names.index[path].all_leaves():
                if leaf.is_glob or leaf.alias is None or leaf.path[-1] not in found or leaf.alias in found:
                    continue
                if (path, leaf.alias) in checked:
                    continue
                checked.add((path, leaf.alias))
                resolved = names.resolve(path, leaf.node, leaf.local_name)
                if resolved is not None and resolved.target == item:
                    found.add(leaf.local_name)
                    grown = True
        if not grown:
            return found


def _is_path_mention(node: Node) -> bool:
    """A bare identifier used as a path head (`X::new()`), not as a value or a field."""
    parent = node.parent
    path = parent.child_by_field_name("path") if parent is not None and parent.type == "scoped_identifier" else None
    return path is not None and path.id == node.id


def _last_segment_of_parent(node: Node) -> bool:
    parent = node.parent
    if parent is None or parent.type not in ("scoped_type_identifier", "scoped_identifier"):
        return False
    name = parent.child_by_field_name("name")
    return name is not None and name.id == node.id


_NAME_KINDS = ("type_identifier", "identifier", "scoped_type_identifier", "scoped_identifier")


def find_refs(names: CrateNames, file: Path, item: tuple[str, ...], local_names: set[str] | None = None) -> FileRefs:
    """Every mention of PyO3's `item` (a canonical path such as ("pyo3", "sync", "GILOnceCell")) in file.

    Only the places where one of its names is spelled are looked at (found by a byte search,
    then the node there), in source order: the cost follows the mentions, not the file.
    """
    index = names.index[file]
    source = index.source
    local_names = local_names or item_names(names, item)
    out = FileRefs()
    for leaf in index.all_leaves():
        if not leaf.is_glob and leaf.local_name in local_names:
            resolved = names.resolve(file, leaf.node, leaf.local_name)
            if resolved is not None and resolved.target == item:
                out.uses.append(leaf)
    for node in _mention_candidates(source, index.tree.root_node, local_names):
        kind = node.type
        if kind == "macro_invocation":
            _item_macro_refs(names, file, node, item, local_names, out)
            continue
        if kind == "identifier" and node.parent is not None and node.parent.type in rust.TOKEN_GROUPS:
            if rust.text(source, node) in local_names and not inside_item_macro(source, node):
                out.in_macros.append(node)
                resolved = names.resolve(file, node, rust.text(source, node))
                if resolved is not None and resolved.target == item:
                    out.macro_leaves.extend(resolved.chain)
            continue
        if rust.in_use_declaration(node):
            continue
        _classify(names, file, node, item, local_names, out, _Parsed(source))
    return out


def _mention_candidates(source: bytes, root: Node, words: set[str]) -> list[Node]:
    """The nodes a whole-tree walk would classify for these words, in its order: each name node
    that spells one, the paths it ends (`a::b::WORD`), and the `thread_local!` invocations
    around one (their bodies are parsed as items)."""
    found: list[Node] = []
    for node in rust.spelled(source, root, words):
        if node.type not in _NAME_KINDS:
            continue
        item_macro = _item_macro_around(source, node)
        if item_macro is not None:
            found.append(item_macro)
            continue
        found.append(node)
        last, parent = node, node.parent
        while parent is not None and parent.type in ("scoped_type_identifier", "scoped_identifier"):
            if not rust.is_child(parent, "name", last):
                break
            found.append(parent)
            last, parent = parent, parent.parent
    return rust.in_source_order(found)


def _item_macro_around(source: bytes, node: Node) -> Node | None:
    macro = rust.in_macro(node)
    while macro is not None:
        if macro.type == "macro_invocation" and macro_name(source, macro) in ITEM_MACROS:
            return macro
        macro = rust.in_macro(macro)
    return None


@dataclass(frozen=True)
class _Parsed:
    """Where a candidate mention was parsed: the file itself, or a `thread_local!` body on its own."""

    source: bytes
    offset: int = 0  # what to add to the node's bytes to get the file's
    macro: Node | None = None  # the invocation whose body was parsed

    def anchor(self, node: Node) -> Node:
        """A node of the file's own tree at the mention, for resolving names there."""
        if self.macro is None:
            return node
        at = node.start_byte + self.offset
        return self.macro.descendant_for_byte_range(at, at) or self.macro


def _classify(names: CrateNames, file: Path, node: Node, item: tuple[str, ...], local_names: set[str],
              out: FileRefs, parsed: _Parsed) -> None:
    """Resolve one candidate mention and file it as a ref, a look-alike, or unresolved."""
    source = parsed.source
    at = parsed.anchor(node)
    if node.type in ("scoped_type_identifier", "scoped_identifier"):
        last = node.child_by_field_name("name")
        if last is None or node.child_by_field_name("path") is None or rust.text(source, last) not in local_names:
            return
        segments = rust.path_segments(source, node)
        if rust.text(source, node).lstrip().startswith("::"):
            segments = ("",) + segments
        resolved = names.resolve_path(file, at, segments)
        if resolved is None:
            return
        if resolved.target == item:
            out.refs.append(_ref(node, last, rust.text(source, last), True, resolved, segments, parsed))
        elif _is_crate_item(resolved):
            out.lookalikes.append(at)
        return
    if _last_segment_of_parent(node):
        return
    if node.type == "identifier" and not _is_path_mention(node):
        return  # plain identifiers are values, not type paths
    written = rust.text(source, node)
    if written not in local_names:
        return
    resolved = names.resolve(file, at, written)
    if resolved is None:
        out.unresolved.append(at)
    elif resolved.target == item:
        out.refs.append(_ref(node, node, written, False, resolved, resolved.target, parsed))
    elif _is_crate_item(resolved):
        out.lookalikes.append(at)


def _is_crate_item(resolved: Resolved) -> bool:
    """The crate's own item (also one in a module this scan could not see)."""
    return resolved.definition is not None or resolved.target[:1] == ("crate",)


def _ref(node: Node, last: Node, written: str, qualified: bool, resolved: Resolved, path: tuple[str, ...],
         parsed: _Parsed) -> ItemRef:
    leaf = resolved.leaf if not qualified else None
    macro = parsed.macro
    return ItemRef(
        node=node,
        name_node=last,
        written=written,
        qualified=qualified,
        leaf=leaf[1] if leaf else None,
        path=path,
        leaf_file=leaf[0] if leaf else None,
        glob=resolved.glob if not qualified else None,
        start=node.start_byte + parsed.offset if macro is not None else -1,
        end=node.end_byte + parsed.offset if macro is not None else -1,
        in_item_macro=macro,
        head_leaf=resolved.leaf if qualified else None,
        relays=resolved.chain[1:] if not qualified else (),
    )


def macro_name(source: bytes, invocation: Node) -> str:
    name = invocation.child_by_field_name("macro")
    return rust.path_segments(source, name)[-1] if name is not None else ""


def inside_item_macro(source: bytes, node: Node) -> bool:
    return any(a.type == "macro_invocation" and macro_name(source, a) in ITEM_MACROS for a in rust.ancestors(node))


def item_macro_body(source: bytes, invocation: Node) -> tuple[bytes, int] | None:
    """The bytes inside `thread_local! { .. }` and their offset in the file."""
    tree = next((c for c in invocation.named_children if c.type == "token_tree"), None)
    if tree is None or tree.end_byte - tree.start_byte < 2:
        return None
    return source[tree.start_byte + 1 : tree.end_byte - 1], tree.start_byte + 1


def _item_macro_refs(names, file, invocation: Node, item, local_names, out: FileRefs) -> None:
    source = names.index[file].source
    body = item_macro_body(source, invocation)
    if body is None:
        return
    inner, offset = body
    tree = rust.parse(inner)
    if rust.error_count(tree):
        for node in rust.walk(invocation):
            if node.type == "identifier" and rust.text(source, node) in local_names:
                out.in_macros.append(node)
        return
    parsed = _Parsed(inner, offset, invocation)
    for node in rust.walk(tree.root_node):
        if node.type in ("type_identifier", "identifier", "scoped_type_identifier", "scoped_identifier"):
            _classify(names, file, node, item, local_names, out, parsed)


# ------------------------------------------------------------------------------------------ PyO3 names

PYO3_GLOBS = {("pyo3", "prelude"), ("pyo3",)}  # `use pyo3::prelude::*;` / `use pyo3::*;`


def pyo3_glob(prefix: tuple[str, ...], _name: str) -> bool:
    """A glob of PyO3's root or prelude brings the common names (`Bound`, `PyErr`, `Python`, ...)."""
    return prefix in PYO3_GLOBS


def is_pyo3_name(index: FileIndex, node: Node, name: str) -> bool:
    """Whether `name` at node is PyO3's, by this file's imports."""
    resolved = index.resolve(node, name, pyo3_glob)
    return resolved is not None and resolved[0] == "pyo3"


def pyo3_spelling(index: FileIndex, node: Node, name: str) -> str:
    """How to write PyO3's `name` at node: as it is when the file brings it in, else `pyo3::name`."""
    return name if is_pyo3_name(index, node, name) else f"pyo3::{name}"
