"""`apply --verify`: a crate that does not compile after the migration is put back byte for byte."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pyo3_migrate.shell.cli import app
from pyo3_migrate.shell.verify import parse_cargo_messages
from tests.proof import SAMPLES, cargo_env, copy_sample


def test_cargo_messages_are_read_once_each():
    message = {
        "reason": "compiler-message",
        "message": {
            "level": "warning",
            "message": "use of deprecated struct `pyo3::sync::GILOnceCell`",
            "code": {"code": "deprecated"},
            "spans": [{"file_name": "src/lib.rs", "line_start": 4, "is_primary": True}],
        },
    }
    stdout = "\n".join([json.dumps(message), json.dumps(message), '{"reason": "build-finished", "success": true}'])
    (diagnostic,) = parse_cargo_messages(stdout)
    assert diagnostic.line_text() == "src/lib.rs:4: warning: use of deprecated struct `pyo3::sync::GILOnceCell`"
    assert diagnostic.code == "deprecated"


@pytest.mark.compile
def test_verify_restores_a_crate_that_fails(tmp_path, monkeypatch):
    for key, value in cargo_env().items():
        monkeypatch.setenv(key, value)
    project = copy_sample(SAMPLES / "gil_cells", tmp_path / "broken")
    lib = project / "src" / "lib.rs"
    lib.write_bytes(lib.read_bytes() + b"\nfn deliberately_broken() -> u32 { \"not a number\" }\n")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}

    result = CliRunner().invoke(app, ["apply", str(project), "--target-pyo3", "0.26", "--allow-no-vcs", "--verify"])

    assert result.exit_code == 2, result.stderr
    assert "does not compile after the migration" in result.stderr
    assert "once-lock" in result.stderr  # the codemod whose edits were in the failing file
    after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and p.name != "Cargo.lock"}
    assert after == before, "every file must be back exactly as it was"


def test_only_deprecations_of_migrated_apis_count():
    from pyo3_migrate.shell.verify import CheckResult, Diagnostic

    ours = Diagnostic("warning", "deprecated", "use of deprecated type alias `pyo3::PyObject`", "src/lib.rs", 3)
    other = Diagnostic("warning", "deprecated", "`FromPyObject` for `#[pyclass]` types is changing", "src/lib.rs", 7)
    assert CheckResult(True, [ours, other]).deprecations() == [ours]


@pytest.mark.compile
def test_verify_lists_what_pyo3_still_deprecates_as_findings(tmp_path, monkeypatch):
    for key, value in cargo_env().items():
        monkeypatch.setenv(key, value)
    project = copy_sample(SAMPLES / "gil_cells", tmp_path / "partial")
    # attach does not run: `Python::with_gil` stays, deprecated at 0.26
    selection = ["--codemod", "once-lock", "--codemod", "bound-api"]
    result = CliRunner().invoke(app, ["apply", str(project), "--target-pyo3", "0.26", "--allow-no-vcs", "--verify", *selection])
    assert result.exit_code == 1, result.stderr
    assert "PyO3 deprecation(s) left, listed as findings" in result.stderr
    output = result.stdout + result.stderr
    assert "[verify] still deprecated after the migration: use of deprecated" in output
    assert "with_gil" in output


@pytest.mark.compile
def test_verify_retries_without_the_codemods_the_errors_point_at(tmp_path, monkeypatch):
    from pyo3_migrate import codemods
    from pyo3_migrate.core.codemod import Codemod, CodemodInfo
    from pyo3_migrate.core.model import Edit, Safety
    from pyo3_migrate.core.version import Version

    class Breaker(Codemod):
        """A codemod whose edit does not compile: what --verify must leave out."""

        info = CodemodInfo("breaker", "breaks lib.rs", "rust", Safety.SAFE, Version(0, 0), None, "https://pyo3.rs",
                           "What it does: breaks. Fix safety: none.")

        def transform(self, ctx):
            if ctx.path.name == "lib.rs":
                ctx.fix("break", [Edit(len(ctx.source), len(ctx.source), b'\nfn broken() -> u32 { "x" }\n')])

    monkeypatch.setattr(codemods, "REGISTRY", codemods.REGISTRY + (Breaker(),))
    for key, value in cargo_env().items():
        monkeypatch.setenv(key, value)
    project = copy_sample(SAMPLES / "gil_cells", tmp_path / "retry")
    result = CliRunner().invoke(app, ["apply", str(project), "--target-pyo3", "0.26", "--allow-no-vcs", "--verify"])
    assert result.exit_code == 1, result.stderr  # findings of what was left out, no error
    assert "retrying" in result.stderr and "breaker" in result.stderr
    assert "verified:" in result.stderr
    assert "fn broken" not in (project / "src" / "lib.rs").read_text()
    assert "[breaker] not applied (its edits did not compile): break" in result.stdout + result.stderr
