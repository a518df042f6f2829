"""Rendering results: text for people, JSON for machines, and the exit-code policy."""

from __future__ import annotations

import json

from migrate.shell.diff import unified_diff
from migrate.shell.runner import RunResult

EXIT_OK = 0  # done, or nothing to do
EXIT_PENDING = 1  # changes pending (--check) or findings that need a person
EXIT_ERROR = 2  # usage or I/O error, bad input


def exit_code(results: list[RunResult], *, check: bool) -> int:
    if any(r.errors for r in results):
        return EXIT_ERROR
    if check and any(r.changed for r in results):
        return EXIT_PENDING
    if any(r.findings for r in results):
        return EXIT_PENDING
    return EXIT_OK


def diff_text(result: RunResult, from_root: bool = False) -> bytes:
    """All changed files' diffs; each is preceded by a line naming the codemods that made it.
    Paths are as the user sees them, or relative to the project root (`from_root`: a patch file)."""
    chunks = []
    for f in result.changed:
        shown = f.path if from_root else result.display_path(f.path)
        chunks.append(f"# pyo3-migrate: {shown.as_posix()}: {', '.join(f.codemods())}\n".encode())
        chunks.append(unified_diff(shown, f.before, f.after, label=_hunk_label(f), spans=f.changed_spans()))
    return b"".join(chunks)


def _hunk_label(result_file):
    guide_of = {fix.codemod: fix.guide for fix in result_file.applied}  # a fix carries its guide link

    def label(removed: list[bytes], added: list[bytes]) -> str:
        names = result_file.attribute(removed, added)
        if not names:
            return ""
        guides = " ".join(dict.fromkeys(guide_of[n] for n in names if guide_of.get(n)))  # each link once
        return f"[{', '.join(names)}] {guides}"

    return label


def summary_lines(result: RunResult) -> list[str]:
    """Per-file lines: what changed and by which codemod, what waits, what needs a person."""
    lines = []
    for f in result.files:
        shown = result.display_path(f.path)
        for fix in f.applied:
            lines.append(f"{shown}: [{fix.codemod}] {fix.message}")
        for fix in f.held_back:
            lines.append(f"{shown}: [{fix.codemod}] not applied ({fix.safety.value} fix; use --unsafe): {fix.message}")
        for reason in f.skipped:
            lines.append(f"{shown}: {reason}")
    return lines


def finding_lines(result: RunResult) -> list[str]:
    out = []
    for f in result.files:
        shown = result.display_path(f.path)
        for finding in result.located_findings(f):
            out.append(f"{shown}:{finding.line}:{finding.column}: [{finding.codemod}] {finding.message}")
    return out


def to_json(results: list[RunResult], *, written: bool = False) -> str:
    payload = {"projects": []}
    for r in results:
        files = []
        for f in r.files:
            if not (f.changed or f.findings or f.skipped or f.held_back or f.input_error or f.failures):
                continue
            files.append(
                {
                    "path": r.display_path(f.path).as_posix(),
                    "changed": f.changed,
                    "codemods": f.codemods(),
                    "fixes": [{"codemod": x.codemod, "message": x.message, "safety": x.safety.value} for x in f.applied],
                    "held_back": [{"codemod": x.codemod, "message": x.message, "safety": x.safety.value} for x in f.held_back],
                    "findings": [
                        {"codemod": x.codemod, "line": x.line, "column": x.column, "message": x.message}
                        for x in r.located_findings(f)
                    ],
                    "skipped": f.skipped,
                    "error": f.input_error,
                    "failures": f.failures,
                }
            )
        crates = []
        if r.project is not None:
            for c in r.project.pyo3_crates():
                crates.append(
                    {
                        "name": c.name,
                        "manifest": c.manifest.as_posix(),
                        "pyo3_requirement": c.requirement,
                        "pyo3_version": str(c.pyo3_version) if c.pyo3_version else None,
                        "features": c.features,
                    }
                )
        payload["projects"].append(
            {
                "root": str(r.root),
                "crates": crates,
                "files": files,
                "errors": r.errors,
                "written": [p.as_posix() for p in r.written] if written else [],
            }
        )
    return json.dumps(payload, indent=2)
