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

from __future__ import annotations

import os
from pathlib import Path

from pyo3_migrate.analysis import features
from pyo3_migrate.analysis.pytypes import survey
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Safety, minimal_edit
from pyo3_migrate.core.project import Crate
from pyo3_migrate.core.version import V0_22


class PyCloneFeatureCodemod(Codemod):

    info = CodemodInfo(
        id="py-clone-feature",
        summary="drop PyO3's py-clone cargo feature once no Py::clone remains",
        language="toml",
        safety=Safety.SAFE,
        min_target=V0_22,
        max_target=None,
        guide=f"{GUIDE}#pyclone-is-now-gated-behind-the-py-clone-feature",
        docs=__doc__.strip(),
        reads_rust=True,  # the decision is that no Rust file clones a Py any more
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
        return not any(sv.remaining(snapshot.rust_files()) for sv in survey(snapshot).values())

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


def _builds_a_visible_crate(source: bytes, path: Path, crates: list[Crate]) -> bool:
    """A maturin pyproject whose crate (`manifest-path`, default next to it) is part of the project."""
    maturin = features.load(source)[1].get("tool", {}).get("maturin", {})
    manifest = maturin.get("manifest-path", "Cargo.toml") if hasattr(maturin, "get") else None
    if not isinstance(manifest, str):
        return False
    wanted = Path(os.path.normpath(path.parent / manifest))
    return any(c.manifest == wanted for c in crates)


CODEMOD = PyCloneFeatureCodemod()
