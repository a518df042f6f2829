"""`apply --verify`: compile what was written, and put a crate back exactly as it was if it fails."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pyo3_migrate.core.model import Finding
from pyo3_migrate.shell.apply import ApplyError, write_atomic
from pyo3_migrate.shell.runner import RunResult

# Deprecations that name an API our codemods migrate: these must be gone after a migration.
MIGRATED_APIS = (
    "GILOnceCell",
    "GILProtected",
    "with_gil",
    "allow_threads",
    "PyObject",
    "prepare_freethreaded_python",
    "assume_gil_acquired",
    "with_gil_unchecked",
    "HasAutomaticFromPyObject",  # 0.28: a Clone pyclass's automatic FromPyObject (from-py-object)
)
_MIGRATED_API = re.compile(r"\b(" + "|".join(MIGRATED_APIS) + r")\b")  # FromPyObject is not PyObject


@dataclass
class Diagnostic:
    level: str  # "error" or "warning"
    code: str | None  # e.g. "deprecated", "E0425"
    message: str
    file: str | None  # as cargo names it (relative to the workspace root for local files)
    line: int | None

    def line_text(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        return f"{where}{self.level}: {self.message}"


@dataclass
class CheckResult:
    ok: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)
    output: str = ""  # cargo's own stderr, for when it fails before compiling (resolution, network)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "warning"]

    def deprecations(self) -> list[Diagnostic]:
        return [
            d
            for d in self.diagnostics
            if d.code == "deprecated" and _MIGRATED_API.search(d.message)
        ]


def parse_cargo_messages(stdout: str) -> list[Diagnostic]:
    found = []
    seen = set()
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("reason") != "compiler-message":
            continue
        message = record["message"]
        if message.get("level") not in ("error", "warning"):
            continue
        primary = next((s for s in message.get("spans", []) if s.get("is_primary")), None)
        code = (message.get("code") or {}).get("code")
        diagnostic = Diagnostic(
            message["level"],
            code,
            message["message"],
            primary["file_name"] if primary else None,
            primary["line_start"] if primary else None,
        )
        key = (diagnostic.level, diagnostic.message, diagnostic.file, diagnostic.line)
        if key not in seen:
            seen.add(key)
            found.append(diagnostic)
    return found


def cargo_check(
    manifest: Path, env: dict[str, str] | None = None, timeout: float = 1800, extra: tuple[str, ...] = ()
) -> CheckResult:
    """`cargo check` one package (or a workspace, with extra=("--workspace",)), read through its JSON messages."""
    command = ["cargo", "check", "--quiet", "--message-format=json", "--manifest-path", str(manifest), *extra]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        return CheckResult(False, [], "cargo is not installed")
    except subprocess.TimeoutExpired:
        return CheckResult(False, [], f"cargo check timed out after {timeout:.0f}s")
    diagnostics = parse_cargo_messages(done.stdout)
    return CheckResult(done.returncode == 0, diagnostics, done.stderr)


@dataclass
class VerifyOutcome:
    crate: str
    manifest: Path
    check: CheckResult
    restored: list[Path] = field(default_factory=list)
    codemods_in_failing_files: list[str] = field(default_factory=list)


def touched_crates(result: RunResult):
    """The crates whose files (or whose manifests) this run changed."""
    project = result.project
    changed = {f.path for f in result.changed}
    crates = []
    for crate in project.pyo3_crates():
        mine = {p for p in changed if project.crate_of(p) is crate}
        if mine or crate.requirement_manifest in changed:
            crates.append(crate)
    return crates


def _owned_changed_files(result: RunResult, crate) -> list:
    project = result.project
    return [
        f
        for f in result.changed
        if project.crate_of(f.path) is crate or f.path == crate.requirement_manifest
    ]


def _failing_files(result: RunResult, crate, check: CheckResult) -> set[Path]:
    """Project-relative paths of the changed files the compiler complained about."""
    named = {Path(d.file) for d in check.errors if d.file}
    failing = set()
    for f in _owned_changed_files(result, crate):
        absolute = result.root / f.path
        if any(absolute.as_posix().endswith(n.as_posix()) for n in named):
            failing.add(f.path)
    return failing


def verify_written(result: RunResult, env: dict[str, str] | None = None) -> list[VerifyOutcome]:
    """Check every touched crate; restore the files of each one that fails, byte for byte.

    Crates that share a manifest (a workspace's `[workspace.dependencies]`) stand or fall together:
    putting back the shared manifest for one would leave the others migrated against the old PyO3.
    """
    outcomes = []
    groups: dict[object, list] = {}
    for crate in touched_crates(result):
        groups.setdefault(crate.requirement_manifest or crate.manifest, []).append(crate)
    for crates in groups.values():
        group = [VerifyOutcome(c.name, c.manifest, cargo_check(result.root / c.manifest, env)) for c in crates]
        outcomes.extend(group)
        if all(o.check.ok for o in group):
            continue
        for crate, outcome in zip(crates, group):
            failing = _failing_files(result, crate, outcome.check)
            outcome.codemods_in_failing_files = sorted(
                {fix.codemod for f in result.changed if f.path in failing for fix in f.applied}
            )
            outcome.restored = _restore(result, crate)
    return outcomes


def pyo3_deprecations(check: CheckResult) -> list[Diagnostic]:
    """Every deprecation warning that names PyO3's API (cargo reports only the crate's own code)."""
    return [d for d in check.diagnostics if d.code == "deprecated" and "pyo3" in d.message and d.file]


def deprecations_as_findings(result: RunResult, outcome: VerifyOutcome) -> int:
    """What is still deprecated after a migration that compiles becomes a finding at its line, so
    nothing PyO3 deprecated is left unmentioned (macros' expansions included: cargo names the call)."""
    by_path = {f.path: f for f in result.files}
    added = 0
    for d in pyo3_deprecations(outcome.check):
        candidates = [Path(d.file), (outcome.manifest.parent / d.file)]
        path = next((p for p in candidates if p in by_path), None)
        if path is None:
            continue
        finding = Finding("verify", path, d.line or 1, 1, f"still deprecated after the migration: {d.message}")
        if finding not in by_path[path].findings:
            by_path[path].findings.append(finding)
            added += 1
    return added


def _restore(result: RunResult, crate) -> list[Path]:
    restored = []
    for f in _owned_changed_files(result, crate):
        if f.path not in result.written:
            continue
        try:
            write_atomic(result.root / f.path, f.after, f.before)
        except ApplyError as exc:
            if f.path not in restored:
                result.errors.append(str(exc))
            continue
        result.written.remove(f.path)
        restored.append(f.path)
    return restored
