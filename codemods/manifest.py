"""manifest: move the `pyo3` requirement in Cargo.toml up to the target PyO3.

What it does
    When the target is above what a crate's `pyo3` requirement allows, the requirement becomes the
    target, so that the migrated code and its manifest agree. A workspace-inherited requirement
    (`pyo3 = { workspace = true }`) is changed where it lives, in `[workspace.dependencies]`.
    An exact pin stays exact (`=0.22.6` -> `=0.26.0`). Formatting and comments are kept (tomlkit).

Example
    pyo3 = { version = "0.22.6", features = ["extension-module"] }
    ->
    pyo3 = { version = "0.26.0", features = ["extension-module"] }

Fix safety
    Safe: only the version string changes; `cargo` resolves the new release on the next build.
"""

from __future__ import annotations

from pathlib import Path

import tomlkit

from migrate.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from migrate.model import Edit, Safety
from migrate.version import Version, requirement_operator

INFO = CodemodInfo(
    id="manifest",
    summary="pyo3 requirement in Cargo.toml -> the target version",
    language="toml",
    safety=Safety.SAFE,
    min_target=Version(0, 0),
    max_target=None,
    guide=GUIDE,
    docs=__doc__.strip(),
)

_BOM = b"\xef\xbb\xbf"


def minimal_edit(before: bytes, after: bytes) -> Edit | None:
    """The one edit that turns before into after: common prefix and suffix kept as they are."""
    if before == after:
        return None
    start = 0
    limit = min(len(before), len(after))
    while start < limit and before[start] == after[start]:
        start += 1
    end_b, end_a = len(before), len(after)
    while end_b > start and end_a > start and before[end_b - 1] == after[end_a - 1]:
        end_b -= 1
        end_a -= 1
    return Edit(start, end_b, after[start:end_a])


def _dependency_tables(doc) -> list:
    tables = []
    if "workspace" in doc and "dependencies" in doc["workspace"]:
        tables.append(doc["workspace"]["dependencies"])
    for name in ("dependencies", "build-dependencies", "dev-dependencies"):
        if name in doc:
            tables.append(doc[name])
    for target in doc.get("target", {}).values():
        if "dependencies" in target:
            tables.append(target["dependencies"])
    return tables


def set_requirement(source: bytes, package: str, target: Version) -> bytes:
    """source with every `package` requirement below target raised to it."""
    bom = _BOM if source.startswith(_BOM) else b""
    doc = tomlkit.parse(source[len(bom):].decode("utf-8"))
    for table in _dependency_tables(doc):
        entry = table.get(package)
        if entry is None:
            continue
        current = entry if isinstance(entry, str) else entry.get("version")
        if not isinstance(current, str) or Version.parse(current) >= target:
            continue
        new = requirement_operator(current).replace("^", "") + str(target)
        if isinstance(entry, str):
            table[package] = new
        else:
            entry["version"] = new
    return bom + tomlkit.dumps(doc).encode("utf-8")


class ManifestCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> set[Path]:
        """The manifests that hold a pyo3 requirement."""
        return {c.requirement_manifest for c in snapshot.project.pyo3_crates() if c.requirement_manifest}

    def transform(self, ctx: Context) -> None:
        if ctx.path.name != "Cargo.toml" or ctx.path not in ctx.facts:
            return
        edit = minimal_edit(ctx.source, set_requirement(ctx.source, "pyo3", ctx.target))
        if edit is not None:
            ctx.fix(f"pyo3 requirement -> {ctx.target}", [edit])


CODEMOD = ManifestCodemod()
