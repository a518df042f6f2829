"""The scan phase: crates, their PyO3 (locked or required), features, and the maturin package."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyo3_migrate.core.project import ProjectError, discover
from pyo3_migrate.core.version import Version


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _lock(*packages: tuple[str, str]) -> str:
    return "version = 3\n" + "".join(f'\n[[package]]\nname = "{n}"\nversion = "{v}"\n' for n, v in packages)


CRATE = '[package]\nname = "demo"\nversion = "0.1.0"\n\n[dependencies]\npyo3 = { version = "0.23", features = ["macros"] }\n'


def test_the_lock_gives_the_exact_version(tmp_path):
    project = discover(_write(tmp_path, {"Cargo.toml": CRATE, "Cargo.lock": _lock(("pyo3", "0.23.5"), ("x", "1.0.0"))}))
    (crate,) = project.pyo3_crates()
    assert (crate.requirement, crate.locked, crate.pyo3_version) == ("0.23", Version(0, 23, 5), Version(0, 23, 5))
    assert crate.features == ["macros"]


def test_without_a_lock_the_requirement_floor_counts(tmp_path):
    (crate,) = discover(_write(tmp_path, {"Cargo.toml": CRATE})).pyo3_crates()
    assert crate.locked is None and crate.pyo3_version == Version(0, 23, 0)


def test_a_stale_lock_of_another_release_line_is_ignored(tmp_path):
    (crate,) = discover(_write(tmp_path, {"Cargo.toml": CRATE, "Cargo.lock": _lock(("pyo3", "0.21.2"))})).pyo3_crates()
    assert crate.locked is None and crate.pyo3_version == Version(0, 23, 0)


def test_a_workspace_dependency_is_read_from_the_root(tmp_path):
    root = _write(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n\n[workspace.dependencies]\npyo3 = { version = "0.25.1" }\n',
            "Cargo.lock": _lock(("pyo3", "0.25.1")),
            "crates/core/Cargo.toml": '[package]\nname = "core"\n\n[dependencies]\npyo3 = { workspace = true }\n',
            "crates/core/src/lib.rs": "",
            "crates/ext/Cargo.toml": '[package]\nname = "ext"\n\n[dependencies]\npyo3 = { workspace = true, features = ["py-clone"] }\n',
            "crates/ext/src/lib.rs": "",
            "crates/ext/src/inner.rs": "",
        },
    )
    project = discover(root)
    core, ext = project.pyo3_crates()
    assert [c.name for c in project.crates] == ["core", "ext"], "the virtual manifest is not a crate"
    assert core.requirement_manifest == ext.requirement_manifest == Path("Cargo.toml")
    assert ext.features == ["py-clone"] and ext.pyo3_version == Version(0, 25, 1)
    assert ext.rust_files == [Path("crates/ext/src/inner.rs"), Path("crates/ext/src/lib.rs")]
    assert project.crate_of(Path("crates/core/src/lib.rs")) is core


def test_a_target_specific_dependency_counts(tmp_path):
    manifest = "[package]\nname = \"t\"\n\n[target.'cfg(unix)'.dependencies]\npyo3 = \"0.24.2\"\n"
    (crate,) = discover(_write(tmp_path, {"Cargo.toml": manifest})).pyo3_crates()
    assert crate.requirement == "0.24.2"


def test_the_maturin_package_and_its_python_files(tmp_path):
    root = _write(
        tmp_path,
        {
            "Cargo.toml": CRATE,
            "pyproject.toml": '[tool.maturin]\npython-source = "python"\nmodule-name = "pkg._native"\nfeatures = ["pyo3/py-clone"]\n',
            "python/pkg/__init__.py": "",
            "tests/test_pkg.py": "",
            "tests/data/old.py": "",
            "scripts/release.py": "",
            "docs/conf.py": "",
            "tox.ini": "",
            "sub/conftest.py": "",
            ".github/workflows/ci.yml": "",
            ".github/workflows/notes.md": "",
            ".gitlab-ci.yml": "",
            "target/debug/build/generated.rs": "",
            ".venv/lib/site.py": "",
        },
    )
    project = discover(root)
    (package,) = project.python
    assert (package.module_name, package.python_source, package.features) == (
        "pkg._native",
        Path("python"),
        ["pyo3/py-clone"],
    )
    assert sorted(project.python_side) == sorted(Path(p) for p in (
        "pyproject.toml", "python/pkg/__init__.py", "sub/conftest.py", "tests/data/old.py", "tests/test_pkg.py", "tox.ini",
        ".github/workflows/ci.yml", ".gitlab-ci.yml")), "only the Python side: no scripts, docs or build dirs"
    assert project.manifests == [Path("Cargo.toml"), Path("pyproject.toml")]


def test_a_malformed_manifest_is_named(tmp_path):
    _write(tmp_path, {"Cargo.toml": "[package\nname = 1\n"})
    with pytest.raises(ProjectError, match=r"Cargo.toml: cannot read TOML"):
        discover(tmp_path)


def test_a_member_given_alone_names_the_workspace_its_pyo3_comes_from(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["py"]\n\n[workspace.dependencies]\npyo3 = "0.25.1"\n')
    member = tmp_path / "py"
    (member / "src").mkdir(parents=True)
    (member / "Cargo.toml").write_text('[package]\nname = "py"\nversion = "0.1.0"\n\n[dependencies]\npyo3.workspace = true\n')
    (member / "src" / "lib.rs").write_text("")
    with pytest.raises(ProjectError, match=r"comes from the workspace at .*: run on .* instead"):
        discover(member)
    assert [c.name for c in discover(tmp_path).pyo3_crates()] == ["py"]


def test_the_root_is_the_workspace_only_for_its_members(tmp_path):
    from pyo3_migrate.core.project import find_root

    root = _write(tmp_path, {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nexclude = ["crates/vendored"]\n',
        "crates/a/Cargo.toml": CRATE, "crates/a/src/lib.rs": "",
        "crates/vendored/Cargo.toml": CRATE, "crates/vendored/src/lib.rs": "",
        "tools/b/Cargo.toml": CRATE, "tools/b/src/lib.rs": "",
    })
    (root / ".git").mkdir()
    assert find_root(root / "crates" / "a" / "src") == root.resolve()
    assert find_root(root / "crates" / "vendored") == (root / "crates" / "vendored").resolve()
    assert find_root(root / "tools" / "b" / "Cargo.toml") == (root / "tools" / "b").resolve()
