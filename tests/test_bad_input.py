"""The bad-input table: what a user's machine hands the tool, and the one-line answer it gets.

Every row runs the CLI through typer's runner on a small committed crate (tests/conftest.py's
`project`), and checks the exit code, that the message names the file, and that nothing was lost:
a project is written whole or not at all, no temporary file is left.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pyo3_migrate.shell import apply as apply_module
from pyo3_migrate.shell.cli import app
from tests.conftest import git

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and ".git" not in p.parts}


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.pyo3-migrate")]


def commit(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", "change")


# ------------------------------------------------------------------ requirements and targets


@pytest.mark.parametrize(("written", "says"), [
    ('"*"', "names no release the crate builds with"),
    ('"<0.23"', "names no release the crate builds with"),
    ('"0.26garbage"', "is not a requirement cargo reads"),
    ("{ version = 22 }", "not a requirement string"),
    ('{ path = "../pyo3", version = "0.22" }', "pyo3 comes from a path"),
    ('{ git = "https://github.com/PyO3/pyo3" }', "pyo3 comes from git"),
])
def test_unusual_requirements_get_one_line(project, written, says):
    manifest = project / "Cargo.toml"
    manifest.write_text("\n".join(f"pyo3 = {written}" if line.startswith("pyo3 =") else line
                                  for line in manifest.read_text().splitlines()) + "\n")
    before = snapshot(project)
    result = invoke("diff", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 2
    assert "Cargo.toml" in result.stderr and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(project) == before


def test_a_renamed_dependency_under_the_pyo3_key_is_not_pyo3(project):
    manifest = project / "Cargo.toml"
    manifest.write_text("\n".join('pyo3 = { package = "not-pyo3", version = "1" }' if line.startswith("pyo3 =")
                                  else line for line in manifest.read_text().splitlines()) + "\n")
    result = invoke("diff", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 2 and "no crate depending on pyo3" in result.stderr


@pytest.mark.parametrize(("target", "says"), [
    ("9.9", "no PyO3 release line 9.9"),
    ("1.0", "no PyO3 release line 1.0"),
    ("0.31", "no PyO3 release line 0.31"),
    ("0.26garbage", "is not a version"),
    ("v0.26", "is not a version"),
])
def test_targets_are_known_releases(project, target, says):
    for command in ("diff", "plan", "apply"):
        result = invoke(command, str(project), "--target-pyo3", target)
        assert result.exit_code == 2, (command, result.stderr)
        assert says in result.stderr and "latest" in result.stderr


def test_latest_is_the_newest_known_release(project):
    result = invoke("diff", str(project), "--target-pyo3", "latest")
    assert result.exit_code in (0, 1), result.stderr
    assert '+pyo3 = { version = "0.30.0"' in result.stdout


def test_a_downgrade_is_refused(project):
    result = invoke("diff", str(project), "--target-pyo3", "0.21")
    assert result.exit_code == 2
    assert "is on PyO3 0.22.6, past --target-pyo3 0.21: pyo3-migrate does not downgrade" in result.stderr


def test_a_manifest_with_a_bom_is_read_and_keeps_it(project):
    manifest = project / "Cargo.toml"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())
    commit(project)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code in (0, 1), result.stderr
    assert manifest.read_bytes().startswith(b"\xef\xbb\xbf") and b'"0.26.0"' in manifest.read_bytes()


# ------------------------------------------------------------------ files


def test_a_symlink_loop_is_named(project):
    (project / "src" / "self.rs").symlink_to("self.rs")
    before = snapshot(project)
    result = invoke("apply", str(project), "--target-pyo3", "0.26", "--allow-dirty")
    assert result.exit_code == 2
    assert "src/self.rs: a symlink loop; left alone" in result.stderr
    assert snapshot(project) == before, "nothing of the project is written"


def test_an_in_tree_symlink_stays_a_symlink(project):
    (project / "src" / "alias.rs").symlink_to("lib.rs")
    commit(project)
    diff = invoke("diff", str(project), "--target-pyo3", "0.26")
    assert "alias.rs" not in diff.stdout and "a symlink to src/lib.rs, which is migrated itself" in diff.stderr
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code in (0, 1), result.stderr
    assert (project / "src" / "alias.rs").is_symlink() and "PyOnceLock" in (project / "src" / "lib.rs").read_text()


def test_one_unmigratable_file_leaves_the_crate_byte_identical(project):
    (project / "src" / "broken.rs").write_text("static CACHE: GILOnceCell<u8> = GILOnceCell::new(;\n")
    commit(project)
    before = snapshot(project)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 2
    assert "src/broken.rs: syntax error" in result.stderr and "nothing written" in result.stderr
    assert snapshot(project) == before


def test_a_file_no_codemod_reads_is_not_parsed_so_its_syntax_cannot_fail_the_run(project):
    # nightly-only syntax that tree-sitter-rust does not know, in a file with nothing of PyO3 in it
    (project / "src" / "nightly.rs").write_text("trait Op {\n    type Stats: Default = ();\n}\n")
    commit(project)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code in (0, 1), result.stderr
    assert "nightly.rs" not in result.stderr and "PyOnceLock" in (project / "src" / "lib.rs").read_text()


def test_a_directory_we_cannot_write_in_is_named_and_nothing_is_written(project, monkeypatch):
    real = apply_module.tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if Path(dir).name == "src":
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(apply_module.tempfile, "mkstemp", refuse)
    before = snapshot(project)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 2
    assert "src/lib.rs: cannot write beside it: Permission denied" in result.stderr
    assert snapshot(project) == before and temp_files(project) == []


def test_a_failure_while_committing_puts_back_what_was_written(project, monkeypatch):
    real, calls = os.replace, []

    def fail_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(apply_module.os, "replace", fail_second)
    before = snapshot(project)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 2
    assert "No space left on device" in result.stderr and "were put back" in result.stderr
    assert snapshot(project) == before and temp_files(project) == []


def test_mode_owner_and_hard_links_are_kept_and_read_only_files_refused(project):
    lib = project / "src" / "lib.rs"
    os.chmod(lib, 0o640)
    os.link(lib, project / "lib-link.rs")
    result = invoke("apply", str(project), "--target-pyo3", "0.26", "--allow-dirty")
    assert result.exit_code in (0, 1), result.stderr
    assert stat.S_IMODE(lib.stat().st_mode) == 0o640
    assert (project / "lib-link.rs").read_text() == lib.read_text(), "the hard link still shares the bytes"

    git(project, "checkout", "--", ".")
    os.chmod(project / "Cargo.toml", 0o444)
    before = snapshot(project)
    refused = invoke("apply", str(project), "--target-pyo3", "0.26", "--allow-dirty")
    assert refused.exit_code == 2 and "Cargo.toml: read-only; not written" in refused.stderr
    assert snapshot(project) == before


def test_untracked_files_count_as_uncommitted(project):
    (project / "notes.txt").write_text("mine\n")
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 2 and "uncommitted changes (notes.txt)" in result.stderr


def test_a_file_changed_while_we_worked_says_how_to_go_on(project, monkeypatch):
    from pyo3_migrate.shell import runner as runner_module

    real = runner_module.engine.run_held

    def edit_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        (project / "src" / "lib.rs").write_text("// edited\n")
        return out

    monkeypatch.setattr(runner_module.engine, "run_held", edit_meanwhile)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 2
    assert "src/lib.rs: changed on disk while we worked" in result.stderr and "commit or stash" in result.stderr
    assert b"0.22.6" in (project / "Cargo.toml").read_bytes(), "nothing of the project is written"


# ------------------------------------------------------------------ interrupts


def test_sigint_while_committing_finishes_and_says_what_was_written(project, monkeypatch):
    real, sent = apply_module._put, []

    def interrupt_once(staged, data):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # held back until the commit is done
        return real(staged, data)

    monkeypatch.setattr(apply_module, "_put", interrupt_once)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 130
    assert "interrupted: 2 file(s) written" in result.stderr and "run the same command again" in result.stderr
    assert "PyOnceLock" in (project / "src" / "lib.rs").read_text() and temp_files(project) == []


def test_sigterm_while_preparing_writes_nothing(project, monkeypatch):
    real, seen = apply_module._stage, []

    def terminate_on_second(path, before, after):
        seen.append(path)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(path, before, after)

    monkeypatch.setattr(apply_module, "_stage", terminate_on_second)
    before = snapshot(project)
    result = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == 130 and "interrupted: 0 file(s) written" in result.stderr
    assert snapshot(project) == before and temp_files(project) == []


# ------------------------------------------------------------------ the last resort


def test_an_internal_error_is_one_line_and_exit_3(project, monkeypatch):
    code = ("import sys\nimport pyo3_migrate.shell.cli as cli\n"
            "def boom(*a, **k):\n    raise LookupError('made up')\n"
            "cli.migrate_paths = boom\nfrom pyo3_migrate.shell.start import main\nmain()\n")
    args = [sys.executable, "-c", code, "diff", str(project), "--target-pyo3", "0.26"]
    plain = subprocess.run(args, capture_output=True, text=True)
    assert plain.returncode == 3
    assert plain.stderr.startswith("pyo3-migrate: internal error: LookupError: made up at ")
    assert "Traceback" not in plain.stderr and "--debug" in plain.stderr
    debug = subprocess.run(args + ["--debug"], capture_output=True, text=True)
    assert debug.returncode != 3 and "Traceback" in debug.stderr


def test_a_release_newer_than_the_tool_says_to_update_it(project, tmp_path, monkeypatch):
    from pyo3_migrate.analysis import registry

    mirror = tmp_path / "index"
    mirror.mkdir()
    (mirror / "pyo3.json").write_text('{"name": "pyo3", "vers": "0.31.0", "deps": [], "features": {}, "yanked": false}\n')
    monkeypatch.setenv("PYO3_MIGRATE_REGISTRY", str(mirror))
    monkeypatch.setattr(registry, "_RECORDS", {})
    result = invoke("diff", str(project), "--target-pyo3", "0.31")
    assert result.exit_code == 2
    assert "PyO3 0.31 is published" in result.stderr and "update pyo3-migrate" in result.stderr
