"""Unified diffs that `git apply` takes byte for byte (CRLF, BOM, no final newline), and line mapping."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pyo3_migrate.shell.diff import map_line, unified_diff

CASES = {
    "no final newline, changed last line": (b"a\nb\nc", b"a\nb\nC"),
    "no final newline added": (b"a\nb", b"a\nb\n"),
    "final newline removed": (b"a\nb\n", b"a\nb"),
    "crlf": (b"use x;\r\nfn f() {}\r\n// keep\r\n", b"use y;\r\nfn f() {}\r\n// keep\r\n"),
    "bom": (b"\xef\xbb\xbfuse a;\nfn f() {}\n", b"\xef\xbb\xbfuse b;\nfn f() {}\n"),
    "insertion at the top": (b"x\ny\n", b"new\nx\ny\n"),
    "deletion of everything but one line": (b"1\n2\n3\n4\n5\n6\n7\n8\n9\n", b"1\n9\n"),
}


@pytest.mark.parametrize("before,after", CASES.values(), ids=list(CASES))
def test_git_apply_reproduces_the_bytes(tmp_path: Path, before: bytes, after: bytes):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    target = tmp_path / "src" / "lib.rs"
    target.parent.mkdir()
    target.write_bytes(before)
    patch = unified_diff(Path("src/lib.rs"), before, after)
    (tmp_path / "p.patch").write_bytes(patch)
    subprocess.run(["git", "apply", "p.patch"], cwd=tmp_path, check=True)
    assert target.read_bytes() == after


def test_no_diff_for_identical_bytes():
    assert unified_diff(Path("a.rs"), b"x\n", b"x\n") == b""


def test_hunk_labels_follow_the_header():
    patch = unified_diff(Path("a.rs"), b"a\n", b"b\n", label=lambda removed, added: f"[{len(removed)}-{len(added)}]")
    assert b"@@ -1 +1 @@ [1-1]\n" in patch


def test_findings_map_back_to_the_file_on_disk():
    before = b"a\nb\nc\nd\n"
    after = b"a\nX\nY\nZ\nc\nd\n"  # b became three lines
    assert [map_line(before, after, n) for n in (1, 2, 4, 5, 6)] == [1, 2, 2, 3, 4]
    assert map_line(before, before, 3) == 3


def _changed_fixture_files():
    from tests.fixture_cases import discover_cases, run_case

    for case in discover_cases():
        if case.changes:
            for result in run_case(case):
                if result.changed:
                    yield pytest.param(result, id=f"{case.id}:{result.path}")


@pytest.mark.parametrize("result", list(_changed_fixture_files()))
def test_diff_of_the_changed_spans_is_the_whole_file_diff(result):
    """The diff matches lines only where the engine's edits landed; on every fixture its bytes
    and its line mapping are those of a whole-file match."""
    spans = result.changed_spans()
    assert spans is not None, "the steps' edits do not account for the change"
    path = Path("src/lib.rs")
    assert unified_diff(path, result.before, result.after, spans=spans) == unified_diff(path, result.before, result.after)
    lines = result.after.count(b"\n") + 1
    assert [map_line(result.before, result.after, n, spans) for n in range(1, lines + 1)] == [
        map_line(result.before, result.after, n) for n in range(1, lines + 1)
    ]
