"""Extension modules as the Rust declares them: `#[pymodule]` items, their Python name and their
`gil_used` declaration, and whether that declaration claims free-threading support at a target.

Shared by the Rust codemod that writes the declaration (gil-used) and the Python-side codemods
that act only for modules that now claim support (the cross-language fact).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import (
    AttrUse,
    attr_uses,
    attribute_options,
    attributes_before,
    option_insertion,
)
from pyo3_migrate.core.model import Edit
from pyo3_migrate.core.version import V0_28, Version

_PYO3_PREFIXES = {(), ("pyo3",), ("pyo3", "prelude")}


@dataclass(frozen=True)
class Insertion:
    """Where to write a `gil_used` option (or statement): `template` holds "{}" for the value."""

    offset: int
    template: str

    def edit(self, value: bool) -> Edit:
        return Edit(self.offset, self.offset, self.template.format("true" if value else "false").encode())


@dataclass(frozen=True)
class ModuleDecl:
    name: str
    offset: int  # the first module attribute (where findings point)
    explicit: bool | None  # the literal of an explicit `gil_used` (None: there is none)
    has_explicit: bool  # a `gil_used` is written (its value may not be a literal)
    nested: bool  # a declarative submodule: left alone
    insertions: tuple[Insertion, ...]


def is_pymodule(use: AttrUse) -> bool:
    return bool(use.path) and use.path[-1] == "pymodule" and tuple(p for p in use.path[:-1] if p) in _PYO3_PREFIXES


def is_module_options(use: AttrUse) -> bool:
    """An attribute whose arguments are PyO3 module options (`pymodule(..)` or `pyo3(..)`)."""
    return is_pymodule(use) or use.path == ("pyo3",)


def gil_used_insertion(source: bytes, use: AttrUse) -> Insertion:
    """Where `gil_used = {}` goes in this attribute's argument list (made when there is none)."""
    return Insertion(*option_insertion(source, use, "gil_used = {}"))


def bool_literal(source: bytes, node: Node | None) -> bool | None:
    if node is not None and node.type == "boolean_literal":
        return rust.text(source, node) == "true"
    return None


def module_decl(source: bytes, item: Node) -> ModuleDecl | None:
    uses = attr_uses(source, item)
    modules = [u for u in uses if is_pymodule(u)]
    if not modules:
        return None
    options = [attribute_options(source, u) for u in uses if is_module_options(u)]
    written = [o["gil_used"] for o in options if "gil_used" in o]
    values = [bool_literal(source, v) for v in written]
    explicit = True if True in values else (False if False in values else None)
    name_node = item.child_by_field_name("name")
    name = rust.text(source, name_node) if name_node is not None else "?"
    for o in options:
        if o.get("name") is not None:
            name = rust.text(source, o["name"]).strip('"')
    # `submodule` (on a fn or a mod) or a mod inside a declarative module: no `PyInit_` symbol
    nested = any("submodule" in o for o in options) or (
        item.type == "mod_item" and parent_module(source, item) is not None
    )
    first_attr = attributes_before(item)[0]
    return ModuleDecl(
        name,
        first_attr.start_byte,
        explicit,
        bool(written),
        nested,
        tuple(gil_used_insertion(source, u) for u in modules),
    )


def parent_module(source: bytes, item: Node) -> Node | None:
    """The `#[pymodule] mod` item is declared directly in, if any."""
    body = item.parent
    if body is None or body.type != "declaration_list" or body.parent is None or body.parent.type != "mod_item":
        return None
    parent = body.parent
    return parent if any(is_pymodule(u) for u in attr_uses(source, parent)) else None


_DECLARED: dict[bytes, tuple[ModuleDecl, ...]] = rust.run_cache()


def modules_in(source: bytes) -> tuple[ModuleDecl, ...]:
    """The `#[pymodule]` items of one Rust file (once per bytes; a file without the word is not parsed)."""
    found = _DECLARED.get(source)
    if found is None:
        found = ()
        if b"pymodule" in source:
            tree = rust.parse(source)
            decls = (module_decl(source, n) for n in rust.tree_nodes(tree, ("function_item", "mod_item")))
            found = tuple(d for d in decls if d is not None)
        _DECLARED[source] = found
    return found


def claims_free_threading(module: ModuleDecl, target: Version | None) -> bool:
    """Whether the module, built against PyO3 `target`, tells free-threaded CPython it can run
    without the GIL: `gil_used = false` written, or 0.28's default with nothing written."""
    if module.explicit is not None:
        return module.explicit is False
    return not module.has_explicit and target is not None and target >= V0_28


@dataclass(frozen=True)
class ExtensionModule:
    name: str  # the `#[pymodule]`'s own name (`name = ".."` when given)
    path: Path  # the Rust file that declares it
    free_threaded: bool  # claims free-threading support at the file's target
    written: bool = False  # the claim is written (`gil_used = false`), not 0.28's default


def extension_modules(contents: dict[Path, bytes], target_for) -> list[ExtensionModule]:
    """Every top-level extension module of the project's current Rust bytes (declarative
    submodules are not imported by name: CPython reads the flag of the top-level module only)."""
    found = []
    for path, source in sorted(contents.items()):
        if path.suffix != ".rs":
            continue
        for module in modules_in(source):
            if not module.nested:
                found.append(ExtensionModule(module.name, path, claims_free_threading(module, target_for(path)),
                                             module.explicit is False))
    return found
