"""What a codemod is: its metadata next to its logic, and the context it runs in.

A codemod is pure. It may `scan` the whole project snapshot first (facts shared by all files,
as OpenRewrite's scanning recipes do), then `transform` one file at a time, returning fixes
(atomic groups of byte edits) and findings (places a person must look at). It never raises for
a shape it does not understand: it returns a Finding, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

from tree_sitter import Node, Tree

from pyo3_migrate.core import syntax
from pyo3_migrate.core.lines import tidy_removals
from pyo3_migrate.core.model import Edit, Finding, Fix, Safety, line_col
from pyo3_migrate.core.project import PYTEST_SETTINGS, Crate, Project
from pyo3_migrate.core.version import Version

GUIDE = "https://pyo3.rs/main/migration"
# The four levels of the `Programming Language :: Python :: Free Threading` trove classifier
FREE_THREADING_LEVELS = {"unstable": "1 - Unstable", "beta": "2 - Beta", "stable": "3 - Stable", "resolved": "4 - Resolved"}


@dataclass(frozen=True)
class CodemodInfo:
    id: str
    summary: str
    language: str  # "rust", "toml", "python" (Python files and pytest settings) or "yaml" (CI workflows)
    safety: Safety
    min_target: Version  # the lowest target PyO3 it applies to (its output compiles from there)
    max_target: Version | None  # first target it no longer applies to, if any
    guide: str  # the section of PyO3's migration guide this follows
    docs: str  # the module docstring: what it does, an example, why it is (un)safe
    stages: tuple[Version, ...] = ()  # later releases from which its output changes (for `plan`)
    # Words without which it has nothing to do: a crate none of whose Rust files contains one is
    # not shown to it at all (no parse, no scan). Empty: it always runs. Every name it acts on
    # must be here, aliases included (an alias is declared with the original name, in the crate).
    triggers: tuple[str, ...] = ()
    # A finer test than the words, when one needs a look around them (`static mut`, not `'static`)
    trigger_test: Callable[[bytes], bool] | None = None
    # The files it surely parses, when fewer than its trigger words reach (the others it parses
    # only when its facts lead there): the engine parses and checks these up front
    parses: Callable[[bytes], bool] | None = None
    # What it reads besides the files it edits, when that is not what its language says (the
    # engine reruns a codemod in a later pass only when what it reads has changed).
    reads_manifests: bool | None = None  # default: a TOML codemod does, a Rust one does not
    reads_rust: bool | None = None  # default: a Rust codemod does
    reports_only: bool = False  # a check that never edits (its fixtures all stay unchanged)
    # The release that removes the API this codemod rewrites: code it leaves unrewritten holds the
    # requirement below it (None: what it rewrites compiles at every release).
    removes_at: Version | None = None
    # A type of this name that a crate defines itself is reported at every release (a look-alike of
    # the GIL-era type, unsound under free-threading): such a crate is read even past `removes_at`
    lookalike: str | None = None

    def reads(self, path: Path) -> bool:
        """Whether this codemod's output can depend on the bytes of path."""
        if path.suffix == ".rs":
            return self.reads_rust if self.reads_rust is not None else self.language == "rust"
        if path.suffix == ".toml" and not (path.name == "pyproject.toml" and self.language == "python"):
            return self.reads_manifests if self.reads_manifests is not None else self.language == "toml"
        return self.wants(path)

    def acts_at(self, target: Version) -> Version:
        """The release whose API its output uses for this target."""
        return max((s for s in (self.min_target, *self.stages) if s <= target), default=self.min_target)

    def applies(self, target: Version) -> bool:
        return target >= self.min_target and (self.max_target is None or target < self.max_target)

    def parses_up_front(self, source: bytes) -> bool:
        return self.parses(source) if self.parses is not None else self.triggered_by(source)

    def triggered_by(self, source: bytes) -> bool:
        if self.trigger_test is not None:
            return self.trigger_test(source)
        return not self.triggers or any(word.encode() in source for word in self.triggers)

    def wants(self, path: Path) -> bool:
        if self.language == "rust":
            return path.suffix == ".rs"
        if self.language == "toml":
            return path.name in ("Cargo.toml", "pyproject.toml")
        if self.language == "yaml":
            return path.suffix in (".yml", ".yaml")
        return path.suffix in (".py", ".pyi") or path.name in PYTEST_SETTINGS


@dataclass(frozen=True)
class Options:
    """What the user asked for, read the same way by the engine and every codemod."""

    target: Version | None = None  # None: each crate's own PyO3 version
    include_unsafe: bool = False
    declare_free_threaded: bool = False  # the user opts in to claiming free-threading support
    named: frozenset[str] = frozenset()  # codemods named with --codemod: asked for, they say all they see
    # codemod id -> why its fixes are only reported (not selected, or its edits did not compile):
    # they become findings, and what they would have rewritten holds the requirement
    report_only: tuple[tuple[str, str], ...] = ()
    skip_docs: bool = False  # leave doc-comment examples alone (a run over an example itself)
    free_threading_level: str = "2 - Beta"  # the trove classifier's level (see FREE_THREADING_LEVELS)
    exclude: tuple[str, ...] = ()  # globs of project-relative paths never read (--exclude, config)


@dataclass
class Snapshot:
    """The project as the current pass sees it: manifests' facts plus every file's current bytes."""

    project: Project
    contents: dict[Path, bytes]
    target_for: Callable[[Path], Version | None]
    broken: set[Path] = field(default_factory=set)  # files skipped for bad input
    options: Options = field(default_factory=Options)  # what the user opted in to
    full_project: Project | None = None  # the whole project, when `project` shows only some crates
    original: dict[Path, bytes] = field(default_factory=dict)  # every file as read, before any codemod

    def __post_init__(self) -> None:
        if self.full_project is None:
            self.full_project = self.project

    def rust_files(self, crate: Crate | None = None) -> list[Path]:
        files = crate.rust_files if crate else [f for c in self.project.crates for f in c.rust_files]
        return [f for f in files if f in self.contents and f not in self.broken]

    @cached_property
    def shown_rust(self) -> frozenset[Path]:
        """The Rust files of the crates this snapshot shows (all of its project's, broken ones too)."""
        return frozenset(f for c in self.project.crates for f in c.rust_files)

    def shows(self, path: Path) -> bool:
        """Whether the codemod given this snapshot may read path (a Rust file only in a crate it is shown)."""
        return path.suffix != ".rs" or self.project is self.full_project or path in self.shown_rust


@dataclass
class Context:
    """One file being transformed by one codemod."""

    info: CodemodInfo
    path: Path
    source: bytes
    target: Version
    snapshot: Snapshot
    facts: object = None
    fixes: list[Fix] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    _tree: Tree | None = None

    @property
    def tree(self) -> Tree:
        if self._tree is None:
            self._tree = syntax.parse(self.source)
        return self._tree

    @property
    def crate(self) -> Crate | None:
        return self.snapshot.project.crate_of(self.path)

    def text(self, node: Node) -> str:
        return syntax.text(self.source, node)

    def fix(self, message: str, edits: list[Edit], safety: Safety | None = None) -> None:
        if self.path.suffix == ".rs":
            edits = tidy_removals(self.source, edits)
        if edits:
            self.fixes.append(Fix(self.info.id, message, tuple(edits), safety or self.info.safety, self.info.guide))

    def finding(self, at: Node | int, message: str, removed_in: Version | None = None) -> None:
        """Report what a person must look at. `removed_in`: the kept code uses an API that this PyO3
        release removes, so the crate's requirement must stay below it (the engine sees to that)."""
        offset = at if isinstance(at, int) else at.start_byte
        line, col = line_col(self.source, offset)
        self.findings.append(Finding(self.info.id, self.path, line, col, message, removed_in))


class Codemod:
    """Base: subclasses set `info` and override `transform` (and `scan` when they need facts)."""

    info: CodemodInfo

    def scan(self, snapshot: Snapshot) -> object:
        return None

    def reads_crate(self, crate: Crate, project: Project, contents: dict[Path, bytes]) -> bool:
        """Whether the crate can hold anything for it at all (its manifests say; `contents`, every
        file's bytes, for a cheap look); a crate it does not read is never shown to it, so its
        files are not parsed for it. By default: a crate that already builds against the release
        removing what it rewrites has none of it left."""
        removed, version, lookalike = self.info.removes_at, crate.pyo3_version, self.info.lookalike
        if removed is None or version is None or version < removed:
            return True
        return lookalike is not None and syntax.may_declare_type(
            (contents[f] for f in crate.rust_files if f in contents), lookalike)

    def transform(self, ctx: Context) -> None:
        raise NotImplementedError


def info_from_module(module_doc: str | None, **fields) -> CodemodInfo:
    return CodemodInfo(docs=(module_doc or "").strip(), **fields)
