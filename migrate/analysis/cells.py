"""Cross-file facts about once-cells: where each cell is declared, what it holds, how it is used.

A cell is a declaration whose type or constructor names the cell type: a static (or const), a
struct field, a newtype or enum-variant payload, a local or a parameter. Every mention of the
type is tied to the cell it declares or builds; what cannot be tied to one (a return type, a type
alias, a generic bound) is listed as such.

Every place a cell is read is found by resolving names, not by matching text: `CELL.get(py)`
(also through `use crate::m::CELL` or `crate::m::CELL`), `self.cache.get(py)` inside the impl of
the struct that declares `cache`, a binding of an enum payload in a `match`. Values that move
between cells (`f(&CELL)` into a `&'static` parameter, `[INIT; 4]`, `Self { cache }`) link those
cells; a use the analysis cannot follow (a cell passed to an unknown function, named inside a
macro) is a Note on its cell. Deciding what to do with all this is the codemods' business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.names import CrateNames, FileRefs, ItemRef, find_refs, inside_item_macro, item_names
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import Snapshot

GIL_ONCE_CELL = ("pyo3", "sync", "GILOnceCell")
PY_ONCE_LOCK = ("pyo3", "sync", "PyOnceLock")

# The methods of PyO3's cells and how many arguments each takes.
CELL_ARITY = {
    "get": 1,
    "set": 2,
    "get_or_init": 2,
    "get_or_try_init": 2,
    "import": 3,
    "clone_ref": 1,
    "get_mut": 0,
    "take": 0,
    "into_inner": 0,
}
CELL_METHODS = set(CELL_ARITY)

_COMMENTS = ("line_comment", "block_comment")
_NOT_EXPRESSION_PARENTS = {"scoped_identifier", "closure_parameters", "field_pattern", "macro_invocation",
                           "enum_variant", "parameter", "shorthand_field_initializer", *rust.TOKEN_GROUPS}
# The associated functions that make a new cell.
_CONSTRUCTORS = ("new", "default")
# Constructors that only wrap a value: a cell built inside one still belongs to the outer place.
_WRAPPERS = {"Box::new", "Arc::new", "Rc::new", "Some", "std::sync::Arc::new", "std::rc::Rc::new"}
_PATTERN_WRAPPERS = ("ref_pattern", "mut_pattern", "reference_pattern", "captured_pattern")
# Ancestors that end the search for what a type mention declares.
_STOP = {
    "function_item", "impl_item", "trait_item", "type_item", "source_file", "closure_expression",
    "function_signature_item", "where_clause", "type_parameters", "expression_statement", "return_expression",
}


@dataclass
class CellDecl:
    key: str  # the name that holds the cell (a payload's is its position: "0")
    kind: str  # static, field, payload, local, param
    path: Path
    node: Node  # static_item, const_item, field_declaration, let_declaration, parameter; a payload's type node
    inner: str | None  # the T of Cell<T> as written, when the declaration says
    mutable: bool = False  # a `static mut`
    owner: str | None = None  # the struct or variant a field or payload belongs to
    function: str | None = None  # a parameter's function (None for a closure's)
    position: int = -1  # a parameter's position, `self` not counted

    @property
    def ident(self) -> tuple:
        return (self.path, self.node.start_byte, self.key)

    @property
    def holds_py(self) -> bool:
        return self.inner is not None and _is_py_type(self.inner)

    def describe(self) -> str:
        if self.kind in ("field", "payload") and self.owner:
            return f"`{self.owner}.{self.key}`"
        return f"`{self.key}`"


def _is_py_type(inner: str) -> bool:
    compact = "".join(inner.split())
    for prefix in ("pyo3::", "::pyo3::"):
        if compact.startswith(prefix):
            compact = compact[len(prefix):]
    return compact.startswith("Py<") or compact == "PyObject"


@dataclass
class CellUse:
    key: str
    method: str
    path: Path
    call: Node  # the call_expression (inside a macro: the receiver's token)
    in_macro: bool = False
    decl: tuple | None = None  # the ident of the cell it reads


# Notes name their cell with this placeholder, so a message can say "it" or name the cell.
CELL = "{cell}"


@dataclass
class Note:
    """A use of a cell that the analysis cannot follow (it matters when the cell's API changes)."""

    path: Path
    node: Node
    message: str  # with CELL where the cell's name goes

    def about(self, cell: str) -> str:
        return self.message.replace(CELL, cell)


@dataclass
class FileCells:
    """Per file: the item references and the cell each one declares or builds."""

    index: FileIndex
    refs: FileRefs
    owner_key: dict[int, str | None]  # ref node id -> key (None: not tied to a cell)
    ref_decl: dict[int, tuple | None] = field(default_factory=dict)  # ref start byte -> decl ident


@dataclass
class CellInventory:
    item: tuple[str, ...]
    decls: dict[str, list[CellDecl]] = field(default_factory=dict)
    uses: dict[str, list[CellUse]] = field(default_factory=dict)
    files: dict[Path, FileCells] = field(default_factory=dict)
    crate_defines_own: bool = False
    by_ident: dict[tuple, CellDecl] = field(default_factory=dict)
    links: list[tuple[tuple, tuple]] = field(default_factory=list)  # cells whose values meet
    notes: dict[tuple, list[Note]] = field(default_factory=dict)  # decl ident -> what cannot be followed
    names: CrateNames | None = None

    def holds_py(self, key: str, owner: str | None = None) -> bool:
        """Whether every declaration named key (of owner's fields, when given) that says what it holds says Py<_>."""
        decls = [d for d in self.decls.get(key, []) if owner is None or d.owner == owner]
        return bool(decls) and any(d.holds_py for d in decls) and not any(
            d.inner is not None and not d.holds_py for d in decls
        )

    def note(self, ident: tuple, path: Path, node: Node, message: str) -> None:
        self.notes.setdefault(ident, []).append(Note(path, node, message))


# ------------------------------------------------------------------------------- small syntax helpers


def method_call(source: bytes, call: Node) -> tuple[Node, str, Node] | None:
    """(receiver, method name, arguments) of a `recv.method(args)` call_expression."""
    function = call.child_by_field_name("function")
    if function is None or function.type != "field_expression":
        return None
    field_node = function.child_by_field_name("field")
    value = function.child_by_field_name("value")
    args = call.child_by_field_name("arguments")
    if field_node is None or value is None or args is None:
        return None
    return value, rust.text(source, field_node), args


def arguments(args: Node) -> list[Node]:
    return [c for c in args.named_children if c.type not in _COMMENTS and c.type != "attribute_item"]


def receiver_key(source: bytes, node: Node) -> str | None:
    """The last name of a method receiver: `self.a.b` -> "b", `CELLS[i]` -> "CELLS", `&X` -> "X"."""
    kind = node.type
    if kind in ("identifier", "field_identifier", "integer_literal"):
        return rust.text(source, node)
    if kind == "field_expression":
        fld = node.child_by_field_name("field")
        return rust.text(source, fld) if fld is not None else None
    if kind == "scoped_identifier":
        name = node.child_by_field_name("name")
        return rust.text(source, name) if name is not None else None
    if kind == "index_expression":
        return receiver_key(source, node.named_children[0])
    if kind in ("reference_expression", "parenthesized_expression", "unary_expression") and node.named_children:
        return receiver_key(source, node.named_children[-1])
    return None


def impl_type_name(source: bytes, node: Node) -> str | None:
    """The type an enclosing `impl` block is for (what `Self` and `self` are)."""
    for a in rust.ancestors(node):
        if a.type == "impl_item":
            type_node = a.child_by_field_name("type")
            if type_node is not None and type_node.type == "generic_type":
                type_node = type_node.child_by_field_name("type")
            return rust.path_segments(source, type_node)[-1] if type_node is not None else None
    return None


def _type_name(source: bytes, node: Node | None, at: Node) -> str | None:
    """The last segment of a struct/variant path, `Self` read as the impl's type."""
    if node is None:
        return None
    if node.type == "generic_type":
        node = node.child_by_field_name("type")
    name = rust.path_segments(source, node)[-1] if node is not None else None
    return impl_type_name(source, at) if name == "Self" else name


def _owner_name(source: bytes, node: Node) -> str | None:
    """The struct or enum variant a field declaration list belongs to."""
    for a in rust.ancestors(node):
        if a.type in ("struct_item", "enum_variant", "union_item"):
            name = a.child_by_field_name("name")
            return rust.text(source, name) if name is not None else None
    return None


def _binding_identifier(pattern: Node | None) -> Node | None:
    while pattern is not None and pattern.type in ("mut_pattern", "ref_pattern"):
        pattern = pattern.named_children[-1] if pattern.named_children else None
    return pattern if pattern is not None and pattern.type == "identifier" else None


def _compact(source: bytes, node: Node) -> str:
    return "".join(rust.text(source, node).split())


def _is_static_mut(node: Node | None) -> bool:
    return node is not None and node.type == "static_item" and any(c.type == "mutable_specifier" for c in node.children)


def _inner_type(source: bytes, ref: ItemRef) -> str | None:
    generic = ref.node.parent
    if generic is not None and generic.type == "generic_type":
        args = generic.child_by_field_name("type_arguments")
        if args is not None and args.named_children:
            return rust.text(source, args.named_children[0])
    return None


# ------------------------------------------------------------------------- what a mention declares


@dataclass(frozen=True)
class Site:
    """What a type mention declares or builds: a cell, or the constructor of a field/payload."""

    kind: str  # static, field, payload, local, param, build-field, build-payload
    key: str
    node: Node
    owner: str | None = None
    function: str | None = None
    position: int = -1


def _parameter_site(source: bytes, parameter: Node) -> Site | None:
    name = _binding_identifier(parameter.child_by_field_name("pattern"))
    if name is None:
        return None
    params = parameter.parent
    owner = params.parent if params is not None else None
    function = None
    position = -1
    if params is not None and params.type == "parameters" and owner is not None and owner.type == "function_item":
        function = rust.text(source, owner.child_by_field_name("name"))
        position = [p.id for p in params.named_children if p.type == "parameter"].index(parameter.id)
    return Site("param", rust.text(source, name), parameter, function=function, position=position)


def _calls_method_of_type(source: bytes, node: Node) -> bool:
    """`Cell::get_or_init(&X, ..)`: the type names a method called on another cell, not a constructor."""
    while node.parent is not None and node.parent.type == "generic_type":
        node = node.parent
    parent = node.parent
    if parent is None or parent.type != "scoped_identifier" or parent.child_by_field_name("path") != node:
        return False
    name = parent.child_by_field_name("name")
    return name is not None and rust.text(source, name) not in _CONSTRUCTORS


def site_of(source: bytes, node: Node) -> Site | None:
    """The cell that a mention of the cell type at `node` declares or builds, if any."""
    if _calls_method_of_type(source, node):
        return None
    prev = node
    for a in rust.ancestors(node):
        kind = a.type
        if kind in ("static_item", "const_item"):
            return Site("static", rust.text(source, a.child_by_field_name("name")), a)
        if kind == "field_declaration":
            name = a.child_by_field_name("name")
            return Site("field", rust.text(source, name), a, owner=_owner_name(source, a)) if name else None
        if kind == "let_declaration":
            name = _binding_identifier(a.child_by_field_name("pattern"))
            return Site("local", rust.text(source, name), a) if name is not None else None
        if kind == "parameter":
            return _parameter_site(source, a)
        if kind == "ordered_field_declaration_list":
            types = [c for c in a.named_children if c.type not in ("attribute_item", "visibility_modifier") + _COMMENTS]
            if prev.id not in [t.id for t in types]:
                return None
            return Site("payload", str([t.id for t in types].index(prev.id)), prev, owner=_owner_name(source, a))
        if kind == "field_initializer" and prev.id != (a.child_by_field_name("field") or prev).id:
            struct = a.parent.parent if a.parent is not None else None
            owner = _type_name(source, struct.child_by_field_name("name"), a) if struct is not None else None
            return Site("build-field", rust.text(source, a.child_by_field_name("field")), a, owner=owner)
        if kind == "arguments":
            call = a.parent
            function = call.child_by_field_name("function") if call is not None else None
            if function is not None and _compact(source, function) in _WRAPPERS:
                prev = a
                continue
            owner = _type_name(source, function, a)
            if owner is None or not owner[:1].isupper() or prev.id not in [c.id for c in arguments(a)]:
                return None  # passed to a function, not a tuple struct or variant
            return Site("build-payload", str([c.id for c in arguments(a)].index(prev.id)), a, owner=owner)
        if kind in _STOP or (kind == "block" and (a.parent is None or a.parent.type != "const_block")):
            return None
        prev = a
    return None


def owner_of(source: bytes, node: Node) -> tuple[str | None, str, Node | None]:
    """(key, kind, declaring node) of the cell whose type or constructor `node` spells."""
    site = site_of(source, node)
    if site is None:
        return None, "other", None
    return site.key, site.kind.removeprefix("build-"), site.node


# ------------------------------------------------------------------------------- value resolution


def _pattern_binds(pattern: Node | None, name: str, source: bytes) -> Node | None:
    """The identifier in a pattern that binds `name` (not a path inside it)."""
    if pattern is None:
        return None
    for node in rust.walk(pattern):
        if node.type not in ("identifier", "shorthand_field_identifier") or rust.text(source, node) != name:
            continue
        parent = node.parent
        if parent is not None and parent.type == "scoped_identifier":
            continue  # a path segment (`Kind::A`), not a binding
        type_node = parent.child_by_field_name("type") if parent is not None else None
        if type_node is not None and type_node.id == node.id:
            continue  # the `A` of `A(x)`
        return node
    return None


def resolve_value(names: CrateNames, path: Path, node: Node, name: str) -> tuple[Path, Node] | None:
    """The declaration a value name written at `node` refers to: a static/const item, a
    let_declaration, a parameter, or the identifier a pattern binds."""
    source = names.index[path].source
    for a in rust.ancestors(node):
        kind = a.type
        if kind == "block":
            binding = None
            for child in a.named_children:
                if child.end_byte > node.start_byte:
                    break
                if child.type == "let_declaration":
                    found = _pattern_binds(child.child_by_field_name("pattern"), name, source)
                    if found is not None:
                        binding = child if _binding_identifier(child.child_by_field_name("pattern")) else found
            if binding is not None:
                return path, binding
            for child in a.named_children:
                if child.type in ("static_item", "const_item"):
                    item_name = child.child_by_field_name("name")
                    if item_name is not None and rust.text(source, item_name) == name:
                        return path, child
        elif kind in ("function_item", "closure_expression"):
            params = a.child_by_field_name("parameters")
            for param in params.named_children if params is not None else []:
                target = param.child_by_field_name("pattern") if param.type == "parameter" else param
                found = _pattern_binds(target, name, source)
                if found is not None:
                    return path, (param if _binding_identifier(target) is not None and param.type == "parameter" else found)
        elif kind == "match_arm":
            pattern = a.child_by_field_name("pattern")
            found = _pattern_binds(pattern, name, source)
            if found is not None and not _within(node, pattern):
                return path, found
        elif kind in ("if_expression", "while_expression"):
            condition = a.child_by_field_name("condition")
            consequence = a.child_by_field_name("consequence") or a.child_by_field_name("body")
            if condition is not None and consequence is not None and _within(node, consequence):
                for let in [n for n in rust.walk(condition) if n.type == "let_condition"]:
                    found = _pattern_binds(let.child_by_field_name("pattern"), name, source)
                    if found is not None:
                        return path, found
        elif kind == "for_expression":
            found = _pattern_binds(a.child_by_field_name("pattern"), name, source)
            body = a.child_by_field_name("body")
            if found is not None and body is not None and _within(node, body):
                return path, found
        elif rust.is_module_scope(a):
            resolved = names.resolve(path, node, name, "value")
            return resolved.definition if resolved is not None and resolved.definition is not None else None
    return None


def _within(node: Node, container: Node) -> bool:
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


def declared_type_name(names: CrateNames, path: Path, value: Node) -> str | None:
    """The struct a value's declaration names as its type (`static API: ApiTable`, `t: &Table`)."""
    if value.type == "identifier":
        binding = resolve_value(names, path, value, rust.text(names.index[path].source, value))
    elif value.type == "scoped_identifier":
        segments = rust.path_segments(names.index[path].source, value)
        resolved = names.resolve_path(path, value, segments, "value")
        binding = resolved.definition if resolved is not None else None
    else:
        return None
    if binding is None or binding[1].type not in ("static_item", "const_item", "let_declaration", "parameter"):
        return None
    type_node = binding[1].child_by_field_name("type")
    while type_node is not None and type_node.type == "reference_type":
        type_node = type_node.child_by_field_name("type")
    if type_node is None or type_node.type not in ("type_identifier", "generic_type", "scoped_type_identifier"):
        return None
    return _type_name(names.index[binding[0]].source, type_node, binding[1])


def field_owner(names: CrateNames, path: Path, expr: Node) -> str | None:
    """The struct a field read `VALUE.field` reads, when the code says: `self` in an impl, or a
    binding whose declaration names its type (None for anything else, e.g. `a.b.field`)."""
    if expr.type != "field_expression":
        return None
    value = expr.child_by_field_name("value")
    if value is None:
        return None
    if value.type == "self":
        return impl_type_name(names.index[path].source, expr)
    return declared_type_name(names, path, value)


def same_node(root: Node, node: Node) -> Node | None:
    """The node of another parse of the same bytes (root's tree) that matches node: same span and kind."""
    found = root.descendant_for_byte_range(node.start_byte, node.end_byte)
    while found is not None and (found.start_byte, found.end_byte) == (node.start_byte, node.end_byte):
        if found.type == node.type:
            return found
        found = found.parent
    return None


# ------------------------------------------------------------------------------------ the inventory


class _Builder:
    """Builds a CellInventory in three sweeps: declarations, then references, then flows in."""

    def __init__(self, names: CrateNames, item: tuple[str, ...]):
        self.item = item
        self.names = names
        self.inv = CellInventory(item, names=self.names)
        self.by_node: dict[tuple[Path, int], tuple] = {}  # declaring node -> ident
        self.by_owner: dict[tuple[str | None, str], list[tuple]] = {}  # (owner, key) -> idents of fields/payloads
        self.field_keys: set[str] = set()
        self.plain_fields: set[str] = set()  # names of fields that hold no cell, anywhere
        self.builds: list[tuple[Path, ItemRef, Site]] = []
        self.params_by_function: dict[str, list[CellDecl]] = {}  # filled before sweep 3

    # -- sweep 1: declarations
    def declarations(self) -> None:
        local_names = item_names(self.names, self.item)
        for path in self.names.files_with(local_names):  # the others cannot name the item
            index = self.names.index[path]
            refs = find_refs(self.names, path, self.item, local_names)
            cells = FileCells(index, refs, {})
            self.inv.files[path] = cells
            if refs.lookalikes:
                self.inv.crate_defines_own = True
            for ref in refs.refs:
                if ref.in_item_macro is not None:
                    cells.owner_key[ref.node.id] = None
                    continue
                site = site_of(index.source, ref.node)
                cells.owner_key[ref.node.id] = site.key if site is not None else None
                cells.ref_decl[ref.span[0]] = None
                if site is None:
                    continue
                if site.kind.startswith("build-"):
                    self.builds.append((path, ref, site))
                    continue
                ident = self._declare(path, ref, site)
                cells.ref_decl[ref.span[0]] = ident
        for path in self.names.files_with(self.field_keys):  # only a cell field's name can matter
            index = self.names.index[path]
            spelled = rust.spelled(index.source, index.tree.root_node, self.field_keys)
            for node in [n.parent for n in spelled if n.parent.type == "field_declaration" and rust.is_child(n.parent, "name", n)]:
                if node.type == "field_declaration":
                    name = node.child_by_field_name("name")
                    if name is not None and (path, node.start_byte) not in self.by_node:
                        self.plain_fields.add(rust.text(index.source, name))
        for path, ref, site in self.builds:
            idents = self.by_owner.get((site.owner, site.key), [])
            self.inv.files[path].ref_decl[ref.span[0]] = idents[0] if len(idents) == 1 else None

    def _declare(self, path: Path, ref: ItemRef, site: Site) -> tuple:
        source = self.names.index[path].source
        node_key = (path, site.node.start_byte)
        inner = _inner_type(source, ref)
        if node_key in self.by_node:
            decl = self.inv.by_ident[self.by_node[node_key]]
            decl.inner = decl.inner or inner
            return decl.ident
        decl = CellDecl(site.key, site.kind, path, site.node, inner, _is_static_mut(site.node), site.owner,
                        site.function, site.position)
        self.by_node[node_key] = decl.ident
        self.inv.by_ident[decl.ident] = decl
        self.inv.decls.setdefault(decl.key, []).append(decl)
        if decl.kind in ("field", "payload"):
            self.by_owner.setdefault((decl.owner, decl.key), []).append(decl.ident)
            self.field_keys.add(decl.key)
        return decl.ident

    # -- attribution: which cell an expression is
    def attribute(self, path: Path, expr: Node) -> tuple | list | None:
        """The ident of the cell `expr` is, a list of candidates when it cannot tell, or None."""
        source = self.names.index[path].source
        while expr.type in ("reference_expression", "parenthesized_expression", "index_expression") and expr.named_children:
            expr = expr.named_children[0] if expr.type == "index_expression" else expr.named_children[-1]
        if expr.type == "identifier":
            return self._attribute_binding(path, resolve_value(self.names, path, expr, rust.text(source, expr)))
        if expr.type == "scoped_identifier":
            resolved = self.names.resolve_path(path, expr, rust.path_segments(source, expr), "value")
            return self._attribute_binding(path, resolved.definition if resolved is not None else None)
        if expr.type == "field_expression":
            value = expr.child_by_field_name("value")
            fld = expr.child_by_field_name("field")
            if value is None or fld is None:
                return None
            whole = self.attribute(path, value) if value.type != "self" else None
            if isinstance(whole, tuple):
                return whole  # a field of a tuple or struct static: the static is the cell
            key = rust.text(source, fld)
            if key not in self.field_keys:
                return None
            owner = impl_type_name(source, expr) if value.type == "self" else declared_type_name(self.names, path, value)
            if owner is not None:
                idents = self.by_owner.get((owner, key), [])
                return idents[0] if len(idents) == 1 else None
            candidates = [d.ident for d in self.inv.decls.get(key, []) if d.kind in ("field", "payload")]
            if len(candidates) == 1 and key not in self.plain_fields and not key.isdigit():
                return candidates[0]
            return candidates
        return None

    def _attribute_binding(self, path: Path, binding: tuple[Path, Node] | None) -> tuple | None:
        if binding is None:
            return None
        bpath, node = binding
        if node.type in ("static_item", "const_item", "let_declaration", "parameter"):
            return self.by_node.get((bpath, node.start_byte))
        return self._pattern_cell(bpath, node)

    def _pattern_cell(self, path: Path, ident: Node) -> tuple | None:
        """The field or payload cell an identifier in a destructuring pattern binds."""
        source = self.names.index[path].source
        node = ident
        while node.parent is not None and node.parent.type in _PATTERN_WRAPPERS:
            node = node.parent
        parent = node.parent
        if parent is None:
            return None
        if parent.type == "tuple_struct_pattern":
            owner = _type_name(source, parent.child_by_field_name("type"), parent)
            items = [c for c in parent.named_children if c.id != parent.child_by_field_name("type").id]
            key = str([c.id for c in items].index(node.id))
        elif parent.type == "field_pattern":
            struct = parent.parent
            name = parent.child_by_field_name("name") or ident
            owner = _type_name(source, struct.child_by_field_name("type"), struct) if struct is not None else None
            key = rust.text(source, name)
        else:
            return None
        idents = self.by_owner.get((owner, key), [])
        return idents[0] if len(idents) == 1 else None

    # -- sweep 2: every expression that is a cell, and what happens to it there
    def references(self) -> None:
        value_keys = {d.key for ds in self.inv.decls.values() for d in ds if d.kind in ("static", "local", "param")}
        binding_names = self._pattern_binding_names() | value_keys
        wanted = {"identifier": binding_names, "scoped_identifier": value_keys, "field_expression": self.field_keys,
                  "shorthand_field_initializer": binding_names | self.field_keys}  # names that can be a cell
        spellings = rust.as_words(binding_names | self.field_keys)  # the names a cell goes by
        for path in self.names.files_with(binding_names | self.field_keys):
            index = self.names.index[path]
            source = index.source
            self.inv.files.setdefault(path, FileCells(index, FileRefs(), {}))  # a file that uses cells
            for node in _reference_candidates(source, index.tree.root_node, spellings):
                kind = node.type
                if kind in rust.TOKEN_GROUPS:
                    self._macro_tokens(path, node, binding_names)
                    continue
                named = _named(source, node, kind)
                if named is None or named not in wanted[kind] or rust.in_macro(node) is not None:
                    continue
                if kind == "identifier" or kind == "scoped_identifier":
                    if self._is_expression(node):
                        self._reference(path, node)
                elif kind == "field_expression":
                    self._reference(path, node)
                else:
                    self._shorthand(path, node)  # (another name is neither a cell nor a cell's field)

    def _pattern_binding_names(self) -> set[str]:
        found = set()
        owners = {owner for owner, _ in self.by_owner}
        spellings = rust.as_words({o for o in owners if o} | {"Self"})
        for path in self.names.files_with(owner for owner in owners if owner):
            index = self.names.index[path]
            for node in _patterns_naming(index.source, index.tree.root_node, spellings):
                if node.type in ("tuple_struct_pattern", "struct_pattern"):
                    type_node = node.child_by_field_name("type")
                    if _type_name(index.source, type_node, node) in owners:
                        for leaf in rust.walk(node):
                            if leaf.type in ("identifier", "shorthand_field_identifier") and leaf.id != type_node.id:
                                found.add(rust.text(index.source, leaf))
        return found

    @staticmethod
    def _is_expression(node: Node) -> bool:
        """An identifier or path in value position (not a declared name, a pattern or a path segment)."""
        parent = node.parent
        if parent is None or rust.in_use_declaration(node):
            return False
        if parent.type in ("static_item", "const_item", "let_declaration", "function_item", "mod_item"):
            value = parent.child_by_field_name("value")
            return value is not None and value.id == node.id
        return parent.type not in _NOT_EXPRESSION_PARENTS and "pattern" not in parent.type

    def _reference(self, path: Path, node: Node) -> None:
        found = self.attribute(path, node)
        if isinstance(found, list):
            self._ambiguous(path, node, found)
        elif found is not None:
            self._context(path, node, found)

    def _ambiguous(self, path: Path, node: Node, candidates: list[tuple]) -> None:
        """A field read whose struct is unknown: only a call shaped like a cell's counts."""
        source = self.names.index[path].source
        call = _method_call_on(node)
        if call is None:
            return
        _, method, args = method_call(source, call)
        if method in CELL_METHODS and len(arguments(args)) == CELL_ARITY[method]:
            where = rust.place(path, source, node)
            for ident in candidates:
                self.inv.note(ident, path, node, f"`{rust.text(source, node)}.{method}(..)` at {where} may be this "
                              "cell or another value with a field of that name")

    def _context(self, path: Path, node: Node, ident: tuple) -> None:
        """Classify one place a cell's value appears: a method call, a flow into another cell, or else."""
        source = self.names.index[path].source
        decl = self.inv.by_ident[ident]
        place = node
        while place.parent is not None and (
            place.parent.type in ("parenthesized_expression", "reference_expression")
            or (place.parent.type == "index_expression" and place.parent.named_children[0].id == place.id)
            or (place.parent.type == "field_expression" and _numeric_field(source, place.parent)
                and decl.kind == "static" and place.parent.child_by_field_name("value").id == place.id)
        ):
            place = place.parent
        parent = place.parent
        where = rust.place(path, source, node)
        call = _method_call_on(place)
        if call is not None:
            _, method, _ = method_call(source, call)
            if method in CELL_METHODS:
                self.inv.uses.setdefault(decl.key, []).append(CellUse(decl.key, method, path, call, False, ident))
            else:
                self.inv.note(ident, path, node, f"`.{method}()` is called on {CELL} at {where}")
            return
        if parent is not None and parent.type == "arguments" and parent.parent.type == "call_expression":
            self._argument(path, place, ident, where)
            return
        if parent is not None and parent.type == "field_initializer":
            self._into_field(path, parent, ident, where)
            return
        target = self._initialised_cell(path, place)
        if target is not None:
            self.inv.links.append((ident, target))
            return
        if parent is not None and parent.type == "assignment_expression":
            left = parent.child_by_field_name("left")
            if left is not None and left.id == place.id:
                self._assigned(path, parent, ident, where)
                return
        self.inv.note(ident, path, node, f"{CELL} is used as a value at {where}")

    def _argument(self, path: Path, place: Node, ident: tuple, where: str) -> None:
        source = self.names.index[path].source
        args = place.parent
        call = args.parent
        function = call.child_by_field_name("function") if call is not None else None
        if function is None:
            return
        position = [c.id for c in arguments(args)].index(place.id)
        owner = _type_name(source, function, call)
        if owner is not None and owner[:1].isupper():  # a tuple struct or variant built from the cell
            payloads = self.by_owner.get((owner, str(position)), [])
            if payloads:
                self.inv.links.append((ident, payloads[0]))
                return
        name = function.child_by_field_name("field") or function.child_by_field_name("name") or function
        fn_name = rust.text(source, name)
        params = [d for ds in self.inv.decls.values() for d in ds
                  if d.kind == "param" and d.function == fn_name and d.position == position]
        if not params:
            self.inv.note(ident, path, place, f"{CELL} is passed to `{fn_name}` at {where}")
        for param in params:
            self.inv.links.append((ident, param.ident))

    def _into_field(self, path: Path, initializer: Node, ident: tuple, where: str) -> None:
        source = self.names.index[path].source
        struct = initializer.parent.parent
        owner = _type_name(source, struct.child_by_field_name("name"), struct)
        key = rust.text(source, initializer.child_by_field_name("field"))
        fields = self.by_owner.get((owner, key), [])
        if fields:
            self.inv.links.append((ident, fields[0]))
        else:
            self.inv.note(ident, path, initializer, f"{CELL} is stored at {where}")

    def _shorthand(self, path: Path, node: Node) -> None:
        """`Self { cache }`: the local `cache` flows into the field `cache`."""
        source = self.names.index[path].source
        name = node.named_children[0] if node.named_children else None
        if name is None:
            return
        local = self._attribute_binding(path, resolve_value(self.names, path, name, rust.text(source, name)))
        struct = node.parent.parent if node.parent is not None else None
        owner = _type_name(source, struct.child_by_field_name("name"), struct) if struct is not None else None
        fields = self.by_owner.get((owner, rust.text(source, name)), [])
        if local is not None and fields:
            self.inv.links.append((local, fields[0]))
        elif local is not None:
            self.inv.note(local, path, node, f"{CELL} is stored at {rust.place(path, source, node)}")
        elif fields:
            self.inv.note(fields[0], path, node, f"{CELL} is built from a value "
                          f"this tool cannot follow at {rust.place(path, source, node)}")

    def _initialised_cell(self, path: Path, place: Node) -> tuple | None:
        """The cell whose initialiser `place` is (`[INIT; 4]`, `let b = a;`), if any."""
        node = place
        for a in rust.ancestors(place):
            if a.type in ("array_expression", "tuple_expression", "parenthesized_expression", "const_block", "block"):
                node = a
                continue
            if a.type in ("static_item", "const_item", "let_declaration"):
                value = a.child_by_field_name("value")
                if value is not None and value.id == node.id:
                    return self.by_node.get((path, a.start_byte))
            return None
        return None

    def _assigned(self, path: Path, assignment: Node, ident: tuple, where: str) -> None:
        right = assignment.child_by_field_name("right")
        if right is not None and not self._follows(path, right):
            self.inv.note(ident, path, assignment, f"{CELL} is assigned a value this "
                          f"tool cannot follow at {where}")

    def _macro_tokens(self, path: Path, tree: Node, keys: set[str]) -> None:
        """A cell named inside a macro: its use there is a token tree, never rewritten."""
        source = self.names.index[path].source
        if inside_item_macro(source, tree):
            return
        tokens = tree.children
        for i, tok in enumerate(tokens):
            if tok.type != "identifier":
                continue
            name = rust.text(source, tok)
            after_dot = i > 0 and tokens[i - 1].type == "."
            found = None
            if after_dot and name in self.field_keys:
                on_self = i > 1 and tokens[i - 2].type == "self"
                owner = impl_type_name(source, tok) if on_self else None
                found = (self.by_owner.get((owner, name), []) if owner is not None
                         else [d.ident for d in self.inv.decls[name] if d.kind in ("field", "payload")])
            elif not after_dot and name in keys:
                found = self._attribute_binding(path, resolve_value(self.names, path, tok, name))
            for ident in [found] if isinstance(found, tuple) else found or []:
                decl = self.inv.by_ident[ident]
                method = rust.text(source, tokens[i + 2]) if i + 2 < len(tokens) and tokens[i + 1].type == "." else ""
                self.inv.uses.setdefault(decl.key, []).append(CellUse(decl.key, method, path, tok, True, ident))
                self.inv.note(ident, path, tok, f"{CELL} is used inside a macro at {rust.place(path, source, tok)}")

    # -- sweep 3: what flows into each cell
    def flows_in(self) -> None:
        for decl in self.inv.by_ident.values():
            if decl.kind == "param" and decl.function is not None:
                self.params_by_function.setdefault(decl.function, []).append(decl)
        for decl in list(self.inv.by_ident.values()):
            if decl.kind in ("static", "local"):
                value = decl.node.child_by_field_name("value")
                if value is not None and not self._follows(decl.path, value):
                    self._cannot_follow(decl.ident, decl.path, value)
        # a field initialiser names its field, a payload its owner, an argument its function
        words = {key for _, key in self.by_owner if not key.isdigit()} | {owner for owner, _ in self.by_owner if owner}
        words |= set(self.params_by_function)
        spellings = rust.as_words(words | {"Self"})
        for path in self.names.files_with(words):
            index = self.names.index[path]
            for node in _flow_candidates(index.source, index.tree.root_node, spellings):
                if node.type == "field_initializer":
                    self._field_value(path, node)
                elif node.type == "call_expression" and rust.in_macro(node) is None:
                    self._payload_values(path, node)
                    self._parameter_values(path, node)
        for decl in self.inv.by_ident.values():
            if decl.kind == "param" and decl.function is None:
                self.inv.note(decl.ident, decl.path, decl.node, f"{CELL} is a closure's parameter at "
                              f"{rust.place(decl.path, self.names.index[decl.path].source, decl.node)}")

    def _field_value(self, path: Path, initializer: Node) -> None:
        source = self.names.index[path].source
        struct = initializer.parent.parent
        owner = _type_name(source, struct.child_by_field_name("name"), struct)
        key = initializer.child_by_field_name("field")
        value = initializer.child_by_field_name("value")
        for ident in self.by_owner.get((owner, rust.text(source, key)), []) if key is not None else []:
            if value is not None and not self._follows(path, value):
                self._cannot_follow(ident, path, value)

    def _payload_values(self, path: Path, call: Node) -> None:
        source = self.names.index[path].source
        owner = _type_name(source, call.child_by_field_name("function"), call)
        args = call.child_by_field_name("arguments")
        if owner is None or args is None or not owner[:1].isupper():
            return
        for position, value in enumerate(arguments(args)):
            for ident in self.by_owner.get((owner, str(position)), []):
                if not self._follows(path, value):
                    self._cannot_follow(ident, path, value)

    def _parameter_values(self, path: Path, call: Node) -> None:
        """`f(&CELL)` for a parameter cell of `f`: what is passed must be a cell we know."""
        source = self.names.index[path].source
        function = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        if function is None or args is None:
            return
        name = function.child_by_field_name("field") or function.child_by_field_name("name") or function
        values = arguments(args)
        for decl in self.params_by_function.get(rust.text(source, name), []):
            if decl.position < len(values) and not self._follows(path, values[decl.position]):
                self._cannot_follow(decl.ident, path, values[decl.position], "is passed")

    def _cannot_follow(self, ident: tuple, path: Path, value: Node, how: str = "is built from") -> None:
        source = self.names.index[path].source
        self.inv.note(ident, path, value, f"{CELL} {how} an expression this tool cannot follow "
                      f"at {rust.place(path, source, value)}")

    def _follows(self, path: Path, value: Node) -> bool:
        """A value we can account for: a constructor of the cell type, Default, or another cell."""
        source = self.names.index[path].source
        kind = value.type
        if kind in ("array_expression", "tuple_expression", "parenthesized_expression"):
            items = [c for c in value.named_children if c.type not in _COMMENTS]
            if kind == "array_expression" and any(c.type == ";" for c in value.children):
                items = items[:1]  # `[x; N]`: the count is not a cell
            return all(self._follows(path, item) for item in items)
        if kind == "const_block":
            block = value.named_children[-1]
            tail = [c for c in block.named_children if c.type not in _COMMENTS]
            return len(tail) == 1 and self._follows(path, tail[0])
        if kind == "call_expression":
            function = value.child_by_field_name("function")
            args = value.child_by_field_name("arguments")
            if function is not None and args is not None and _compact(source, function) in _WRAPPERS:
                return len(arguments(args)) == 1 and self._follows(path, arguments(args)[0])
            if function is None or function.type != "scoped_identifier" or args is None or arguments(args):
                return False
            name = rust.text(source, function.child_by_field_name("name"))
            if rust.text(source, function).replace(" ", "") == "Default::default":
                return True
            type_path = function.child_by_field_name("path")
            if name not in _CONSTRUCTORS or type_path is None:
                return False
            cells = self.inv.files.get(path)
            ref_starts = {r.span[0] for r in cells.refs.refs} if cells is not None else set()
            return any(n.start_byte in ref_starts for n in rust.walk(type_path))
        found = self.attribute(path, value)
        return isinstance(found, tuple)


def _patterns_naming(source: bytes, root: Node, names: frozenset[bytes]) -> list[Node]:
    """The struct and tuple-struct patterns whose type is spelled with one of names."""
    out = []
    for node in rust.spelled(source, root, names):
        child, parent = node, node.parent
        while parent is not None and parent.type in ("scoped_type_identifier", "scoped_identifier", "generic_type"):
            child, parent = parent, parent.parent
        if parent is not None and parent.type in ("tuple_struct_pattern", "struct_pattern") and rust.is_child(
                parent, "type", child):
            out.append(parent)
    return rust.in_source_order(out)


def _reference_candidates(source: bytes, root: Node, names: frozenset[bytes]) -> list[Node]:
    """What the reference sweep looks at, from where the names a cell goes by are spelled: the
    identifier, the path it ends, the field access, the shorthand initialiser, the macro token
    group it sits in."""
    out = []
    for node in rust.spelled(source, root, names):
        parent = node.parent
        if parent.type in rust.TOKEN_GROUPS:
            out.append(parent)
            continue
        if node.type == "identifier":
            out.append(node)
        if parent.type == "scoped_identifier" and rust.is_child(parent, "name", node):
            out.append(parent)
        elif parent.type == "field_expression" and rust.is_child(parent, "field", node):
            out.append(parent)
        elif parent.type == "shorthand_field_initializer":
            out.append(parent)
    return rust.in_source_order(out)


def _flow_candidates(source: bytes, root: Node, words: frozenset[bytes]) -> list[Node]:
    """What the flow sweep looks at, from where a cell's field, owner or function is spelled: the
    field initialiser it names, the call whose callee spells it."""
    out = []
    for node in rust.spelled(source, root, words):
        parent = node.parent
        if parent.type == "field_initializer" and rust.is_child(parent, "field", node):
            out.append(parent)
            continue
        child = node
        while parent is not None and parent.type in _CALLEE_PARTS:
            child, parent = parent, parent.parent
        if parent is not None and parent.type == "call_expression" and rust.is_child(parent, "function", child):
            out.append(parent)
    return rust.in_source_order(out)


_CALLEE_PARTS = ("scoped_identifier", "field_expression", "generic_function", "generic_type", "scoped_type_identifier")


def _named(source: bytes, node: Node, kind: str) -> str | None:
    """The name that decides whether a reference-sweep node can be a cell: the identifier, a
    path's last segment, an accessed field, a shorthand's name."""
    if kind == "identifier":
        return rust.text(source, node)
    if kind == "scoped_identifier":
        name = node.child_by_field_name("name")
    elif kind == "field_expression":
        name = node.child_by_field_name("field")
    else:
        name = node.named_children[0] if node.named_children else None
    return rust.text(source, name) if name is not None else None


def _numeric_field(source: bytes, field_expression: Node) -> bool:
    fld = field_expression.child_by_field_name("field")
    return fld is not None and rust.text(source, fld).isdigit()


def _method_call_on(place: Node) -> Node | None:
    """The call_expression when `place` is the receiver of a method call."""
    parent = place.parent
    if parent is None or parent.type != "field_expression":
        return None
    value = parent.child_by_field_name("value")
    call = parent.parent
    if value is None or value.id != place.id or call is None or call.type != "call_expression":
        return None
    function = call.child_by_field_name("function")
    return call if function is not None and function.id == parent.id else None




_INVENTORIES: dict[tuple, CellInventory] = rust.run_cache()


def build_inventory(snapshot: Snapshot, item: tuple[str, ...]) -> CellInventory:
    """Every cell of PyO3's `item` in the snapshot and every use of it (read-only: one inventory
    per item and name table is shared by the codemods and passes that ask for it)."""
    names = CrateNames.of_snapshot(snapshot)
    key = (item, id(names))  # the table is cached for the run, so its id names its files and bytes
    inventory = _INVENTORIES.get(key)
    if inventory is None:
        builder = _Builder(names, item)
        builder.declarations()
        builder.references()
        builder.flows_in()
        inventory = _INVENTORIES[key] = builder.inv
    return inventory

