"""One editor for the `use` side of a rewrite: a codemod that writes a new type's name asks here
how to write it at a place (bare where the name is free or already means that type, the full
path where the name is taken, importing it when needed), and the `use` lines come out with the
edits, once per scope, after that scope's leading `use`s.
"""

from __future__ import annotations

from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.names import CrateNames
from pyo3_migrate.analysis.rust import UseLeaf
from pyo3_migrate.core.model import Edit


class UseEditor:
    """The edits of one file, and the imports they need (base of the codemods' file editors)."""

    def __init__(self, source: bytes, path: Path, names: CrateNames | None):
        self.source = source
        self.path = path
        self.names = names  # the resolver whose trees the nodes at hand come from
        self._edits: list[Edit] = []
        self._imports: dict[int, tuple[Node, list[str]]] = {}  # scope start -> (scope, use paths to add)

    def replace(self, span: tuple[int, int], new: str) -> None:
        self._edits.append(Edit(span[0], span[1], new.encode()))

    def remove_use(self, leaf: UseLeaf) -> None:
        self._edits.extend(rust.remove_use_leaf(self.source, leaf))

    def add_import(self, scope: Node, path: str) -> None:
        entry = self._imports.setdefault(scope.start_byte, (scope, []))
        if path not in entry[1]:
            entry[1].append(path)

    def imports(self, scope: Node, path: str) -> bool:
        """Whether this file's edits already import `path` in scope."""
        entry = self._imports.get(scope.start_byte)
        return entry is not None and path in entry[1]

    def resolves(self, anchor: Node, name: str) -> tuple[str, ...] | None:
        found = self.names.resolve(self.path, anchor, name) if self.names is not None else None
        return found.target if found is not None else None

    def free_or_mine(self, scope: Node, new: tuple[str, ...]) -> bool:
        """The new type's name can be written bare where scope's imports are seen."""
        return self.resolves(rust.inner_anchor(scope), new[-1]) in (None, new)

    def name_at(self, node: Node, new: tuple[str, ...]) -> str:
        """How to write `new` at node: its bare name if that names it (importing it into the
        module when nothing else has the name), else its full path."""
        found = self.resolves(node, new[-1])
        if found == new:
            return new[-1]
        if found is not None:
            return "::".join(new)  # the name means something else here
        self.add_import(rust.module_scope(node), "::".join(new))
        return new[-1]

    def import_edits(self, arrange=None) -> list[Edit]:
        """The `use` lines asked for, one insertion per scope; `arrange(scope, paths)` picks and
        orders a scope's paths (default: all, sorted)."""
        out = []
        for scope, paths in self._imports.values():
            wanted = arrange(scope, paths) if arrange is not None else sorted(paths)
            if wanted:
                out.append(rust.add_uses(self.source, scope, wanted))
        return out
