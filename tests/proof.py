"""The proof harness shared by the compile tests and scripts/correctness_table.py.

A sample is migrated in a copy (never in place), then compiled with `cargo check` against the
real PyO3 from the crate registry. All checks share one cargo target directory, so each PyO3
release is compiled once per machine, not once per test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from pyo3_migrate.shell.cli import app
from pyo3_migrate.shell.verify import CheckResult, cargo_check

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_projects"
# the std OnceLock path (0.23-0.25), the first PyOnceLock release, the first without `downcast`, the newest
TARGETS = ("0.25", "0.26", "0.29", "0.30")
# safe fixes only (the default), and with the unsafe ones too: both outputs must compile
FIX_SETS = {"safe": (), "unsafe": ("--unsafe",)}
_IGNORED = shutil.ignore_patterns("target", "Cargo.lock", "*.so", "__pycache__", ".venv", "*.egg-info")


def samples() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if (p / "Cargo.toml").is_file())


def cargo_env() -> dict[str, str]:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyo3-migrate"
    return {"CARGO_TARGET_DIR": os.environ.get("PYO3_MIGRATE_CARGO_TARGET", str(cache / "cargo-target"))}


def copy_sample(sample: Path, destination: Path) -> Path:
    shutil.copytree(sample, destination, ignore=_IGNORED)
    return destination


def check(project: Path) -> CheckResult:
    manifest = project / "Cargo.toml"
    is_workspace = "workspace" in tomllib.loads(manifest.read_text())
    return cargo_check(manifest, cargo_env(), extra=("--workspace",) if is_workspace else ())


@dataclass
class Migration:
    exit_code: int
    stderr: str
    findings: list[str]


def migrate(project: Path, target: str, *extra: str) -> Migration:
    runner = CliRunner()
    applied = runner.invoke(app, ["apply", str(project), "--target-pyo3", target, "--allow-no-vcs", *extra])
    scanned = runner.invoke(app, ["scan", str(project), "--target-pyo3", target, "--format", "json"])
    payload = json.loads(scanned.stdout)
    findings = [
        f"{f['path']}:{x['line']}: [{x['codemod']}] {x['message']}"
        for proj in payload["projects"]
        for f in proj["files"]
        for x in f["findings"]
    ]
    return Migration(applied.exit_code, applied.stderr, findings)


def has_doctests(project: Path) -> bool:
    """A library crate (an rlib) with fenced examples in its doc comments."""
    manifest = tomllib.loads((project / "Cargo.toml").read_text())
    if "rlib" not in manifest.get("lib", {}).get("crate-type", ["rlib"]):
        return False
    return any("```" in f.read_text() for f in (project / "src").rglob("*.rs"))


def doctest(project: Path) -> subprocess.CompletedProcess:
    """`cargo test --doc`: the doc examples compiled and run against the real PyO3 (and libpython)."""
    return subprocess.run(
        ["cargo", "test", "--doc", "--quiet", "--manifest-path", str(project / "Cargo.toml")],
        capture_output=True, text=True, env=clean_env(), check=False,
    )


def clean_env() -> dict[str, str]:
    """The environment for building and running a sample: no GIL override, no outer venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON_GIL", "PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **cargo_env()}


def make_venv(python: Path, root: Path) -> Path:
    """A virtual environment of `python` with maturin and pytest, for building and testing samples."""
    subprocess.run([str(python), "-m", "venv", str(root)], check=True)
    subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "maturin>=1.5,<2", "pytest"], check=True)
    return root


def build_and_install(project: Path, venv: Path, wheels: Path) -> None:
    """Build project's wheel with maturin for venv's interpreter and install it there."""
    python = venv / "bin" / "python"
    subprocess.run(
        [str(venv / "bin" / "maturin"), "build", "-q", "-i", str(python), "-o", str(wheels)],
        cwd=project,
        env=clean_env(),
        check=True,
    )
    (wheel,) = sorted(wheels.glob("*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(wheel)], check=True)


def run_sample_tests(project: Path, venv: Path, *pytest_args: str) -> subprocess.CompletedProcess:
    """The sample's own pytest suite, against the installed wheel (not the source tree)."""
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args, "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
