"""End to end on free-threaded CPython: before the migration, importing the sample turns the GIL
back on; after `apply --declare-free-threaded` (to 0.26, and to 0.28 where the default flipped), it
stays off and the sample's threaded tests pass; crossing 0.28 without the flag keeps the GIL on, as
before the migration (the claim never changes silently).

The interpreter is built from Debian's CPython 3.13 source by scripts/build_freethreaded_python.sh
into a cache outside the repository (a few minutes the first time, instant afterwards). PyO3 0.29
builds for free-threaded CPython 3.14 and later only, so 0.28 is the latest target proven here.
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


SKIP_REASON = "shapes._shapes turns the GIL back on"


def _python_side(project: Path) -> dict[str, bool]:
    """Which of the sample's GIL workarounds (and its classifier) are there."""
    pyproject = (project / "pyproject.toml").read_text()
    return {
        "ci_forces_gil_off": "PYTHON_GIL" in (project / ".github" / "workflows" / "ci.yml").read_text(),
        "classified": "Programming Language :: Python :: Free Threading :: 2 - Beta" in pyproject,
        "filters": "The global interpreter lock" in pyproject
        or "GIL has been enabled" in (project / "tests" / "conftest.py").read_text(),
        "skip": SKIP_REASON in (project / "tests" / "test_shapes.py").read_text(),
    }


def _gil_after_import(venv: Path) -> tuple[bool, int]:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", IMPORT_CHECK], capture_output=True, text=True, env=clean_env(), check=True
    )
    enabled, warnings = out.stdout.split()
    return enabled == "True", int(warnings)


def test_the_unmigrated_module_turns_the_gil_on(venv, tmp_path):
    before = copy_sample(SAMPLE, tmp_path / "before")
    build_and_install(before, venv, tmp_path / "wheels")
    assert _gil_after_import(venv) == (True, 1), "the unmigrated module should turn the GIL on, with a warning"


@pytest.mark.parametrize("target", ["0.26", "0.28"])
def test_declared_migration_keeps_the_gil_off(target, venv, tmp_path):
    after = copy_sample(SAMPLE, tmp_path / "after")
    migration = migrate(after, target, "--declare-free-threaded")
    assert migration.exit_code in (0, 1), migration.stderr
    assert _python_side(after) == {"ci_forces_gil_off": False, "classified": True, "filters": False, "skip": False}, \
        "one apply changes the Python, settings and CI side with the Rust"
    build_and_install(after, venv, tmp_path / "wheels")
    assert _gil_after_import(venv) == (False, 0), "the migrated module must keep the GIL off"

    tests = run_sample_tests(after, venv, "-W", "error::RuntimeWarning", "-rs")
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert SKIP_REASON not in tests.stdout, "the free-threaded test the workaround skipped now runs"
    print(tests.stdout.strip().splitlines()[-1], file=sys.stderr)


def test_crossing_028_without_the_flag_keeps_the_gil_as_before(venv, tmp_path):
    """0.28 flipped the default to "supported": a migration must not make that claim on its own."""
    after = copy_sample(SAMPLE, tmp_path / "after")
    migration = migrate(after, "0.28")
    assert migration.exit_code in (0, 1), migration.stderr
    assert "gil_used = true" in "".join(p.read_text() for p in after.rglob("*.rs"))
    assert _python_side(after) == {"ci_forces_gil_off": True, "classified": False, "filters": True, "skip": True}, \
        "the workarounds stay while the module needs the GIL"
    build_and_install(after, venv, tmp_path / "wheels")
    assert _gil_after_import(venv) == (True, 1), "without --declare-free-threaded the module still needs the GIL"
