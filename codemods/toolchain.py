"""toolchain: the Rust and Python versions a target PyO3 needs, against what the project declares.

What it does
    Reports, never edits. PyO3 0.28 needs Rust 1.83 and 0.30 Rust 1.85; 0.29 dropped Python 3.7
    and 0.30 Python 3.8. When the target crosses one of these and the project still declares the
    older floor, a finding says so where it is declared:

        [package] rust-version = "1.74"          ->  PyO3 0.30 needs Rust 1.85 (rust-version says 1.74)
        [project] requires-python = ">=3.8"      ->  PyO3 0.30 supports Python 3.9 and later

    Raising either is a decision about who can still build or install the package (CI images,
    users on old interpreters), so it is left to a person.

    From 0.29, `pyo3-build-config` reads what the build scripts of `pyo3`/`pyo3-ffi` export, so a
    crate that depends on it without depending on one of those directly no longer builds: a
    finding that holds the requirement at 0.28 until a person adds the dependency.

What it will not do
    - Edit `rust-version` or `requires-python`. `abi3-py3X` features are `removed-features`' job.

Fix safety
    Safe: reports only.
"""

from __future__ import annotations

import re
import tomllib

from pyo3_migrate.core.cargo import dependency_tables
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Safety
from pyo3_migrate.core.version import V0_29, Version

INFO = CodemodInfo(
    id="toolchain",
    summary="report `rust-version` and `requires-python` below what the target PyO3 needs",
    language="toml",
    safety=Safety.SAFE,
    min_target=Version(0, 28),
    max_target=None,
    guide=GUIDE,
    docs=__doc__.strip(),
    reports_only=True,
)

# PyO3 release -> the oldest Rust it builds with (pyo3-facts: 0.28 MSRV 1.83, 0.30 MSRV 1.85)
RUST = {Version(0, 28): (1, 83), Version(0, 30): (1, 85)}
# PyO3 release -> the oldest Python it supports (0.29 dropped 3.7, 0.30 dropped 3.8)
PYTHON = {Version(0, 29): (3, 8), Version(0, 30): (3, 9)}
_FLOOR = re.compile(r"(?:>=|~=|==)\s*(\d+)\.(\d+)")


def needed(table: dict[Version, tuple[int, int]], target: Version) -> tuple[int, int] | None:
    return max((v for release, v in table.items() if release <= target), default=None)


def _declared(text: str) -> tuple[int, int] | None:
    m = _FLOOR.search(text) if any(op in text for op in (">=", "~=", "==")) else re.match(r"\s*(\d+)\.(\d+)", text)
    return (int(m[1]), int(m[2])) if m else None


def _line_of(source: bytes, key: str) -> int:
    """The byte offset of the line that sets `key`, for pointing at it."""
    m = re.search(rb"(?m)^[ \t]*" + re.escape(key.encode()) + rb"\s*=", source)
    return m.start() if m else 0


def _build_config_alone(doc: dict) -> bool:
    """`pyo3-build-config` among the crate's dependencies without `pyo3`/`pyo3-ffi` in [dependencies]."""
    uses_it = any("pyo3-build-config" in table for _, table in
                  dependency_tables(doc, ("dependencies", "build-dependencies", "dev-dependencies"), workspace=False))
    direct = dependency_tables(doc, ("dependencies",), workspace=False)
    return uses_it and not any(name in table for _, table in direct for name in ("pyo3", "pyo3-ffi"))


class ToolchainCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        try:
            doc = tomllib.loads(ctx.source.decode("utf-8-sig"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            return
        release = f"{ctx.target.major}.{ctx.target.minor}"
        if ctx.path.name == "Cargo.toml":
            declared = (doc.get("package") or {}).get("rust-version")
            want = needed(RUST, ctx.target)
            floor = _declared(declared) if isinstance(declared, str) else None
            if want and floor and floor < want:
                ctx.finding(_line_of(ctx.source, "rust-version"), f"PyO3 {release} needs Rust {want[0]}.{want[1]} "
                            f"(`rust-version` says {declared}): raise it if the crate's toolchains can follow")
            if ctx.target >= V0_29 and _build_config_alone(doc):
                ctx.finding(_line_of(ctx.source, "pyo3-build-config"), "from PyO3 0.29 a crate that uses "
                            "`pyo3-build-config` needs `pyo3` or `pyo3-ffi` as a direct dependency too (it reads "
                            "what their build scripts export): add one to [dependencies]", V0_29)
        elif ctx.path.name == "pyproject.toml":
            declared = (doc.get("project") or {}).get("requires-python")
            want = needed(PYTHON, ctx.target)
            floor = _declared(declared) if isinstance(declared, str) else None
            if want and floor and floor < want:
                ctx.finding(_line_of(ctx.source, "requires-python"), f"PyO3 {release} supports Python "
                            f"{want[0]}.{want[1]} and later (`requires-python` says {declared!r}): raise it")


CODEMOD = ToolchainCodemod()
