"""The real-crate harness: migrate public PyO3 crates to each target and `cargo check` the result.

Usage (from the repository root, in the project's venv):

    python scripts/real_crates.py --mirrors DIR [--cache DIR] [--only NAME ...] [--targets 0.26 0.29 0.30]

The crates are the pre-migration snapshots listed in ../shared/real-crates.md. This machine cannot
clone from GitHub, so each repository is read from a bare git directory under --mirrors, as
`OWNER+NAME/repo` (the layout the session's fetch verb leaves) or `OWNER+NAME` or `NAME.git`. For
each snapshot and each target: a fresh copy of the revision is exported (only the crate and the
workspace files when the repository lacks some large blobs), committed so that `apply` sees a
clean tree, migrated with `pyo3-migrate apply --target-pyo3 X`, then `cargo check`ed with all
checks sharing one cargo target directory. The first column of every crate is the snapshot as it
is. `--doctests` also runs `cargo test --doc` where the crate compiles (a full build, and the
examples run: slow; cargo cannot build doctests without running them).

The table: crate x target -> the PyO3 the manifest asks for after the run, exit code of `apply`,
compiles?, errors, deprecation warnings of migrated APIs, findings left, seconds. Nothing here runs
in CI (CI cannot fetch); the results go into the README and the closing notes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pyo3_migrate.shell.verify import CheckResult, cargo_check  # noqa: E402
from tests.proof import cargo_env  # noqa: E402

TABLE = REPO.parent / "shared" / "real-crates.md"
# Rows of the table that need something the tool cannot give them (a git submodule): dry run only.
DRY_RUN_ONLY = {"eudplib"}


@dataclass(frozen=True)
class Snapshot:
    repository: str  # owner/name
    revision: str
    crate_dir: str
    pyo3: str

    @property
    def name(self) -> str:
        return f"{self.repository.split('/')[1]}-{self.revision}"


def snapshots(table: Path = TABLE) -> list[Snapshot]:
    """The rows of the 'Pre-migration snapshots' table."""
    rows, inside = [], False
    for line in table.read_text().splitlines():
        if line.startswith("## "):
            inside = line.startswith("## Pre-migration")
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not inside or len(cells) < 4 or cells[0] in ("repository", "") or set(cells[0]) <= set("-"):
            continue
        rows.append(Snapshot(cells[0], cells[1], cells[2], cells[3]))
    return rows


def bare_repository(mirrors: Path, repository: str) -> Path:
    owner, name = repository.split("/")
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / f"{owner}+{name}", mirrors / f"{name}.git"):
        if (candidate / "HEAD").is_file():
            return candidate
    raise SystemExit(f"{repository}: no bare git directory under {mirrors} (fetch it first)")


def git(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, **kw)


def export(snapshot: Snapshot, bare: Path, out: Path) -> None:
    """The revision's tree in `out`, committed. Falls back to the crate and the top-level files when a blob is missing."""
    out.mkdir(parents=True)
    paths: list[str] = []
    if not _archive(bare, snapshot.revision, out, paths):
        shutil.rmtree(out)
        out.mkdir()
        top = git("--git-dir", str(bare), "ls-tree", "--name-only", snapshot.revision).stdout.decode().split()
        paths = [p for p in top if p in ("Cargo.toml", "Cargo.lock", "pyproject.toml", "rust-toolchain.toml")]
        paths += [snapshot.crate_dir] if snapshot.crate_dir != "." else [p for p in top if p in ("src", "python")]
        if not _archive(bare, snapshot.revision, out, paths):
            raise SystemExit(f"{snapshot.name}: git archive failed even for {paths}")
    for args in (("init", "-q"), ("add", "-A"), ("-c", "user.name=h", "-c", "user.email=h@h", "commit", "-qm", "snapshot")):
        git(*args, cwd=out)


def _archive(bare: Path, revision: str, out: Path, paths: list[str]) -> bool:
    archive = subprocess.Popen(["git", "--git-dir", str(bare), "archive", revision, *paths], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    untar = subprocess.run(["tar", "-x", "-C", str(out)], stdin=archive.stdout, capture_output=True)
    return archive.wait() == 0 and untar.returncode == 0


@dataclass
class Row:
    snapshot: str
    target: str
    requirement: str = "-"
    exit_code: str = "-"
    compiles: str = "-"
    errors: int = 0
    deprecations: int = 0
    findings: str = "-"
    seconds: float = 0.0
    first_error: str = ""

    def markdown(self) -> str:
        return (
            f"| {self.snapshot} | {self.target} | {self.requirement} | {self.exit_code} | {self.compiles} | "
            f"{self.errors} | {self.deprecations} | {self.findings} | {self.seconds:.0f} |"
        )


HEADER = (
    "| crate | target | pyo3 after | apply exit | compiles | errors | migrated-API deprecations | findings left | seconds |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyo3_migrate", *args], capture_output=True, text=True, check=False)


def migrate(crate: Path, target: str, extra: list[str]) -> tuple[int, int]:
    """`apply` to the target; the exit code and the findings a scan still reports."""
    applied = tool("apply", str(crate), "--target-pyo3", target, *extra)
    scanned = tool("scan", str(crate), "--target-pyo3", target, "--format", "json")
    try:
        payload = json.loads(scanned.stdout)
        findings = sum(len(f["findings"]) for p in payload["projects"] for f in p["files"])
    except (ValueError, KeyError):
        findings = -1
    return applied.returncode, findings


def project_dir(work: Path, crate: Path) -> Path:
    """Where to run the tool: the outermost workspace holding the crate (its `workspace = true`
    requirement lives there), else the crate itself."""
    outermost = crate
    for directory in [crate, *crate.parents]:
        manifest = directory / "Cargo.toml"
        if manifest.is_file() and "[workspace]" in manifest.read_text(errors="replace"):
            outermost = directory
        if directory == work:
            break
    return outermost


def pyo3_requirement(crate: Path) -> str:
    """The pyo3 version Cargo.lock resolved, else what the manifest says (read as text: a report, not an edit)."""
    for directory in (crate, *crate.parents):
        lock = directory / "Cargo.lock"
        if lock.is_file():
            found = re.search(r'name = "pyo3"\nversion = "([^"]+)"', lock.read_text())
            if found:
                return found[1]
            break
    return "?"


def check(crate: Path, timeout: float) -> CheckResult:
    return cargo_check(crate / "Cargo.toml", cargo_env(), timeout=timeout)


def first_error(result: CheckResult) -> str:
    if result.errors:
        e = result.errors[0]
        return f"{e.file}:{e.line}: {e.message}"
    lines = [line for line in result.output.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line), lines[0] if lines else "")[:300]


def run_one(snapshot: Snapshot, bare: Path, cache: Path, target: str, args) -> Row:
    started = time.monotonic()
    work = cache / "work" / f"{snapshot.name}-{target}"
    if work.exists():
        shutil.rmtree(work)
    export(snapshot, bare, work)
    crate = work / snapshot.crate_dir
    row = Row(snapshot.name, target)
    if target != "as is":
        extra = ["--unsafe"] if args.unsafe else []
        code, findings = migrate(project_dir(work, crate), target, extra)
        row.exit_code, row.findings = str(code), str(findings)
    if snapshot.repository.split("/")[1] in DRY_RUN_ONLY:
        row.compiles = "not built"
    else:
        result = check(crate, args.timeout)
        row.compiles = "yes" if result.ok else "NO"
        row.errors, row.deprecations = len(result.errors), len(result.deprecations())
        row.first_error = "" if result.ok else first_error(result)
        if args.doctests and result.ok:
            doc = subprocess.run(
                ["cargo", "test", "--doc", "--quiet", "--manifest-path", str(crate / "Cargo.toml")],
                capture_output=True, text=True, env={**os.environ, **cargo_env()}, check=False,
            )
            row.compiles += "" if doc.returncode == 0 else " (doctests NO)"
    row.requirement = pyo3_requirement(crate)
    row.seconds = time.monotonic() - started
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return row


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mirrors", type=Path, required=True, help="folder of bare git repositories (OWNER+NAME/repo)")
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyo3-migrate" / "real-crates")
    p.add_argument("--only", nargs="+", default=[], help="snapshot names or repository names to run")
    p.add_argument("--targets", nargs="+", default=["0.26", "0.29", "0.30"])
    p.add_argument("--unsafe", action="store_true", help="pass --unsafe to apply")
    p.add_argument("--doctests", action="store_true", help="also `cargo test --doc` where it compiles")
    p.add_argument("--no-as-is", action="store_true", help="skip checking the snapshot as it is")
    p.add_argument("--keep", action="store_true", help="keep the migrated copies under CACHE/work")
    p.add_argument("--timeout", type=float, default=3600)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    chosen = [
        s for s in snapshots()
        if not args.only or s.name in args.only or s.repository.split("/")[1] in args.only
    ]
    print(HEADER, flush=True)
    failures = []
    for snapshot in chosen:
        bare = bare_repository(args.mirrors, snapshot.repository)
        for target in ([] if args.no_as_is else ["as is"]) + args.targets:
            row = run_one(snapshot, bare, args.cache, target, args)
            print(row.markdown(), flush=True)
            if row.first_error:
                failures.append(f"{row.snapshot} @ {row.target}: {row.first_error}")
    if failures:
        print("\nfirst error of each failing check:")
        print("\n".join(f"- {line}" for line in failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
