"""Runs the engine over a project on disk: read every file once, migrate in memory, maybe write.

The only module besides apply.py and cli.py that touches the disk.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from pyo3_migrate.core import engine
from pyo3_migrate.core.codemod import Codemod
from pyo3_migrate.core.model import FileResult, Finding
from pyo3_migrate.core.project import Project, ProjectError, discover, find_root
from pyo3_migrate.core.version import Version
from pyo3_migrate.shell.apply import ApplyError, Interrupted, write_all
from pyo3_migrate.shell.diff import map_line


@dataclass
class RunResult:
    root: Path
    project: Project | None
    files: list[FileResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, naming the file
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each: what was left alone, and why (not an error)
    seconds: float = 0.0  # the run's wall time
    target: Version | None = None  # where the run ended: below the asked target when kept code holds it back

    @property
    def changed(self) -> list[FileResult]:
        return [f for f in self.files if f.changed]

    @property
    def findings(self):
        return [finding for f in self.files for finding in f.findings]

    def located_findings(self, f: FileResult) -> list[Finding]:
        """f's findings placed in the file as it is on disk now: the migrated bytes if this run
        wrote them, else the original ones."""
        if f.path in self.written or not f.changed:
            return list(f.findings)
        spans = f.changed_spans()
        return [replace(x, line=map_line(f.before, f.after, x.line, spans)) for x in f.findings]

    def display_path(self, path: Path) -> Path:
        """path as the user should see it: relative to the current directory when the project is
        below it, else relative to the project root (diffs then apply from the project root)."""
        try:
            return (self.root / path).relative_to(Path.cwd().resolve())
        except ValueError:
            return path


def _inputs(project: Project, codemods: list[Codemod]) -> list[Path]:
    """The files that can matter: the Rust files of crates that depend on pyo3, the manifests,
    the Markdown files of those crates that mention `rust` blocks (doctests when a crate includes
    them), and the Python side (Python, pytest settings, CI workflows) only when a codemod reads it."""
    wanted = [f for c in project.pyo3_crates() for f in c.rust_files] + project.manifests
    pyo3_dirs = {c.directory for c in project.pyo3_crates()}
    wanted += [f for f in project.markdown_files if (owner := project.crate_of(f)) is not None
               and owner.directory in pyo3_dirs]
    if any(c.info.language in ("python", "yaml") for c in codemods):
        wanted += project.python_side
    return wanted


def excluded(path: Path, globs: tuple[str, ...]) -> bool:
    """Whether a project-relative path, or a folder above it, matches one of the globs."""
    if not globs:
        return False
    candidates = [path.as_posix(), *(d.as_posix() for d in path.parents if d != Path("."))]
    return any(fnmatch.fnmatchcase(c, g.rstrip("/")) for g in globs for c in candidates)


def _read_inputs(root: Path, project: Project, codemods: list[Codemod], errors: list[str],
                 notes: list[str], exclude: tuple[str, ...] = ()) -> dict[Path, bytes]:
    contents: dict[Path, bytes] = {}
    wanted = [p for p in _inputs(project, codemods) if not excluded(p, exclude)]
    wanted_set = set(wanted)
    for rel in sorted(wanted_set):
        absolute = root / rel
        if absolute.is_symlink():
            try:
                target = absolute.resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                why = "a symlink loop" if isinstance(exc, RuntimeError) else "a broken symlink"
                errors.append(f"{absolute}: {why}; left alone (remove or repair it)")
                continue
            if not target.is_relative_to(root):
                errors.append(f"{absolute}: symlink to a file outside the project ({target}); left alone")
                continue
            if target.relative_to(root) in wanted_set:
                notes.append(f"{absolute}: a symlink to {target.relative_to(root)}, which is migrated itself; left as it is")
                continue
        try:
            data = absolute.read_bytes()
        except OSError as exc:
            errors.append(f"{absolute}: cannot read: {exc.strerror}")
            continue
        if rel.suffix == ".md" and not _has_rust_blocks(data):
            continue  # documentation without code to migrate: not an input (nor an error)
        contents[rel] = data
    return contents


def _downgrades(project: Project, target: Version | None) -> str | None:
    """Why the run would go backwards (a crate already past the target), or None."""
    if target is None:
        return None
    above = [c for c in project.pyo3_crates() if c.pyo3_version is not None
             and (c.pyo3_version.major, c.pyo3_version.minor) > (target.major, target.minor)]
    if not above:
        return None
    crate = above[0]
    return (f"{project.root / crate.manifest}: crate {crate.name} is on PyO3 {crate.pyo3_version}, past "
            f"--target-pyo3 {target.major}.{target.minor}: pyo3-migrate does not downgrade (give a target from "
            f"{crate.pyo3_version.major}.{crate.pyo3_version.minor} on)")


def _has_rust_blocks(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"```rust" in data


def migrate_path(path: Path, codemods: list[Codemod], options: engine.Options,
                 progress: engine.Progress | None = None) -> RunResult:
    result = RunResult(path.resolve(), None)
    if not path.exists():
        result.errors.append(f"{path}: no such file or directory")
        return result
    try:
        root = result.root = find_root(path)
        project = discover(root)
    except ProjectError as exc:
        result.errors.append(str(exc))
        return result
    result.project = project
    if not project.pyo3_crates():
        result.errors.append(f"{path}: no crate depending on pyo3 found")
        return result
    below = _downgrades(project, options.target)
    if below:
        result.errors.append(below)
        return result
    contents = _read_inputs(root, project, codemods, result.errors, result.notes, options.exclude)
    started = time.perf_counter()
    result.files, result.target = engine.run_held(project, contents, codemods, options, progress)
    result.seconds = time.perf_counter() - started
    for f in result.files:
        if f.input_error is not None:
            result.errors.append(f"{root / f.path}: {f.input_error}; file left alone")
        result.errors.extend(f"{root / f.path}: {failure}" for failure in f.failures)
    return result


def migrate_paths(paths: list[Path], codemods: list[Codemod], options: engine.Options, jobs: int = 1,
                  progress: Callable[[Path, int, int, str], None] | None = None) -> list[RunResult]:
    """Each project on its own, `jobs` at a time in worker processes; results in the order of
    `paths`, the same for any `jobs`. `progress(path, done, total, label)` hears of each step of
    a project run here, and of each project a worker finished (done == total)."""
    if jobs <= 1 or len(paths) <= 1:
        return [
            migrate_path(p, codemods, options, (lambda d, t, label, p=p: progress(p, d, t, label)) if progress else None)
            for p in paths
        ]
    from concurrent.futures import ProcessPoolExecutor, as_completed  # (its import costs a one-project run)

    with ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
        futures = {pool.submit(migrate_path, p, codemods, options): p for p in paths}
        for future in as_completed(futures):
            if progress is not None:
                progress(futures[future], 1, 1, "done")
        return [future.result() for future in futures]


def write_changes(result: RunResult, partial: bool = False) -> None:
    """Write the project's changed files all together, or none of them: not when a file of it could
    not be migrated (unless `partial`), nor when one cannot be written."""
    changed = result.changed
    if not changed:
        return
    if result.errors and not partial:
        result.errors.append(f"{result.root}: nothing written: the file(s) above could not be migrated, and a "
                             "project is written whole or not at all (fix them, or pass --partial)")
        return
    try:
        write_all([(result.root / f.path, f.before, f.after) for f in changed])
    except ApplyError as exc:
        result.errors.append(f"{exc}; nothing of {result.root} was written")
        return
    except Interrupted as exc:
        result.written.extend(f.path for f in changed[: len(exc.written)])
        raise
    result.written.extend(f.path for f in changed)
