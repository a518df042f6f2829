import sys
import sysconfig
import warnings

import pytest

# A free-threaded build of CPython (3.13t and later), whatever the GIL's state.
FREE_THREADED_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))

# True when the GIL is actually off right now. The getattr default keeps this
# working on interpreters older than 3.13, which have no sys._is_gil_enabled.
GIL_DISABLED = getattr(sys, "_is_gil_enabled", lambda: True)() is False

# shapes._shapes does not declare free-threading support yet, so importing it
# into a free-threaded interpreter turns the GIL back on with a warning.
warnings.filterwarnings("ignore", message=".*GIL has been enabled.*", category=RuntimeWarning)


def gil_enabled_now():
    """Whether the GIL is enabled at this moment (always True before 3.13)."""
    if hasattr(sys, "_is_gil_enabled"):
        return sys._is_gil_enabled()
    return True


def pytest_report_header(config):
    return f"free-threaded build: {FREE_THREADED_BUILD}; GIL disabled at startup: {GIL_DISABLED}"


@pytest.fixture
def gil_was_disabled():
    """Whether the interpreter started with the GIL disabled."""
    return GIL_DISABLED


@pytest.fixture
def gil_enabled():
    return gil_enabled_now
