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

from pyo3_migrate.analysis.pyside import bytes_returns
from pyo3_migrate.core import pysyntax
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.lines import offset_of_line
from pyo3_migrate.core.model import Safety
from pyo3_migrate.core.version import V0_23

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
        from pyo3_migrate.analysis import pyidioms  # libcst: imported by runs that parse Python

        try:
            module = pysyntax.parse(ctx.source)
        except pysyntax.NotPython as exc:
            ctx.finding(0, f"not read as Python 3 ({exc}): uses of functions that now return bytes are unchecked")
            return
        if ctx.path.suffix == ".pyi":
            self._stub(ctx, module, facts)
            return
        for line, what in pyidioms.list_uses(module, names):
            ctx.finding(offset_of_line(ctx.source, line), f"{what} on a result that is `bytes` since PyO3 0.23 "
                        "(a `list` of ints before): bytes are immutable and never equal a list")

    @staticmethod
    def _stub(ctx: Context, module, facts: Facts) -> None:
        from pyo3_migrate.analysis import pyidioms

        new, changed = pyidioms.retype_int_lists(module, facts.functions, facts.methods)
        if not changed:
            return
        if any(mark in ctx.source[:400].lower() for mark in _GENERATED):
            ctx.finding(0, f"generated stub: {', '.join(changed)} return `bytes` since PyO3 0.23, not "
                        "`list[int]`: regenerate it (it is not edited here)")
            return
        ctx.fix(f"stubs: {', '.join(changed)} -> bytes (PyO3 0.23 returns `Vec<u8>` as bytes)",
                pysyntax.edits_between(ctx.source, new.bytes))


CODEMOD = PyStubsCodemod()
