"""The Cargo manifest model: where a manifest's dependency entries live.

A dependency can be declared in `[dependencies]`, `[dev-dependencies]` and
`[build-dependencies]`, in the same tables under `[target.'cfg(..)']`, and in a workspace root's
`[workspace.dependencies]`. Every reader of manifests (the project scan, the codemods that move
requirements or drop features, the free-threading blocker scan) walks them through here, on a
document parsed by tomllib or tomlkit alike.
"""

from __future__ import annotations

import tomllib

from pyo3_migrate.core.syntax import run_cache

DEPENDENCY_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")


def dependency_tables(doc, kinds: tuple[str, ...] = DEPENDENCY_TABLES, *, target_kinds: tuple[str, ...] | None = None,
                      workspace: bool = True) -> list[tuple[tuple[str, ...], dict]]:
    """(key path from the document root, table) of every dependency table, in document terms:
    `[workspace.dependencies]` first (when asked for), then the top-level `kinds`, then each
    target's `target_kinds` (default: the same kinds). Tables that are not tables are skipped."""
    tables: list[tuple[tuple[str, ...], dict]] = []
    members = doc.get("workspace")
    if workspace and _is_table(members) and _is_table(members.get("dependencies")):
        tables.append((("workspace", "dependencies"), members["dependencies"]))
    for name in kinds:
        if _is_table(doc.get(name)):
            tables.append(((name,), doc[name]))
    targets = doc.get("target")
    if _is_table(targets):
        for cfg, target in targets.items():
            if not _is_table(target):
                continue
            for name in kinds if target_kinds is None else target_kinds:
                if _is_table(target.get(name)):
                    tables.append((("target", cfg, name), target[name]))
    return tables


def _is_table(value) -> bool:
    return isinstance(value, dict)


def requirement_line(source: bytes, package: str) -> int:
    """The 1-based line where a manifest first names `package` as a dependency (`pyo3 = ..`,
    `pyo3.workspace = true`, `[dependencies.pyo3]`), for pointing a message at it; 1 if none."""
    for number, raw in enumerate(source.decode("utf-8", "replace").splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        if line.startswith("[") and line.rstrip("]").split(".")[-1].strip(" \"'") == package:
            return number
        key = line.split("=", 1)[0].split(".", 1)[0].strip(" \"'")
        if "=" in line and key == package:
            return number
    return 1


_DOCUMENTS: dict[bytes, dict] = run_cache()


def toml_document(data: bytes) -> dict:
    """The tomllib document of a TOML file's bytes, parsed once per bytes in a run and shared, so
    read-only. Raises UnicodeDecodeError or tomllib.TOMLDecodeError as tomllib does."""
    document = _DOCUMENTS.get(data)
    if document is None:
        document = _DOCUMENTS[data] = tomllib.loads(data.decode("utf-8-sig"))  # cargo reads a BOM too
    return document
