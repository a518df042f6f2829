"""Thread-parallel checks of the caches in the `gil_cells` extension."""

import copy
import decimal
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import gil_cells

WORKERS = 8
CALLS = 400


def run_parallel(fn, calls=CALLS):
    """Call fn(i) for i in range(calls) on WORKERS threads; return the results in order."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(fn, range(calls)))


def test_decimal_class_is_cached():
    classes = run_parallel(lambda _: gil_cells.decimal_class())
    assert all(cls is decimal.Decimal for cls in classes)


def test_make_decimal_from_threads():
    results = run_parallel(lambda i: gil_cells.make_decimal(f"{i}.25"))
    assert results == [decimal.Decimal(f"{i}.25") for i in range(CALLS)]
    assert all(type(r) is decimal.Decimal for r in results)


def test_add_decimals_is_exact():
    values = ["0.1"] * 10
    results = run_parallel(lambda _: gil_cells.add_decimals(values), calls=100)
    assert set(results) == {decimal.Decimal("1.0")}


def test_to_json_from_threads():
    results = run_parallel(lambda i: gil_cells.to_json({"b": i, "a": [1, 2]}))
    assert results == [json.dumps({"a": [1, 2], "b": i}, separators=(",", ":")) for i in range(CALLS)]


def test_greeting_is_one_object():
    greetings = run_parallel(lambda _: gil_cells.greeting())
    assert greetings[0] == "hello from gil_cells"
    assert all(g is greetings[0] for g in greetings)


def test_channel_names_is_one_tuple():
    names = run_parallel(lambda _: gil_cells.channel_names())
    assert names[0] == ("red", "green", "blue", "alpha")
    assert all(n is names[0] for n in names)


def test_implementation_is_one_object():
    implementations = run_parallel(lambda _: gil_cells.implementation())
    assert all(i is sys.implementation for i in implementations)


def test_missing_sentinel():
    sentinels = run_parallel(lambda _: gil_cells.missing())
    assert all(s is gil_cells.MISSING for s in sentinels)
    assert all(run_parallel(lambda _: gil_cells.is_missing(gil_cells.MISSING)))
    assert not any(run_parallel(lambda i: gil_cells.is_missing(i)))
    assert not gil_cells.is_missing(None)


def test_cache_first_write_wins():
    cache = gil_cells.Cache()
    assert not cache.filled
    assert cache.get() is None
    candidates = [object() for _ in range(CALLS)]

    stored = run_parallel(lambda i: cache.fill(candidates[i]))

    assert stored.count(True) == 1
    winner = candidates[stored.index(True)]
    assert cache.filled
    assert all(v is winner for v in run_parallel(lambda _: cache.get()))
    assert cache.require() is winner


def test_cache_get_or_compute_returns_one_object():
    cache = gil_cells.Cache()
    values = run_parallel(lambda _: cache.get_or_compute(lambda: object()))
    assert all(v is values[0] for v in values)
    assert cache.get() is values[0]


def test_cache_copy_shares_the_value():
    value = {"payload": 1}
    cache = gil_cells.Cache(value)
    copies = run_parallel(lambda i: cache.copy() if i % 2 else copy.copy(cache))
    assert all(c is not cache for c in copies)
    assert all(c.get() is value for c in copies)

    # A copy of an empty cache is empty and independent of the original.
    empty = gil_cells.Cache()
    clone = empty.copy()
    assert clone.fill("x")
    assert empty.get() is None
    assert clone.get() == "x"


def test_require_on_empty_cache_raises():
    with pytest.raises(ValueError, match="empty"):
        gil_cells.Cache().require()


def test_repr():
    assert repr(gil_cells.Cache()) == "Cache()"
    assert repr(gil_cells.Cache([1])) == "Cache([1])"
