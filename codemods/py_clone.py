"""py-clone: stop relying on `Clone for Py<T>` (PyO3's `py-clone` feature); clone with `clone_ref(py)`.

What it does
    Since PyO3 0.22, `impl Clone for Py<T>` exists only with the `py-clone` cargo feature, and it
    panics when called while the thread is not attached to the interpreter. Two shapes move off it:

    - `#[derive(Clone)]` on a struct (or `#[pyclass]`) holding `Py<_>`/`PyObject` fields, an
      `Option<Py<_>>`/`Vec<Py<_>>`, a `GILOnceCell<Py<_>>`/`PyOnceLock<Py<_>>` cache or a std
      `OnceLock<Py<_>>`/`OnceCell<Py<_>>` cache: `Clone` leaves the derive list (the whole
      `#[derive()]` goes when it empties) and a hand-written `impl Clone` follows the struct. It
      attaches (`Python::attach` for targets >= 0.26, `Python::with_gil` below), `clone_ref(py)`s
      each `Py` and PyO3 cell field, clones the content of std cells, `Option`s and `Vec`s with
      `clone_ref(py)`, copies primitives and shared references, and `.clone()`s every other
      field. `#[cfg(..)]` attributes of fields move
      to their initialisers (and those of the struct to the impl); generics, lifetimes and the
      `where` clause carry over, with the `T: Clone` bounds `derive` would have added. Tuple
      structs get `Self(self.0.clone_ref(py), self.1.clone())`.
    - `x.clone()` where the declarations say `x` is a `Py<_>`/`PyObject` (a parameter, a typed
      local, a closure parameter, `self.field`, `other.field` of a known struct; `&Py<_>` too, and
      each item of a declared `Vec<Py<_>>` in `xs.iter().map(|x| ..)` (also `for_each`, `any`,
      `all`, `filter_map`, `flat_map`, `find_map`) or `for x in xs.iter()`):
      it becomes `x.clone_ref(py)` when a `Python` token is in scope: a `py: Python<'_>`
      parameter, the parameter of a `Python::with_gil(|py| ..)`/`Python::attach(|py| ..)`
      closure, a `let py = obj.py();`, or else `slf.py()` for a `Bound`/`Borrowed`/`PyRef`/
      `PyRefMut` parameter `slf`. An `Option<Py<_>>` becomes `x.as_ref().map(|v| v.clone_ref(py))`,
      a `Vec<Py<_>>` `x.iter().map(|v| v.clone_ref(py)).collect::<Vec<_>>()`, and `.cloned()` of
      an `Option<&Py<_>>` (`cell.get(py)`, `vec.first()`) or of `vec.iter()` becomes
      `.map(|v| v.clone_ref(py))`. `.to_owned()` of a `Py` is a clone too.

    A companion codemod, `py-clone-feature`, then drops the feature from the manifests once no
    `Py::clone` is left in the project.

Example
    #[pyclass]                                #[pyclass]
    #[derive(Clone)]                          struct Point {
    struct Point {                                label: Py<PyAny>,
        label: Py<PyAny>,             ->          x: f64,
        x: f64,                               }
    }
                                              impl Clone for Point {
    fn label(&self, py: Python<'_>)               fn clone(&self) -> Self {
        -> Py<PyAny> {                                Python::attach(|py| Self {
        self.label.clone()                                label: self.label.clone_ref(py),
    }                                                     x: self.x,
                                                      })
                                                  }
                                              }

                                              fn label(&self, py: Python<'_>) -> Py<PyAny> {
                                                  self.label.clone_ref(py)
                                              }

What it will not do
    - A `.clone()` whose receiver's type the declarations do not give (`points.first().unwrap()
      .label.clone()`, an untyped `let`, a `for` binding) is left alone; when it names a field
      that some struct of the crate declares as `Py<_>` it is reported, and counts as a remaining
      `Py::clone` (the feature stays).
    - A `Py` clone with no `Python` token in scope is reported, not rewritten (a method of
      `#[pymethods]` can take a `py: Python<'_>` parameter without changing its Python signature).
      No token is borrowed across a `detach`/`allow_threads`/`spawn` closure.
    - `Arc<Py<_>>`, `Rc<Py<_>>` and references to `Py` are not `Py` clones: untouched.
    - A derive over other containers of `Py` (`HashMap<_, Py<_>>`, tuples, arrays, `Box<Py<_>>`),
      a tuple struct with `#[cfg]`-gated fields, `derive(Clone)` on an enum, inside
      `cfg_attr(..)` or inside a macro: reported, not rewritten. A hand-written `impl Clone` is
      never replaced (one that leaves a cache empty on purpose stays so).
    - A crate that defines a type of its own named `Py` or `PyObject` is not trusted with those
      names anywhere: nothing is rewritten for them.
    - Mentions inside macro invocations are token trees: a `name.clone()` there whose `name` is
      declared `Py` somewhere is reported, never edited.

Fix safety
    The derive replacement is unsafe (applied with `--unsafe`, listed otherwise): a change in
    behaviour, cloning such a struct now attaches to the interpreter (and may block while
    another thread holds the GIL on GIL-enabled builds) where it used to panic when detached.
    The `.clone()` -> `.clone_ref(py)` rewrite is safe: with a token in scope the thread is
    attached, and both increment the reference count at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from tree_sitter import Node

from migrate.analysis import features, rust
from migrate.analysis.attributes import attributes_before, split_top
from migrate.analysis.names import glob_provides
from migrate.analysis.rust import FileIndex
from migrate.analysis.tokens import (
    closure_params,
    enclosing_call,
    last_segment,
    pattern_names,
    python_token,
    simple_name,
)
from migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from migrate.core.model import Edit, Safety, minimal_edit
from migrate.core.project import Crate
from migrate.core.version import V0_22_3, V0_26, Version

V0_22 = Version(0, 22)

INFO = CodemodInfo(
    id="py-clone",
    summary="derive(Clone) over Py fields -> impl Clone with clone_ref(py); Py .clone() -> .clone_ref(py)",
    language="rust",
    safety=Safety.UNSAFE,
    min_target=V0_22,
    max_target=None,
    guide=f"{GUIDE}#pyclone-is-now-gated-behind-the-py-clone-feature",
    docs=__doc__.strip(),
    triggers=("clone", "Clone", "to_owned", "to_vec"),
)

_COMMENTS = ("line_comment", "block_comment")
_PY_NAMES = {"Py", "PyObject"}
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
class _Field:
    name: str  # field name, or its position in a tuple struct
    type_node: Node
    kind: str
    cfgs: list[str]  # `#[cfg(..)]` attributes written on the field


@dataclass
class _StructDef:
    path: Path
    source: bytes
    node: Node
    fields: list[_Field]


@dataclass
class _Site:
    """One place in a file where `Py::clone` is (or may be) used."""

    node: Node
    kind: str  # "derive" (a _Derive), "clone" (a _Clone), "maybe" (a reason, or (field, structs))
    detail: object = None


@dataclass
class _FileSurvey:
    source: bytes
    index: FileIndex
    sites: list[_Site] = field(default_factory=list)


@dataclass
class Survey:
    """Where `Py::clone` remains, per file (shared by both codemods of this module)."""

    types: _Types
    structs: dict[str, list[_StructDef]]
    py_field_names: dict[str, set[str]]  # field name -> structs declaring it Py-ish
    files: dict[Path, _FileSurvey] = field(default_factory=dict)

    def field_kind(self, struct: str | None, name: str) -> tuple[str, Node | None, bytes | None] | None:
        """(kind, type node, source) of struct.name when every definition of the struct agrees."""
        defs = self.structs.get(struct or "", [])
        found = []
        for d in defs:
            match = [f for f in d.fields if f.name == name]
            if match:
                found.append((match[0].kind, match[0].type_node, d.source))
        if not found or len({k for k, _, _ in found}) != 1 or len(found) != len(defs):
            return None
        return found[0]

    def remaining(self, paths: list[Path]) -> list[tuple[Path, _Site]]:
        return [(p, s) for p in paths if p in self.files for s in self.files[p].sites]


def _attribute_parts(source: bytes, attr_item: Node) -> tuple[str, Node | None]:
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
        if prev.type == "attribute_item" and _attribute_parts(source, prev)[0] == "cfg":
            cfgs.append(rust.text(source, prev))
        prev = prev.prev_named_sibling
    return list(reversed(cfgs))


def _struct_fields(source: bytes, struct: Node, types: _Types) -> list[_Field]:
    body = struct.child_by_field_name("body")
    fields: list[_Field] = []
    if body is None:
        return fields
    if body.type == "field_declaration_list":
        for decl in body.named_children:
            if decl.type != "field_declaration":
                continue
            name = decl.child_by_field_name("name")
            type_node = decl.child_by_field_name("type")
            fields.append(
                _Field(rust.text(source, name), type_node, types.kind(source, type_node), _field_cfgs(source, decl))
            )
    elif body.type == "ordered_field_declaration_list":
        position = 0
        for child in body.named_children:
            if child.type in ("attribute_item", "visibility_modifier") + _COMMENTS:
                continue
            fields.append(_Field(str(position), child, types.kind(source, child), _field_cfgs(source, child)))
            position += 1
    return fields


_ITEM_KINDS = ("struct_item", "enum_item", "union_item", "trait_item", "type_item")
_SITE_KINDS = ("struct_item", "enum_item", "union_item", "call_expression", "scoped_identifier", "token_tree")
# What a clone site is spelled with: a file without these has none.
_CLONE_WORDS = (b"clone", b"Clone", b"to_owned", b"to_vec")


_ITEMS: dict[Node, list[Node]] = rust.run_cache()


def _module_items(root: Node) -> list[Node]:
    """Struct/enum/type items outside macros, anywhere in the file (looked up once per tree)."""
    if root not in _ITEMS:
        _ITEMS[root] = rust.nodes_of_kinds(root, _ITEM_KINDS)
    return _ITEMS[root]


_SURVEYS: dict[tuple, Survey] = rust.run_cache()


def survey(snapshot: Snapshot) -> Survey:
    """The crate-wide survey of Py types and clone sites (once per set of files and bytes)."""
    paths = snapshot.rust_files()
    key = tuple((path, snapshot.contents[path]) for path in paths)
    if key not in _SURVEYS:
        _SURVEYS[key] = _survey(snapshot, paths)
    return _SURVEYS[key]


def _survey(snapshot: Snapshot, paths: list[Path]) -> Survey:
    types = _Types()
    parsed = {p: rust.parse(snapshot.contents[p]) for p in paths}
    for path in paths:  # names first: the crate's own types, then aliases of Py
        source = snapshot.contents[path]
        for item in _module_items(parsed[path].root_node):
            name = item.child_by_field_name("name")
            if name is not None and item.type != "type_item":
                types.own_names.add(rust.text(source, name))
    for _ in range(2):  # aliases of aliases
        for path in paths:
            source = snapshot.contents[path]
            for item in _module_items(parsed[path].root_node):
                if item.type == "type_item":
                    name = item.child_by_field_name("name")
                    if name is not None and types.kind(source, item.child_by_field_name("type")) == PY:
                        types.py_aliases.add(rust.text(source, name))
    structs: dict[str, list[_StructDef]] = {}
    py_field_names: dict[str, set[str]] = {}
    for path in paths:
        source = snapshot.contents[path]
        for item in _module_items(parsed[path].root_node):
            if item.type != "struct_item":
                continue
            name = rust.text(source, item.child_by_field_name("name"))
            fields = _struct_fields(source, item, types)
            structs.setdefault(name, []).append(_StructDef(path, source, item, fields))
            for f in fields:
                if f.kind in PY_ISH and not f.name.isdigit():
                    py_field_names.setdefault(f.name, set()).add(name)
    result = Survey(types, structs, py_field_names)
    for path in paths:
        source = snapshot.contents[path]
        if any(word in source for word in _CLONE_WORDS):
            result.files[path] = _survey_file(result, source, FileIndex.build(source, parsed[path]))
    return result


def _survey_file(sv: Survey, source: bytes, index: FileIndex) -> _FileSurvey:
    out = _FileSurvey(source, index)
    for node in rust.nodes_of_kinds(index.tree.root_node, _SITE_KINDS):
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
                out.sites.append(_Site(node, "maybe", f"`{rust.text(source, node)}` named as a function: use a "
                                       "closure calling `.clone_ref(py)`"))
        elif kind == "token_tree" and node.parent is not None and node.parent.type in (
            "macro_invocation",
            "macro_rule",
        ):
            out.sites.extend(_macro_sites(sv, source, node))
    return out


# -- derive(Clone)


@dataclass
class _Derive:
    struct: Node | None  # the struct (None: not convertible, see problem)
    attribute: Node | None  # the attribute_item holding Clone
    clone_item: list[Node] | None  # its tokens in the derive list
    items: list[list[Node]] | None
    fields: list[_Field]
    problem: str | None  # why it stays (a Finding), None when it can be rewritten


def _derive_site(sv: Survey, source: bytes, item: Node) -> _Site | None:
    if rust.in_macro(item) is not None:
        return None
    attrs = attributes_before(item)
    derive = None
    cfg_attr_derive = None
    for attr in attrs:
        head, tree = _attribute_parts(source, attr)
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
        return _Site(at, "derive", _Derive(None, None, None, None, [], f"`derive(Clone)` on `{label}` clones the "
                     "`Py` it holds (needs the `py-clone` feature): write `impl Clone` by hand with `clone_ref(py)`"))
    fields = _struct_fields(source, item, sv.types)
    py_fields = [f for f in fields if f.kind in PY_ISH]
    if not py_fields:
        return None
    if derive is None:
        return _Site(cfg_attr_derive, "derive", _Derive(None, None, None, None, fields,
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
    return _Site(attr, "derive", _Derive(item, attr, clone, items, fields, problem))


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
class _Clone:
    receiver: Node
    clone_name: Node  # the `clone` identifier
    args: Node
    kind: str
    token: str | None


def _clone_site(sv: Survey, source: bytes, call: Node) -> _Site | None:
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
            return _Site(call, "clone", _Clone(receiver, name, args, CLONED, python_token(source, call)))
        return None
    if method == "to_vec":
        return _Site(call, "clone", _Clone(receiver, name, args, NESTED, None)) if kind == VEC else None
    if kind in PY_ISH:
        return _Site(call, "clone", _Clone(receiver, name, args, kind, python_token(source, call)))
    if kind is None and method == "clone" and receiver.type == "field_expression":
        fld = receiver.child_by_field_name("field")
        owners = sv.py_field_names.get(rust.text(source, fld)) if fld is not None else None
        if owners:
            return _Site(call, "maybe", (rust.text(source, fld), sorted(owners)))
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
    for node in rust.walk(fn):
        if node.type in ("let_declaration", "parameter", "closure_parameters", "match_arm", "for_expression",
                         "let_condition"):
            pattern = node.child_by_field_name("pattern") if node.type != "closure_parameters" else node
            if name in pattern_names(source, pattern):
                return False
    return True


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


def _macro_sites(sv: Survey, source: bytes, tree: Node) -> list[_Site]:
    tokens = _tokens(tree)
    texts = [rust.text(source, t) for t in tokens]
    sites = []
    py_names = sv.types.py_names()
    if "derive" in texts and "Clone" in texts and any(t in py_names for t in texts):
        sites.append(_Site(tree, "maybe", "a macro derives `Clone` next to a `Py` type (macros are not rewritten): "
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
            sites.append(_Site(tokens[i], "maybe", f"`{written}` inside a macro clones a `Py` (macro arguments are "
                               "not rewritten): use `.clone_ref(py)`"))
        elif kind is None and after_dot and t in sv.py_field_names:
            sites.append(_Site(tokens[i], "maybe", (t, sorted(sv.py_field_names[t]))))
    return sites


# ----------------------------------------------------------------------------------------- fixes


def _remove_derive_item(source: bytes, d: _Derive) -> Edit:
    items = d.items
    if len(items) == 1:
        start, end = rust.whole_lines(source, d.attribute.start_byte, d.attribute.end_byte)
        if (start, end) == (d.attribute.start_byte, d.attribute.end_byte):
            # shares its line: the spaces after it go too (`#[derive(Clone)] pub struct` -> `pub struct`,
            # `#[derive(Clone)] // why` -> `// why`)
            end = len(source) - len(source[end:].lstrip(b" \t"))
        return Edit(start, end, b"")
    own_line = _own_line(source, d.clone_item)
    if own_line is not None:  # `Clone, // why` alone on its line: the line goes, its comment with it
        return Edit(own_line[0], own_line[1], b"")
    index = next(i for i, item in enumerate(items) if item is d.clone_item)
    first, last = d.clone_item[0], d.clone_item[-1]
    if index + 1 < len(items):  # `Clone, Debug` -> `Debug`
        return Edit(first.start_byte, items[index + 1][0].start_byte, b"")
    # the last item: from the end of the previous one (`Debug, Clone` -> `Debug`; a trailing comma stays)
    return Edit(items[index - 1][-1].end_byte, last.end_byte, b"")


def _own_line(source: bytes, tokens: list[Node]) -> tuple[int, int] | None:
    """The whole line of a derive item written alone on it (with its comma and comments), else None."""
    start = rust.line_start(source, tokens[0].start_byte)
    line_end = source.find(b"\n", tokens[-1].end_byte)
    if line_end == -1 or source[start : tokens[0].start_byte].strip():
        return None
    end = tokens[-1].end_byte
    node = tokens[-1].next_sibling
    while node is not None and node.start_byte < line_end:
        if node.type != "," and node.type not in _COMMENTS:
            return None  # another item (or the closing parenthesis) shares the line
        end = max(end, node.end_byte)
        node = node.next_sibling
    if end <= line_end and source[end:line_end].strip():
        return None
    return start, max(end, line_end + 1)


def _has_clone_bound(source: bytes, bounds: Node | None) -> bool:
    return bounds is not None and any(
        c.type in ("type_identifier", "scoped_type_identifier") and last_segment(source, c) == "Clone"
        for c in bounds.named_children
    )


def _impl_generics(source: bytes, struct: Node) -> tuple[str, str]:
    """(`<'a, T: Bound + Clone>`, `<'a, T>`) for the impl of a struct's generics."""
    params = struct.child_by_field_name("type_parameters")
    if params is None:
        return "", ""
    declared, used = [], []
    for p in params.named_children:
        if p.type in ("lifetime_parameter", "lifetime"):
            declared.append(rust.text(source, p))
            name = p.child_by_field_name("name") if p.type == "lifetime_parameter" else p
            used.append(rust.text(source, name if name is not None else p))
        elif p.type == "type_parameter":
            name = rust.text(source, p.child_by_field_name("name"))
            bounds = p.child_by_field_name("bounds")
            written = rust.text(source, bounds).lstrip(":").strip() if bounds is not None else ""
            if _has_clone_bound(source, bounds):
                declared.append(f"{name}: {written}")
            else:
                declared.append(f"{name}: {written} + Clone" if written else f"{name}: Clone")
            used.append(name)
        elif p.type == "const_parameter":
            name = rust.text(source, p.child_by_field_name("name"))
            declared.append(f"const {name}: {rust.text(source, p.child_by_field_name('type'))}")
            used.append(name)
        elif p.type not in _COMMENTS:
            raise ValueError(f"generic parameter {p.type}")
    return f"<{', '.join(declared)}>", f"<{', '.join(used)}>"


def _initialiser(f: _Field, attach_token: str) -> str:
    this = f"self.{f.name}"
    py = attach_token
    if f.kind in (PY, CELL):
        return f"{this}.clone_ref({py})"
    if f.kind == STD_CELL:
        return f"{this}.get().map(|v| v.clone_ref({py}).into()).unwrap_or_default()"
    if f.kind == OPTION:
        return f"{this}.as_ref().map(|v| v.clone_ref({py}))"
    if f.kind == VEC:
        return f"{this}.iter().map(|v| v.clone_ref({py})).collect()"
    if f.type_node.type == "primitive_type" or (
        f.type_node.type == "reference_type" and not any(c.type == "mutable_specifier" for c in f.type_node.children)
    ):
        return this  # a shared reference or a primitive: a copy (what its `clone` does)
    return f"{this}.clone()"


def _derive_fix(ctx: Context, sv: Survey, fs: _FileSurvey, d: _Derive) -> None:
    source = ctx.source
    struct = d.struct
    name = rust.text(source, struct.child_by_field_name("name"))
    if ctx.target < V0_22_3 and any(f.kind == CELL for f in d.fields):
        ctx.finding(d.attribute, f"`derive(Clone)` on `{name}`: cell `clone_ref` needs PyO3 >= 0.22.3")
        return
    try:
        generics, args = _impl_generics(source, struct)
    except ValueError:
        ctx.finding(d.attribute, f"`derive(Clone)` on `{name}` over `Py` fields: generics not understood, port by hand")
        return
    eol = rust.line_ending(source).decode()
    indent = rust.indent_at(source, struct.start_byte).decode()
    body = struct.child_by_field_name("body")
    unit = "    "
    first_field = next((c for c in body.named_children if c.type == "field_declaration"), None) if body else None
    if first_field is not None and b"\n" in source[body.start_byte : first_field.start_byte]:
        field_indent = rust.indent_at(source, first_field.start_byte).decode()
        if field_indent.startswith(indent) and len(field_indent) > len(indent):
            unit = field_indent[len(indent):]
    python = _python_path(fs.index, struct)
    attach = "attach" if ctx.target >= V0_26 else "with_gil"
    i1, i2, i3 = indent + unit, indent + unit * 2, indent + unit * 3
    lines = [f"{indent}{cfg}" for cfg in _struct_cfgs(source, struct)]
    where = struct.child_by_field_name("where_clause") or next(
        (c for c in struct.named_children if c.type == "where_clause"), None
    )
    head = f"{indent}impl{generics} Clone for {name}{args}"
    if where is None:
        lines.append(head + " {")
    else:
        written = rust.text(source, where).rstrip()
        if "\n" in written:
            lines += [head, f"{indent}{eol.join(written.splitlines())}", f"{indent}{{"]
        else:
            lines.append(f"{head} {written} {{")
    # a token only cfg-gated fields use would be unused in some builds: `_py` then
    py = "_py" if all(f.cfgs for f in d.fields if f.kind in PY_ISH) else "py"
    lines.append(f"{i1}fn clone(&self) -> Self {{")
    if body.type == "field_declaration_list":
        lines.append(f"{i2}{python}::{attach}(|{py}| Self {{")
        for f in d.fields:
            lines += [f"{i3}{cfg}" for cfg in f.cfgs]
            lines.append(f"{i3}{f.name}: {_initialiser(f, py)},")
        lines.append(f"{i2}}})")
    else:
        values = ", ".join(_initialiser(f, py) for f in d.fields)
        one_line = f"{i2}{python}::{attach}(|{py}| Self({values}))"
        if len(one_line) <= 100:
            lines.append(one_line)
        else:
            lines.append(f"{i2}{python}::{attach}(|{py}| {{")
            lines.append(f"{i3}Self(")
            lines += [f"{i3}{unit}{_initialiser(f, py)}," for f in d.fields]
            lines.append(f"{i3})")
            lines.append(f"{i2}}})")
    lines += [f"{i1}}}", f"{indent}}}"]
    impl = eol.join(lines)
    line_end = source.find(b"\n", struct.end_byte)
    rest = source[struct.end_byte : line_end if line_end != -1 else len(source)].strip()
    if (not rest or rest.startswith((b"//", b"/*"))) and line_end != -1:
        insert = Edit(line_end + 1, line_end + 1, (eol + impl + eol).encode())
    elif not rest or rest.startswith((b"//", b"/*")):  # the last line of a file without a final newline
        insert = Edit(len(source), len(source), (eol + eol + impl).encode())
    else:
        insert = Edit(struct.end_byte, struct.end_byte, (eol + eol + impl).encode())
    verb = "attaches" if attach == "attach" else "takes the GIL"
    ctx.fix(
        f"`derive(Clone)` on `{name}` over `Py` fields -> `impl Clone` that {verb} and uses `clone_ref(py)`",
        [_remove_derive_item(source, d), insert],
        Safety.UNSAFE,
    )


def _struct_cfgs(source: bytes, struct: Node) -> list[str]:
    return [rust.text(source, a) for a in attributes_before(struct) if _attribute_parts(source, a)[0] == "cfg"]


def _python_path(index: FileIndex, node: Node) -> str:
    resolved = index.resolve(node, "Python", glob_provides)
    if resolved is not None and resolved[0] in ("pyo3", "::pyo3") and resolved[-1] == "Python":
        return "Python"
    return "pyo3::Python"


def _clone_fix(ctx: Context, c: _Clone, call: Node) -> None:
    source = ctx.source
    written = f"{ctx.text(c.receiver)}.{ctx.text(c.clone_name)}()"
    if c.kind in (STD_CELL, NESTED, CELL) or c.token is None:
        what = {
            PY: "a `Py`",
            OPTION: "the `Py` in an `Option`",
            VEC: "the `Py`s of a `Vec`",
            CLONED: "`Py`s",
        }.get(c.kind, "the `Py`s inside it")
        hint = ""
        if c.kind in (PY, OPTION, VEC, CLONED):
            hint = " with a `Python` token (none is usable here"
            if _in_pymethods(source, call):
                hint += "; a `py: Python<'_>` parameter does not change the Python signature"
            hint += ")"
        ctx.finding(
            call,
            f"`{written}` clones {what} (needs PyO3's `py-clone` feature, panics when detached): "
            f"clone with `clone_ref(py)`{hint}",
        )
        return
    token = c.token
    taken = token.split(".")[0]  # `py`, or the `slf` of `slf.py()`
    var = next(v for v in ("v", "o", "item", "obj") if v != taken)
    if c.kind == PY:
        new = f"clone_ref({token})"
    elif c.kind == OPTION:
        new = f"as_ref().map(|{var}| {var}.clone_ref({token}))"
    elif c.kind == CLONED:
        new = f"map(|{var}| {var}.clone_ref({token}))"
    else:
        new = f"iter().map(|{var}| {var}.clone_ref({token})).collect::<Vec<_>>()"
    ctx.fix(
        f"`{written}` -> `{ctx.text(c.receiver)}.{new}`",
        [Edit(c.clone_name.start_byte, c.args.end_byte, new.encode())],
        Safety.SAFE,
    )


def _in_pymethods(source: bytes, node: Node) -> bool:
    for a in rust.ancestors(node):
        if a.type == "impl_item":
            return any("pymethods" in rust.text(source, attr) for attr in attributes_before(a))
    return False


def _maybe_finding(ctx: Context, site: _Site) -> None:
    detail = site.detail
    if isinstance(detail, tuple):
        name, owners = detail
        structs = ", ".join(f"`{o}`" for o in owners)
        ctx.finding(
            site.node,
            f"this `.clone()` may clone a `Py` (`{name}` is a `Py` field of {structs}; the receiver's type is not "
            "declared here): if it does, use `.clone_ref(py)` (the `py-clone` feature stays while it is there)",
        )
    else:
        ctx.finding(site.node, f"{detail} (the `py-clone` feature stays while it is there)")


class PyCloneCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Survey:
        return survey(snapshot)

    def transform(self, ctx: Context) -> None:
        sv: Survey = ctx.facts
        fs = sv.files.get(ctx.path)
        if fs is None:
            return
        if fs.source != ctx.source:  # changed since the scan: look again
            fs = _survey_file(sv, ctx.source, FileIndex.build(ctx.source))
        for site in fs.sites:
            if site.kind == "derive":
                d: _Derive = site.detail
                if d.problem is not None:
                    ctx.finding(site.node, d.problem)
                else:
                    _derive_fix(ctx, sv, fs, d)
            elif site.kind == "clone":
                _clone_fix(ctx, site.detail, site.node)
            else:
                _maybe_finding(ctx, site)


CODEMOD = PyCloneCodemod()


# ------------------------------------------------------------------------------ the cargo feature


class PyCloneFeatureCodemod(Codemod):
    """py-clone-feature: drop PyO3's `py-clone` cargo feature once no `Py::clone` is left.

    What it does
        When no Rust file of the project still clones a `Py` (no `derive(Clone)` over `Py`
        fields, no `.clone()` of a value declared `Py<_>`, none of the places `py-clone` reports
        as "may clone a `Py`"), the `py-clone` feature goes from the `pyo3` dependency's
        `features` (`[dependencies]`, `[dev-dependencies]`, `[build-dependencies]`,
        `[target.*.dependencies]`, `[workspace.dependencies]`), from `[features]` entries
        (`foo = ["pyo3/py-clone"]` becomes `foo = []`: the crate's own feature stays), and from
        `[tool.maturin] features` in `pyproject.toml` (`"pyo3/py-clone"`). The decision is taken
        for the whole project at once, since Cargo unifies features across a build: one crate's
        `py-clone` may be what lets another one compile. tomlkit keeps the formatting and
        comments. It runs after `py-clone`, so with `--unsafe` the derives that codemod rewrote no
        longer count.

    Example
        pyo3 = { version = "0.25.1", features = ["extension-module", "py-clone"] }
        ->
        pyo3 = { version = "0.25.1", features = ["extension-module"] }

    What it will not do
        - The `full` feature of PyO3 enables `py-clone` too: it is left alone.
        - A clone whose receiver's type nothing declares is invisible to it: the build then
          fails (`Clone` is not implemented for `Py<T>`) and names the place, at compile time.
        - A `[features]` entry emptied of `pyo3/py-clone` is kept (`foo = []`), as is a
          `features = []` array.
        - A project with a Rust file it cannot parse, or a pyproject whose `manifest-path` names
          a crate outside the project, keeps the feature.

    Fix safety
        Safe: with no `Py::clone` left the feature is unused; a clone it could not see fails the
        build loudly, it never changes what runs.
    """

    info = CodemodInfo(
        id="py-clone-feature",
        summary="drop PyO3's py-clone cargo feature once no Py::clone remains",
        language="toml",
        safety=Safety.SAFE,
        min_target=V0_22,
        max_target=None,
        guide=f"{GUIDE}#pyclone-is-now-gated-behind-the-py-clone-feature",
        docs="",
    )

    def scan(self, snapshot: Snapshot) -> bool:
        """Whether no `Py::clone` (certain or possible) is left in any crate of the project.

        Cargo unifies features across a build: a crate that enables `py-clone` may be what lets
        another one compile, so the decision is taken for the whole project at once.
        """
        if not any(b"py-clone" in data for path, data in snapshot.contents.items() if path.suffix == ".toml"):
            return False  # no manifest names the feature: nothing to drop, no Rust to survey
        project = snapshot.project
        if not project.crates or any(f in snapshot.broken for c in project.crates for f in c.rust_files):
            return False
        return not survey(snapshot).remaining(snapshot.rust_files())

    def transform(self, ctx: Context) -> None:
        if not ctx.facts:
            return
        if ctx.path.name == "Cargo.toml":
            new = features.drop_from_cargo(ctx.source, "py-clone")
        elif _builds_a_visible_crate(ctx.source, ctx.path, ctx.snapshot.project.crates):
            new = features.drop_from_pyproject(ctx.source, "py-clone")
        else:
            return
        edit = minimal_edit(ctx.source, new) if new is not None else None
        if edit is not None:
            ctx.fix("no `Py::clone` is left: drop PyO3's `py-clone` feature", [edit])


PyCloneFeatureCodemod.info = replace(PyCloneFeatureCodemod.info, docs=(PyCloneFeatureCodemod.__doc__ or "").strip())


def _builds_a_visible_crate(source: bytes, path: Path, crates: list[Crate]) -> bool:
    """A maturin pyproject whose crate (`manifest-path`, default next to it) is part of the project."""
    maturin = features.load(source)[1].get("tool", {}).get("maturin", {})
    manifest = maturin.get("manifest-path", "Cargo.toml") if hasattr(maturin, "get") else None
    if not isinstance(manifest, str):
        return False
    wanted = Path(os.path.normpath(path.parent / manifest))
    return any(c.manifest == wanted for c in crates)


FEATURE_CODEMOD = PyCloneFeatureCodemod()
