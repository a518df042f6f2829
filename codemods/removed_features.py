"""removed-features: drop PyO3 cargo features that the target release no longer has.

What it does
    Cargo refuses to resolve a crate that asks for a feature its dependency lost, so a manifest
    that still names one cannot build on the target at all. PyO3 removed `gil-refs` in 0.23
    (the GIL Refs API it enabled is gone; the `bound-api` codemod moves the code), and 0.28 the
    `indoc`/`unindent` features (optional dependencies the macros now always use). For targets
    from those releases on, the feature is dropped from every `pyo3` dependency's features
    (target-specific and `[workspace.dependencies]` ones included), from the crate's own
    `[features]` entries (`"pyo3/gil-refs"`, `"pyo3?/gil-refs"`), and from `[tool.maturin] features`.

Example
    [features]                                 [features]
    gil-refs = ["pyo3/gil-refs"]        ->     gil-refs = []

What it will not do
    `abi3-py37` (gone in 0.29) and `abi3-py38` (gone in 0.30), in a `pyo3`/`pyo3-ffi`
    dependency, a `[features]` entry or `[tool.maturin] features`, are reported, not changed: the
    replacement raises the lowest Python your wheels install on, which is the user's decision.
    A crate's own feature named after the PyO3 one is kept (emptied), since other crates may
    enable it by name. Another crate's feature of the same name is not PyO3's: left alone.
    `pyo3` renamed in Cargo.toml (`py = { package = "pyo3", .. }`) is reported but not edited.

Fix safety
    Safe: the feature does not exist on the target, so nothing can depend on it there.
"""

from __future__ import annotations

import tomllib

from pyo3_migrate.analysis import features
from pyo3_migrate.core.cargo import dependency_tables, toml_document
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Safety, minimal_edit
from pyo3_migrate.core.version import V0_23, V0_28, Version

INFO = CodemodInfo(
    id="removed-features",
    summary="drop PyO3 cargo features the target no longer has (`gil-refs` 0.23, `indoc`/`unindent` 0.28); "
            "report `abi3-py37` (0.29), `abi3-py38` (0.30)",
    language="toml",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#gil-refs-feature-removed",
    docs=__doc__.strip(),
)

# feature -> the first release without it (the registry's feature lists, release by release)
DROPPED = {"gil-refs": V0_23, "indoc": V0_28, "unindent": V0_28}
# feature -> (the first release without it, what to do instead): the user's decision, reported
REPORTED = {
    "abi3-py37": (Version(0, 29), "use `abi3-py38` (wheels then need Python 3.8 or later)"),
    "abi3-py38": (Version(0, 30), "use `abi3-py39` (wheels then need Python 3.9 or later)"),
}
# crates whose features are PyO3's: pyo3-ffi lost the abi3-py3x features in the same releases
_PYO3_PACKAGES = ("pyo3", "pyo3-ffi")
def _dependency_tables(doc: dict) -> list[dict]:
    return [table for _, table in dependency_tables(doc)]


def _load(source: bytes) -> dict | None:
    try:
        return toml_document(source)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def pyo3_keys(doc: dict) -> set[str]:
    """The names PyO3's crates go by in a Cargo.toml (their own, and renames: `py = { package = "pyo3" }`)."""
    keys = set(_PYO3_PACKAGES)
    for table in _dependency_tables(doc):
        keys.update(k for k, e in table.items() if isinstance(e, dict) and e.get("package") in _PYO3_PACKAGES)
    return keys


def enabled_pyo3_features(source: bytes, pyproject: bool) -> set[str]:
    """The PyO3 features a manifest turns on: in a `pyo3`/`pyo3-ffi` dependency (renamed ones too),
    as `"pyo3/name"` in `[features]`, or in `[tool.maturin] features`."""
    doc = _load(source)
    if doc is None:
        return set()
    if pyproject:
        maturin = doc.get("tool", {}).get("maturin", {})
        named = [f.split("/", 1) for f in maturin.get("features", []) if isinstance(f, str) and "/" in f]
        return {name for crate, name in named if crate.rstrip("?") in _PYO3_PACKAGES}
    keys, found = pyo3_keys(doc), set()
    for table in _dependency_tables(doc):
        for key, entry in table.items():
            if key in keys and isinstance(entry, dict):
                found.update(f for f in entry.get("features", []) if isinstance(f, str))
    for values in (doc.get("features") or {}).values():
        for value in values if isinstance(values, list) else ():
            crate, _, name = value.partition("/") if isinstance(value, str) else ("", "", "")
            if name and crate.rstrip("?") in keys:
                found.add(name)
    return found


def _names_pyo3(line: str, keys: set[str]) -> bool:
    """`pyo3 = {..}`, `"pyo3/x"`, `"py?/x"`: the line is about one of PyO3's crates."""
    stripped = line.lstrip().lstrip("\"'")
    return any(f"{k}/" in line or f"{k}?/" in line
               or (stripped.startswith(k) and stripped[len(k):len(k) + 1] in (" ", "=", ".", '"', "'"))
               for k in keys)


def _where(source: bytes, feature: str) -> int:
    """Where a finding about feature points: its first quoted mention on a line that names PyO3
    (else its first quoted mention, else its first mention)."""
    doc = _load(source)
    keys = pyo3_keys(doc) if doc is not None else set(_PYO3_PACKAGES)
    spellings = [s.encode() for s in (f'"{feature}"', f"'{feature}'", f'/{feature}"', f"/{feature}'")]
    first = None
    offset = 0
    for line in source.splitlines(keepends=True):
        hits = [line.find(s) for s in spellings if s in line]
        if hits:
            at = offset + min(hits)
            if _names_pyo3(line.decode("utf-8", "replace"), keys):
                return at
            first = at if first is None else first
        offset += len(line)
    return first if first is not None else max(source.find(feature.encode()), 0)


class RemovedFeaturesCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        pyproject = ctx.path.name == "pyproject.toml"
        drop = features.drop_from_pyproject if pyproject else features.drop_from_cargo
        source = ctx.source
        for feature, gone_in in DROPPED.items():
            if ctx.target >= gone_in and features.mentions(source, feature):
                dropped = drop(source, feature)
                if dropped is not None:
                    source = dropped
        if source != ctx.source:
            ctx.fix(f"dropped PyO3 features the target {ctx.target} no longer has", [minimal_edit(ctx.source, source)])
        gone = [f for f, gone_in in DROPPED.items() if ctx.target >= gone_in and features.mentions(source, f)]
        for feature in sorted(set(gone) & enabled_pyo3_features(source, pyproject)):
            # what the edit above could not reach: PyO3 under another name (`py = { package = "pyo3" }`)
            release = f"{ctx.target.major}.{ctx.target.minor}"
            ctx.finding(_where(ctx.source, feature), f"PyO3 {release} has no `{feature}` feature: remove it by hand "
                                                     "(only `pyo3` under its own name is edited)",
                        removed_in=DROPPED[feature])
        reported = [f for f, (gone_in, _) in REPORTED.items() if ctx.target >= gone_in and features.mentions(source, f)]
        enabled = enabled_pyo3_features(source, pyproject) if reported else set()
        for feature in reported:
            gone_in, advice = REPORTED[feature]
            if feature in enabled:
                ctx.finding(_where(ctx.source, feature),
                            f"PyO3 {gone_in.major}.{gone_in.minor} has no `{feature}` feature: {advice}", removed_in=gone_in)


CODEMOD = RemovedFeaturesCodemod()
