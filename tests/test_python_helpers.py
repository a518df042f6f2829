"""The Python side's recognisers (analysis.pyidioms), on small modules."""

from __future__ import annotations

from pyo3_migrate.analysis import pyidioms
from pyo3_migrate.core import pysyntax

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
