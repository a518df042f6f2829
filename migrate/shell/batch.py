"""Batch migration: many repositories, each one an isolated unit of work, on a process pool or a
Dask cluster (both through the `concurrent.futures` executor interface).

A repository is worked on in a git worktree of its own (a local path) or a fresh clone (a URL), so
the user's checkout is never touched and one repository's failure never reaches another. A dry run
writes `NAME.patch` (for `git apply` at the repository's root), `NAME.json` (findings) and
`NAME.md` (a pull-request body) to the output folder. `apply` commits on a branch, one commit per
release-line hop (or one in all), each with the migration record as trailers; the branch ref is
set only when every commit is made, so an interrupted repository is left untouched.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import threading
import time
import tomllib
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from pyo3_migrate.core import engine
from pyo3_migrate.core.version import Version

RECORD_KEY = "Pyo3-Migrate"  # trailer prefix of the migration record in each commit message


class BatchError(Exception):
    """A manifest the batch cannot run (the message says where and why)."""


@dataclass(frozen=True)
class Repo:
    name: str
    source: str  # a local path or a git URL
    rev: str | None = None
    target: str | None = None
    codemods: tuple[str, ...] = ()
    unsafe: bool = False
    declare_free_threaded: bool = False

    @property
    def is_url(self) -> bool:
        return bool(re.match(r"^[a-z][a-z0-9+.-]*://|^[\w.-]+@[\w.-]+:", self.source))


@dataclass(frozen=True)
class Settings:
    out: Path
    apply: bool = False
    branch: str = "pyo3-migrate/{target}"
    one_commit: bool = False
    push: str | None = None
    force: bool = False
    tool_version: str = "unknown"
    verify: bool = False  # `cargo check` the last hop before its commit
    timeout: float | None = None  # seconds one repository may take (where the worker can be interrupted)


@dataclass
class Outcome:
    name: str
    status: str  # "changed", "unchanged", "done" (already), "skipped", "failed"
    detail: str = ""
    files_changed: int = 0
    edits: dict[str, int] = field(default_factory=dict)  # codemod id -> fixes applied
    findings: int = 0
    branch: str | None = None
    commits: int = 0
    seconds: float = 0.0
    target: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("changed", "unchanged", "done")


# ------------------------------------------------------------------ the manifest


def read_manifest(path: Path) -> list[Repo]:
    """A TOML manifest (`[defaults]` and `[[repo]]` tables) or a plain list of paths and URLs."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"{path}: cannot read: {exc}") from exc
    base = path.resolve().parent
    if path.suffix != ".toml":
        entries = [{"source": line.strip()} for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        defaults: dict = {}
    else:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BatchError(f"{path}: not TOML: {exc}") from exc
        defaults = document.get("defaults", {})
        entries = [dict(e, source=e.get("url") or e.get("path", "")) for e in document.get("repo", [])]
    repos, seen = [], set()
    for number, entry in enumerate(entries, 1):
        if not entry["source"]:
            raise BatchError(f"{path}: repository {number} has neither `path` nor `url`")
        merged = {**defaults, **entry}
        source = merged["source"]
        repo = Repo(name="", source=source, rev=merged.get("rev"), target=merged.get("target"),
                    codemods=tuple(merged.get("codemods", ())), unsafe=bool(merged.get("unsafe", False)),
                    declare_free_threaded=bool(merged.get("declare_free_threaded", False)))
        if not repo.is_url:
            repo = replace(repo, source=str((base / source).resolve()))
        name = merged.get("name") or re.sub(r"\.git$", "", source.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
        name = re.sub(r"[^\w.-]", "_", name) or f"repo{number}"
        while name in seen:
            name += "_"
        seen.add(name)
        repos.append(replace(repo, name=name))
    return repos


def shard(repos: list[Repo], spec: str | None) -> list[Repo]:
    """`K/N`: the K-th of N deterministic subsets (by name), for a CI matrix."""
    if not spec:
        return repos
    match = re.fullmatch(r"(\d+)/(\d+)", spec)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise BatchError(f"--shard {spec!r}: expected K/N with 1 <= K <= N")
    k, n = int(match[1]), int(match[2])
    return [r for i, r in enumerate(sorted(repos, key=lambda r: r.name)) if i % n == k - 1]


# ------------------------------------------------------------------ one repository


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "user.name=pyo3-migrate", "-c", "user.email=pyo3-migrate@localhost",
                           "-c", "commit.gpgsign=false", *args], cwd=cwd, capture_output=True, text=True, check=check)


def _record(settings: Settings, before: str, target: str, edits: dict[str, int], findings: int, verified: str) -> str:
    counts = ", ".join(f"{k}={v}" for k, v in sorted(edits.items())) or "none"
    return (f"{RECORD_KEY}-Version: {settings.tool_version}\n{RECORD_KEY}-From: {before}\n{RECORD_KEY}-To: {target}\n"
            f"{RECORD_KEY}-Codemods: {counts}\n{RECORD_KEY}-Findings: {findings}\n{RECORD_KEY}-Verified: {verified}\n")


def _branch_name(settings: Settings, target: str) -> str:
    return settings.branch.format(target=target)


def _already_done(source: Path, branch: str, target: str) -> bool:
    """The branch's last commit records a migration to the target's release line."""
    log = _git(source, "log", "-1", "--format=%B", branch, "--", check=False)
    found = re.search(rf"^{RECORD_KEY}-To: (\S+)$", log.stdout, re.MULTILINE) if log.returncode == 0 else None
    if found is None or target == "own":
        return found is not None and target == "own"
    try:
        done, wanted = Version.parse(found[1]), Version.parse(target)
    except ValueError:  # `latest`, or a record written by hand: only the same words match
        return found[1] == target
    return (done.major, done.minor) == (wanted.major, wanted.minor)


def _checkout(repo: Repo, work: Path) -> Path:
    """A private copy to work in: a detached worktree of a local repository, or a clone of a URL."""
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    if repo.is_url:
        _git(work.parent, "clone", "-q", *(() if repo.rev else ("--depth", "1")), repo.source, str(work))
        if repo.rev:
            _git(work, "checkout", "-q", "--detach", repo.rev)
        return work
    source = Path(repo.source)
    _git(source, "worktree", "add", "-q", "--detach", str(work), repo.rev or "HEAD")
    return work


def _cleanup(repo: Repo, work: Path) -> None:
    if not repo.is_url and Path(repo.source).is_dir():
        _git(Path(repo.source), "worktree", "remove", "--force", str(work), check=False)
    shutil.rmtree(work, ignore_errors=True)


def run_repo(repo: Repo, settings: Settings, selected: list, options: engine.Options) -> Outcome:
    """Migrate one repository with the `selected` codemods and its options (see the module
    docstring); never raises: a failure is its outcome."""
    started = time.monotonic()
    outcome = Outcome(repo.name, "failed", target=repo.target)
    work = settings.out / "work" / repo.name
    try:
        with _time_limit(settings.timeout):
            _migrate_repo(repo, settings, selected, options, work, outcome)
    except _TimedOut:
        outcome.status, outcome.detail = "failed", f"timed out after {settings.timeout:g} s; nothing of it was kept"
    except subprocess.CalledProcessError as exc:
        verb = next((a for a, before in zip(exc.cmd[1:], exc.cmd) if before != "-c" and a != "-c"), "")
        outcome.status, outcome.detail = "failed", f"git {verb}: " + (
            (exc.stderr or exc.stdout or "").strip().splitlines() or ["failed"])[-1]
    except Exception as exc:  # one repository's bug never stops the batch
        outcome.status, outcome.detail = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        _cleanup(repo, work)
        outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


class _TimedOut(Exception):
    pass


@contextmanager
def _time_limit(seconds: float | None):
    """SIGALRM after `seconds` in a worker's main thread (a process pool); Dask's worker threads
    cannot be interrupted this way, and run unlimited."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise _TimedOut

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _migrate_repo(repo: Repo, settings: Settings, selected: list, options: engine.Options, work: Path,
                  outcome: Outcome) -> None:
    from pyo3_migrate.shell import report
    from pyo3_migrate.shell.apply import git_state
    from pyo3_migrate.shell.runner import migrate_path, write_changes
    from pyo3_migrate.shell.verify import verify_written

    if not repo.is_url:
        source = Path(repo.source)
        inside, dirty = git_state(source) if source.is_dir() else (False, [])
        if not inside:
            outcome.status, outcome.detail = "failed", "not a git repository (or not there)"
            return
        target_text = repo.target or "own"
        if settings.apply and not settings.force and _already_done(source, _branch_name(settings, target_text), target_text):
            outcome.status, outcome.detail = "done", "its branch already records this migration"
            return
        if settings.apply and dirty:
            outcome.status = "skipped"
            outcome.detail = f"uncommitted changes ({', '.join(dirty[:3])}{', ...' if len(dirty) > 3 else ''})"
            return
    _checkout(repo, work)
    target = options.target
    result = migrate_path(work, selected, options)
    if result.errors:
        outcome.status, outcome.detail = "failed", result.errors[0].replace(str(work), repo.name)
        return
    outcome.files_changed = len(result.changed)
    outcome.findings = len(result.findings)
    for f in result.changed:
        for fix in f.applied:
            outcome.edits[fix.codemod] = outcome.edits.get(fix.codemod, 0) + 1
    before = ", ".join(sorted({str(c.pyo3_version) for c in result.project.pyo3_crates()}))
    outcome.target = str(result.target) if result.target else (repo.target or "own")
    settings.out.mkdir(parents=True, exist_ok=True)
    (settings.out / f"{repo.name}.patch").write_bytes(report.diff_text(result, from_root=True))
    (settings.out / f"{repo.name}.json").write_text(report.to_json([result]).replace(str(work), repo.name))
    (settings.out / f"{repo.name}.md").write_text(_pr_body(repo, outcome, result, before))
    if not result.changed:
        outcome.status = "unchanged"
        return
    outcome.status = "changed"
    if not settings.apply:
        return
    hops = [target] if settings.one_commit or target is None else _hop_targets(result, target)
    original = _git(work, "rev-parse", "HEAD").stdout.strip()
    for hop in hops:
        # each hop's tree is the original migrated straight to that hop (what the proofs compile),
        # so a later hop never builds on an earlier one's interim choice (std OnceLock below 0.26)
        _git(work, "checkout", "-q", original, "--", ".")
        step = migrate_path(work, selected, replace(options, target=hop))
        write_changes(step)
        if step.errors:
            outcome.status, outcome.detail = "failed", step.errors[0].replace(str(work), repo.name)
            return
        if not step.written:
            continue
        verified = "no"
        if settings.verify and hop == hops[-1]:
            failing = [o for o in verify_written(step) if not o.check.ok]
            if failing:
                first = failing[0]
                why = first.check.errors[0].line_text() if first.check.errors else "cargo check failed"
                outcome.status, outcome.detail = "failed", f"crate {first.crate} does not compile after the migration: {why}"
                return
            verified = "cargo check passed"
        _git(work, "add", "-A")
        edits = {}
        for f in step.changed:
            for fix in f.applied:
                edits[fix.codemod] = edits.get(fix.codemod, 0) + 1
        shown = f"{hop.major}.{hop.minor}" if hop else "each crate's own release"
        if _git(work, "diff", "--cached", "--quiet", check=False).returncode == 0:
            continue  # this hop's tree is the previous one's
        message = (f"Migrate PyO3 code to {shown} with pyo3-migrate\n\n"
                   + "".join(f"- {k}: {v} edit(s)\n" for k, v in sorted(edits.items()))
                   + f"\n{len(step.findings)} finding(s) left for a person.\n\n"
                   + _record(settings, before, shown, edits, len(step.findings), verified))
        _git(work, "commit", "-q", "-m", message)
        outcome.commits += 1
    branch = _branch_name(settings, repo.target or "own")
    head = _git(work, "rev-parse", "HEAD").stdout.strip()
    if repo.is_url:
        _git(work, "branch", "-f", branch, head)
    else:
        _git(Path(repo.source), "branch", "-f", branch, head)
    outcome.branch = branch
    if settings.push:
        pushed = _git(work if repo.is_url else Path(repo.source), "push", "-q", "--force", settings.push,
                      f"{branch}:{branch}", check=False)
        if pushed.returncode != 0:
            outcome.status = "failed"
            outcome.detail = f"committed on {branch}, not pushed: " + (pushed.stderr.strip().splitlines() or ["git push failed"])[-1]


def _hop_targets(result, target: Version) -> list[Version]:
    """The release lines the commits stop at (`plan`'s hops): after each crate's own line, up to the
    target (the last one exactly as asked)."""
    from pyo3_migrate.shell.plan import hops

    own = min((c.pyo3_version for c in result.project.pyo3_crates() if c.pyo3_version), default=target)
    final = result.target or target
    lines = [Version(*line) for line in hops(own, final)]
    return lines[:-1] + [final] if lines else [final]


def _pr_body(repo: Repo, outcome: Outcome, result, before: str) -> str:
    lines = [f"# Migrate {repo.name} to PyO3 {outcome.target}", "",
             f"Made by pyo3-migrate from PyO3 {before}.", "", "## Changes", ""]
    lines += [f"- `{k}`: {v} edit(s)" for k, v in sorted(outcome.edits.items())] or ["- none"]
    lines += ["", "## Findings (need a person)", ""]
    lines += [f"- `{f.path}:{f.line}` [{f.codemod}] {f.message}" for f in result.findings] or ["- none"]
    lines += ["", "## Verification", "", "`pyo3-migrate batch --apply --verify` runs `cargo check` on every touched crate "
              "before the last commit; a dry run compiles nothing.", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ many repositories


@contextmanager
def executor_for(jobs: int, scheduler: str | None):
    """A local process pool, or a Dask cluster's executor (the `dask` extra); closed on leaving."""
    if scheduler is None:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            yield pool
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise BatchError("--scheduler needs the `distributed` package: pip install 'pyo3-migrate[dask]'") from exc
    with Client(scheduler) as client:
        with client.get_executor() as executor:
            yield executor


def run_batch(repos: list[Repo], settings: Settings, executor: Executor, plan, progress=None) -> list[Outcome]:
    """Every repository as its own task (`plan(repo)`: the codemods and options it runs with);
    outcomes in manifest order. A repository an earlier run of the same batch finished is
    not run again unless `force` (resume)."""
    state_file = settings.out / "state.jsonl"  # one line per finished repository: appends stay linear
    state = {}
    if state_file.exists():
        for line in state_file.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                state[entry["outcome"]["name"]] = entry
    outcomes: dict[str, Outcome] = {}
    todo = []
    for repo in repos:
        previous = state.get(repo.name)
        if previous and not settings.force and previous.get("status") in ("changed", "unchanged", "done") \
                and previous.get("apply") == settings.apply:
            outcomes[repo.name] = Outcome(**{**previous["outcome"], "status": "done", "detail": "done in an earlier run"})
        else:
            todo.append(repo)
    futures = {executor.submit(run_repo, repo, settings, *plan(repo)): repo for repo in todo}
    try:
        for done, future in enumerate(as_completed(futures), 1):
            try:
                outcome = future.result()
            except Exception as exc:  # the worker itself died (a crash, a broken pool): that repository failed
                outcome = Outcome(futures[future].name, "failed", f"its worker crashed ({type(exc).__name__}); run again")
            outcomes[outcome.name] = outcome
            settings.out.mkdir(parents=True, exist_ok=True)
            with state_file.open("a") as handle:
                entry = {"status": outcome.status, "apply": settings.apply, "outcome": asdict(outcome)}
                handle.write(json.dumps(entry, sort_keys=True) + "\n")
            if progress is not None:
                progress(done, len(futures), outcome)
    finally:
        for future in futures:
            future.cancel()
        try:
            (settings.out / "work").rmdir()  # each repository removed its own copy
        except OSError:
            pass
    return [outcomes[r.name] for r in repos if r.name in outcomes]


def rollup(outcomes: list[Outcome], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"repositories": [asdict(o) for o in outcomes]}, indent=2) + "\n"
    rows = ["| repository | status | files changed | edits per codemod | findings | commits | seconds | detail |",
            "|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        edits = ", ".join(f"{k} {v}" for k, v in sorted(o.edits.items())) or "-"
        rows.append(f"| {o.name} | {o.status} | {o.files_changed} | {edits} | {o.findings} | {o.commits} | "
                    f"{o.seconds:.2f} | {o.detail.replace('|', '/')} |")
    return "\n".join(rows) + "\n"
