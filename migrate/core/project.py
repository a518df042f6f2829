"""Scan phase: what a project is made of, read from its manifests.

`discover(root)` reads the disk once and returns a Project value: its crates (with their PyO3
requirement, locked version and features), their Rust files, and the maturin Python package.
The codemods decide on these facts; they never read the disk themselves.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pyo3_migrate.core.cargo import dependency_tables, toml_document
from pyo3_migrate.core.version import Version, is_comparator, same_line

SKIP_DIRS = {"target", ".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", "build", "dist"}


class ProjectError(Exception):
    """A project that cannot be read: the message names the file."""


@dataclass(frozen=True)
class LockedDependent:
    """A registry package in Cargo.lock that depends on pyo3 or pyo3-ffi (so it pins the PyO3 line)."""

    name: str
    version: str
    pyo3: Version  # the PyO3 it is locked against
    via: str  # the crate's direct dependency that brings it in (its own name when direct)


@dataclass
class Crate:
    name: str
    manifest: Path  # Cargo.toml, relative to the project root
    requirement: str | None  # the pyo3 requirement string, e.g. "0.22.6" or "=0.25"
    requirement_manifest: Path | None  # where that string lives (the workspace root for `workspace = true`)
    locked: Version | None  # from Cargo.lock, when it agrees with the requirement's release line
    features: list[str]
    rust_files: list[Path] = field(default_factory=list)
    pyo3_dependents: tuple[LockedDependent, ...] = ()  # from Cargo.lock, when there is one

    @property
    def directory(self) -> Path:
        return self.manifest.parent

    @property
    def pyo3_version(self) -> Version | None:
        """The lowest PyO3 the crate builds with: the locked one, else the requirement's floor."""
        if self.locked is not None:
            return self.locked
        return Version.parse(self.requirement) if self.requirement else None


@dataclass
class PythonPackage:
    pyproject: Path
    module_name: str | None
    python_source: Path | None
    features: list[str]


@dataclass
class Project:
    root: Path
    crates: list[Crate]
    python: list[PythonPackage]
    python_side: list[Path]  # the files of the Python side (see `python_side`): only Python codemods read them
    manifests: list[Path]  # every Cargo.toml and pyproject.toml the tool may edit
    markdown_files: list[Path] = field(default_factory=list)  # their `rust` blocks may be doctests
    _owner_by_dir: tuple[list[Crate], dict[Path, Crate], dict[Path, Crate | None]] | None = field(
        default=None, repr=False, compare=False)

    def crate_of(self, path: Path) -> Crate | None:
        """The innermost crate whose directory holds path (looked up by directory, memoized)."""
        owners, known = self._owners()
        if path not in known:
            known[path] = next((owners[d] for d in (path, *path.parents) if d in owners), None)
        return known[path]

    def _owners(self) -> tuple[dict[Path, Crate], dict[Path, Crate | None]]:
        """(crate by directory, crate by path asked so far), for this list of crates."""
        if self._owner_by_dir is None or self._owner_by_dir[0] is not self.crates:
            by_dir: dict[Path, Crate] = {}
            for crate in sorted(self.crates, key=lambda c: -len(c.directory.parts)):
                by_dir.setdefault(crate.directory, crate)
            self._owner_by_dir = (self.crates, by_dir, {})
        return self._owner_by_dir[1], self._owner_by_dir[2]

    def pyo3_crates(self) -> list[Crate]:
        return [c for c in self.crates if c.requirement is not None]


def _read_toml(path: Path) -> dict:
    try:
        return toml_document(path.read_bytes())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read TOML: {exc}") from exc


def _walk_files(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            found.append(Path(dirpath, name))
    return found


def _pyo3_entry(manifest: dict) -> object | None:
    """The crate's own pyo3 entry: the first of its tables that has one."""
    tables = dependency_tables(manifest, ("dependencies", "build-dependencies", "dev-dependencies"),
                               target_kinds=("dependencies",), workspace=False)
    return next((table["pyo3"] for _, table in tables if _is_pyo3(table.get("pyo3"))), None)


def _is_pyo3(entry: object) -> bool:
    """A `pyo3` key that is PyO3 (`pyo3 = { package = "other" }` is another crate under that name)."""
    return entry is not None and not (isinstance(entry, dict) and entry.get("package", "pyo3") != "pyo3")


def _checked_requirement(path: Path, entry: object, requirement: object) -> str | None:
    """The requirement string, when the tool can move it; ProjectError (one line, what to do) when not."""
    if isinstance(entry, dict) and ("path" in entry or "git" in entry):
        source = "a path" if "path" in entry else "git"
        raise ProjectError(f"{path}: pyo3 comes from {source} ({entry.get('path') or entry.get('git')}), which "
                           "pyo3-migrate cannot move to a release; depend on a crates.io release, then run again")
    if requirement is None:
        return None
    if not isinstance(requirement, str):
        raise ProjectError(f"{path}: pyo3's version is {requirement!r}, not a requirement string (write it as "
                           "\"0.22\" or \"0.22.6\")")
    parts = [part for part in requirement.split(",") if part.strip()]
    if not parts or not all(is_comparator(part) for part in parts):
        raise ProjectError(f"{path}: pyo3 = {requirement!r} is not a requirement cargo reads; fix it, then run again")
    if not _REQ_FLOOR.match(requirement):
        raise ProjectError(f"{path}: pyo3 = {requirement!r} names no release the crate builds with; pin one "
                           "(\"0.22\", \"=0.22.6\", \">=0.22, <0.24\"), then run again")
    return requirement


_REQ_FLOOR = re.compile(r"^\s*(\^|~|=|>=)?\s*\d+\.\d+")  # a floor the crate is known to build with


def _requirement(entry: object) -> tuple[str | None, list[str], bool]:
    """(version requirement, features, inherits from the workspace)."""
    if isinstance(entry, str):
        return entry, [], False
    if isinstance(entry, dict):
        return entry.get("version"), list(entry.get("features", [])), bool(entry.get("workspace"))
    return None, [], False


_PINS_THE_LINE = ("pyo3", "pyo3-ffi")  # pyo3-ffi `links = "python"`: one of it per build
_FAMILY = ("pyo3", "pyo3-ffi", "pyo3-macros", "pyo3-macros-backend", "pyo3-build-config")


def _read_lock(lock_path: Path, seen: dict[Path, "_LockGraph"]) -> "_LockGraph":
    """A Cargo.lock's package graph (each lock file read once: a workspace shares one)."""
    if lock_path not in seen:
        seen[lock_path] = _LockGraph(_read_toml(lock_path).get("package", []) if lock_path.is_file() else [])
    return seen[lock_path]


def _locked_pyo3(lock: "_LockGraph") -> Version | None:
    """The lowest pyo3 a Cargo.lock pins."""
    return min(lock.pyo3.values()) if lock.pyo3 else None


class _LockGraph:
    """One Cargo.lock as a graph, with what each package reaches that pins PyO3's line (memoized:
    a workspace of many crates walks its shared lock once)."""

    def __init__(self, packages: list[dict]):
        self.by_name: dict[str, list[dict]] = {}
        for pkg in packages:
            self.by_name.setdefault(pkg["name"], []).append(pkg)
        self.pyo3 = {pkg["version"]: Version.parse(pkg["version"]) for pkg in self.by_name.get("pyo3", [])}
        self._reach: dict[tuple[str, str], dict[tuple[str, str], Version]] = {}

    @staticmethod
    def deps(pkg: dict) -> list[tuple[str, str | None]]:
        return [(d.split()[0], d.split()[1] if len(d.split()) > 1 else None) for d in pkg.get("dependencies", [])]

    def resolve(self, name: str, version: str | None) -> dict | None:
        return next((p for p in self.by_name.get(name, []) if version is None or p["version"] == version), None)

    def reach(self, pkg: dict) -> dict[tuple[str, str], Version]:
        """(name, version) -> locked PyO3 of every registry package from pkg down that depends on pyo3/pyo3-ffi."""
        key = (pkg["name"], pkg["version"])
        if key in self._reach:
            return self._reach[key]
        self._reach[key] = {}  # a cycle (dev-dependencies) ends here
        found: dict[tuple[str, str], Version] = {}
        pinned = [v for n, v in self.deps(pkg) if n in _PINS_THE_LINE]
        if pinned and pkg["name"] not in _FAMILY and "source" in pkg:
            version = self.pyo3.get(pinned[0]) if pinned[0] else (min(self.pyo3.values()) if self.pyo3 else None)
            if version is not None:
                found[key] = version
        for name, version in self.deps(pkg):
            child = self.resolve(name, version)
            if child is not None:
                found.update(self.reach(child))
        self._reach[key] = found
        return found

    def dependents(self, crate: str) -> tuple[LockedDependent, ...]:
        """The registry packages in the crate's graph that depend on pyo3/pyo3-ffi, each with the
        crate's direct dependency that brings it in."""
        root = next((p for p in self.by_name.get(crate, []) if "source" not in p), None)
        direct = [(name, self.resolve(name, version)) for name, version in (self.deps(root) if root is not None else [])]
        found: dict[tuple[str, str], LockedDependent] = {}
        for name, child in direct:  # a direct dependency that pins the line is its own way in
            pyo3 = self.reach(child).get((child["name"], child["version"])) if child is not None else None
            if pyo3 is not None:
                found[(child["name"], child["version"])] = LockedDependent(child["name"], child["version"], pyo3, name)
        for name, child in direct:
            for (dep, dep_version), pyo3 in (self.reach(child) if child is not None else {}).items():
                found.setdefault((dep, dep_version), LockedDependent(dep, dep_version, pyo3, name))
        return tuple(found.values())


def _workspace_root(manifest_path: Path, manifests: dict[Path, dict]) -> Path | None:
    for parent in manifest_path.parents[1:]:
        candidate = parent / "Cargo.toml"
        if candidate in manifests and "workspace" in manifests[candidate]:
            return candidate
    return None


def _refuse_member_of_outer_workspace(root: Path, manifest: Path) -> None:
    """A crate whose `pyo3.workspace = true` points above the given root: its requirement lives
    outside what we may edit, so the project to give is that workspace."""
    for parent in root.parents:
        candidate = parent / "Cargo.toml"
        if candidate.is_file() and "workspace" in _read_toml(candidate):
            raise ProjectError(f"{manifest}: its pyo3 comes from the workspace at {candidate} (`workspace = true`): "
                               f"run on {parent} instead")


def find_root(path: Path) -> Path:
    """The project a path belongs to, found as cargo finds a workspace: from the path (a directory
    anywhere inside a crate, or a Cargo.toml) up to the nearest Cargo.toml, then to the outermost
    workspace manifest above it, then to a maturin pyproject.toml above that (its Python side is
    part of the project). The search stops at the top of the git work tree. A path with no
    Cargo.toml above it is its own root (and gets the usual "no crate" answer)."""
    start = path.resolve()
    if start.is_file():
        start = start.parent
    chain = [start, *start.parents]
    top = next((d for d in chain if (d / ".git").exists()), chain[-1])
    chain = chain[: chain.index(top) + 1]
    nearest = next((d for d in chain if (d / "Cargo.toml").is_file()), None)
    if nearest is None:
        return start
    root = nearest
    for directory in chain[chain.index(nearest) + 1:]:
        manifest = directory / "Cargo.toml"
        if manifest.is_file():
            workspace = _read_toml(manifest).get("workspace")
            if isinstance(workspace, dict) and _member(workspace, nearest.relative_to(directory).as_posix()):
                root = directory
    for directory in chain[chain.index(root):]:
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "maturin" in _read_toml(pyproject).get("tool", {}):
            return directory
    return root


def _member(workspace: dict, directory: str) -> bool:
    """Whether a crate directory (relative to the workspace root) is one of its members, as
    cargo reads `members` and `exclude` globs."""
    if any(fnmatch.fnmatchcase(directory, g.rstrip("/")) or directory.startswith(g.rstrip("/") + "/")
           for g in workspace.get("exclude", [])):
        return False
    return any(fnmatch.fnmatchcase(directory, g.rstrip("/")) for g in workspace.get("members", []))


def discover(root: Path) -> Project:
    """Read the manifests under root. Paths in the result are relative to root."""
    root = root.resolve()
    files = _walk_files(root)
    cargo_paths = [f for f in files if f.name == "Cargo.toml"]
    manifests = {p: _read_toml(p) for p in cargo_paths}
    crates: list[Crate] = []
    locks: dict[Path, _LockGraph] = {}
    for path, manifest in manifests.items():
        if "package" not in manifest:
            continue  # a virtual workspace manifest
        entry = _pyo3_entry(manifest)
        requirement, features, inherited = _requirement(entry)
        requirement = _checked_requirement(path, entry, requirement)
        requirement_manifest = path if requirement else None
        workspace = _workspace_root(path, manifests)
        if inherited and workspace is None:
            _refuse_member_of_outer_workspace(root, path)
        if inherited and workspace is not None:
            ws_entry = manifests[workspace].get("workspace", {}).get("dependencies", {}).get("pyo3")
            ws_req, ws_features, _ = _requirement(ws_entry)
            ws_req = _checked_requirement(workspace, ws_entry, ws_req)
            requirement, requirement_manifest = ws_req, workspace
            features = ws_features + features
        lock_dir = (workspace or path).parent
        lock = _read_lock(lock_dir / "Cargo.lock", locks)
        locked = _locked_pyo3(lock)
        if locked is not None and requirement and not same_line(locked, Version.parse(requirement)):
            locked = None  # a stale lock: the manifest asks for another release line
        crates.append(
            Crate(
                name=str(manifest["package"].get("name", path.parent.name)),
                manifest=path.relative_to(root),
                requirement=requirement,
                requirement_manifest=requirement_manifest.relative_to(root) if requirement_manifest else None,
                locked=locked,
                features=features,
                pyo3_dependents=lock.dependents(str(manifest["package"].get("name", path.parent.name)))
                if requirement else (),
            )
        )
    by_dir = {c.directory: c for c in reversed(crates)}  # the first crate of a directory wins
    for f in files:
        if f.suffix == ".rs":
            rel = f.relative_to(root)
            owner = next((by_dir[d] for d in rel.parents if d in by_dir), None)  # the innermost crate
            if owner is not None:
                owner.rust_files.append(rel)
    python = []
    for f in files:
        if f.name == "pyproject.toml":
            maturin = _read_toml(f).get("tool", {}).get("maturin")
            if maturin is None:
                continue
            source = maturin.get("python-source")
            python.append(
                PythonPackage(
                    pyproject=f.relative_to(root),
                    module_name=maturin.get("module-name"),
                    python_source=(f.parent / source).relative_to(root) if source else None,
                    features=list(maturin.get("features", [])),
                )
            )
    python_files = python_side(root, files, python)
    markdown_files = [f.relative_to(root) for f in files if f.suffix == ".md"]
    edit_manifests = [p.relative_to(root) for p in cargo_paths] + [pkg.pyproject for pkg in python]
    return Project(root, sorted(crates, key=lambda c: str(c.manifest)), python, python_files, edit_manifests,
                   markdown_files)


PYTEST_SETTINGS = ("pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml")
_PYTHON_SIDE_NAMES = {"conftest.py", "noxfile.py", *PYTEST_SETTINGS}
_TEST_DIRS = {"tests", "test"}


def python_side(root: Path, files: list[Path], packages: list[PythonPackage]) -> list[Path]:
    """The project's Python side, relative to root: the maturin packages' Python sources and stubs
    (a `.pyi` beside the pyproject too), test folders, conftest.py and noxfile.py files, pytest settings (pytest.ini, tox.ini, setup.cfg,
    pyproject.toml) and CI workflows (.github/workflows/*.yml, .gitlab-ci.yml). Nothing else
    is ever read as Python."""
    sources, package_dirs = set(), {p.pyproject.parent for p in packages}
    for package in packages:
        if package.python_source is not None:
            sources.add(package.python_source)
        elif package.module_name:
            sources.add(package.pyproject.parent / package.module_name.split(".")[0])
    side = []
    for f in files:
        rel = f.relative_to(root)
        if rel.name in _PYTHON_SIDE_NAMES or (rel.suffix in (".py", ".pyi") and (
                _TEST_DIRS & set(rel.parts[:-1]) or any(s in rel.parents for s in sources))) or (
                rel.suffix == ".pyi" and rel.parent in package_dirs):
            side.append(rel)
    workflows = root / ".github" / "workflows"
    if workflows.is_dir():
        side += sorted(f.relative_to(root) for f in workflows.iterdir() if f.suffix in (".yml", ".yaml") and f.is_file())
    if (root / ".gitlab-ci.yml").is_file():
        side.append(Path(".gitlab-ci.yml"))
    return side


def single_crate(rust_files: list[Path], pyo3: str, name: str = "fixture", features: list[str] | None = None) -> Project:
    """A one-crate project made up in memory (fixtures, snippets): no disk involved."""
    crate = Crate(name, Path("Cargo.toml"), pyo3, Path("Cargo.toml"), None, list(features or []), list(rust_files))
    return Project(Path("."), [crate], [], [], [Path("Cargo.toml")])
