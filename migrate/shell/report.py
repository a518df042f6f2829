"""Rendering results: text for people, JSON for machines, and the exit-code policy."""

from __future__ import annotations

import json

from pyo3_migrate.shell.diff import unified_diff
from pyo3_migrate.shell.runner import RunResult

EXIT_OK = 0  # done, or nothing to do
EXIT_PENDING = 1  # changes pending (--check) or findings that need a person
EXIT_ERROR = 2  # usage or I/O error, bad input


SCHEMA = 2  # the JSON report's layout version: bumped when a field changes meaning or goes


def exit_code(results: list[RunResult], *, check: bool, fail_on: str = "both") -> int:
    """0 nothing to do; 1 changes pending (with `check`) or findings, as `fail_on` says
    (changes, findings, both, none); 2 an error."""
    if any(r.errors for r in results):
        return EXIT_ERROR
    if check and fail_on in ("changes", "both") and any(r.changed for r in results):
        return EXIT_PENDING
    if fail_on in ("findings", "both") and any(r.findings for r in results):
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
        if f.suppressed:
            lines.append(f"{shown}: {len(f.suppressed)} fix(es) and finding(s) suppressed by `pyo3-migrate: ignore`")
    return lines


def finding_lines(result: RunResult) -> list[str]:
    out = []
    for f in result.files:
        if not f.findings:
            continue
        shown = result.display_path(f.path)
        for finding in result.located_findings(f):
            out.append(f"{shown}:{finding.line}:{finding.column}: [{finding.codemod}] {finding.message}")
    return out


def _fix_json(fix) -> dict:
    return {"codemod": fix.codemod, "message": fix.message, "safety": fix.safety.value, "guide": fix.guide}


def to_json(results: list[RunResult], *, written: bool = False, tool_version: str = "unknown") -> str:
    """The report for machines. Paths are relative to each project's `root` (absolute)."""
    payload = {"schema": SCHEMA, "tool": {"name": "pyo3-migrate", "version": tool_version}, "projects": []}
    for r in results:
        files = []
        for f in r.files:
            if not (f.changed or f.findings or f.skipped or f.held_back or f.input_error or f.failures or f.suppressed):
                continue
            files.append(
                {
                    "path": f.path.as_posix(),
                    "changed": f.changed,
                    "codemods": f.codemods(),
                    "patch": unified_diff(f.path, f.before, f.after, spans=f.changed_spans()).decode("utf-8", "replace")
                    if f.changed else "",
                    "fixes": [_fix_json(x) for x in f.applied],
                    "held_back": [_fix_json(x) for x in f.held_back],
                    "findings": [
                        {"codemod": x.codemod, "line": x.line, "column": x.column, "message": x.message}
                        for x in r.located_findings(f)
                    ],
                    "skipped": f.skipped,
                    "suppressed": len(f.suppressed),
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
                "target": f"{r.target.major}.{r.target.minor}" if r.target else None,
                "counts": {
                    "files_changed": len(r.changed),
                    "fixes": sum(len(f.applied) for f in r.files),
                    "held_back": sum(len(f.held_back) for f in r.files),
                    "findings": len(r.findings),
                    "suppressed": sum(len(f.suppressed) for f in r.files),
                    "errors": len(r.errors),
                },
                "crates": crates,
                "files": files,
                "errors": r.errors,
                "written": [p.as_posix() for p in r.written] if written else [],
            }
        )
    return json.dumps(payload, indent=2)


def _escape_property(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _escape_message(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _fix_line(f, fix) -> int:
    start = min((e.start for e in fix.edits), default=0)
    return f.before.count(b"\n", 0, start) + 1


def to_github(results: list[RunResult]) -> str:
    """GitHub Actions workflow commands: a warning per finding, a notice per pending change."""
    lines = []
    for r in results:
        for f in r.files:
            shown = r.display_path(f.path).as_posix()
            for x in r.located_findings(f):
                lines.append(f"::warning file={_escape_property(shown)},line={x.line},col={x.column},"
                             f"title={_escape_property('pyo3-migrate ' + x.codemod)}::{_escape_message(x.message)}")
            for fix in f.applied:
                lines.append(f"::notice file={_escape_property(shown)},line={_fix_line(f, fix)},"
                             f"title={_escape_property('pyo3-migrate ' + fix.codemod)}::"
                             f"{_escape_message(fix.message + ' (pyo3-migrate apply makes this change)')}")
        for error in r.errors:
            lines.append(f"::error title=pyo3-migrate::{_escape_message(error)}")
    return "".join(line + "\n" for line in lines)


def to_markdown(results: list[RunResult]) -> str:
    """A summary for a pull request or a job summary: changes per codemod, findings, errors."""
    out = []
    for r in results:
        target = f"{r.target.major}.{r.target.minor}" if r.target else "each crate's own release"
        out += [f"## pyo3-migrate: {r.root.name} (PyO3 {target})", ""]
        counts: dict[str, int] = {}
        for f in r.files:
            for fix in f.applied:
                counts[fix.codemod] = counts.get(fix.codemod, 0) + 1
        out += [f"{len(r.changed)} file(s) change; {len(r.findings)} finding(s) need a person.", ""]
        if counts:
            out += ["| codemod | fixes |", "|---|---|"] + [f"| `{k}` | {v} |" for k, v in sorted(counts.items())] + [""]
        findings = [(f, x) for f in r.files for x in r.located_findings(f)]
        if findings:
            out += ["| where | codemod | what to do |", "|---|---|---|"]
            out += [f"| `{r.display_path(f.path).as_posix()}:{x.line}` | `{x.codemod}` | {x.message.replace('|', '/')} |"
                    for f, x in findings] + [""]
        out += [f"- error: {e}" for e in r.errors] + ([""] if r.errors else [])
    return "\n".join(out)


def to_sarif(results: list[RunResult], infos: dict, tool_version: str) -> str:
    """SARIF 2.1.0: one run, a rule per codemod (its summary and guide), a `warning` per finding
    and a `note` per pending change, located relative to the project root."""
    used = sorted({x.codemod for r in results for x in r.findings}
                  | {fix.codemod for r in results for f in r.files for fix in f.applied})
    rules = [{"id": i, "name": i, "shortDescription": {"text": infos[i].summary if i in infos else i},
              "helpUri": infos[i].guide if i in infos else "https://pyo3.rs/main/migration"} for i in used]
    index = {i: n for n, i in enumerate(used)}
    sarif_results = []
    for r in results:
        for f in r.files:
            location = {"artifactLocation": {"uri": f.path.as_posix(), "uriBaseId": "PROJECT"}}
            for x in r.located_findings(f):
                sarif_results.append({"ruleId": x.codemod, "ruleIndex": index[x.codemod], "level": "warning",
                                      "message": {"text": x.message},
                                      "locations": [{"physicalLocation": {**location, "region": {
                                          "startLine": x.line, "startColumn": x.column}}}]})
            for fix in f.applied:
                sarif_results.append({"ruleId": fix.codemod, "ruleIndex": index[fix.codemod], "level": "note",
                                      "message": {"text": f"{fix.message} (pyo3-migrate apply makes this change)"},
                                      "locations": [{"physicalLocation": {**location, "region": {
                                          "startLine": _fix_line(f, fix)}}}]})
    run = {"tool": {"driver": {"name": "pyo3-migrate", "version": tool_version,
                               "informationUri": "https://pyo3.rs/main/migration", "rules": rules}},
           "originalUriBaseIds": {"PROJECT": {"uri": results[0].root.as_uri() + "/"}} if results else {},
           "results": sarif_results}
    return json.dumps({"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
                       "runs": [run]}, indent=2) + "\n"
