"""The command line: parse, call the runner, render, exit. No migration logic lives here."""

from __future__ import annotations

import difflib
import json
import os
import shutil
from contextlib import nullcontext
from dataclasses import dataclass, replace
import re
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from pyo3_migrate import codemods
from pyo3_migrate.analysis import rust
from pyo3_migrate.core import engine
from pyo3_migrate.analysis.companions import PYO3_LINES
from pyo3_migrate.core.codemod import FREE_THREADING_LEVELS
from pyo3_migrate.core.project import ProjectError, find_root
from pyo3_migrate.core.version import Version
from pyo3_migrate.shell import report
from pyo3_migrate.shell.apply import git_state
from pyo3_migrate.shell.plan import plan_lines
from pyo3_migrate.shell.apply import Interrupted
from pyo3_migrate.shell.diff import unified_diff
from pyo3_migrate.shell.config import ConfigError
from pyo3_migrate.shell.config import load as load_config
from pyo3_migrate.shell.runner import RunResult, migrate_paths, write_changes
from pyo3_migrate.shell.start import version

class _Commands(typer.core.TyperGroup):
    """Commands, with "did you mean" for a misspelled one."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            close = difflib.get_close_matches(args[0], list(self.commands), n=1)
            if close:
                ctx.fail(f"no such command {args[0]!r}; did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Migrate PyO3 crates and their Python packages off GIL-era APIs.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pyo3-migrate {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool, typer.Option("--version", "-V", is_eager=True, callback=_show_version, help="Print the version and exit.")
    ] = False,
) -> None:
    """Migrate PyO3 crates and their Python packages off GIL-era APIs."""


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    markdown = "markdown"


class FailOn(str, Enum):
    changes = "changes"
    findings = "findings"
    both = "both"
    none = "none"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


PathsArg = Annotated[list[Path], typer.Argument(metavar="PATH...", help="Projects: a directory anywhere inside one, or a Cargo.toml (its root is found as cargo does).")]
TargetOpt = Annotated[
    Optional[str],
    typer.Option("--target-pyo3", metavar="X.Y", help="PyO3 version to migrate to (X.Y, X.Y.Z or latest); default: each crate's own."),
]
CodemodOpt = Annotated[
    Optional[list[str]], typer.Option("--codemod", "-c", metavar="ID[,ID]", help="Run only these codemods (repeatable, or a comma list); see `list`.")
]
FormatOpt = Annotated[Optional[Format], typer.Option("--format", help="Output format (sarif: SARIF 2.1.0; github: workflow annotations).")]
FailOnOpt = Annotated[Optional[FailOn], typer.Option("--fail-on", help="What makes the exit code 1: pending changes (with --check), findings, both, none.")]
ColorOpt = Annotated[Color, typer.Option("--color", help="Colour the diff: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces), always, never.")]
UnsafeOpt = Annotated[Optional[bool], typer.Option("--unsafe", help="Also apply fixes marked unsafe.")]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option("--exclude", metavar="GLOB", help="Never read paths matching this glob (repeatable).")]
JobsOpt = Annotated[
    Optional[int], typer.Option("--jobs", "-j", min=1, metavar="N", help="Projects migrated at once (default: the number of cores).")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, and no line per fix: only findings and errors.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Also a line per project: crates, files read, changed, time.")]
FreeThreadedOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--declare-free-threaded",
        help="Declare free-threading support (gil_used = false) where nothing in the crate blocks it.",
    ),
]


class Level(str, Enum):
    unstable = "unstable"
    beta = "beta"
    stable = "stable"
    resolved = "resolved"


LevelOpt = Annotated[
    Optional[Level],
    typer.Option("--free-threading-level",
                 help="The `Free Threading` classifier written when every module claims support."),
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", markup=True)
    return typer.Exit(report.EXIT_ERROR)


def _options(target: str | None, unsafe: bool, free_threaded: bool, ids=None,
             level: Level = Level.beta, exclude: tuple[str, ...] = ()) -> engine.Options:
    version = _target(target) if target is not None else None
    return engine.Options(target=version, include_unsafe=bool(unsafe), declare_free_threaded=bool(free_threaded),
                          named=frozenset(_ids(ids) or ()), report_only=_not_selected(ids),
                          free_threading_level=FREE_THREADING_LEVELS[(level or Level.beta).value], exclude=exclude)


@dataclass
class _Settings:
    """What a command runs with: its options, then the project's settings file, then the defaults."""

    roots: list[Path]  # each given path's project root, once each (see _roots)
    target: str | None
    ids: list[str] | None
    options: engine.Options
    format: Format
    fail_on: FailOn


def _settings(paths: list[Path], target=None, ids=None, unsafe=None, free_threaded=None, level=None, exclude=None,
              output_format=None, fail_on=None) -> _Settings:
    roots = _roots(paths)
    try:
        found, _ = load_config(roots[0]) if roots and roots[0].is_dir() else ({}, None)
    except ConfigError as exc:
        raise _fail(str(exc)) from None

    def pick(given, key, default):
        return given if given is not None else found.get(key, default)

    target = pick(target, "target", None)
    ids = _ids(ids) or found.get("select") or None
    ignored = set(found.get("ignore", ()))
    if ignored:
        ids = [c.info.id for c in codemods.REGISTRY if (not ids or c.info.id in ids) and c.info.id not in ignored]
    try:
        level_value = Level(pick(level.value if level else None, "free-threading-level", "beta"))
        fmt = Format(pick(output_format.value if output_format else None, "format", "text"))
        fail = FailOn(pick(fail_on.value if fail_on else None, "fail-on", "both"))
    except ValueError as exc:
        raise _fail(f"settings: {exc}") from None
    globs = tuple(exclude or ()) + tuple(found.get("exclude", ()))
    options = _options(target, pick(unsafe, "unsafe", False), pick(free_threaded, "declare-free-threaded", False), ids,
                       level_value, globs)
    return _Settings(roots, target, ids, options, fmt, fail)


def _target(text: str) -> Version:
    """A PyO3 release this tool knows: X.Y or X.Y.Z on a known release line, or `latest`."""
    known = f"{PYO3_LINES[0]} to {PYO3_LINES[-1]}; `latest` is {PYO3_LINES[-1]}"
    if text == "latest":
        return Version.parse(PYO3_LINES[-1])
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", text):
        raise _fail(f"--target-pyo3 {text!r} is not a version (expected X.Y, X.Y.Z or latest)")
    version = Version.parse(text)
    if f"{version.major}.{version.minor}" not in PYO3_LINES:
        raise _fail(f"--target-pyo3 {text}: {_unknown_line(version)} ({known})")
    return version


def _line(version: Version) -> str:
    return f"{version.major}.{version.minor}"


def _unknown_line(version: Version) -> str:
    """Why a release line is not a target: unpublished, or newer than this tool (asked of the
    registry's index, only on this error path)."""
    from pyo3_migrate.analysis import registry

    found = registry.records("pyo3")
    line = f"{version.major}.{version.minor}"
    if found is not None and any(str(r.get("vers", "")).startswith(f"{line}.") for r in found[0]):
        return (f"PyO3 {line} is published (per {found[1]}), but this pyo3-migrate knows the API changes only up to "
                f"{PYO3_LINES[-1]}: update pyo3-migrate")
    return f"no PyO3 release line {line} that this tool knows"


def _ids(ids: list[str] | None) -> list[str] | None:
    """`-c a,b -c c` -> [a, b, c]."""
    return [i.strip() for item in ids for i in item.split(",") if i.strip()] if ids else ids


def _unknown_codemod(name: str) -> typer.Exit:
    close = difflib.get_close_matches(name.replace("_", "-"), [c.info.id for c in codemods.REGISTRY], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else " (see `pyo3-migrate list`)"
    return _fail(f"unknown codemod {name!r}{hint}")


def _selected(ids: list[str] | None):
    """The codemods that run: the named ones and `manifest` (the pyo3 requirement must follow the
    API the edits use), and, reporting only, every other one whose old API a release removes, so
    that what they would have rewritten still holds the requirement below that release."""
    ids = _ids(ids)
    try:
        named = codemods.select([*ids, "manifest"] if ids else None)
    except KeyError as exc:
        raise _unknown_codemod(str(exc.args[0]).split(", ")[0]) from None
    if not ids:
        return named
    return [c for c in codemods.REGISTRY if c in named or c.info.removes_at is not None]


def _not_selected(ids: list[str] | None) -> tuple[tuple[str, str], ...]:
    ids = _ids(ids)
    if not ids:
        return ()
    return tuple((c.info.id, engine.NOT_SELECTED) for c in _selected(ids) if c.info.id not in {*ids, "manifest"})


def _roots(paths: list[Path]) -> list[Path]:
    """Each path's project root (see project.find_root), once each, in the order given; a path
    that does not exist or whose manifests do not read is kept as given (the run names it)."""
    roots = []
    for path in paths:
        try:
            root = find_root(path) if path.exists() else path
        except ProjectError:
            root = path
        if root not in roots:
            roots.append(root)
    return roots


def _run_all(paths: list[Path], ids, options: engine.Options, jobs: int | None = None,
             quiet: bool = False) -> list[RunResult]:
    """Migrate each project root (see _roots) in memory."""
    selected = _selected(ids)
    jobs = jobs or os.cpu_count() or 1
    if quiet or not err.is_terminal:
        return migrate_paths(paths, selected, options, jobs)
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # a terminal's

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        tasks = {p: bar.add_task(str(p), total=len(selected)) for p in paths}

        def show(path: Path, done: int, total: int, label: str) -> None:
            bar.update(tasks[path], completed=done * len(selected) // max(total, 1),
                       description=f"{path}: {label} ({rust.parsed_files()} files parsed)", refresh=True)

        return migrate_paths(paths, selected, options, jobs, show)


def _print_errors(results: list[RunResult]) -> None:
    for r in results:
        for line in r.notes:
            err.print(f"note: {line}", markup=False)
        for line in r.errors:
            err.print(f"[red]error:[/red] {escape(line)}", markup=True)


def _print_text_report(results: list[RunResult], quiet: bool = False, verbose: bool = False) -> None:
    for r in results:
        if verbose and r.project is not None:
            crates = ", ".join(f"{c.name} ({c.pyo3_version})" for c in r.project.pyo3_crates())
            err.print(f"{r.root}: pyo3 crates: {crates}; {len(r.files)} files read, {len(r.changed)} changed, "
                      f"{len(r.findings)} findings, {r.seconds:.2f} s", markup=False)
        for line in [] if quiet else report.summary_lines(r):
            err.print(line, markup=False)
        for line in report.finding_lines(r):
            err.print(line, markup=False, style="yellow")
    _print_errors(results)


def _emit_machine(results: list[RunResult], fmt: Format, written: bool = False) -> bool:
    """Print a machine format on stdout; False for text (the caller prints its own)."""
    if fmt is Format.json:
        typer.echo(report.to_json(results, written=written, tool_version=version()))
    elif fmt is Format.sarif:
        typer.echo(report.to_sarif(results, {c.info.id: c.info for c in codemods.REGISTRY}, version()), nl=False)
    elif fmt is Format.github:
        typer.echo(report.to_github(results), nl=False)
    elif fmt is Format.markdown:
        typer.echo(report.to_markdown(results))
    else:
        return False
    return True


def _colored(patch: bytes, color: Color) -> bytes:
    """The diff with ANSI colours when asked (or on a terminal without NO_COLOR, or FORCE_COLOR)."""
    wanted = color is Color.always or (color is Color.auto and (
        bool(os.environ.get("FORCE_COLOR")) or (sys.stdout.isatty() and not os.environ.get("NO_COLOR"))))
    if not wanted:
        return patch
    out = []
    for line in patch.splitlines(keepends=True):
        code = (b"1" if line.startswith((b"diff ", b"--- ", b"+++ ")) else b"36" if line.startswith(b"@@")
                else b"2" if line.startswith(b"# pyo3-migrate") else b"32" if line.startswith(b"+")
                else b"31" if line.startswith(b"-") else None)
        if code is None:
            out.append(line)
        else:
            body = line.rstrip(b"\r\n")
            out.append(b"\x1b[" + code + b"m" + body + b"\x1b[0m" + line[len(body):])
    return b"".join(out)


@app.command()
def diff(
    paths: PathsArg,
    target_pyo3: TargetOpt = None,
    codemod: CodemodOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when anything would change.")] = False,
    output_format: FormatOpt = None,
    unsafe: UnsafeOpt = None,
    declare_free_threaded: FreeThreadedOpt = None,
    free_threading_level: LevelOpt = None,
    exclude: ExcludeOpt = None,
    fail_on: FailOnOpt = None,
    color: ColorOpt = Color.auto,
    jobs: JobsOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Show what would change, as a unified diff (`git apply` accepts it); write nothing.

    Exit codes: 0 nothing to do; 1 changes pending (with --check) or findings that need a person
    (see --fail-on); 2 usage or input error; 3 internal error."""
    s = _settings(paths, target_pyo3, codemod, unsafe, declare_free_threaded, free_threading_level, exclude,
                  output_format, fail_on)
    results = _run_all(s.roots, s.ids, s.options, jobs, quiet)
    if not _emit_machine(results, s.format):
        out = sys.stdout.buffer
        for r in results:
            out.write(_colored(report.diff_text(r), color))
        out.flush()
        _print_text_report(results, quiet, verbose)
    raise typer.Exit(report.exit_code(results, check=check, fail_on=s.fail_on.value))


@app.command()
def apply(
    paths: PathsArg,
    target_pyo3: TargetOpt = None,
    codemod: CodemodOpt = None,
    allow_dirty: Annotated[bool, typer.Option("--allow-dirty", help="Write even with uncommitted changes.")] = False,
    allow_no_vcs: Annotated[bool, typer.Option("--allow-no-vcs", help="Write even outside a git repository.")] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Run `cargo check` on every touched crate; put back a crate that fails.")
    ] = False,
    partial: Annotated[
        bool, typer.Option("--partial", help="Write what could be migrated even when some file of the project could not.")
    ] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Show each codemod's changes and ask before writing them.")
    ] = False,
    output_format: FormatOpt = None,
    unsafe: UnsafeOpt = None,
    declare_free_threaded: FreeThreadedOpt = None,
    free_threading_level: LevelOpt = None,
    exclude: ExcludeOpt = None,
    fail_on: FailOnOpt = None,
    jobs: JobsOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Rewrite the files in place: each project whole or not at all.

    Exit codes: 0 done; 1 findings that need a person (see --fail-on); 2 usage or input error,
    nothing of that project written; 3 internal error; 130 interrupted."""
    s = _settings(paths, target_pyo3, codemod, unsafe, declare_free_threaded, free_threading_level, exclude,
                  output_format, fail_on)
    options = s.options
    refusal = _refusal(s.roots, verify, allow_no_vcs, allow_dirty)
    if refusal is not None:
        if s.format is Format.json:  # a machine asked: it gets JSON, also when nothing ran
            typer.echo(json.dumps({"schema": report.SCHEMA, "tool": {"name": "pyo3-migrate", "version": version()},
                                   "projects": [], "error": refusal}, indent=2))
        raise _fail(refusal)
    results = _run_all(s.roots, s.ids, options, jobs, quiet)
    if interactive:
        results = [_ask(r, s.ids, options) for r in results]
    for i, r in enumerate(results):
        try:
            write_changes(r, partial)
        except (Interrupted, KeyboardInterrupt):
            done = [p for x in results[: i + 1] for p in x.written]
            err.print(f"interrupted: {len(done)} file(s) written" + "".join(f"\n  {p}" for p in done)
                      + "\nrun the same command again to finish", markup=False)
            raise typer.Exit(130) from None
        if verify and r.written:
            results[i] = _verify(r, s.ids, options)
    if not _emit_machine(results, s.format, written=True):
        _print_text_report(results, quiet, verbose)
        written = sum(len(r.written) for r in results)
        err.print(f"{written} file{'s' if written != 1 else ''} written", markup=False)
    raise typer.Exit(report.exit_code(results, check=False, fail_on=s.fail_on.value))


def _refusal(roots: list[Path], verify: bool, allow_no_vcs: bool, allow_dirty: bool) -> str | None:
    """Why `apply` will not start (None: it may): no cargo for --verify, a missing path, no git, a dirty tree."""
    if verify and shutil.which("cargo") is None:
        return "--verify needs cargo on PATH (https://rustup.rs), and there is none: install it, or drop --verify"
    for path in roots:
        if not path.exists():
            return f"{path}: no such file or directory"
        inside, dirty = git_state(path)
        if not inside and not allow_no_vcs:
            return f"{path}: not inside a git repository; commit it first, or pass --allow-no-vcs"
        if dirty and not allow_dirty:
            return (f"{path}: uncommitted changes ({', '.join(dirty[:3])}{', ...' if len(dirty) > 3 else ''}); "
                    "commit or stash them, or pass --allow-dirty")
    return None


def _ask(result: RunResult, ids, options: engine.Options) -> RunResult:
    """`apply -i`: each codemod's changes shown, then y (write them), n (leave them: the codemod
    only reports, so the requirement stays where its code needs it), a (this and every codemod
    after it), q (write nothing of this project). A refused codemod's edits are made again without
    it, so what is written stays coherent; the manifest follows what was accepted."""
    by_codemod: dict[str, list] = {}
    for f in result.changed:
        for step in f.steps:
            by_codemod.setdefault(step.codemod, []).append((f, step))
    refused, accept_rest = [], False
    for codemod_id in [c.info.id for c in codemods.REGISTRY if c.info.id in by_codemod and c.info.id != "manifest"]:
        if accept_rest:
            continue
        for f, step in by_codemod[codemod_id]:
            shown = result.display_path(f.path)
            sys.stdout.buffer.write(_colored(unified_diff(shown, step.before, step.after), Color.auto))
        guide = codemods.by_id(codemod_id).info.guide
        answer = typer.prompt(f"{result.root.name}: apply {codemod_id} ({len(by_codemod[codemod_id])} change(s); {guide})? "
                              "[y]es/[n]o/[a]ll/[q]uit", default="y", show_default=False).strip().lower()[:1]
        if answer == "q":
            result.notes.append(f"{result.root}: nothing written (quit at {codemod_id})")
            result.files = [replace(f, after=f.before) for f in result.files]
            return result
        if answer == "n":
            refused.append(codemod_id)
        accept_rest = answer == "a"
    if not refused:
        return result
    again = replace(options, report_only=options.report_only + tuple((c, "refused in --interactive") for c in refused))
    (redone,) = migrate_paths([result.root], _selected(ids), again, 1)
    return redone


def _verify(result: RunResult, ids, options: engine.Options, retry: bool = True) -> RunResult:
    """Compile the touched crates. A crate that fails is put back; then, once, the project is
    migrated again with the codemods whose edits the compiler's errors point at only reporting
    (their findings hold the requirement below what they would have removed), and checked again.
    A crate that fails that too stays as it was, and becomes an error line (exit 2)."""
    from pyo3_migrate.shell.verify import deprecations_as_findings, verify_written  # cargo: --verify only

    failed = []
    for outcome in verify_written(result):
        if outcome.check.ok:
            left = deprecations_as_findings(result, outcome)
            still = f"; {left} PyO3 deprecation(s) left, listed as findings" if left else ""
            err.print(f"verified: {outcome.manifest}: cargo check passed{still}", markup=False)
            continue
        failed.append(outcome)
        for diagnostic in outcome.check.errors[:5]:
            err.print(f"  {diagnostic.line_text()}", markup=False)
        if not outcome.check.errors and outcome.check.output:
            err.print("  " + outcome.check.output.strip().splitlines()[-1], markup=False)
    suspects = sorted({c for o in failed for c in o.codemods_in_failing_files if c != "manifest"})
    if failed and suspects and retry:
        names = ", ".join(suspects)
        err.print(f"retrying {result.root} without the edits of: {names}", markup=False)
        withheld = tuple((s, "its edits did not compile") for s in suspects)
        again_options = engine.Options(**{**options.__dict__, "report_only": options.report_only + withheld})
        (again,) = migrate_paths([result.root], _selected(ids), again_options, 1)
        write_changes(again)
        return _verify(again, ids, again_options, retry=False)
    for outcome in failed:
        codemod_ids = ", ".join(outcome.codemods_in_failing_files) or "none named by the compiler"
        result.errors.append(
            f"{result.root / outcome.manifest}: crate {outcome.crate} does not compile after the migration; "
            f"restored {len(outcome.restored)} file(s) as they were; edits in the failing files came from: {codemod_ids}"
        )
    return result


@app.command()
def scan(
    paths: PathsArg,
    target_pyo3: TargetOpt = None,
    codemod: CodemodOpt = None,
    output_format: FormatOpt = None,
    declare_free_threaded: FreeThreadedOpt = None,
    free_threading_level: LevelOpt = None,
    exclude: ExcludeOpt = None,
    fail_on: FailOnOpt = None,
    jobs: JobsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List what needs a person (file:line:col, codemod id, reason) and what would change.

    Exit codes: 0 nothing needs a person; 1 findings (see --fail-on); 2 usage or input error."""
    s = _settings(paths, target_pyo3, codemod, False, declare_free_threaded, free_threading_level, exclude,
                  output_format, fail_on)
    results = _run_all(s.roots, s.ids, s.options, jobs, quiet)
    if not _emit_machine(results, s.format):
        for r in results:
            for line in report.finding_lines(r):
                typer.echo(line)
            for f in r.files:
                for fix in f.held_back:
                    err.print(f"{r.display_path(f.path)}: [{fix.codemod}] would change with --unsafe: {fix.message}",
                              markup=False)
            if r.project is not None:
                for crate in r.project.pyo3_crates():
                    err.print(f"{crate.manifest}: crate {crate.name}, pyo3 {crate.requirement} "
                              f"(builds with {crate.pyo3_version})", markup=False)
            changed = len(r.changed)
            err.print(f"{r.root}: {changed} file{'s' if changed != 1 else ''} would change, "
                      f"{len(r.findings)} finding{'s' if len(r.findings) != 1 else ''}", markup=False)
        _print_errors(results)
    raise typer.Exit(report.exit_code(results, check=False, fail_on=s.fail_on.value))


@app.command()
def plan(
    paths: PathsArg,
    target_pyo3: Annotated[str, typer.Option("--target-pyo3", help="PyO3 version to migrate to (X.Y or X.Y.Z).")],
    codemod: CodemodOpt = None,
    declare_free_threaded: FreeThreadedOpt = None,
    jobs: JobsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show the hops to the target, the codemods that act at each, and what will need a person."""
    s = _settings(paths, target_pyo3, codemod, False, declare_free_threaded)
    results = _run_all(s.roots, s.ids, s.options, jobs, quiet)
    target = s.options.target
    for r in results:
        if r.project is not None and not r.errors:
            for line in plan_lines(r, target, [c.info for c in _selected(s.ids)]):
                typer.echo(line)
            flags = "".join(f" -c {i}" for i in (s.ids or [])) + (" --declare-free-threaded" if s.options.declare_free_threaded else "")
            typer.echo(f"\nto run it: pyo3-migrate apply {r.root} --target-pyo3 {target_pyo3}{flags}")
    _print_errors(results)
    raise typer.Exit(report.exit_code(results, check=False))


def _batch_plan(repo) -> tuple[list, engine.Options]:
    ids = list(repo.codemods) or None
    return _selected(ids), _options(repo.target, repo.unsafe, repo.declare_free_threaded, ids)


@app.command()
def batch(
    manifest: Annotated[Path, typer.Argument(help="A TOML manifest ([defaults], [[repo]] with path or url) or a list of paths/URLs.")],
    out: Annotated[Path, typer.Option("--out", help="Where patches, findings, PR bodies and the state go.")] = Path("pyo3-migrate-batch"),
    apply_changes: Annotated[bool, typer.Option("--apply", help="Commit on a branch in each repository (dry run by default).")] = False,
    branch: Annotated[str, typer.Option("--branch", help="Branch name; {target} is replaced.")] = "pyo3-migrate/{target}",
    one_commit: Annotated[bool, typer.Option("--one-commit", help="One commit in all, not one per release-line hop.")] = False,
    push: Annotated[Optional[str], typer.Option("--push", help="Push each branch to this remote.")] = None,
    target_pyo3: TargetOpt = None,
    jobs: JobsOpt = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="A Dask scheduler address: run each repository there.")] = None,
    shard_spec: Annotated[Optional[str], typer.Option("--shard", help="K/N: only the K-th of N deterministic subsets.")] = None,
    report_file: Annotated[Optional[Path], typer.Option("--report", help="Write the roll-up here (.json or .md).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Run again the repositories an earlier run finished.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="With --apply: `cargo check` each repository before its last commit.")] = False,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds one repository may take (local pool).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Migrate many repositories, each in its own worktree or clone; a patch (or a branch) each."""
    from pyo3_migrate.shell import batch as batching
    from pyo3_migrate.shell.start import version

    try:
        repos = batching.shard(batching.read_manifest(manifest), shard_spec)
        if target_pyo3 is not None:
            _target(target_pyo3)
            repos = [replace(r, target=r.target or target_pyo3) for r in repos]
        repos = [replace(r, target=_line(_target(r.target)) if r.target == "latest" else r.target) for r in repos]
        for repo in repos:
            if repo.target is not None:
                _target(repo.target)  # a release this tool knows, before any repository is touched
            _selected(list(repo.codemods))
    except batching.BatchError as exc:
        raise _fail(str(exc)) from None
    settings = batching.Settings(out.resolve(), apply_changes, branch, one_commit, push, force, version(), verify, timeout)
    finished: list = []
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True) \
        if err.is_terminal and not quiet else None
    task = bar.add_task("repositories", total=len(repos)) if bar else None

    def count(done: int, total: int, outcome) -> None:
        finished.append(outcome)
        line = f"[{done}/{total}] {outcome.name}: {outcome.status}" + (f" ({outcome.detail})" if outcome.detail else "")
        if bar is not None:
            bar.update(task, completed=done, total=total, description=f"last: {outcome.name} ({outcome.status})")
            bar.console.print(line, markup=False)
        elif not quiet:
            err.print(line, markup=False)

    try:
        with batching.executor_for(jobs or os.cpu_count() or 1, scheduler) as executor, (bar or nullcontext()):
            outcomes = batching.run_batch(repos, settings, executor, _batch_plan, count)
    except batching.BatchError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        err.print(f"interrupted: {len(finished)} of {len(repos)} repositories finished (each one is untouched or "
                  "fully committed); run the same command again to finish the rest", markup=False)
        raise typer.Exit(130) from None
    table = batching.rollup(outcomes, "md")
    typer.echo(table, nl=False)
    if report_file is not None:
        report_file.write_text(batching.rollup(outcomes, "json" if report_file.suffix == ".json" else "md"))
    failed = [o for o in outcomes if not o.ok]
    err.print(f"{len(outcomes) - len(failed)} of {len(outcomes)} repositories done; outputs in {settings.out}", markup=False)
    raise typer.Exit(report.EXIT_ERROR if failed else report.EXIT_OK)


@app.command("list")
def list_codemods() -> None:
    """List the codemods, in the order they run."""
    from rich import box
    from rich.table import Column, Table

    # ids are what people type next: never cut; summaries fold instead of ending in an ellipsis
    table = Table(Column("id", no_wrap=True), "files", "safety", "targets", Column("summary", overflow="fold"),
                  box=box.SIMPLE_HEAD)
    for c in codemods.REGISTRY:
        info = c.info
        span = f">= {info.min_target.major}.{info.min_target.minor}" + (f".{info.min_target.patch}" if info.min_target.patch else "")
        if info.max_target is not None:
            span += f", < {info.max_target.major}.{info.max_target.minor}"
        table.add_row(info.id, info.language, info.safety.value, span, Text(info.summary))  # `#[pyclass]` is no markup
    Console(highlight=False).print(table)


@app.command()
def explain(codemod_id: Annotated[str, typer.Argument(help="A codemod id from `list`.")]) -> None:
    """Show a codemod's documentation."""
    try:
        info = codemods.by_id(codemod_id).info
    except KeyError:
        raise _unknown_codemod(codemod_id) from None
    stages = "".join(f"; output changes at {s}" for s in info.stages)
    typer.echo(f"{info.id} ({info.safety.value}; targets >= {info.min_target}{stages})\n")
    typer.echo(info.docs)
    typer.echo(f"\nPyO3 migration guide: {info.guide}")


def main() -> None:
    app()
