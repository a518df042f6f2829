"""Dependencies that depend on pyo3 follow the target, or hold the run below it (Cargo.lock + the index).

The index records come from tests/registry (PYO3_MIGRATE_REGISTRY, set in conftest): made-up crates.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pyo3_migrate.core.project import discover
from pyo3_migrate.shell.cli import app

LIB_RS = "use pyo3::prelude::*;\n\n#[pyfunction]\nfn answer() -> u32 {\n    42\n}\n"


def _package(name: str, version: str, deps: list[str], registry: bool = True) -> str:
    source = 'source = "registry+https://github.com/rust-lang/crates.io-index"\n' if registry else ""
    listed = "".join(f' "{d}",\n' for d in deps)
    return f'[[package]]\nname = "{name}"\nversion = "{version}"\n{source}dependencies = [\n{listed}]\n\n'


def project(tmp_path: Path, deps: dict[str, str], lock: list[tuple[str, str, list[str]]]) -> Path:
    root = tmp_path / "demo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "lib.rs").write_text(LIB_RS)
    listed = "".join(f'{name} = "{req}"\n' for name, req in deps.items())
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\npyo3 = "0.25.1"\n{listed}'
    )
    packages = _package("demo", "0.1.0", ["pyo3", *deps], registry=False)
    packages += _package("pyo3", "0.25.1", ["pyo3-ffi"]) + _package("pyo3-ffi", "0.25.1", [])
    packages += "".join(_package(name, version, names) for name, version, names in lock)
    (root / "Cargo.lock").write_text("version = 3\n\n" + packages)
    return root


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_the_lock_says_which_packages_pin_the_pyo3_line(tmp_path):
    root = project(tmp_path, {"geo-py": "1.0", "tables": "5"},
                   [("geo-py", "1.0.0", ["pyo3"]), ("tables", "5.0.0", ["tables-py"]), ("tables-py", "5.0.0", ["pyo3"])])
    (crate,) = discover(root).pyo3_crates()
    assert {(d.name, d.via, str(d.pyo3)) for d in crate.pyo3_dependents} == {
        ("geo-py", "geo-py", "0.25.1"),
        ("tables-py", "tables", "0.25.1"),
    }


def test_a_direct_dependency_moves_to_its_first_release_for_the_target(tmp_path):
    root = project(tmp_path, {"geo-py": "1.0"}, [("geo-py", "1.0.0", ["pyo3"])])
    result = run("diff", str(root), "--target-pyo3", "0.26")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert '+pyo3 = "0.26.0"' in result.stdout
    assert '+geo-py = "1.1"' in result.stdout, "1.2.0 is yanked; 1.1.0 is the first for 0.26"
    assert "releases looked up: geo-py (from the index mirror" in result.stderr


def test_a_dependency_without_a_release_for_the_target_holds_the_run_at_its_line(tmp_path):
    root = project(tmp_path, {"geo-py": "1.0"}, [("geo-py", "1.0.0", ["pyo3"])])
    result = run("diff", str(root), "--target-pyo3", "0.27")
    assert result.exit_code == 1
    assert '+pyo3 = "0.26.0"' in result.stdout and '+geo-py = "1.1"' in result.stdout
    assert "geo-py has no release for PyO3 0.27" in result.stderr
    assert "the `pyo3` requirement stops at 0.26, not 0.27" in result.stderr


def test_a_package_reached_through_another_dependency_blocks_until_that_one_moves(tmp_path):
    root = project(tmp_path, {"tables": "5"}, [("tables", "5.0.0", ["tables-py"]), ("tables-py", "5.0.0", ["pyo3"])])
    result = run("diff", str(root), "--target-pyo3", "0.26")
    assert result.exit_code == 1
    assert "Cargo.toml" not in result.stdout, "nothing in the manifest may move"
    message = ("tables-py 5.0.0, through tables, depends on PyO3 0.25: cargo cannot select PyO3 0.26 until tables "
               "moves to a release that brings a newer tables-py; its first release for PyO3 0.26 is 6.0.0 (from the "
               "index mirror")
    assert message in result.stderr
    assert "the `pyo3` requirement stops at 0.25, not 0.26" in result.stderr


def test_a_direct_dependency_whose_support_came_with_a_breaking_release_is_not_moved(tmp_path):
    root = project(tmp_path, {"grid-py": "1"}, [("grid-py", "1.0.0", ["pyo3"])])
    result = run("diff", str(root), "--target-pyo3", "0.26")
    assert result.exit_code == 1
    assert "Cargo.toml" not in result.stdout
    assert "grid-py 1 depends on PyO3 below 0.26; its first release for 0.26 is 2.0.0 (from the index mirror" in result.stderr
    assert "a breaking release whose API this tool does not migrate" in result.stderr


def test_a_direct_dependency_is_its_own_way_in_even_when_another_brings_it_too(tmp_path):
    root = project(tmp_path, {"tables": "5", "geo-py": "1.0"},
                   [("tables", "5.0.0", ["geo-py"]), ("geo-py", "1.0.0", ["pyo3"])])
    (crate,) = discover(root).pyo3_crates()
    assert {(d.name, d.via) for d in crate.pyo3_dependents} == {("geo-py", "geo-py")}


def test_a_companion_is_looked_up_in_the_registry_and_the_table_is_the_fallback(tmp_path):
    root = project(tmp_path, {"pyo3-log": "0.12", "numpy": "0.25"},
                   [("pyo3-log", "0.12.4", ["pyo3"]), ("numpy", "0.25.0", ["pyo3"])])
    result = run("diff", str(root), "--target-pyo3", "0.26")
    assert '+pyo3-log = "0.14.2"' in result.stdout, "the registry's answer (the table says 0.13)"
    assert "releases looked up: pyo3-log (from the index mirror" in result.stderr
    assert '+numpy = "0.26"' in result.stdout, "no record of numpy in the mirror: the table answers"
    assert "pyo3-log moves from 0.12 to 0.14.2 with PyO3" in result.stderr
