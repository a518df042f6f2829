"""from-py-object: a `#[pyclass]` that implements `Clone` keeps its `FromPyObject` by saying so.

What it does
    Up to PyO3 0.27 every `#[pyclass]` type that implements `Clone` also gets a `FromPyObject`
    implementation that clones the value out of the Python object: what lets a `#[pyfunction]`
    take such a class by value (`fn area(shape: Shape)`) or `obj.extract::<Shape>()` work.
    PyO3 0.28 deprecated that automatic implementation (a warning at every such class) and 0.30
    turned it off; the `from_py_object` option keeps it. For targets >= 0.28 each such class gets
    the option, so the crate compiles without the warning and behaves as it did:

        #[pyclass(frozen)]                   #[pyclass(frozen, from_py_object)]
        #[derive(Clone)]             ->      #[derive(Clone)]
        struct Shape { .. }                  struct Shape { .. }

    `Clone` is known from a `derive(Clone)` on the type (also spelled `std::clone::Clone`) or from
    an `impl Clone for Shape` anywhere in its crate (including the attaching impls that `py-clone`
    writes). The option goes where PyO3 reads it: into `#[pyclass(..)]` or `#[pyo3::pyclass(..)]`,
    also inside `#[cfg_attr(.., pyclass(..))]`, keeping the list's layout and comments.

    From 0.30 on, where no `FromPyObject` is generated unless asked for, `skip_from_py_object` is
    the default and deprecated: it leaves the list (the parentheses go with the last option).

What it will not do
    - A class that already says `from_py_object` (or, below 0.30, `skip_from_py_object`) is left
      alone: a person chose. (`skip_from_py_object` is the choice for a class nothing extracts by
      value; this tool cannot see every caller, Python-side ones included, so it keeps the
      behaviour.)
    - A class whose `Clone` is derived only under `cfg_attr(..)` is reported: the option has to
      carry the same condition, which a person writes.
    - A `#[pyclass]` written inside a macro is reported, not edited.
    - Targets below 0.28: nothing (the option does not exist there). A crate already on 0.30 or
      later: a class without the option has no `FromPyObject`, as its author asked.

Fix safety
    Safe: `from_py_object` asks for exactly the implementation PyO3 generated before 0.28, and
    from 0.30 a class without `skip_from_py_object` gets no implementation, as it asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node, Tree

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import (
    AttrUse,
    attr_uses,
    attribute_options,
    derived,
    option_insertion,
    option_removal,
    pyclass_names,
)
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_28, V0_30

INFO = CodemodInfo(
    id="from-py-object",
    summary="#[pyclass] types that implement Clone keep FromPyObject explicitly: `from_py_object` (>= 0.28)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_28,
    max_target=None,
    guide=f"{GUIDE}#from-027-to-028",
    docs=__doc__.strip(),
    triggers=("pyclass",),
    removes_at=V0_30,
)

OPTION = "from_py_object"
SKIP = "skip_from_py_object"
CHOICES = {OPTION, SKIP}  # either one is a person's decision
DEFAULT_SKIPS = V0_30  # 0.30: no FromPyObject unless asked, and `skip_from_py_object` deprecated
_PYO3_PREFIXES = {(), ("pyo3",), ("pyo3", "prelude")}
_CLASS_ITEMS = ("struct_item", "enum_item")


@dataclass
class CrateClones:
    """Per crate: the type names that have an `impl Clone for ..`, and how often each name is defined."""

    impls: dict[str, set[Path]] = field(default_factory=dict)  # type name -> files with an impl
    definitions: dict[str, int] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)  # classes written `skip_from_py_object` (as read)

    def implements_clone(self, name: str, path: Path) -> bool:
        files = self.impls.get(name, set())
        # a name defined once in the crate is that type wherever its impl is; else only beside it
        return path in files or (bool(files) and self.definitions.get(name, 0) == 1)


def _type_name(source: bytes, node: Node | None) -> str | None:
    """`Shape`, `Shape<T>`, `crate::shapes::Shape` -> "Shape"."""
    if node is None:
        return None
    if node.type == "generic_type":
        node = node.child_by_field_name("type")
    if node is None or node.type not in ("type_identifier", "scoped_type_identifier"):
        return None
    return rust.path_segments(source, node)[-1]


def _clone_impl_of(source: bytes, impl: Node) -> str | None:
    """The type an `impl Clone for X` (or `std::clone::Clone`) is for."""
    trait = impl.child_by_field_name("trait")
    if trait is None or _type_name(source, trait) != "Clone":
        return None
    return _type_name(source, impl.child_by_field_name("type"))


def _skipped(source: bytes) -> set[str]:
    """The classes of a file that say `skip_from_py_object`."""
    if SKIP.encode() not in source:
        return set()
    found = set()
    for item in rust.tree_nodes(rust.parse(source), _CLASS_ITEMS):
        name = item.child_by_field_name("name")
        if name is not None and any(SKIP in attribute_options(source, u) for u in attr_uses(source, item) if _is_pyclass(u)):
            found.add(rust.text(source, name))
    return found


def survey(snapshot: Snapshot) -> dict[Path, CrateClones]:
    """Crate manifest -> what its files say about Clone (and, as the user wrote them, about skipping)."""
    out: dict[Path, CrateClones] = {}
    classes = pyclass_names(snapshot)
    for crate in snapshot.project.crates:
        clones = out.setdefault(crate.manifest, CrateClones())
        names = {name.encode() for name in classes[crate.manifest]}
        for path in snapshot.rust_files(crate):
            clones.skipped |= _skipped(snapshot.original.get(path, snapshot.contents[path]))
            source = snapshot.contents[path]
            # a file can matter only by a pyclass, or by an `impl Clone` naming one
            if b"pyclass" not in source and not (b"Clone" in source and names & rust.words(source)):
                continue
            for node in rust.tree_nodes(rust.parse(source), ("impl_item", *_CLASS_ITEMS)):
                if node.type == "impl_item":
                    name = _clone_impl_of(source, node)
                    if name is not None:
                        clones.impls.setdefault(name, set()).add(path)
                elif node.type in _CLASS_ITEMS:
                    name = node.child_by_field_name("name")
                    if name is not None:
                        written = rust.text(source, name)
                        clones.definitions[written] = clones.definitions.get(written, 0) + 1
    return out


def _is_pyclass(use: AttrUse) -> bool:
    return bool(use.path) and use.path[-1] == "pyclass" and use.path[:-1] in _PYO3_PREFIXES


def _clone_derives(source: bytes, uses: list[AttrUse]) -> tuple[bool, bool]:
    """(Clone derived unconditionally, Clone derived under a cfg_attr)."""
    plain = any("Clone" in derived(source, u) for u in uses if not u.in_cfg_attr)
    gated = any("Clone" in derived(source, u) for u in uses if u.in_cfg_attr)
    return plain, gated


def _macro_pyclasses(source: bytes, tree: Tree) -> list[Node]:
    """`pyclass` tokens inside macro bodies and invocations that also mention `Clone`."""
    found = []
    if b"Clone" not in source:
        return found
    for node in rust.tree_nodes(tree, ("macro_definition", "macro_invocation")):
        if node.type in ("macro_definition", "macro_invocation"):
            tokens = [n for n in rust.walk(node) if n.type == "identifier"]
            words = {rust.text(source, n) for n in tokens}
            if "pyclass" in words and "Clone" in words:
                found.extend(n for n in tokens if rust.text(source, n) == "pyclass" and not _chosen(source, n))
    return found


def _chosen(source: bytes, pyclass: Node) -> bool:
    """`pyclass(.., from_py_object)` (or `skip_from_py_object`) written in the macro's tokens: a person chose."""
    options = pyclass.next_named_sibling
    if options is None or options.type != "token_tree":
        return False
    return any(n.type == "identifier" and rust.text(source, n) in CHOICES for n in rust.walk(options))


class FromPyObjectCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> dict[Path, CrateClones]:
        return survey(snapshot)

    def transform(self, ctx: Context) -> None:
        if b"pyclass" not in ctx.source:
            return
        crate = ctx.crate
        clones = ctx.facts.get(crate.manifest, CrateClones()) if crate is not None else CrateClones()
        edits: list[Edit] = []
        for node in rust.tree_nodes(ctx.tree, _CLASS_ITEMS):
            edits.extend(self._class(ctx, clones, node))
        for token in _macro_pyclasses(ctx.source, ctx.tree):
            ctx.finding(token, "a `#[pyclass]` inside a macro, next to `Clone`: if the class implements `Clone`, "
                        f"add `{OPTION}` to keep its `FromPyObject` (0.28 deprecated the automatic one)")
        ctx.fix(f"`Clone` pyclasses keep FromPyObject: `{OPTION}`", edits)

    @staticmethod
    def _class(ctx: Context, clones: CrateClones, item: Node) -> list[Edit]:
        uses = attr_uses(ctx.source, item)
        pyclasses = [u for u in uses if _is_pyclass(u)]
        if ctx.target >= DEFAULT_SKIPS:
            dropped = [e for e in (option_removal(ctx.source, u, SKIP) for u in pyclasses) if e is not None]
            if dropped:
                return dropped
        if not pyclasses or any(CHOICES & attribute_options(ctx.source, u).keys() for u in pyclasses):
            return []
        name_node = item.child_by_field_name("name")
        name = ctx.text(name_node) if name_node is not None else "?"
        if name in clones.skipped or (ctx.crate is not None and (ctx.crate.pyo3_version or V0_28) >= DEFAULT_SKIPS):
            return []  # it said `skip_from_py_object`, which from 0.30 is said by saying nothing
        plain, gated = _clone_derives(ctx.source, uses)
        if not plain and clones.implements_clone(name, ctx.path):
            plain = True
        if not plain:
            if gated:
                ctx.finding(item, f"`{name}` derives `Clone` only under `cfg_attr`: its `FromPyObject` changes at 0.28 "
                            f"(add `{OPTION}` under the same condition to keep it)")
            return []
        return [Edit(offset, offset, text.encode()) for offset, text in
                (option_insertion(ctx.source, u, OPTION) for u in pyclasses)]


CODEMOD = FromPyObjectCodemod()
