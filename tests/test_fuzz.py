"""Fuzzing the Rust codemods with hypothesis.

Inputs: Rust made of the GIL-era patterns the codemods migrate, mixed with what makes byte-exact
editing hard (comments, strings and raw strings that spell the same names, macros, attributes,
tabs and trailing spaces, CRLF, a BOM), and byte-level mutations of the fixtures' inputs.
Properties: the engine never fails (no codemod raises), output re-parses whenever the input did,
a second run changes nothing, every step's bytes are its edits and nothing else, and several
projects give the same bytes for -j1 and -j2.

Bounded for CI (a few hundred examples); `PYO3_MIGRATE_FUZZ=long` runs fifty times as many. The
example database lives outside the repository (`~/.cache/pyo3-migrate/hypothesis`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from pyo3_migrate import codemods
from pyo3_migrate.core import engine
from pyo3_migrate.core.engine import syntax_problem
from pyo3_migrate.core.model import apply_edits
from pyo3_migrate.core.project import single_crate
from pyo3_migrate.core.version import Version
from tests.fixture_cases import FIXTURES

LONG = os.environ.get("PYO3_MIGRATE_FUZZ") == "long"
DATABASE = DirectoryBasedExampleDatabase(
    str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyo3-migrate" / "hypothesis"))
FUZZ = settings(max_examples=6000 if LONG else 120, deadline=None, database=DATABASE,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
RUST = [c for c in codemods.REGISTRY if c.info.language in ("rust",)]
LIB = Path("src/lib.rs")

PATTERNS = [
    "use pyo3::prelude::*;\nuse pyo3::sync::GILOnceCell;\n",
    "static CELL: GILOnceCell<Py<PyAny>> = GILOnceCell::new();\n",
    "static N: pyo3::sync::GILProtected<std::cell::RefCell<Vec<u8>>> =\n"
    "    pyo3::sync::GILProtected::new(std::cell::RefCell::new(Vec::new()));\n",
    "fn f() -> PyObject { Python::with_gil(|py| py.None()) }\n",
    "fn g(py: Python<'_>, o: &Py<PyAny>) -> Py<PyAny> { py.allow_threads(|| ()); o.clone() }\n",
    "#[pyclass]\n#[derive(Clone)]\nstruct Holder { value: Py<PyAny> }\n",
    "#[pymodule]\nfn m(m: &Bound<'_, PyModule>) -> PyResult<()> { m.add(\"x\", 1) }\n",
    "impl Clone for W { fn clone(&self) -> Self { Python::with_gil(|py| W(self.0.clone_ref(py))) } }\n",
    "fn h(x: &Bound<'_, PyAny>) -> PyResult<i64> { x.downcast::<PyInt>()?.extract() }\n",
    "fn d(py: Python<'_>) -> &PyAny { PyDict::new_bound(py).into_any().into_gil_ref() }\n",
]
NOISE = [
    "// GILOnceCell in a comment, with_gil too\n",
    "/* block: GILProtected<RefCell<T>> */\n",
    "/// Example:\n/// ```\n/// Python::with_gil(|py| ());\n/// ```\n",
    'const S: &str = "GILOnceCell::new() and Python::with_gil";\n',
    'const R: &str = r#"static X: GILOnceCell<u8> = "quoted";"#;\n',
    "macro_rules! cell { () => { GILOnceCell::new() }; }\n",
    'fn p() { println!("{}", "with_gil"); }\n',
    "#[cfg(not(Py_GIL_DISABLED))]\n#[allow(dead_code)]\n",
    "\t\n",
    "fn   spaced ( )   {   }   \n",
    "\n\n",
]


@st.composite
def rust_sources(draw) -> bytes:
    parts = draw(st.lists(st.sampled_from(PATTERNS + NOISE), min_size=1, max_size=12))
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.replace("\n", "  \n") if draw(st.booleans()) else text.replace("    ", "\t")
    data = text.encode()
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


def _fixture_inputs() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FIXTURES.rglob("*.before.rs"))]


@st.composite
def mutated_fixtures(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(_fixture_inputs())))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate-line"]))
        if kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"(", b"}", b"\"", b"//", b"\r\n", b"\xff", b"GILOnceCell", b" "]))
        else:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = len(data) if end == -1 else end + 1
            data[end:end] = data[start:end]
    return bytes(data)


def _run(source: bytes, pyo3: str, target: str, unsafe: bool):
    """The result for lib.rs, and the target the run ended at (below the one asked when held)."""
    options = engine.Options(target=Version.parse(target), include_unsafe=unsafe)
    results, reached = engine.run_held(single_crate([LIB], pyo3), {LIB: source}, RUST, options)
    (result,) = [r for r in results if r.path == LIB]
    return result, reached


def _check(source: bytes, target: str, unsafe: bool) -> None:
    result, reached = _run(source, "0.22.6", target, unsafe)
    assert result.failures == [], result.failures  # a codemod that raised is a bug
    if syntax_problem(LIB, source) is None:
        assert syntax_problem(LIB, result.after) is None, "the output must re-parse"
    for step in result.steps:
        assert apply_edits(step.before, step.edits) == step.after, f"{step.codemod} changed bytes outside its edits"
    if result.after != source and result.input_error is None:
        # the crate now asks for the release the run reached (the manifest says so)
        again, _ = _run(result.after, str(reached), target, unsafe)
        assert again.after == result.after, "a second run changed something"


@FUZZ
@given(rust_sources(), st.sampled_from(["0.25", "0.26", "0.28", "0.30"]), st.booleans())
def test_generated_rust(source, target, unsafe):
    _check(source, target, unsafe)


@FUZZ
@given(mutated_fixtures(), st.sampled_from(["0.26", "0.29"]))
def test_mutated_fixtures(source, target):
    _check(source, target, False)


@settings(max_examples=40 if LONG else 4, deadline=None, database=DATABASE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(rust_sources(), min_size=2, max_size=3))
def test_jobs_give_the_same_bytes(tmp_path_factory, sources):
    from typer.testing import CliRunner

    from pyo3_migrate.shell.cli import app

    root = tmp_path_factory.mktemp("jobs")
    paths = []
    for i, source in enumerate(sources):
        project = root / f"p{i}"
        (project / "src").mkdir(parents=True)
        (project / "Cargo.toml").write_text(f'[package]\nname = "p{i}"\nversion = "0.1.0"\n\n[dependencies]\npyo3 = "0.22.6"\n')
        (project / "src" / "lib.rs").write_bytes(source)
        paths.append(str(project))
    runner = CliRunner()
    one = runner.invoke(app, ["diff", *paths, "--target-pyo3", "0.26", "-j", "1"])
    two = runner.invoke(app, ["diff", *paths, "--target-pyo3", "0.26", "-j", "2"])
    assert (one.exit_code, one.stdout) == (two.exit_code, two.stdout)
    assert "Traceback" not in one.stderr + two.stderr


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
