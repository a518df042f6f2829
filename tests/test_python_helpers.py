"""The Python side's recognisers (analysis.pyidioms, py-gil-workarounds' closer look), on small modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyo3_migrate.analysis import pyidioms
from pyo3_migrate.codemods import py_gil_workarounds
from pyo3_migrate.core import pysyntax

REPO = Path(__file__).resolve().parent.parent

BRANCHES = b'''import sys, sysconfig
FREE = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
if sys._is_gil_enabled():
    pass
mode = "ft" if FREE else "gil"
if len(sys.argv) > 1:  # not about the GIL
    pass
def check():
    return sys._is_gil_enabled() is False  # a test, not a branch
'''


def test_gil_branch_lines_are_the_lines_of_the_branches_that_ask():
    module = pysyntax.parse(BRANCHES)
    names = pyidioms.free_threaded_names(module)
    assert names == {"FREE"}
    assert pyidioms.gil_branch_lines(module, names) == [3, 5]


def test_no_gil_branch_no_lines():
    module = pysyntax.parse(b"import sys\nif sys.argv:\n    pass\n")
    assert pyidioms.gil_branch_lines(module, set()) == []


# -- py-gil-workarounds' closer look: it may say "maybe" too often, never "no" when libcst finds one


def _libcst_finds(source: bytes) -> bool:
    """What the codemod's libcst pass would act on: a workaround anywhere, or a branch on the GIL."""
    import libcst as cst

    module = pysyntax.parse(source)
    names = pyidioms.free_threaded_names(module)
    found = []

    class Look(cst.CSTVisitor):
        def on_visit(self, node):
            if pyidioms.workaround_of(node, names) is not None:
                found.append(node)
            return True

    module.visit(Look())
    return bool(found) or bool(pyidioms.gil_branch_lines(module, names))


def _python_files():
    for root in ("tests/fixtures", "sample_projects"):
        for path in sorted((REPO / root).rglob("*.py")):
            source = path.read_bytes()
            if py_gil_workarounds._may_matter(source):
                yield pytest.param(source, id=str(path.relative_to(REPO)))


@pytest.mark.parametrize("source", list(_python_files()))
def test_the_closer_look_never_hides_what_libcst_finds(source):
    try:
        finds = _libcst_finds(source)
    except pysyntax.NotPython:
        finds = True  # libcst's own finding: the closer look must let the file through
    assert py_gil_workarounds._may_hold(source) or not finds


@pytest.mark.parametrize("source, expected", [
    (b'import os\nos.environ["PYTHON_GIL"] = "0"\n', True),
    (b'import os\nos.environ.setdefault("PYTHON_GIL", "0")\n', True),
    (b'def f(monkeypatch):\n    monkeypatch.setenv("PYTHON_GIL", "0")\n', True),
    (b'session.run("pytest", env={"PYTHON_GIL": "0"})\n', True),
    (b'import warnings\nwarnings.filterwarnings("ignore", message=".*GIL has been enabled.*")\n', True),
    (b'import pytest\npytestmark = [pytest.mark.filterwarnings("ignore:The global interpreter lock:RuntimeWarning")]\n', True),
    (b'import pytest, sys\n@pytest.mark.skipif(not sys._is_gil_enabled(), reason="GIL")\ndef test(): pass\n', True),
    (b'import sysconfig\nFT = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))\nx = 1 if FT else 2\n', True),
    (b'import sys\nif getattr(sys, "_is_gil_enabled", lambda: True)():\n    pass\n', True),
    (b'print "python 2"\n', True),  # libcst says why it cannot read it
    # tokenizers' free-threading tests: they ask, but neither branch nor skip on the GIL itself
    (b'import sys, pytest\ndef _ft():\n    g = getattr(sys, "_is_gil_enabled", None)\n    return callable(g) and not g()\n'
     b'@pytest.mark.skipif(not _ft(), reason="3.14t-only")\ndef test_off():\n    assert sys._is_gil_enabled() is False\n', False),
    (b'import warnings\nwarnings.filterwarnings("ignore", category=DeprecationWarning)  # GIL enabled\n', False),
])
def test_the_closer_look(source, expected):
    assert py_gil_workarounds._may_hold(source) is expected
