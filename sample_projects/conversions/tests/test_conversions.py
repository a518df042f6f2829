"""The conversions give the same answers from 8 threads at once, before and after migration."""

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import conversions

THREADS = 8

# free-threaded CPython turns the GIL back on to import conversions (no declaration yet)
pytestmark = pytest.mark.filterwarnings("ignore:The global interpreter lock \\(GIL\\) has been enabled to load module 'conversions':RuntimeWarning")


def hammer(fn, *args):
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda _: fn(*args), range(THREADS * 4)))


def test_norm_reads_points_dicts_and_tuples():
    assert conversions.norm(conversions.Point(3.0, 4.0)) == 5.0
    assert conversions.norm({"x": 6.0, "y": 8.0}) == 10.0
    assert conversions.norm((5.0, 12.0)) == 13.0


def test_total_over_a_list_from_many_threads():
    items = [conversions.Point(3.0, 4.0), {"x": 6.0, "y": 8.0}, (5.0, 12.0)]
    assert set(hammer(conversions.total, items)) == {28.0}


def test_errors_stay_python_errors():
    with pytest.raises(TypeError):
        conversions.total("not a list")
    with pytest.raises(KeyError):
        conversions.norm({"x": 1.0})
    # PyO3's `?` on a Utf8Error raised UnicodeDecodeError(message), which Python cannot construct
    # from one argument: the caller sees a TypeError. The migration keeps exactly that behaviour.
    with pytest.raises(TypeError, match="arguments"):
        conversions.shout(b"\xff")


def test_points_are_copies():
    original = conversions.Point(1.0, 2.0)
    (copy,) = conversions.points([original])
    assert (copy.x, copy.y) == (1.0, 2.0) and copy is not original


def test_shout_and_label():
    assert set(hammer(conversions.shout, b"abc")) == {"ABC"}
    assert conversions.label(42) == "<42>"


def test_describe_from_many_threads():
    points = [conversions.Point(1.0, 2.0), conversions.Point(3.5, 4.0)]
    assert set(hammer(conversions.describe, points[0])) == {"(1, 2)"}
    assert conversions.describe_all(points) == ["(1, 2)", "(3.5, 4)"]


def test_interpreter_versions_from_many_threads():
    assert set(map(tuple, hammer(conversions.interpreter_versions))) == {(sys.version,)}
