"""Batch migration over several git repositories built in a temporary folder: one clean, one
dirty, one with an untracked file, one that is no crate, one with broken Rust, one already
migrated, and one served by URL from a local bare repository."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pyo3_migrate.shell.cli import app
from tests.conftest import CARGO_TOML, LIB_RS, git

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


CRATE = {"Cargo.toml": CARGO_TOML, "src/lib.rs": LIB_RS}


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    base = tmp_path / "fleet"
    _repo(base / "clean", CRATE)
    _repo(base / "dirty", CRATE)
    (base / "dirty" / "src" / "lib.rs").write_text(LIB_RS + "// edited\n")
    _repo(base / "untracked", CRATE)
    (base / "untracked" / "notes.txt").write_text("mine\n")
    _repo(base / "notcrate", {"README.md": "no crate here\n"})
    _repo(base / "broken", {**CRATE, "src/bad.rs": "fn oops(py: Python) { Python::with_gil(\n"})
    _repo(base / "migrated", {"Cargo.toml": CARGO_TOML.replace("0.22.6", "0.26.0"), "src/lib.rs": "// nothing to do\n"})
    _repo(base / "served", CRATE)
    git(base, "clone", "-q", "--bare", "served", "remote.git")
    shutil.rmtree(base / "served")
    (base / "batch.toml").write_text(
        '[defaults]\ntarget = "0.26"\n\n'
        + "".join(f'[[repo]]\npath = "{name}"\n\n' for name in ("clean", "dirty", "untracked", "notcrate", "broken", "migrated"))
        + f'[[repo]]\nurl = "file://{base / "remote.git"}"\nname = "served"\n'
    )
    return base


def _statuses(report: Path) -> dict[str, str]:
    return {r["name"]: r["status"] for r in json.loads(report.read_text())["repositories"]}


def _heads(base: Path) -> dict[str, str]:
    return {d.name: git(d, "rev-parse", "HEAD").stdout for d in base.iterdir() if (d / ".git").exists()}


def test_dry_run_writes_a_patch_per_repository_and_touches_nothing(fleet):
    heads = _heads(fleet)
    out = fleet / "out"
    result = invoke("batch", str(fleet / "batch.toml"), "--out", str(out), "--report", str(fleet / "r.json"), "-j", "2")
    assert result.exit_code == 2, result.stderr  # notcrate and broken fail; the rest is done
    assert _statuses(fleet / "r.json") == {"clean": "changed", "dirty": "changed", "untracked": "changed",
                                            "notcrate": "failed", "broken": "failed", "migrated": "unchanged",
                                            "served": "changed"}
    assert git(fleet / "clean", "apply", "--check", str(out / "clean.patch")).returncode == 0
    assert "# Migrate clean to PyO3 0.26" in (out / "clean.md").read_text()
    assert _heads(fleet) == heads and git(fleet / "clean", "status", "--porcelain").stdout == ""
    assert git(fleet / "clean", "worktree", "list").stdout.count("\n") == 1, "the worktree is gone"
    assert "| broken | failed |" in result.stdout and "src/bad.rs: syntax error" in result.stdout


def test_apply_commits_on_a_branch_pushes_and_resumes(fleet):
    git(fleet, "init", "-q", "--bare", "clean-remote.git")
    git(fleet / "clean", "remote", "add", "origin", str(fleet / "clean-remote.git"))
    out = fleet / "out"
    args = ("batch", str(fleet / "batch.toml"), "--out", str(out), "--apply", "--push", "origin",
            "--report", str(fleet / "r.md"))
    first = invoke(*args)
    assert first.exit_code == 2
    table = (fleet / "r.md").read_text()
    assert "| dirty | skipped |" in table and "uncommitted changes (src/lib.rs)" in table
    assert "| untracked | skipped |" in table and "notes.txt" in table
    log = git(fleet / "clean", "log", "--format=%s", "pyo3-migrate/0.26").stdout.splitlines()
    assert log[:4] == [f"Migrate PyO3 code to 0.{n} with pyo3-migrate" for n in (26, 25, 24, 23)], log
    record = git(fleet / "clean", "log", "-1", "--format=%B", "pyo3-migrate/0.26").stdout
    assert "Pyo3-Migrate-From: 0.22.6" in record and "Pyo3-Migrate-To: 0.26" in record
    assert git(fleet / "clean", "rev-parse", "--abbrev-ref", "HEAD").stdout.strip() in ("master", "main"), \
        "the user's checkout stays where it was"
    assert git(fleet / "remote.git", "branch", "--list", "pyo3-migrate/0.26").stdout.strip(), "pushed to the bare remote"
    assert git(fleet / "clean-remote.git", "branch", "--list", "pyo3-migrate/0.26").stdout.strip()
    assert "| migrated | unchanged |" in table and "| clean | changed |" in table
    assert "| broken | failed |" in table and "not pushed" not in table.split("| clean |")[1].split("\n")[0]

    again = invoke(*args)
    assert "| clean | done |" in again.stdout and "| served | done |" in again.stdout
    assert git(fleet / "clean", "log", "--format=%s", "pyo3-migrate/0.26").stdout.splitlines() == log


def test_one_commit_and_shards(fleet):
    out = fleet / "out"
    invoke("batch", str(fleet / "batch.toml"), "--out", str(out), "--apply", "--one-commit", "--shard", "1/1")
    log = git(fleet / "clean", "log", "--format=%s", "pyo3-migrate/0.26").stdout.splitlines()
    assert log[0] == "Migrate PyO3 code to 0.26 with pyo3-migrate" and log[1] == "init"
    names = []
    for k in (1, 2):
        result = invoke("batch", str(fleet / "batch.toml"), "--out", str(fleet / f"s{k}"), "--shard", f"{k}/2",
                        "--report", str(fleet / f"s{k}.json"))
        names.append(set(_statuses(fleet / f"s{k}.json")))
        assert result.exit_code in (0, 2)
    assert names[0].isdisjoint(names[1]) and len(names[0] | names[1]) == 7
    assert invoke("batch", str(fleet / "batch.toml"), "--shard", "3/2").exit_code == 2


def test_a_plain_list_of_paths_works_too(fleet):
    (fleet / "list.txt").write_text(f"# the clean one\n{fleet / 'clean'}\n")
    result = invoke("batch", str(fleet / "list.txt"), "--out", str(fleet / "out"), "--target-pyo3", "0.26")
    assert result.exit_code == 0 and "| clean | changed |" in result.stdout


def test_the_same_batch_through_a_dask_cluster(fleet):
    distributed = pytest.importorskip("distributed")
    local = invoke("batch", str(fleet / "batch.toml"), "--out", str(fleet / "a"), "--report", str(fleet / "a.json"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as cluster:
        dask = invoke("batch", str(fleet / "batch.toml"), "--out", str(fleet / "b"), "--report", str(fleet / "b.json"),
                      "--scheduler", cluster.scheduler_address)
    assert dask.exit_code == local.exit_code
    assert _statuses(fleet / "a.json") == _statuses(fleet / "b.json")
    assert (fleet / "a" / "clean.patch").read_bytes() == (fleet / "b" / "clean.patch").read_bytes()


def test_sigint_leaves_each_repository_untouched_or_committed(tmp_path):
    base = tmp_path / "many"
    names = [f"r{i}" for i in range(8)]
    for name in names:
        _repo(base / name, CRATE)
    (base / "batch.txt").write_text("".join(f"{name}\n" for name in names))
    cmd = [sys.executable, "-m", "pyo3_migrate", "batch", str(base / "batch.txt"), "--out", str(base / "out"), "--apply",
           "--target-pyo3", "0.26", "-j", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    for line in proc.stderr:
        if line.startswith("[1/"):
            proc.send_signal(signal.SIGINT)
            break
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    committed = []
    for name in names:
        repo = base / name
        has_branch = bool(git(repo, "branch", "--list", "pyo3-migrate/0.26").stdout.strip())
        assert git(repo, "status", "--porcelain").stdout == ""
        assert "0.22.6" in (repo / "Cargo.toml").read_text(), "the checkout itself is never written"
        if has_branch:
            assert len(git(repo, "log", "--format=%s", "pyo3-migrate/0.26").stdout.splitlines()) == 5
            committed.append(name)
    assert 0 < len(committed) < len(names), committed
    rerun = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert rerun.returncode == 0, rerun.stderr
    assert all(git(base / n, "branch", "--list", "pyo3-migrate/0.26").stdout.strip() for n in names)


@pytest.mark.compile
def test_apply_verify_compiles_before_the_last_commit(tmp_path, monkeypatch):
    from tests.proof import SAMPLES, cargo_env

    for key, value in cargo_env().items():
        monkeypatch.setenv(key, value)
    good = tmp_path / "good"
    shutil.copytree(SAMPLES / "gil_cells", good, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    lib = bad / "src" / "lib.rs"
    lib.write_text(lib.read_text() + '\nfn deliberately_broken() -> u32 { "not a number" }\n')
    for repo in (good, bad):
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "init")
    (tmp_path / "batch.txt").write_text("good\nbad\n")
    result = invoke("batch", str(tmp_path / "batch.txt"), "--out", str(tmp_path / "out"), "--apply", "--verify",
                    "--target-pyo3", "0.26", "--one-commit", "-j", "1")
    assert result.exit_code == 2
    assert "| good | changed |" in result.stdout
    assert "| bad | failed |" in result.stdout and "does not compile after the migration" in result.stdout
    record = git(good, "log", "-1", "--format=%B", "pyo3-migrate/0.26").stdout
    assert "Pyo3-Migrate-Verified: cargo check passed" in record
    assert not git(bad, "branch", "--list", "pyo3-migrate/0.26").stdout.strip(), "no branch for what does not compile"


def test_a_timeout_or_a_crash_fails_that_repository_only(fleet, monkeypatch):
    from pyo3_migrate.shell import batch

    settings = batch.Settings(fleet / "out", timeout=0.05)
    repo = batch.read_manifest(fleet / "batch.toml")[0]

    def slow(*args, **kwargs):
        time.sleep(5)

    monkeypatch.setattr(batch, "_migrate_repo", slow)
    outcome = batch.run_repo(repo, settings, [], None)
    assert outcome.status == "failed" and "timed out after 0.05 s" in outcome.detail

    class Crashing:
        def submit(self, fn, *args):
            from concurrent.futures import Future
            future = Future()
            future.set_exception(RuntimeError("worker died"))
            return future

    outcomes = batch.run_batch(batch.read_manifest(fleet / "batch.toml")[:2], batch.Settings(fleet / "out2"),
                               Crashing(), lambda repo: ([], None))
    assert [o.status for o in outcomes] == ["failed", "failed"] and "worker crashed" in outcomes[0].detail


def test_latest_as_a_target(fleet):
    (fleet / "one.txt").write_text("clean\n")
    args = ("batch", str(fleet / "one.txt"), "--out", str(fleet / "out"), "--target-pyo3", "latest", "--apply")
    first = invoke(*args)
    assert "| clean | changed |" in first.stdout, first.stdout
    assert git(fleet / "clean", "branch", "--list", "pyo3-migrate/0.30").stdout.strip(), "latest is named as the release"
    fresh = ("batch", str(fleet / "one.txt"), "--out", str(fleet / "out2"), "--target-pyo3", "latest", "--apply")
    again = invoke(*fresh)  # no state in this output folder: the branch's record says it is done
    assert "| clean | done |" in again.stdout and "its branch already records" in again.stdout
