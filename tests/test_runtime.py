"""Migrated samples still work, not just compile: each sample is built with maturin for this
interpreter and its own threaded pytest suite runs against the wheel, as it is and after the
farthest migration (to 0.30, unsafe fixes included: every codemod's output runs).

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
RUNS = {"as-is": None, "0.30-unsafe": ("0.30", "--unsafe")}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    return make_venv(Path(sys.executable), tmp_path_factory.mktemp("runtime") / "venv")


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_suite_passes(sample, run, venv, tmp_path):
    project = copy_sample(sample, tmp_path / sample.name)
    if RUNS[run] is not None:
        target, *extra = RUNS[run]
        migration = migrate(project, target, *extra)
        assert migration.exit_code in (0, 1), migration.stderr
    build_and_install(project, venv, tmp_path / "wheels")
    tests = run_sample_tests(project, venv)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout.strip().splitlines()[-1]
