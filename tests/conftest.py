from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

# The registry's index as the tests know it: made-up records, never the network.
os.environ["PYO3_MIGRATE_REGISTRY"] = str(Path(__file__).parent / "registry")

LIB_RS = textwrap.dedent(
    """\
    use pyo3::prelude::*;
    use pyo3::sync::GILOnceCell;

    static DECIMAL: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

    #[pyclass]
    pub struct Holder {
        value: GILOnceCell<Py<PyAny>>,
    }

    impl Clone for Holder {
        fn clone(&self) -> Self {
            Python::with_gil(|py| {
                let value = GILOnceCell::new();
                if let Some(v) = self.value.get(py) {
                    value.set(py, v.clone_ref(py)).ok();
                }
                Holder { value }
            })
        }
    }

    pub fn decimal(py: Python<'_>) -> PyResult<&Py<PyAny>> {
        DECIMAL.get_or_try_init(py, || Ok::<_, PyErr>(py.import("decimal")?.getattr("Decimal")?.unbind()))
    }
    """
)

CARGO_TOML = textwrap.dedent(
    """\
    [package]
    name = "demo"
    version = "0.1.0"
    edition = "2021"

    [lib]
    crate-type = ["cdylib"]

    [dependencies]
    pyo3 = { version = "0.22.6", features = ["extension-module"] }
    """
)


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small PyO3 crate, committed in a git repository of its own."""
    root = tmp_path / "demo"
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(CARGO_TOML)
    (root / "src" / "lib.rs").write_text(LIB_RS)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root
