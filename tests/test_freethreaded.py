"""End to end on free-threaded CPython: before the migration, importing the sample turns the GIL
back on; after `apply --declare-free-threaded`, it stays off and the sample's threaded tests pass.

The interpreter is built from Debian's CPython 3.13 source by scripts/build_freethreaded_python.sh
into a cache outside the repository (a few minutes the first time, instant afterwards).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.proof import REPO, SAMPLES, build_and_install, clean_env, copy_sample, make_venv, migrate, run_sample_tests

pytestmark = pytest.mark.freethreaded
SAMPLE = SAMPLES / "workspace"  # the sample without GILProtected, which 3.13t builds cannot have
IMPORT_CHECK = (
    "import sys, warnings\n"
    "with warnings.catch_warnings(record=True) as caught:\n"
    "    warnings.simplefilter('always')\n"
    "    import shapes\n"
    "gil_warnings = [w for w in caught if 'GIL' in str(w.message)]\n"
    "print(sys._is_gil_enabled(), len(gil_warnings))\n"
)


@pytest.fixture(scope="module")
def free_threaded_python() -> Path:
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_freethreaded_python.sh")], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"free-threaded CPython could not be built here: {last}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def venv(free_threaded_python, tmp_path_factory) -> Path:
    return make_venv(free_threaded_python, tmp_path_factory.mktemp("ft") / "venv")


def _gil_after_import(venv: Path) -> tuple[bool, int]:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", IMPORT_CHECK], capture_output=True, text=True, env=clean_env(), check=True
    )
    enabled, warnings = out.stdout.split()
    return enabled == "True", int(warnings)


def test_migration_keeps_the_gil_off(venv, tmp_path):
    before = copy_sample(SAMPLE, tmp_path / "before")
    build_and_install(before, venv, tmp_path / "wheels-before")
    assert _gil_after_import(venv) == (True, 1), "the unmigrated module should turn the GIL on, with a warning"

    after = copy_sample(SAMPLE, tmp_path / "after")
    migration = migrate(after, "0.26", "--declare-free-threaded")
    assert migration.exit_code in (0, 1), migration.stderr
    assert "gil_used = false" in "".join(p.read_text() for p in after.rglob("*.rs"))
    build_and_install(after, venv, tmp_path / "wheels-after")
    assert _gil_after_import(venv) == (False, 0), "the migrated module must keep the GIL off"

    tests = run_sample_tests(after, venv, "-W", "error::RuntimeWarning")
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    print(tests.stdout.strip().splitlines()[-1], file=sys.stderr)
