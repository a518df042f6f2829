"""What cloning a value involves in PyO3 terms: the crate's types that hold a `Py`, and every
place a `Py` is (or may be) cloned.

`survey` reads a crate once: its own type names, aliases of `Py`, the structs whose fields hold a
`Py` (and how: directly, in an `Option`, a `Vec`, a once-cell), then each file's sites: a
`derive(Clone)` over such fields, a `.clone()`/`.cloned()`/`.to_owned()`/`.to_vec()` whose receiver
the declarations type as `Py`-holding, `Py::clone` named as a function, and the same inside macro
tokens. A site it cannot type for sure is "maybe", for a person. The py-clone and py-clone-feature
codemods decide on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import attributes_before, split_top
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.analysis.tokens import (
    closure_params,
    enclosing_call,
    last_segment,
    pattern_names,
    python_token,
    simple_name,
)
from pyo3_migrate.core.codemod import Snapshot

_COMMENTS = ("line_comment", "block_comment")
_PY_NAMES = {"Py", "PyObject"}
_PY_WORDS = frozenset(name.encode() for name in _PY_NAMES)
_PYO3_CELLS = {"GILOnceCell", "PyOnceLock"}
_STD_CELLS = {"OnceLock", "OnceCell"}
_OPAQUE = {"Arc", "Rc", "Weak", "PhantomData"}  # clones of these never clone the Py inside
_DEREF_TO_TARGET = {"PyRef", "PyRefMut", "Box"}  # `x.field` reaches the first type argument's fields
_TOKEN_METHODS = {"clone_ref", "unbind"}  # an untyped `let x = y.unbind();` is a Py

# What clones of a value of each kind do.
PY = "py"  # Py<T>, PyObject: clone_ref(py)
CELL = "cell"  # GILOnceCell<Py<T>> / PyOnceLock<Py<T>>: clone_ref(py)
STD_CELL = "std-cell"  # std OnceLock<Py<T>> / OnceCell<Py<T>>: clone the content
OPTION = "option"  # Option<Py<T>>
VEC = "vec"  # Vec<Py<T>>
NESTED = "nested"  # another container whose clone clones a Py: by hand
NONE = "none"  # no Py::clone involved
OPT_REF = "option-ref"  # Option<&Py<T>>: `.cloned()` clones the Py
ITER = "iter"  # an iterator of &Py<T>: `.cloned()` clones each Py
RESULT_REF = "result-ref"  # PyResult<&Py<T>> (a cell's get_or_try_init)
CLONED = "cloned"  # a `.cloned()` of OPT_REF or ITER
PY_ISH = {PY, CELL, STD_CELL, OPTION, VEC, NESTED}

# (kind of the receiver, method) -> kind of the result, for the calls that lead to a `&Py<T>`.
_METHOD_RESULTS = {
    (CELL, "get"): OPT_REF,
    (STD_CELL, "get"): OPT_REF,
    (CELL, "get_or_init"): PY,
    (STD_CELL, "get_or_init"): PY,
    (STD_CELL, "get_or_init_py_attached"): PY,
    (CELL, "get_or_try_init"): RESULT_REF,
    (OPTION, "as_ref"): OPT_REF,
    (OPT_REF, "unwrap"): PY,
    (OPT_REF, "expect"): PY,
    (RESULT_REF, "unwrap"): PY,
    (RESULT_REF, "expect"): PY,
    (VEC, "first"): OPT_REF,
    (VEC, "last"): OPT_REF,
    (VEC, "get"): OPT_REF,
    (VEC, "iter"): ITER,
}


# ------------------------------------------------------------------------------------------ types


def _type_args(node: Node) -> list[Node]:
    args = node.child_by_field_name("type_arguments")
    if args is None:
        return []
    return [c for c in args.named_children if c.type not in ("lifetime",) + _COMMENTS]


@dataclass
class _Types:
    """Crate-wide facts about names: aliases of `Py`, and whether the crate defines its own `Py`."""

    py_aliases: set[str] = field(default_factory=set)
    own_names: set[str] = field(default_factory=set)  # struct/enum/union/trait names of the crate

    def py_names(self) -> set[str]:
        return (_PY_NAMES - self.own_names) | self.py_aliases

    def kind(self, source: bytes, node: Node | None, receiver: bool = False) -> str:
        """What cloning a value of the type `node` spells involves (see the kind constants).

        `receiver`: the type of a method receiver, where `&Py<T>` auto-derefs to `Py::clone`;
        a struct field of type `&Py<T>` is a copied reference instead.
        """
        if node is None:
            return NONE
        kind = node.type
        if kind == "reference_type":
            inner = node.child_by_field_name("type")
            return self.kind(source, inner, receiver) if receiver else NONE
        if kind in ("type_identifier", "scoped_type_identifier"):
            return PY if last_segment(source, node) in self.py_names() else NONE
        if kind == "generic_type":
            head = node.child_by_field_name("type")
            name = last_segment(source, head) if head is not None else ""
            args = _type_args(node)
            if name in self.py_names():
                return PY
            if name in _OPAQUE:
                return NONE
            first = self.kind(source, args[0]) if args else NONE
            if first == PY and len(args) == 1:
                if name in _PYO3_CELLS:
                    return CELL
                if name in _STD_CELLS:
                    return STD_CELL
                if name == "Option":
                    return OPTION
                if name == "Vec":
                    return VEC
            return NESTED if any(self.kind(source, a) != NONE for a in args) else NONE
        if kind in ("tuple_type", "array_type"):
            return NESTED if any(self.kind(source, c) != NONE for c in node.named_children) else NONE
        return NONE


def _struct_name_of(source: bytes, node: Node | None, self_name: str | None) -> str | None:
    """The struct a value of type `node` gives fields of (`&Self`, `PyRef<'_, Foo>`, `Foo<T>`)."""
    while node is not None:
        kind = node.type
        if kind == "reference_type":
            node = node.child_by_field_name("type")
            continue
        if kind == "generic_type":
            head = node.child_by_field_name("type")
            name = last_segment(source, head) if head is not None else ""
            if name in _DEREF_TO_TARGET:
                args = _type_args(node)
                node = args[0] if args else None
                continue
            return name
        if kind in ("type_identifier", "scoped_type_identifier"):
            name = last_segment(source, node)
            return self_name if name == "Self" else name
        return None
    return None


# ----------------------------------------------------------------------------------- crate survey


@dataclass
class Field:
    name: str  # field name, or its position in a tuple struct
    type_node: Node
    kind: str
    cfgs: list[str]  # `#[cfg(..)]` attributes written on the field


@dataclass
class StructDef:
    path: Path
    source: bytes
    node: Node
    fields: list[Field]


@dataclass
class Site:
    """One place in a file where `Py::clone` is (or may be) used."""

    node: Node
    kind: str  # "derive" (a DeriveSite), "clone" (a CloneSite), "maybe" (a reason, or (field, structs))
    detail: object = None


@dataclass
class FileSurvey:
    source: bytes
    index: FileIndex
    sites: list[Site] = field(default_factory=list)


@dataclass
class Survey:
    """Where `Py::clone` remains, per file (shared by both codemods of this module)."""

    types: _Types
    structs: "_StructDefs"  # by name, looked up on demand
    py_field_names: dict[str, set[str]]  # field name -> structs declaring it Py-ish
    files: dict[Path, FileSurvey] = field(default_factory=dict)

    def field_kind(self, struct: str | None, name: str) -> tuple[str, Node | None, bytes | None] | None:
        """(kind, type node, source) of struct.name when every definition of the struct agrees."""
        defs = self.structs.get(struct or "")
        found = []
        for d in defs:
            match = [f for f in d.fields if f.name == name]
            if match:
                found.append((match[0].kind, match[0].type_node, d.source))
        if not found or len({k for k, _, _ in found}) != 1 or len(found) != len(defs):
            return None
        return found[0]

    def remaining(self, paths: list[Path]) -> list[tuple[Path, Site]]:
        return [(p, s) for p in paths if p in self.files for s in self.files[p].sites]


def attribute_parts(source: bytes, attr_item: Node) -> tuple[str, Node | None]:
    """(`derive`, its token tree) of `#[derive(..)]`."""
    attribute = next((c for c in attr_item.named_children if c.type == "attribute"), None)
    if attribute is None or not attribute.named_children:
        return "", None
    head = attribute.named_children[0]
    tree = next((c for c in attribute.named_children if c.type == "token_tree"), None)
    return rust.text(source, head), tree


def _derive_items(source: bytes, tree: Node) -> list[list[Node]]:
    """The comma-separated items of a derive token tree, as token lists."""
    return [group for group in split_top(tree) if group]


def _is_clone_item(source: bytes, tokens: list[Node]) -> bool:
    written = "".join(rust.text(source, t) for t in tokens)
    return written in ("Clone", "clone::Clone", "std::clone::Clone", "core::clone::Clone", "::std::clone::Clone",
                       "::core::clone::Clone")


def _field_cfgs(source: bytes, node: Node) -> list[str]:
    cfgs = []
    prev = node.prev_named_sibling
    while prev is not None and prev.type in ("attribute_item", "visibility_modifier") + _COMMENTS:
        if prev.type == "attribute_item" and attribute_parts(source, prev)[0] == "cfg":
            cfgs.append(rust.text(source, prev))
        prev = prev.prev_named_sibling
    return list(reversed(cfgs))


def _struct_fields(source: bytes, struct: Node, types: _Types) -> list[Field]:
    body = struct.child_by_field_name("body")
    fields: list[Field] = []
    if body is None:
        return fields
    if body.type == "field_declaration_list":
        for decl in body.named_children:
            if decl.type != "field_declaration":
                continue
            name = decl.child_by_field_name("name")
            type_node = decl.child_by_field_name("type")
            fields.append(
                Field(rust.text(source, name), type_node, types.kind(source, type_node), _field_cfgs(source, decl))
            )
    elif body.type == "ordered_field_declaration_list":
        position = 0
        for child in body.named_children:
            if child.type in ("attribute_item", "visibility_modifier") + _COMMENTS:
                continue
            fields.append(Field(str(position), child, types.kind(source, child), _field_cfgs(source, child)))
            position += 1
    return fields


# What a clone site is spelled with: a file without these has none.
CLONE_WORDS = (b"clone", b"Clone", b"to_owned", b"to_vec")


def _module_items(source: bytes) -> list[Node]:
    """Struct/enum/union/trait/type items outside macros, anywhere in the file (its index has them)."""
    return FileIndex.build(source).items


def _associated(item: Node) -> bool:
    """`type Value = Py<PyAny>;` inside an impl or trait: an associated type, not an alias."""
    return any(a.type in ("impl_item", "trait_item") for a in rust.ancestors(item))


_SURVEYS: dict[tuple, Survey] = rust.run_cache()


def survey(snapshot: Snapshot) -> dict[Path, Survey]:
    """Crate manifest -> the crate's survey of Py types and clone sites (once per set of files and
    bytes). One crate's types and fields say nothing about another's: a field `source: Py<PyAny>`
    in one crate makes no `x.source.clone()` of another crate a `Py` clone."""
    out: dict[Path, Survey] = {}
    for crate in snapshot.project.crates:
        paths = snapshot.rust_files(crate)
        key = tuple((path, snapshot.contents[path]) for path in paths)
        if key not in _SURVEYS:
            _SURVEYS[key] = _survey(snapshot, paths)
        out[crate.manifest] = _SURVEYS[key]
    return out


def _survey(snapshot: Snapshot, paths: list[Path]) -> Survey:
    sources = {path: snapshot.contents[path] for path in paths}
    # Only a file that spells `Py` or `PyObject` as a word (or an alias of them) can define one of
    # its own, an alias of it, or a struct holding one (a type's kind is read off the names written
    # in it): those are read now; other structs when a clone site asks.
    spelling_py = [p for p in paths if not _PY_WORDS.isdisjoint(rust.words(sources[p]))]
    types = _Types()
    for path in spelling_py:
        source = sources[path]
        for item in _module_items(source):
            name = item.child_by_field_name("name")
            if name is not None and item.type != "type_item":
                types.own_names.add(rust.text(source, name))
    holding = spelling_py
    for _ in range(2):  # aliases of aliases
        for path in holding:
            source = sources[path]
            for item in _module_items(source):
                if item.type == "type_item" and not _associated(item):
                    name = item.child_by_field_name("name")
                    if name is not None and types.kind(source, item.child_by_field_name("type")) == PY:
                        types.py_aliases.add(rust.text(source, name))
        words = _PY_WORDS | {a.encode() for a in types.py_aliases}
        holding = [p for p in paths if not words.isdisjoint(rust.words(sources[p]))]
    structs = _StructDefs(paths, sources, types)
    py_field_names: dict[str, set[str]] = {}
    for path in holding:
        source = sources[path]
        for item in _module_items(source):
            if item.type != "struct_item":
                continue
            name = rust.text(source, item.child_by_field_name("name"))
            for f in structs.fields_of(path, source, item):
                if f.kind in PY_ISH and not f.name.isdigit():
                    py_field_names.setdefault(f.name, set()).add(name)
    result = Survey(types, structs, py_field_names)
    py_words = _py_words(types, py_field_names)
    for path in paths:
        source = sources[path]
        if any(word in source for word in CLONE_WORDS) and any(word in source for word in py_words):
            result.files[path] = survey_file(result, source, FileIndex.build(source))
    return result


class _StructDefs:
    """The crate's struct definitions by name, looked up when asked (in the files that spell the
    name and `struct`), each once."""

    def __init__(self, paths: list[Path], sources: dict[Path, bytes], types: "_Types"):
        self._paths, self._sources, self._types = paths, sources, types
        self._by_name: dict[str, list[StructDef]] = {}
        self._fields: dict[tuple[Path, int], list[Field]] = {}

    def fields_of(self, path: Path, source: bytes, item: Node) -> list[Field]:
        key = (path, item.start_byte)
        if key not in self._fields:
            self._fields[key] = _struct_fields(source, item, self._types)
        return self._fields[key]

    def get(self, name: str) -> list[StructDef]:
        if name not in self._by_name:
            word, found = name.encode(), []
            for path in self._paths:
                source = self._sources[path]
                if b"struct" not in source or word not in rust.words(source):
                    continue
                for item in _module_items(source):
                    if item.type == "struct_item" and rust.text(source, item.child_by_field_name("name")) == name:
                        found.append(StructDef(path, source, item, self.fields_of(path, source, item)))
            self._by_name[name] = found
        return self._by_name[name]


def _py_words(types: "_Types", py_field_names: dict[str, set[str]]) -> list[bytes]:
    """What a file with a Py clone site spells: `Py` (the types, PyO3's names), an alias of it, a
    struct that holds one, or `.field` of such a field. A file with none of them is not surveyed."""
    words = {b"Py", *(a.encode() for a in types.py_aliases)}
    words.update(s.encode() for structs in py_field_names.values() for s in structs)
    words.update(b"." + name.encode() for name in py_field_names)
    return sorted(words)


def survey_file(sv: Survey, source: bytes, index: FileIndex) -> FileSurvey:
    out = FileSurvey(source, index)
    for node in _site_nodes(source, index.tree.root_node):
        kind = node.type
        if kind in ("struct_item", "enum_item", "union_item"):
            site = _derive_site(sv, source, node)
            if site is not None:
                out.sites.append(site)
        elif kind == "call_expression":
            site = _clone_site(sv, source, node)
            if site is not None:
                out.sites.append(site)
        elif kind == "scoped_identifier":
            # `Py::clone` / `PyObject::clone` named as a function (`.map(Py::clone)`)
            path = node.child_by_field_name("path")
            name = node.child_by_field_name("name")
            if (
                path is not None
                and name is not None
                and rust.text(source, name) == "clone"
                and last_segment(source, path) in sv.types.py_names()
            ):
                out.sites.append(Site(node, "maybe", f"`{rust.text(source, node)}` named as a function: use a "
                                       "closure calling `.clone_ref(py)`"))
        elif kind == "token_tree" and node.parent is not None and node.parent.type in (
            "macro_invocation",
            "macro_rule",
        ):
            out.sites.extend(_macro_sites(sv, source, node))
    return out


def _site_nodes(source: bytes, root: Node) -> list[Node]:
    """The nodes a clone site can be, in source order, found from where a clone is spelled (no
    walk of the file): items that may derive `Clone`, calls and paths that name a clone method,
    and the token tree of each macro that spells one."""
    found: list[Node] = []
    if b"Clone" in source:
        found += [item for item in _module_items(source) if item.type in ("struct_item", "enum_item", "union_item")]
    for node in rust.spelled(source, root, (*CLONE_WORDS, b"cloned")):
        parent = node.parent
        if node.type == "field_identifier" and parent.type == "field_expression":
            if parent.parent is not None and parent.parent.type == "call_expression":
                found.append(parent.parent)
        elif node.type == "identifier" and parent.type == "scoped_identifier":
            found.append(parent)
        elif parent.type in rust.TOKEN_GROUPS:
            tree = _macro_body(node)
            if tree is not None:
                found.append(tree)
    return rust.in_source_order(found)


def _macro_body(token: Node) -> Node | None:
    """The token tree of the macro invocation or `macro_rules!` arm a token sits in."""
    group = token.parent
    while group is not None and group.type in rust.TOKEN_GROUPS:
        if group.type == "token_tree" and group.parent is not None and group.parent.type in ("macro_invocation",
                                                                                              "macro_rule"):
            return group
        group = group.parent
    return None


# -- derive(Clone)


@dataclass
class DeriveSite:
    struct: Node | None  # the struct (None: not convertible, see problem)
    attribute: Node | None  # the attribute_item holding Clone
    clone_item: list[Node] | None  # its tokens in the derive list
    items: list[list[Node]] | None
    fields: list[Field]
    problem: str | None  # why it stays (a Finding), None when it can be rewritten


def _derive_site(sv: Survey, source: bytes, item: Node) -> Site | None:
    if rust.in_macro(item) is not None:
        return None
    attrs = attributes_before(item)
    derive = None
    cfg_attr_derive = None
    for attr in attrs:
        head, tree = attribute_parts(source, attr)
        if head == "derive" and tree is not None:
            items = _derive_items(source, tree)
            clone = next((i for i in items if _is_clone_item(source, i)), None)
            if clone is not None:
                derive = (attr, clone, items)
        elif head == "cfg_attr" and tree is not None and _derives_clone(source, tree):
            cfg_attr_derive = attr
    if derive is None and cfg_attr_derive is None:
        return None
    name = item.child_by_field_name("name")
    label = rust.text(source, name) if name is not None else "?"
    if item.type != "struct_item":
        if not any(sv.types.kind(source, t) != NONE for t in _variant_types(item)):
            return None
        at = derive[0] if derive else cfg_attr_derive
        return Site(at, "derive", DeriveSite(None, None, None, None, [], f"`derive(Clone)` on `{label}` clones the "
                     "`Py` it holds (needs the `py-clone` feature): write `impl Clone` by hand with `clone_ref(py)`"))
    fields = _struct_fields(source, item, sv.types)
    py_fields = [f for f in fields if f.kind in PY_ISH]
    if not py_fields:
        return None
    if derive is None:
        return Site(cfg_attr_derive, "derive", DeriveSite(None, None, None, None, fields,
                     f"`Clone` derived under `cfg_attr` on `{label}`, which holds `Py` fields (needs the `py-clone` "
                     "feature): write a `#[cfg(..)] impl Clone` by hand with `clone_ref(py)`"))
    attr, clone, items = derive
    problem = None
    nested = [f for f in py_fields if f.kind == NESTED]
    if nested:
        problem = (
            f"`derive(Clone)` on `{label}` clones the `Py` inside `{nested[0].name}: "
            f"{rust.text(source, nested[0].type_node)}` (needs the `py-clone` feature): write `impl Clone` by hand "
            "with `clone_ref(py)`"
        )
    elif item.child_by_field_name("body").type == "ordered_field_declaration_list" and any(f.cfgs for f in fields):
        problem = (
            f"tuple struct `{label}` has `#[cfg]`-gated fields: write its `impl Clone` by hand with `clone_ref(py)`"
        )
    return Site(attr, "derive", DeriveSite(item, attr, clone, items, fields, problem))


def _derives_clone(source: bytes, tree: Node) -> bool:
    """A `derive(.., Clone, ..)` somewhere in a token tree (`cfg_attr(feature = "x", derive(Clone))`)."""
    for node in rust.walk(tree):
        following = node.next_sibling
        if node.type == "identifier" and rust.text(source, node) == "derive" and following is not None:
            if following.type == "token_tree" and any(
                c.type == "identifier" and rust.text(source, c) == "Clone" for c in following.children
            ):
                return True
    return False


def _variant_types(item: Node) -> list[Node]:
    types = []
    for node in rust.walk(item):
        if node.type == "field_declaration":
            t = node.child_by_field_name("type")
            if t is not None:
                types.append(t)
        elif node.type == "ordered_field_declaration_list":
            skip = ("attribute_item", "visibility_modifier") + _COMMENTS
            types.extend(c for c in node.named_children if c.type not in skip)
    return types


# -- x.clone()


@dataclass
class CloneSite:
    receiver: Node
    clone_name: Node  # the `clone` identifier
    args: Node
    kind: str
    token: str | None


def _clone_site(sv: Survey, source: bytes, call: Node) -> Site | None:
    function = call.child_by_field_name("function")
    args = call.child_by_field_name("arguments")
    if function is None or function.type != "field_expression" or args is None:
        return None
    name = function.child_by_field_name("field")
    receiver = function.child_by_field_name("value")
    if name is None or receiver is None:
        return None
    method = rust.text(source, name)
    if method not in ("clone", "cloned", "to_owned", "to_vec"):
        return None
    if [c for c in args.named_children if c.type not in _COMMENTS] or rust.in_macro(call) is not None:
        return None
    kind = _expr_kind(sv, source, receiver)
    if method == "cloned":
        if kind in (OPT_REF, ITER):
            return Site(call, "clone", CloneSite(receiver, name, args, CLONED, python_token(source, call)))
        return None
    if method == "to_vec":
        return Site(call, "clone", CloneSite(receiver, name, args, NESTED, None)) if kind == VEC else None
    if kind in PY_ISH:
        return Site(call, "clone", CloneSite(receiver, name, args, kind, python_token(source, call)))
    if kind is None and method == "clone" and receiver.type == "field_expression":
        fld = receiver.child_by_field_name("field")
        owners = sv.py_field_names.get(rust.text(source, fld)) if fld is not None else None
        if owners:
            return Site(call, "maybe", (rust.text(source, fld), sorted(owners)))
    return None


def _expr_kind(sv: Survey, source: bytes, expr: Node) -> str | None:
    """The kind of a receiver expression, None when the declarations do not say."""
    kind = expr.type
    if kind == "parenthesized_expression" and expr.named_children:
        return _expr_kind(sv, source, expr.named_children[0])
    if kind == "try_expression" and expr.named_children:
        inner = _expr_kind(sv, source, expr.named_children[0])
        return PY if inner == RESULT_REF else None
    if kind == "index_expression" and expr.named_children:
        return PY if _expr_kind(sv, source, expr.named_children[0]) == VEC else None
    if kind == "call_expression":
        function = expr.child_by_field_name("function")
        if function is None or function.type != "field_expression":
            return None
        method = rust.text(source, function.child_by_field_name("field"))
        inner = _expr_kind(sv, source, function.child_by_field_name("value"))
        return _METHOD_RESULTS.get((inner, method))
    typed = _expr_type(sv, source, expr)
    if typed is None:
        return None
    known, type_node, type_source = typed
    if known is not None:
        return known
    return sv.types.kind(type_source, type_node, receiver=True)


def _expr_type(sv: Survey, source: bytes, expr: Node) -> tuple[str | None, Node | None, bytes] | None:
    """(a known kind, or None and the declared type node with its source) of a name or field."""
    kind = expr.type
    if kind == "identifier":
        name = rust.text(source, expr)
        binding = _binding(source, expr, name)
        if binding is None and _unbound_locally(source, expr, name):
            static = _static_type(source, expr, name)
            if static is not None:
                return None, static, source
        if binding is None and _iterated_py(sv, source, expr, name):
            return PY, None, source
        return binding
    if kind == "field_expression":
        value = expr.child_by_field_name("value")
        fld = expr.child_by_field_name("field")
        if value is None or fld is None:
            return None
        struct = _struct_of_expr(sv, source, value)
        found = sv.field_kind(struct, rust.text(source, fld))
        if found is None:
            return None
        return found[0], found[1], found[2]
    return None


# Iterator adapters whose closure takes each item by value: over `&Py` items, `|o| o.clone()` clones a Py.
_ITEM_BY_VALUE = {"map", "for_each", "filter_map", "flat_map", "find_map", "any", "all"}


def _iterated_py(sv: Survey, source: bytes, use: Node, name: str) -> bool:
    """`name` is each `&Py` of an iterator the declarations type: an untyped closure parameter of
    `xs.iter().map(|o| ..)` or the pattern of `for o in xs.iter()`, with no `let` in between."""
    for a in rust.ancestors(use):
        if a.type == "block":
            lets = [c for c in a.named_children if c.type == "let_declaration" and c.end_byte <= use.start_byte]
            if any(name in pattern_names(source, let.child_by_field_name("pattern")) for let in lets):
                return False
        elif a.type == "closure_expression":
            params = closure_params(a)
            if not any(name in pattern_names(source, p) for p in params):
                continue
            if len(params) != 1 or params[0].type != "identifier":
                return False
            call = enclosing_call(a)
            function = call.child_by_field_name("function") if call is not None else None
            if function is None or function.type != "field_expression":
                return False
            method = rust.text(source, function.child_by_field_name("field"))
            return method in _ITEM_BY_VALUE and _expr_kind(sv, source, function.child_by_field_name("value")) == ITER
        elif a.type == "for_expression":
            pattern = a.child_by_field_name("pattern")
            if name not in pattern_names(source, pattern):
                continue
            value = a.child_by_field_name("value")
            return pattern.type == "identifier" and value is not None and _expr_kind(sv, source, value) == ITER
        elif a.type in ("function_item", "impl_item", "source_file"):
            return False
    return False


def _unbound_locally(source: bytes, use: Node, name: str) -> bool:
    """No local binding of `name` anywhere in the enclosing function (a static is meant)."""
    fn = next((a for a in rust.ancestors(use) if a.type == "function_item"), None)
    if fn is None:
        return True
    word = name.encode()
    at = source.find(word, fn.start_byte, fn.end_byte)
    while at != -1:  # a binding spells the name: look only where the function does
        node = fn.descendant_for_byte_range(at, at + len(word))
        if node is not None and (node.start_byte, node.end_byte) == (at, at + len(word)) and _binds(source, node, fn):
            return False
        at = source.find(word, at + len(word), fn.end_byte)
    return True


def _binds(source: bytes, mention: Node, fn: Node) -> bool:
    """Whether a mention of a name is in the pattern of a binding (let, parameter, match arm,
    for, `if let`) inside fn that binds that name."""
    name = rust.text(source, mention)
    for a in rust.ancestors(mention):
        if a.type in _BINDING_KINDS:
            pattern = a.child_by_field_name("pattern") if a.type != "closure_parameters" else a
            if (pattern is not None and pattern.start_byte <= mention.start_byte
                    and mention.end_byte <= pattern.end_byte and name in pattern_names(source, pattern)):
                return True
        if a.id == fn.id:
            return False
    return False


_BINDING_KINDS = ("let_declaration", "parameter", "closure_parameters", "match_arm", "for_expression", "let_condition")


def _static_type(source: bytes, use: Node, name: str) -> Node | None:
    """The type of a `static`/`const` named `name` in the module of `use` (or the block it is in)."""
    for scope in rust.ancestors(use):
        if scope.type in ("block", "declaration_list", "source_file"):
            for item in scope.named_children:
                if item.type in ("static_item", "const_item"):
                    item_name = item.child_by_field_name("name")
                    if item_name is not None and rust.text(source, item_name) == name:
                        return item.child_by_field_name("type")
            if rust.is_module_scope(scope):
                return None
    return None


def _impl_self_name(source: bytes, node: Node) -> str | None:
    for a in rust.ancestors(node):
        if a.type == "impl_item":
            return _struct_name_of(source, a.child_by_field_name("type"), None)
    return None


def _struct_of_expr(sv: Survey, source: bytes, value: Node) -> str | None:
    if value.type == "self":
        fn = next((a for a in rust.ancestors(value) if a.type == "function_item"), None)
        if fn is None:
            return None
        params = fn.child_by_field_name("parameters")
        if params is None or not any(c.type == "self_parameter" for c in params.named_children):
            return None
        return _impl_self_name(source, fn)
    if value.type == "identifier":
        binding = _binding(source, value, rust.text(source, value), want_node=True)
        if binding is None:
            return None
        _, type_node, type_source = binding
        return _struct_name_of(type_source, type_node, _impl_self_name(source, value))
    if value.type == "field_expression":
        struct = _struct_of_expr(sv, source, value.child_by_field_name("value"))
        fld = value.child_by_field_name("field")
        found = sv.field_kind(struct, rust.text(source, fld)) if fld is not None else None
        if found is None or found[0] != NONE:
            return None
        return _struct_name_of(found[2], found[1], struct)
    return None


def _binding(source: bytes, use: Node, name: str, want_node: bool = False):
    """(known kind or None, declared type node, source) of the nearest binding of `name`.

    None when the nearest binding has no type the declarations give (or none is found).
    """
    prev = use
    for a in rust.ancestors(use):
        kind = a.type
        if kind == "block":
            lets = [c for c in a.named_children if c.type == "let_declaration" and c.end_byte <= use.start_byte]
            for let in reversed(lets):
                pattern = let.child_by_field_name("pattern")
                if name not in pattern_names(source, pattern):
                    continue
                if simple_name(pattern) is None:
                    return None
                annotation = let.child_by_field_name("type")
                if annotation is not None:
                    return None, annotation, source
                if not want_node and _untyped_py(source, let.child_by_field_name("value")):
                    return PY, None, source
                return None
        elif kind == "closure_expression":
            for param in closure_params(a):
                if param.type == "parameter":
                    pattern = param.child_by_field_name("pattern")
                    if name in pattern_names(source, pattern):
                        if simple_name(pattern) is None:
                            return None
                        return None, param.child_by_field_name("type"), source
                elif name in pattern_names(source, param):
                    return None
        elif kind == "function_item":
            params = a.child_by_field_name("parameters")
            for param in params.named_children if params is not None else []:
                if param.type == "parameter":
                    pattern = param.child_by_field_name("pattern")
                    if name in pattern_names(source, pattern):
                        if simple_name(pattern) is None:
                            return None
                        return None, param.child_by_field_name("type"), source
            return None
        elif kind == "match_arm":
            if name in pattern_names(source, a.child_by_field_name("pattern")):
                return None
        elif kind == "for_expression":
            if prev.id == a.child_by_field_name("body").id and name in pattern_names(
                source, a.child_by_field_name("pattern")
            ):
                return None
        elif kind in ("if_expression", "while_expression"):
            condition = a.child_by_field_name("condition")
            if condition is not None and prev.id != condition.id:
                for let in [d for d in rust.walk(condition) if d.type == "let_condition"]:
                    if name in pattern_names(source, let.child_by_field_name("pattern")):
                        return None
        elif kind in ("impl_item", "trait_item", "mod_item", "source_file"):
            return None
        prev = a
    return None


def _untyped_py(source: bytes, value: Node | None) -> bool:
    """`y.unbind()`, `y.clone_ref(py)` (with `?`/`.unwrap()`/`.expect(..)` after it): a Py for sure."""
    while value is not None:
        if value.type == "try_expression" and value.named_children:
            value = value.named_children[0]
            continue
        if value.type != "call_expression":
            return False
        function = value.child_by_field_name("function")
        if function is None or function.type != "field_expression":
            return False
        method = rust.text(source, function.child_by_field_name("field"))
        if method in ("unwrap", "expect"):
            value = function.child_by_field_name("value")
            continue
        return method in _TOKEN_METHODS
    return False


# -- the Python token in scope


# -- macros


def _tokens(tree: Node) -> list[Node]:
    """The leaves of a token tree in order (a string literal is one token)."""
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        if node.child_count == 0 or node.type in ("string_literal", "raw_string_literal", "char_literal"):
            out.append(node)
        else:
            stack.extend(reversed(node.children))
    return out


def _macro_sites(sv: Survey, source: bytes, tree: Node) -> list[Site]:
    tokens = _tokens(tree)
    texts = [rust.text(source, t) for t in tokens]
    sites = []
    py_names = sv.types.py_names()
    if "derive" in texts and "Clone" in texts and any(t in py_names for t in texts):
        sites.append(Site(tree, "maybe", "a macro derives `Clone` next to a `Py` type (macros are not rewritten): "
                           "if the type holds a `Py`, write its `impl Clone` by hand with `clone_ref(py)`"))
    for i, t in enumerate(texts[:-4]):
        if texts[i + 1 : i + 5] != [".", "clone", "(", ")"] or tokens[i].type not in ("identifier", "self"):
            continue
        after_dot = i > 0 and texts[i - 1] == "."
        kind = None
        if not after_dot and tokens[i].type == "identifier":
            binding = _binding(source, tokens[i], t)
            if binding is not None:
                kind = binding[0] or sv.types.kind(binding[2], binding[1], receiver=True)
        elif after_dot and i > 1 and tokens[i - 2].type == "self" and (i < 3 or texts[i - 3] != "."):
            found = sv.field_kind(_struct_of_expr(sv, source, tokens[i - 2]), t)
            kind = found[0] if found is not None else None
        written = "".join(texts[i - 2 : i + 5] if after_dot and i > 1 else texts[i : i + 5])
        if kind in PY_ISH:
            sites.append(Site(tokens[i], "maybe", f"`{written}` inside a macro clones a `Py` (macro arguments are "
                               "not rewritten): use `.clone_ref(py)`"))
        elif kind is None and after_dot and t in sv.py_field_names:
            sites.append(Site(tokens[i], "maybe", (t, sorted(sv.py_field_names[t]))))
    return sites
