"""The backbone's acceptance points, on a bundled sample (no compiler needed: see test_compile.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from pyo3_migrate.analysis import rust
from pyo3_migrate.shell.cli import app
from tests.proof import SAMPLES, copy_sample

runner = CliRunner()


def _identifiers(source: bytes) -> list[str]:
    """Every identifier in code: comments and string literals are not made of identifiers."""
    return [
        rust.text(source, n)
        for n in rust.walk(rust.parse(source).root_node)
        if n.type in ("identifier", "type_identifier", "field_identifier")
    ]


def test_target_026_leaves_no_gil_once_cell_and_only_clone_refs(tmp_path):
    project = copy_sample(SAMPLES / "gil_cells", tmp_path / "gil_cells")
    before = {p: p.read_bytes() for p in project.rglob("*.rs")}
    result = runner.invoke(app, ["apply", str(project), "--target-pyo3", "0.26", "--allow-no-vcs"])
    assert result.exit_code == 0, result.stderr
    for path in before:
        after = path.read_bytes()
        assert "GILOnceCell" not in _identifiers(after), path
        assert rust.error_count(rust.parse(after)) == 0, path
    cache = (project / "src" / "cache.rs").read_text()
    assert "let cell = self.value.clone_ref(py);" in cache
    assert "cell.set(py, v.clone_ref(py))" not in cache
    again = runner.invoke(app, ["diff", str(project), "--check"])
    assert again.exit_code == 0 and again.stdout == "", "a second run must change nothing"


def test_target_025_uses_std_once_lock_and_lists_what_it_cannot_convert(tmp_path):
    project = copy_sample(SAMPLES / "gil_cells", tmp_path / "gil_cells")
    scan = runner.invoke(app, ["scan", str(project), "--target-pyo3", "0.25"])
    assert scan.exit_code == 1
    listed = scan.stdout.splitlines()
    assert listed and all(": [" in line and "]" in line for line in listed)
    assert any("get_or_try_init" in line for line in listed), listed

    applied = runner.invoke(app, ["apply", str(project), "--target-pyo3", "0.25", "--allow-no-vcs"])
    assert applied.exit_code == 1, applied.stderr  # findings remain for a person
    lib = (project / "src" / "lib.rs").read_bytes()
    names = _identifiers(lib)
    assert "OnceLock" in names and "OnceLockExt" in names and "get_or_init_py_attached" in names
    # every GILOnceCell declaration left in the output is one that scan listed, with its reason
    stays = {line.split(": [once-lock] `")[1].split("`")[0] for line in listed if "stays GILOnceCell" in line}
    assert {"DECIMAL_CLS", "JSON_DUMPS", "DUMPS_KWARGS"} <= stays
    for name in ("GREETING", "MISSING"):
        assert f"static {name}: OnceLock<" in lib.decode()
