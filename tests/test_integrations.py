"""The pre-commit hooks, run by the `pre-commit` package itself on a sample repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.proof import REPO, SAMPLES

pytest.importorskip("pre_commit")


def _pre_commit(repo: Path, hook: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), hook, "--all-files"],
                          cwd=repo, capture_output=True, text=True, env={**os.environ, "PRE_COMMIT_HOME": str(home)})


def test_the_hooks_check_then_apply(tmp_path):
    if not (REPO / ".git").exists():
        pytest.skip("pre-commit try-repo needs this project as a git repository")
    repo = tmp_path / "sample"
    shutil.copytree(SAMPLES / "gil_cells", repo, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    home = tmp_path / "pre-commit-home"

    pending = _pre_commit(repo, "pyo3-migrate-check", home)
    assert pending.returncode == 1, pending.stdout + pending.stderr
    assert "pyo3-migrate (pending PyO3 migration)" in pending.stdout and "Failed" in pending.stdout
    assert "[clone-ref]" in pending.stdout

    applied = _pre_commit(repo, "pyo3-migrate", home)
    assert applied.returncode == 1 and "files were modified by this hook" in applied.stdout
    assert "clone_ref(py)" in (repo / "src" / "cache.rs").read_text()
    git(repo, "commit", "-qam", "migrated")

    clean = _pre_commit(repo, "pyo3-migrate-check", home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout
