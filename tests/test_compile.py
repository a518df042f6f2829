"""Migrated samples compile against the real PyO3 (cargo check), with no deprecation left behind.

Slow (PyO3 is compiled once per release into a shared target directory): marked `compile`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.proof import FIX_SETS, TARGETS, check, copy_sample, doctest, has_doctests, migrate, samples

pytestmark = pytest.mark.compile
SAMPLES = samples()
DOCTEST_TARGETS = ("0.29", "0.30")  # past the 0.28/0.29 removals: where an unmigrated example breaks


def _errors(result) -> str:
    return "\n".join(d.line_text() for d in result.errors[:10]) or result.output[-2000:]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample_compiles_as_is(sample, tmp_path):
    project = copy_sample(sample, tmp_path / sample.name)
    result = check(project)
    assert result.ok, _errors(result)
    if has_doctests(project):
        examples = doctest(project)
        assert examples.returncode == 0, examples.stdout[-3000:] + examples.stderr[-3000:]


@pytest.mark.parametrize("fixes", FIX_SETS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_migrated_sample_compiles(sample, target, fixes, tmp_path):
    project = copy_sample(sample, tmp_path / sample.name)
    migration = migrate(project, target, *FIX_SETS[fixes])
    assert migration.exit_code in (0, 1), migration.stderr
    result = check(project)
    assert result.ok, _errors(result)
    leftover = result.deprecations()
    assert not leftover, "\n".join(d.line_text() for d in leftover)
    assert not result.warnings, "\n".join(d.line_text() for d in result.warnings)  # clean: no warning at all
    # the doc examples are migrated too: `cargo test --doc` builds and runs them (a full build of
    # PyO3 per release: only where the old APIs are gone, once per target)
    if has_doctests(project) and fixes == "safe" and target in DOCTEST_TARGETS:
        examples = doctest(project)
        assert examples.returncode == 0, examples.stdout[-3000:] + examples.stderr[-3000:]


NUMPY_RAW = Path(__file__).parent / "compile_crates" / "numpy_raw"


def test_numpy_raw_struct_reads_compile_after_the_hop_to_030(tmp_path):
    project = copy_sample(NUMPY_RAW, tmp_path / "numpy_raw")
    assert check(project).ok, "the crate compiles as it is (pyo3 0.29, numpy 0.29)"
    migration = migrate(project, "0.30")
    assert migration.exit_code in (0, 1), migration.stderr
    manifest = (project / "Cargo.toml").read_text()
    assert 'pyo3 = "0.30' in manifest and 'numpy = "0.30' in manifest, manifest
    assert "(*arr).fields.descr" in (project / "src" / "lib.rs").read_text()
    result = check(project)
    assert result.ok, _errors(result)
    assert not result.warnings, "\n".join(d.line_text() for d in result.warnings)
