"""Migrated samples still work, not just compile: each sample is built with maturin for this
interpreter and its own threaded pytest suite runs against the wheel, as it is and after the
farthest migration (to 0.30, unsafe fixes included and free-threading declared: every codemod's
output runs, the Python side's included, with RuntimeWarnings as errors).

Slow (a maturin build per run, PyO3 compiled once per release in the shared target directory):
marked `runtime`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.proof import build_and_install, copy_sample, make_venv, migrate, run_sample_tests, samples

pytestmark = pytest.mark.runtime
SAMPLES = samples()
RUNS = {"as-is": None, "0.30-declared": ("0.30", "--unsafe", "--declare-free-threaded")}
WORKAROUNDS = ("PYTHON_GIL", "GIL has been enabled", "global interpreter lock")


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    return make_venv(Path(sys.executable), tmp_path_factory.mktemp("runtime") / "venv")


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_suite_passes(sample, run, venv, tmp_path):
    project = copy_sample(sample, tmp_path / sample.name)
    warnings_as = ()
    if RUNS[run] is not None:
        target, *extra = RUNS[run]
        migration = migrate(project, target, *extra)
        assert migration.exit_code in (0, 1), migration.stderr
        left = [p.name for p in project.rglob("*") if p.suffix in (".py", ".toml", ".yml") and p.is_file()
                and any(w in p.read_text() for w in WORKAROUNDS)]
        assert left == [], "every module claims support: no GIL workaround is left"
        warnings_as = ("-W", "error::RuntimeWarning")
    build_and_install(project, venv, tmp_path / "wheels")
    tests = run_sample_tests(project, venv, *warnings_as)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout.strip().splitlines()[-1]
