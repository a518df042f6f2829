"""`pyo3-migrate plan`: the hops from each crate's PyO3 to the target, what each hop brings, which
codemods act at each hop in this project, and what will need a person.

The migration itself runs every codemod once with the final target (a codemod that knows the
final target picks the best output for it, e.g. `PyOnceLock` rather than std `OnceLock` on the way);
the plan shows where along the way each change belongs.
"""

from __future__ import annotations

from collections import Counter

from pyo3_migrate.analysis.companions import PYO3_LINES
from pyo3_migrate.core.codemod import CodemodInfo
from pyo3_migrate.core.version import Version
from pyo3_migrate.shell.runner import RunResult

# What each release line changed that the migration cares about (see ../shared/pyo3-facts.md).
RELEASE_NOTES: dict[tuple[int, int], str] = {
    (0, 22): "`Py<T>: Clone` only with the `py-clone` feature; GILOnceCell::clone_ref (0.22.3)",
    (0, 23): "free-threaded builds; OnceLockExt, gil_used, GILOnceCell::import; no GILProtected on 3.13t",
    (0, 24): "MutexExt::lock_py_attached",
    (0, 25): "the 0.23 deprecations removed (`ToPyObject`, `IntoPy`, `*_bound`); `from_py_with` strings removed; "
    "call arguments are `PyCallArgs`",
    (0, 26): "PyOnceLock, Python::attach/detach; GILOnceCell, GILProtected, with_gil, allow_threads, PyObject deprecated",
    (0, 27): "RwLockExt; `FromPyObject` reworked (`extract(Borrowed)`, `type Error`); `downcast` -> `cast`",
    (0, 28): "the 0.25/0.26 deprecations removed; modules declare free-threading support by default; "
    "a Clone pyclass's automatic FromPyObject deprecated",
    (0, 29): "the 0.27 deprecations removed (`downcast`, `DowncastError`); `From<Utf8Error>` for PyErr removed; "
    "free-threaded builds need CPython 3.14 or later; Python 3.7 dropped",
    (0, 30): "the 0.28 deprecations removed; no automatic FromPyObject for Clone pyclasses (`skip_from_py_object` "
    "deprecated, now the default); `PyMutex` moved to `pyo3::sync`; MSRV 1.85; Python 3.8 dropped; numpy 0.30 "
    "nests its raw structs' members in `fields`",
}


def hops(start: Version, target: Version) -> list[tuple[int, int]]:
    """The known release lines after start's, up to and including target's."""
    known = (tuple(int(x) for x in line.split(".")) for line in PYO3_LINES)
    return [line for line in known if (start.major, start.minor) < line <= (target.major, target.minor)]


def _hop_of(info, start: Version, target: Version) -> tuple[int, int]:
    """The hop a codemod's changes belong to: the release its output needs (the manifest: the last)."""
    acts_at = target if info.id == "manifest" else info.acts_at(target)
    return max((acts_at.major, acts_at.minor), (start.major, start.minor + 1))


def _owned(project, crate, path) -> bool:
    """A file belongs to the crate that holds it; a manifest also to the crates whose requirement it sets."""
    return project.crate_of(path) is crate or path == crate.requirement_manifest


def plan_lines(result: RunResult, target: Version, infos: list[CodemodInfo]) -> list[str]:
    """The plan of one project: `infos` are the codemods that ran, in their order."""
    project = result.project
    out = []
    asked, target = target, result.target or target
    held = "" if target == asked else f" (stops below {asked.major}.{asked.minor}: see the manifest's finding)"
    for crate in project.pyo3_crates():
        mine = [f for f in result.files if _owned(project, crate, f.path)]
        changed_by = Counter(codemod for f in mine for codemod in {step.codemod for step in f.steps})
        found_by = Counter(finding.codemod for f in mine for finding in f.findings)
        held_by = Counter(fix.codemod for f in mine for fix in f.held_back)
        start = crate.pyo3_version
        out.append(f"crate {crate.name} ({crate.manifest.as_posix()}): pyo3 {start} -> {target}{held}")
        lines = hops(start, target)
        if not lines:
            out.append("  already at the target release line")
        for line in lines:
            note = RELEASE_NOTES.get(line, "")
            out.append(f"  hop to {line[0]}.{line[1]}: {note}")
            for info in infos:
                if not info.applies(target) or _hop_of(info, start, target) != line:
                    continue
                files, findings, held = changed_by[info.id], found_by[info.id], held_by[info.id]
                if files or findings or held:
                    unsafe = f", {held} unsafe fix(es) held back (--unsafe)" if held else ""
                    out.append(
                        f"    {info.id}: {files} file(s) to change, {findings} place(s) for a person{unsafe}"
                        f"  ({info.guide})"
                    )
    out.append("")
    out.append(f"needs a person ({len(result.findings)}):" if result.findings else "needs a person: nothing")
    for f in result.files:
        for finding in result.located_findings(f):
            out.append(f"  {result.display_path(f.path)}:{finding.line}:{finding.column}: [{finding.codemod}] {finding.message}")
    return out
