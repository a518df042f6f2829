"""The pure core: (project facts, file bytes, codemods, target) -> per-file results.

Codemods run in their fixed order, each on the previous one's output. Each one first scans the
whole current snapshot (cross-file facts), then transforms file by file. Fixes that overlap an
earlier fix wait for the next pass; a file whose edits would not re-parse keeps its previous
bytes and says so. Passes repeat until nothing changes (or the cap is hit). Then the Rust
codemods run over each doc-comment example as a snippet of its own (see core/docs), and a
finding that keeps an API the target removes makes the whole run again at a lower target.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from pyo3_migrate.core import cargo, docs, pysyntax, suppress, syntax
from pyo3_migrate.core.cargo import requirement_line
from pyo3_migrate.core.codemod import Codemod, CodemodInfo, Context, Options, Snapshot
from pyo3_migrate.core.model import FileResult, Finding, Fix, Safety, Step, apply_edits, line_col
from pyo3_migrate.core.project import Crate, Project, single_crate
from pyo3_migrate.core.version import Version

MAX_PASSES = 5
NOT_SELECTED = "not selected with --codemod"  # why a codemod only reports (see Options.report_only)


def target_resolver(project: Project, options: Options):
    """Which target PyO3 applies to a file: the override, else its crate's own version."""
    versions = [c.pyo3_version for c in project.pyo3_crates() if c.pyo3_version]
    fallback = options.target or (min(versions) if versions else None)

    def target_for(path: Path) -> Version | None:
        if options.target is not None:
            return options.target
        crate = project.crate_of(path)
        if crate is not None and crate.pyo3_version is not None:
            return crate.pyo3_version
        return fallback

    return target_for


def syntax_problem(path: Path, source: bytes, keep: bool = False) -> str | None:
    """Why a file cannot be worked on as it is (None when it can); `keep` its tree for the run."""
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte {exc.start})"
    return _parse_error(path, source, keep)


def _parse_error(path: Path, source: bytes, keep: bool = False) -> str | None:
    if path.suffix == ".rs":
        node = syntax.syntax_error(source, keep)
        if node is None:
            return None
        line, col = line_col(source, node.start_byte)
        return f"syntax error at {line}:{col}"
    if path.suffix == ".toml":
        try:
            cargo.toml_document(source)
        except tomllib.TOMLDecodeError as exc:
            return f"TOML syntax error: {exc}"
        return None
    if path.suffix in (".py", ".pyi"):
        try:
            pysyntax.parse(source)
        except pysyntax.NotPython as exc:
            return str(exc)
    if path.suffix in (".yml", ".yaml"):
        return pysyntax.yaml_problem(source)
    if path.suffix in (".ini", ".cfg"):
        return pysyntax.ini_problem(source)
    return None


# Files of the Python side are checked when a codemod reads them, not up front: a Python file that
# does not parse is that codemod's finding for that file, never an error of the Rust run.
_READ_LAZILY = (".py", ".pyi", ".yml", ".yaml", ".ini", ".cfg")


def _select_fixes(fixes: list[Fix], include_unsafe: bool) -> tuple[list[Fix], list[Fix], list[Fix]]:
    """(to apply now, held back as unsafe, deferred because they overlap an earlier fix)."""
    chosen: list[Fix] = []
    held: list[Fix] = []
    deferred: list[Fix] = []
    for fix in fixes:
        if fix.safety is Safety.DISPLAY_ONLY or (fix.safety is Safety.UNSAFE and not include_unsafe):
            held.append(fix)
        elif any(fix.overlaps(other) for other in chosen):
            deferred.append(fix)
        else:
            chosen.append(fix)
    return chosen, held, deferred


def _apply_gated(path: Path, source: bytes, fixes: list[Fix]) -> tuple[bytes, list[Fix], list[Fix]]:
    """Apply fixes; drop those whose output does not re-parse. Returns (bytes, applied, dropped)."""
    edits = [e for fix in fixes for e in fix.edits]
    candidate = apply_edits(source, edits)
    if path.suffix == ".rs":
        syntax.parse_edited(source, edits, candidate)  # kept: the next codemod reads this tree
    if _parse_error(path, candidate, keep=True) is None:
        return candidate, fixes, []
    applied, dropped = [], []
    current_fixes: list[Fix] = []
    for fix in fixes:  # keep the largest prefix-free set that still parses, one fix at a time
        trial = current_fixes + [fix]
        out = apply_edits(source, [e for f in trial for e in f.edits])
        if _parse_error(path, out) is None:
            current_fixes = trial
            applied.append(fix)
        else:
            dropped.append(fix)
    return apply_edits(source, [e for f in current_fixes for e in f.edits]), applied, dropped


Progress = Callable[[int, int, str], None]  # (codemods done in this pass, codemods, what runs now)


def run(project: Project, contents: dict[Path, bytes], codemods: list[Codemod], options: Options,
        progress: Progress | None = None) -> list[FileResult]:
    """Migrate in memory (see `run_held`)."""
    return run_held(project, contents, codemods, options, progress)[0]


def run_held(project: Project, contents: dict[Path, bytes], codemods: list[Codemod], options: Options,
             progress: Progress | None = None) -> tuple[list[FileResult], Version | None]:
    """Migrate in memory, and say which target the run ended at (below `options.target` when kept
    code holds the requirement back; None when each crate kept its own version). `contents` maps
    project-relative paths to their bytes as read; `progress`, when given, hears of each codemod
    as it starts (for a progress bar).

    Never a requirement the kept code cannot compile against: when a codemod keeps code (a
    finding) whose API the target no longer has, the whole run is made again at the last release
    line that still has it, and each `pyo3` requirement's manifest says why it stopped there."""
    asked = options.target
    results = _run_at(project, contents, codemods, options, progress)
    holding: list[Finding] = []  # what made each lower run (its codemod may not run down there)
    while options.target is not None:
        held = _held_target(results, options.target)
        if held is None:
            break
        holding += [f for r in results for f in r.findings if f.removed_in is not None and f.removed_in <= options.target]
        options = replace(options, target=held)
        results = _run_at(project, contents, codemods, options, progress)
    if holding:
        _say_why_held(project, results, holding, asked, options.target)
    return results, options.target


def _held_target(results: list[FileResult], target: Version) -> Version | None:
    """The release line below the first removal of kept code, when the target has that removal."""
    removed = [f.removed_in for r in results for f in r.findings if f.removed_in is not None and f.removed_in <= target]
    if not removed:
        return None
    first = min(removed)
    return Version(first.major, first.minor - 1) if first.minor > 0 else Version(first.major - 1, 0)


def _say_why_held(project: Project, results: list[FileResult], holding: list[Finding], asked: Version,
                  held: Version) -> None:
    """The findings that hold the requirement back stay in the results (their codemod may not run at
    the lower target), and each `pyo3` requirement's manifest says where it stopped and why."""
    by_path = {r.path: r for r in results}
    for finding in holding:
        result = by_path[finding.path]
        if not any((f.codemod, f.line, f.message) == (finding.codemod, finding.line, finding.message) for f in result.findings):
            result.findings.append(finding)
    kept = sorted(_dedupe(holding), key=lambda f: (f.removed_in, f.path, f.line, f.column))
    shown = "; ".join(f"{f.location()} [{f.codemod}]" for f in kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
    removal = kept[0].removed_in
    message = (f"the `pyo3` requirement stops at {held.major}.{held.minor}, not {asked.major}.{asked.minor}: "
               f"what the findings at {shown} keep rules out PyO3 {removal.major}.{removal.minor} "
               "(an API it removes, or a dependency that stays below it); act on them, then run again")
    for manifest in dict.fromkeys(c.requirement_manifest for c in project.pyo3_crates() if c.requirement_manifest):
        result = by_path.get(manifest)
        if result is not None:
            line = requirement_line(result.after, "pyo3")
            result.findings.insert(0, Finding("manifest", manifest, line, 1, message))


def check_inputs(project: Project, contents: dict[Path, bytes], codemods: list[Codemod],
                 options: Options) -> dict[Path, str]:
    """Parse, up front and kept for the run, every input some codemod will read; the ones that
    cannot be worked on, with why. A Rust file no codemod of its crate can act on is not parsed
    (how it is written cannot matter); the Python side waits for the codemod that reads it. This
    is all a run does before its first codemod (the bench's floor measures it)."""
    target_for = target_resolver(project, options)
    readers = _readers(project, contents, codemods, target_for)
    problems = {}
    for path, data in contents.items():
        if path.suffix in _READ_LAZILY:
            continue
        crate = project.crate_of(path)
        if path.suffix == ".rs" and not any(info.parses_up_front(data) for info in readers[crate and crate.manifest]):
            continue
        problem = syntax_problem(path, data, keep=True)
        if problem is not None:
            problems[path] = problem
    return problems


def _run_at(project: Project, contents: dict[Path, bytes], codemods: list[Codemod], options: Options,
            progress: Progress | None = None) -> list[FileResult]:
    """One whole run at `options.target`."""
    target_for = target_resolver(project, options)
    results = {path: FileResult(path, data, data) for path, data in contents.items()}
    problems = check_inputs(project, contents, codemods, options)
    for path, problem in problems.items():
        results[path].input_error = problem
    broken = set(problems)
    current = dict(contents)
    order = [(path, path.suffix == ".rs") for path in sorted(current)]  # the paths never change in a run
    final_findings: dict[Path, list] = {}
    last: dict[str, _Outcome] = {}  # codemod id -> its latest run
    for number in range(1, MAX_PASSES + 1):
        final_findings = {}
        for result in results.values():
            result.held_back.clear()  # each pass makes them again, on its own bytes: the last pass's count
        changed = False
        for done, codemod in enumerate(codemods):
            if progress is not None:
                progress(done, len(codemods), f"pass {number}: {codemod.info.id}")
            shown = _shown_to(codemod, project, current, target_for)
            if not shown.crates and codemod.info.language == "rust":
                continue  # no crate it can act in
            snapshot = Snapshot(shown, current, target_for, broken, options, full_project=project, original=contents)
            seen = _read_by(codemod.info, snapshot, order)
            previous = last.get(codemod.info.id)
            if previous is not None and not previous.changed and previous.inputs == seen:
                previous.replay(results, final_findings)  # a pure codemod on the same bytes: the same outcome
                continue
            outcome = last[codemod.info.id] = _run_codemod(codemod, snapshot, results, final_findings, options)
            outcome.inputs = seen
            changed |= outcome.changed
        if not changed:
            break
    if not options.skip_docs:
        _doc_examples(project, current, results, final_findings, codemods, options, target_for, broken)
    for path, result in results.items():
        result.after = current[path]
        result.findings = _dedupe(final_findings.get(path, []))
    syntax.clear_caches()  # trees and facts of this run's bytes: the results hold none of them
    return [results[p] for p in sorted(results)]


# --------------------------------------------------------------------------- doc examples

_NOT_FOR_EXAMPLES = {"gil-used"}  # a module in an example is no claim about the crate's modules
_EXAMPLE = Path("example.rs")


def _doc_examples(project: Project, current: dict[Path, bytes], results: dict[Path, FileResult], findings: dict,
                  codemods: list[Codemod], options: Options, target_for, broken: set[Path]) -> None:
    """The Rust codemods over each doc-comment example (`cargo test` compiles them), as the snippet
    it is; its edits come back into the comment line by line, as one more step of the file."""
    rust_codemods = [c for c in codemods if c.info.language == "rust" and c.info.id not in _NOT_FOR_EXAMPLES]
    by_crate: dict[Path, list[Codemod]] = {}  # crate manifest -> the codemods that act in it
    for path, data in sorted(current.items()):
        if path.suffix not in (".rs", ".md") or path in broken or b"```" not in data:
            continue
        crate, target = project.crate_of(path), target_for(path)
        if crate is None or crate.pyo3_version is None or target is None:
            continue
        if crate.manifest not in by_crate:
            by_crate[crate.manifest] = [c for c in rust_codemods if _reads(c, crate, project, current, target_for)]
        readers = by_crate[crate.manifest]
        if not any(c.info.triggered_by(data) for c in readers):
            continue  # no example in it can concern a codemod that acts in this crate: not parsed
        edits, ids = [], []
        found = docs.markdown_snippets(data) if path.suffix == ".md" else docs.snippets(data, syntax.parse(data))
        for snippet in found:
            shown = [c for c in readers if not c.info.triggers or c.info.triggered_by(snippet.text)]
            if not shown:
                continue
            example = single_crate([_EXAMPLE], str(crate.pyo3_version))
            inner = replace(options, target=target, skip_docs=True)
            (result,) = [r for r in _run_at(example, {_EXAMPLE: snippet.text}, shown, inner) if r.path == _EXAMPLE]
            if result.input_error is not None:
                continue  # not a snippet tree-sitter reads as a file: left as it is
            for finding in result.findings:
                line = snippet.lines[min(finding.line, len(snippet.lines)) - 1]
                row, col = line_col(data, line.start)
                findings.setdefault(path, []).append(
                    Finding(finding.codemod, path, row, col, f"in a doc example: {finding.message}"))
            if result.after != snippet.text and any(word in result.after for word in snippet.forbidden):
                findings.setdefault(path, []).append(Finding(
                    result.steps[0].codemod if result.steps else "doc", path, line_col(data, snippet.lines[0].start)[0], 1,
                    "in a doc example: its migrated code would end the `#[doc = ..]` string it is written in: migrate it by hand"))
                continue
            if result.after != snippet.text:
                edits.extend(docs.edits_back(data, snippet, result.after))
                ids.extend(s.codemod for s in result.steps if s.codemod not in ids)
        if not edits:
            continue
        new = apply_edits(data, edits)
        if _parse_error(path, new) is not None:
            results[path].skipped.append("doc examples: their edits would not re-parse; left as they were")
            continue
        fix = Fix(ids[0], f"doc examples: {', '.join(ids)}", tuple(edits), guide=next(
            (c.info.guide for c in codemods if c.info.id == ids[0]), ""))
        results[path].steps.append(Step(ids[0], data, new, tuple(edits)))
        results[path].applied.append(fix)
        current[path] = new


_TRIGGERED: dict[tuple[tuple[str, ...], bytes], bool] = syntax.run_cache()


def _triggered(info: CodemodInfo, source: bytes) -> bool:
    """Whether source spells one of the codemod's trigger words (once per words and bytes)."""
    key = (info.triggers, source)
    if key not in _TRIGGERED:
        _TRIGGERED[key] = info.triggered_by(source)
    return _TRIGGERED[key]


def _reads(codemod: Codemod, crate: Crate, project: Project, contents: dict[Path, bytes], target_for) -> bool:
    """Whether the codemod applies at the crate's target and can find anything in it."""
    target = target_for(crate.manifest)
    return target is not None and codemod.info.applies(target) and codemod.reads_crate(crate, project, contents)


def _readers(project: Project, contents: dict[Path, bytes], codemods: list[Codemod], target_for) -> dict:
    """Crate manifest (None: no crate) -> the Rust codemods that may read its files."""
    rust = [c for c in codemods if c.info.language == "rust"]
    out = {crate.manifest: tuple(c.info for c in rust if _reads(c, crate, project, contents, target_for))
           for crate in project.crates}
    out[None] = tuple(c.info for c in rust)
    return out


def _shown_to(codemod: Codemod, project: Project, contents: dict[Path, bytes], target_for) -> Project:
    """The project as a codemod sees it: without the crates it does not read or where none of its
    trigger words appears, whose files it then never parses."""
    info = codemod.info
    if info.language != "rust":
        return project
    crates = [c for c in project.crates if _reads(codemod, c, project, contents, target_for) and (
        not info.triggers or any(_triggered(info, contents[f]) for f in c.rust_files if f in contents))]
    return project if len(crates) == len(project.crates) else replace(project, crates=crates)


def _read_by(info: CodemodInfo, snapshot: Snapshot, order: list[tuple[Path, bool]]) -> tuple:
    """The (path, bytes) a codemod's run depends on: the Rust files of the crates it is shown, and
    the other files its kind reads. `order`: every path, sorted, with whether it is Rust."""
    reads = _READS.setdefault(info.id, {})
    whole = snapshot.project is snapshot.full_project
    shown = () if whole else snapshot.shown_rust
    contents = snapshot.contents
    out = []
    for path, is_rust in order:
        wanted = reads.get(path)
        if wanted is None:
            wanted = reads[path] = info.reads(path)
        if wanted and (whole or not is_rust or path in shown):
            out.append((path, contents[path]))
    return tuple(out)


_READS: dict[str, dict[Path, bool]] = syntax.run_cache()  # codemod id -> path -> whether it reads it
_WANTED: dict[tuple[str, int], list[Path]] = syntax.run_cache()  # (codemod id, run) -> paths it edits


def _wanted(info: CodemodInfo, contents: dict[Path, bytes]) -> list[Path]:
    """The paths of a run a codemod may edit (its language's files), in order: once per run (a
    run's `contents` is one dict for all its passes; a doc example's run has its own)."""
    key = (info.id, id(contents))
    wanted = _WANTED.get(key)
    if wanted is None:
        wanted = _WANTED[key] = [p for p in sorted(contents) if info.wants(p)]
    return wanted


@dataclass
class _Outcome:
    """What one run of a codemod reported, to replay when a later pass shows it the same bytes."""

    changed: bool
    findings: dict[Path, list] = field(default_factory=dict)
    held: dict[Path, list[Fix]] = field(default_factory=dict)
    inputs: tuple = ()

    def replay(self, results: dict[Path, FileResult], findings: dict[Path, list]) -> None:
        for path, found in self.findings.items():
            findings.setdefault(path, []).extend(found)
        for path, held in self.held.items():
            results[path].held_back.extend(held)


def _run_codemod(codemod: Codemod, snapshot: Snapshot, results, findings: dict, options: Options) -> _Outcome:
    """One codemod over every file of the snapshot (whose `contents` it updates): whether it
    changed any file, and what it reported.

    A codemod's fixes in different files can depend on each other (a cell and its uses across
    the crate): when the re-parse gate drops any of them, all of this codemod's edits of this
    pass are withdrawn, and the files keep the bytes they had.
    """
    current = snapshot.contents
    try:
        facts = codemod.scan(snapshot)
    except Exception as exc:  # a bug in one codemod must not cost the user the others' work
        note = f"{codemod.info.id}: scan failed ({type(exc).__name__}: {exc}); it made no change"
        for result in results.values():
            if codemod.info.wants(result.path) and note not in result.failures:
                result.failures.append(note)
                break  # said once, on the first file it would have read
        return _Outcome(False)
    outcome = _Outcome(False)
    edited: dict[Path, tuple[bytes, int, int]] = {}  # path -> (bytes before, applied count, steps count)
    dropped_in: list[tuple[Path, str]] = []
    for path in _wanted(codemod.info, current):
        if path in snapshot.broken or not snapshot.shows(path):
            continue
        target = snapshot.target_for(path)
        if target is None or not codemod.info.applies(target):
            continue
        ctx = Context(codemod.info, path, current[path], target, snapshot, facts)
        try:
            codemod.transform(ctx)
        except Exception as exc:
            note = f"{codemod.info.id}: failed ({type(exc).__name__}: {exc}); file left as it was for this codemod"
            if note not in results[path].failures:
                results[path].failures.append(note)
            continue
        result = results[path]
        _drop_suppressed(ctx, result)
        withheld = dict(options.report_only).get(codemod.info.id)
        if withheld is not None:
            ctx.findings.extend(_unapplied(ctx, withheld))
            ctx.fixes.clear()
        findings.setdefault(path, []).extend(ctx.findings)
        chosen, held, _deferred = _select_fixes(ctx.fixes, options.include_unsafe)
        result.held_back.extend(held)
        if ctx.findings:
            outcome.findings[path] = list(ctx.findings)
        if held:
            outcome.held[path] = list(held)
        if not chosen:
            continue
        new, applied, dropped = _apply_gated(path, current[path], chosen)
        if dropped:
            dropped_in.append((path, dropped[0].message))
        if new != current[path]:
            edited[path] = (current[path], len(result.applied), len(result.steps))
            result.steps.append(Step(codemod.info.id, current[path], new, tuple(e for f in applied for e in f.edits)))
            result.applied.extend(applied)
            current[path] = new
    if dropped_in:
        for path, (before, applied_count, steps_count) in edited.items():
            current[path] = before
            del results[path].applied[applied_count:]
            del results[path].steps[steps_count:]
        where = ", ".join(f"{p.as_posix()} ({message})" for p, message in dropped_in)
        note = f"{codemod.info.id}: its edits would not re-parse in {where}; all of its edits were withdrawn"
        for path in set(edited) | {p for p, _ in dropped_in}:
            if note not in results[path].skipped:
                results[path].skipped.append(note)
        return outcome
    outcome.changed = bool(edited)
    return outcome


_MARKS: dict[tuple[bytes, str], dict[int, set[str]]] = syntax.run_cache()


def _drop_suppressed(ctx: Context, result: FileResult) -> None:
    """Fixes and findings on lines an inline `pyo3-migrate: ignore[..]` covers go, counted."""
    key = (ctx.source, ctx.path.suffix)
    if key not in _MARKS:
        _MARKS[key] = suppress.covered(ctx.source, ctx.path.suffix)
    marks = _MARKS[key]
    if not marks:
        return
    kept = []
    for fix in ctx.fixes:
        lines = sorted({n for e in fix.edits for n in range(ctx.source.count(b"\n", 0, e.start) + 1,
                                                              ctx.source.count(b"\n", 0, max(e.end - 1, e.start)) + 2)})
        if suppress.suppressed(marks, fix.codemod, lines):
            result.suppressed.add((fix.codemod, lines[0] if lines else 0, fix.message))
        else:
            kept.append(fix)
    ctx.fixes[:] = kept
    findings = []
    for finding in ctx.findings:
        if suppress.suppressed(marks, finding.codemod, [finding.line]):
            result.suppressed.add((finding.codemod, finding.line, finding.message))
        else:
            findings.append(finding)
    ctx.findings[:] = findings


def _unapplied(ctx: Context, why: str) -> list[Finding]:
    """A report-only codemod's fixes, as findings that hold the requirement below its removal (a
    codemod left out of a selection says only what the target rules out)."""
    removal = ctx.info.removes_at
    if why == NOT_SELECTED and (removal is None or ctx.target < removal):
        return []
    out = []
    for fix in ctx.fixes:
        line, col = line_col(ctx.source, min(e.start for e in fix.edits)) if fix.edits else (1, 1)
        out.append(Finding(ctx.info.id, ctx.path, line, col, f"not applied ({why}): {fix.message}", ctx.info.removes_at))
    return out


def _dedupe(findings: list) -> list:
    seen, out = set(), []
    for f in findings:
        key = (f.codemod, f.path, f.line, f.column, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
