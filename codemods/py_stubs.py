"""py-stubs: the Python side follows when a hop changes what Python gets back: `list[int]` -> `bytes`.

What it does
    PyO3 0.23 converts `Vec<u8>`, `[u8; N]` and `SmallVec<[u8; N]>` to Python `bytes`; before, they
    became a `list` of `int`s. When a crate crosses 0.23, for each `#[pyfunction]` and `#[pymethods]`
    method (getters included) returning one of those (also inside `PyResult`, `Result`, `Option`):

    - the project's `.pyi` stubs follow: `def digest(data: bytes) -> list[int]: ...` becomes
      `-> bytes` (also `List[int]`, inside `Optional[..]` or `| None`), in the class of the same
      Python name for a method;
    - Python call sites in the project's Python side that treat the result as a list are findings
      with file:line: `.append`/`.extend`/`.insert`/`.pop`/`.remove`/`.sort`/`.reverse`/`.clear`,
      item assignment or deletion, and `==`/`!=` against a list literal (bytes never equals a list).

What it will not do
    - Edit a stub file that says it is generated (`@generated`, "automatically generated", "do not
      edit" in its first lines): each place is reported, since the generator writes it again.
    - Follow values through containers, attributes or other functions: only a name bound to the
      call in the same function (or the call itself) is looked at.

Fix safety
    Safe: the stub then says what the extension returns after the hop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from migrate.analysis.pyedit import dotted
from migrate.analysis.pyside import bytes_returns
from migrate.core import pysyntax
from migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from migrate.core.lines import offset_of_line
from migrate.core.model import Safety
from migrate.core.version import V0_23

INFO = CodemodInfo(
    id="py-stubs",
    summary="crossing 0.23: stubs of functions returning Vec<u8> say `bytes`; list-style uses of the result reported",
    language="python",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#from-022-to-023",
    docs=__doc__.strip(),
    reads_rust=True,  # which functions return bytes now is read from the Rust
)

_LIST_METHODS = {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear"}
_GENERATED = (b"@generated", b"automatically generated", b"do not edit", b"auto-generated")


@dataclass
class Facts:
    functions: set[str] = field(default_factory=set)  # module functions that return bytes now
    methods: dict[str, set[str]] = field(default_factory=dict)  # Python class -> such methods

    @property
    def names(self) -> set[str]:
        return self.functions.union(*self.methods.values())


def _crosses_023(snapshot: Snapshot, path) -> bool:
    crate, target = snapshot.project.crate_of(path), snapshot.target_for(path)
    own = crate.pyo3_version if crate is not None else None
    return own is not None and target is not None and own < V0_23 <= target


def _is_int_list(node: cst.BaseExpression) -> bool:
    """`list[int]`, `List[int]`, `typing.List[int]`."""
    return (isinstance(node, cst.Subscript) and (dotted(node.value) or "").rsplit(".", 1)[-1] in ("list", "List")
            and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)
            and dotted(node.slice[0].slice.value) == "int")


class _Returns(cst.CSTTransformer):
    """`-> list[int]` becomes `-> bytes` on the stubs of the functions and methods in facts."""

    def __init__(self, facts: Facts):
        super().__init__()
        self.facts = facts
        self.classes: list[str] = []
        self.changed: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original, updated):
        self.classes.pop()
        return updated

    def _ours(self, name: str) -> bool:
        if self.classes:
            return name in self.facts.methods.get(self.classes[-1], set())
        return name in self.facts.functions

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if updated.returns is None or not self._ours(updated.name.value):
            return updated
        new = updated.returns.annotation.visit(_IntListToBytes())
        if new is updated.returns.annotation or new.deep_equals(updated.returns.annotation):
            return updated
        self.changed.append(".".join([*self.classes, updated.name.value]))
        return updated.with_changes(returns=updated.returns.with_changes(annotation=new))


class _IntListToBytes(cst.CSTTransformer):
    def leave_Subscript(self, original, updated):
        return cst.Name("bytes") if _is_int_list(updated) else updated


class _ListUses(cst.CSTVisitor):
    """Where a result of one of `names` is used as a list (see the module docstring)."""

    METADATA_DEPENDENCIES = (cst.metadata.PositionProvider,)

    def __init__(self, names: set[str]):
        super().__init__()
        self.names = names
        self.bound: list[set[str]] = [set()]  # names bound to such a call, per function
        self.found: list[tuple[int, str]] = []

    def _is_call(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Call) and (dotted(node.func) or "").rsplit(".", 1)[-1] in self.names

    def _is_result(self, node: cst.CSTNode) -> bool:
        return self._is_call(node) or (isinstance(node, cst.Name) and node.value in self.bound[-1])

    def _report(self, node: cst.CSTNode, what: str) -> None:
        self.found.append((self.get_metadata(cst.metadata.PositionProvider, node).start.line, what))

    def visit_FunctionDef(self, node) -> None:
        self.bound.append(set())

    def leave_FunctionDef(self, node) -> None:
        self.bound.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._is_call(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.bound[-1].add(target.target.value)
        for target in node.targets:
            if isinstance(target.target, cst.Subscript) and self._is_result(target.target.value):
                self._report(node, "item assignment")

    def visit_Del(self, node: cst.Del) -> None:
        if isinstance(node.target, cst.Subscript) and self._is_result(node.target.value):
            self._report(node, "item deletion")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _LIST_METHODS and self._is_result(func.value):
            self._report(node, f"`.{func.attr.value}()`")

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)) and (
                    (self._is_result(left) and isinstance(target.comparator, cst.List))
                    or (isinstance(left, cst.List) and self._is_result(target.comparator))):
                self._report(node, "a comparison with a list")
            left = target.comparator


class PyStubsCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        facts = Facts()
        for path, source in sorted(snapshot.contents.items()):
            if path.suffix != ".rs" or path in snapshot.broken or not _crosses_023(snapshot, path):
                continue
            for found in bytes_returns(path, source):
                if found.owner is None:
                    facts.functions.add(found.name)
                else:
                    facts.methods.setdefault(found.owner, set()).add(found.name)
        return facts

    def transform(self, ctx: Context) -> None:
        facts: Facts = ctx.facts
        names = facts.names
        if not names or ctx.path.suffix not in (".py", ".pyi") or not any(n.encode() in ctx.source for n in names):
            return
        try:
            module = pysyntax.parse(ctx.source)
        except pysyntax.NotPython as exc:
            ctx.finding(0, f"not read as Python 3 ({exc}): uses of functions that now return bytes are unchecked")
            return
        if ctx.path.suffix == ".pyi":
            self._stub(ctx, module, facts)
            return
        uses = _ListUses(names)
        cst.metadata.MetadataWrapper(module, unsafe_skip_copy=True).visit(uses)
        for line, what in uses.found:
            ctx.finding(offset_of_line(ctx.source, line), f"{what} on a result that is `bytes` since PyO3 0.23 "
                        "(a `list` of ints before): bytes are immutable and never equal a list")

    @staticmethod
    def _stub(ctx: Context, module: cst.Module, facts: Facts) -> None:
        returns = _Returns(facts)
        new = module.visit(returns)
        if not returns.changed:
            return
        if any(mark in ctx.source[:400].lower() for mark in _GENERATED):
            ctx.finding(0, f"generated stub: {', '.join(returns.changed)} return `bytes` since PyO3 0.23, not "
                        "`list[int]`: regenerate it (it is not edited here)")
            return
        ctx.fix(f"stubs: {', '.join(returns.changed)} -> bytes (PyO3 0.23 returns `Vec<u8>` as bytes)",
                pysyntax.edits_between(ctx.source, new.bytes))


CODEMOD = PyStubsCodemod()
