"""Dropping one of PyO3's cargo features from manifests (tomlkit: everything else is kept).

A PyO3 feature is named in three places: the `features` of a `pyo3` dependency (any dependency
table, target-specific ones and `[workspace.dependencies]` included), a crate's own `[features]`
entries (`"pyo3/name"`, `"pyo3?/name"`), and maturin's `[tool.maturin] features` in pyproject.toml.
"""

from __future__ import annotations

import tomlkit

from pyo3_migrate.core.cargo import dependency_tables

_BOM = b"\xef\xbb\xbf"


def load(source: bytes):
    """(BOM bytes, tomlkit document): the BOM is kept aside so that it survives the round trip."""
    bom = _BOM if source.startswith(_BOM) else b""
    return bom, tomlkit.parse(source[len(bom):].decode("utf-8"))


def _drop_value(array, value: str) -> bool:
    if not isinstance(array, list):
        return False
    for i, item in enumerate(list(array)):
        if item == value:
            del array[i]
            return True
    return False


def _pyo3_entries(doc) -> list:
    return [table["pyo3"] for _, table in dependency_tables(doc) if isinstance(table.get("pyo3"), dict)]


def drop_from_cargo(source: bytes, feature: str) -> bytes | None:
    """Cargo.toml without PyO3's `feature` anywhere, or None when it was not there."""
    bom, doc = load(source)
    changed = False
    for entry in _pyo3_entries(doc):
        changed |= _drop_value(entry.get("features"), feature)
    for entry in doc.get("features", {}).values():
        for value in (f"pyo3/{feature}", f"pyo3?/{feature}"):
            changed |= _drop_value(entry, value)
    return bom + tomlkit.dumps(doc).encode("utf-8") if changed else None


def drop_from_pyproject(source: bytes, feature: str) -> bytes | None:
    """pyproject.toml without `pyo3/feature` in `[tool.maturin] features`, or None."""
    bom, doc = load(source)
    maturin = doc.get("tool", {}).get("maturin")
    if maturin is None or not _drop_value(maturin.get("features"), f"pyo3/{feature}"):
        return None
    return bom + tomlkit.dumps(doc).encode("utf-8")


def mentions(source: bytes, feature: str) -> bool:
    """Whether a manifest names PyO3's `feature` (a plain substring test is enough to skip files)."""
    return feature.encode() in source
