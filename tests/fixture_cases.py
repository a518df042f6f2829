"""Discovery and running of codemod fixtures (shared by the fixture tests and the meta tests).

A case is either a file pair or a directory:
    tests/fixtures/<codemod-id>/<case>.before.rs   [+ <case>.after.rs]   [+ <case>.toml]
    tests/fixtures/<codemod-id>/<case>/before/...  [+ <case>/after/...]  [+ <case>/case.toml]
No `after` means "must not change". The optional TOML holds:
    target = "0.26"            # --target-pyo3 (default "0.26")
    pyo3 = "0.22.6"            # the crate's own requirement (default "0.22.6"; see DEFAULT_PYO3)
    features = ["py-clone"]    # the crate's pyo3 features (default none)
    codemods = ["clone-ref"]   # what runs (default: the directory's codemod)
    unsafe = false             # apply unsafe fixes
    declare_free_threaded = false  # --declare-free-threaded
    free_threading_level = "beta"  # --free-threading-level
    findings = ["text", ...]   # each must be part of a finding's "codemod: message" (in order)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pyo3_migrate import codemods
from pyo3_migrate.core import engine
from pyo3_migrate.core.codemod import FREE_THREADING_LEVELS
from pyo3_migrate.core.model import FileResult
from pyo3_migrate.core.project import single_crate
from pyo3_migrate.core.version import Version

FIXTURES = Path(__file__).parent / "fixtures"
# From 0.22 a `Py` clone compiles only with the `py-clone` feature: py-clone's cases start below it
# unless they say otherwise (with the feature, or another version)
DEFAULT_PYO3 = {"py-clone": "0.21.2", "py-clone-feature": "0.21.2"}


@dataclass
class Case:
    codemod: str
    name: str
    before: dict[Path, bytes]
    after: dict[Path, bytes] | None
    options: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.codemod}/{self.name}"

    @property
    def changes(self) -> bool:
        return self.after is not None and self.after != self.before


_FILE_FOR_EXTENSION = {
    "rs": Path("src/lib.rs"),
    "toml": Path("Cargo.toml"),
    "pyproject.toml": Path("pyproject.toml"),
    "py": Path("python/pkg/module.py"),
}


def _tree(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def discover_cases() -> list[Case]:
    cases = []
    for directory in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for entry in sorted(directory.iterdir()):
            if entry.is_dir():
                options = tomllib.loads((entry / "case.toml").read_text()) if (entry / "case.toml").exists() else {}
                after = _tree(entry / "after") if (entry / "after").is_dir() else None
                cases.append(Case(directory.name, entry.name, _tree(entry / "before"), after, options))
            elif ".before." in entry.name:
                name, _, ext = entry.name.partition(".before.")
                path = _FILE_FOR_EXTENSION.get(ext, Path(f"file.{ext}"))
                after_file = entry.with_name(f"{name}.after.{ext}")
                toml_file = entry.with_name(f"{name}.toml")
                options = tomllib.loads(toml_file.read_text()) if toml_file.exists() else {}
                after = {path: after_file.read_bytes()} if after_file.exists() else None
                cases.append(Case(directory.name, name, {path: entry.read_bytes()}, after, options))
    return cases


def _written_pyo3(files: dict[Path, bytes]) -> str | None:
    """The pyo3 requirement the case's own Cargo.toml now asks for (a run may hold it below the target)."""
    manifest = files.get(Path("Cargo.toml"))
    entry = tomllib.loads(manifest.decode("utf-8-sig")).get("dependencies", {}).get("pyo3") if manifest else None
    written = entry.get("version") if isinstance(entry, dict) else entry
    return written.lstrip("=^~") if isinstance(written, str) else None


def run_case(case: Case, files: dict[Path, bytes] | None = None, migrated: bool = False) -> list[FileResult]:
    """One run of the case's codemods; `migrated`: on its own output, whose crate now asks for the
    target PyO3 (as the manifest the first run moved would say)."""
    files = case.before if files is None else files
    rust_files = [p for p in files if p.suffix == ".rs"]
    pyo3 = case.options.get("pyo3", DEFAULT_PYO3.get(case.codemod, "0.22.6"))
    target = case.options.get("target", "0.26")
    if migrated and Version.parse(target) > Version.parse(pyo3):
        pyo3 = _written_pyo3(files) or target
    project = single_crate(rust_files, pyo3, features=case.options.get("features", []))
    selected = codemods.select(case.options.get("codemods", [case.codemod]))
    options = engine.Options(
        target=Version.parse(case.options.get("target", "0.26")),
        include_unsafe=case.options.get("unsafe", False),
        declare_free_threaded=case.options.get("declare_free_threaded", False),
        free_threading_level=FREE_THREADING_LEVELS[case.options.get("free_threading_level", "beta")],
    )
    return engine.run(project, dict(files), selected, options)
