"""Thread-parallel checks of the `protected` package and its native registry."""

import fractions
import math
from concurrent.futures import ThreadPoolExecutor

import pytest

import protected
from protected import _native

WORKERS = 8
CALLS = 400


def run_parallel(fn, calls=CALLS):
    """Call fn(i) for i in range(calls) on WORKERS threads; return the results in order."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(fn, range(calls)))


def test_package_re_exports_native():
    assert protected.register is _native.register
    assert protected.lookup is _native.lookup
    assert _native.__name__ == "protected._native"


def test_fraction_class_is_cached():
    classes = run_parallel(lambda _: protected.fraction_class())
    assert all(cls is fractions.Fraction for cls in classes)


def test_make_fraction_from_threads():
    results = run_parallel(lambda i: protected.make_fraction(i, 7))
    assert results == [fractions.Fraction(i, 7) for i in range(CALLS)]


def test_math_module_is_cached():
    modules = run_parallel(lambda _: protected.math_module())
    assert all(m is math for m in modules)
    assert run_parallel(lambda i: protected.gcd(i * 6, 9)) == [math.gcd(i * 6, 9) for i in range(CALLS)]


def test_register_and_lookup_from_threads():
    objects = [object() for _ in range(CALLS)]

    previous = run_parallel(lambda i: protected.register(f"obj-{i}", objects[i]))
    assert previous == [None] * CALLS

    found = run_parallel(lambda i: protected.lookup(f"obj-{i}"))
    assert all(found[i] is objects[i] for i in range(CALLS))

    names = protected.registered_names()
    assert {f"obj-{i}" for i in range(CALLS)} <= set(names)
    assert names == sorted(names)

    removed = run_parallel(lambda i: protected.unregister(f"obj-{i}"))
    assert all(removed[i] is objects[i] for i in range(CALLS))
    assert all(protected.lookup(f"obj-{i}") is None for i in range(CALLS))


def test_concurrent_writers_to_one_name():
    candidates = [object() for _ in range(CALLS)]
    run_parallel(lambda i: protected.register("contended", candidates[i]))
    winner = protected.lookup("contended")
    assert any(winner is c for c in candidates)
    assert all(v is winner for v in run_parallel(lambda _: protected.lookup("contended")))
    assert protected.unregister("contended") is winner


def test_register_returns_replaced_object():
    first, second = object(), object()
    assert protected.register("replace-me", first) is None
    assert protected.register("replace-me", second) is first
    assert protected.unregister("replace-me") is second
    assert protected.unregister("replace-me") is None


def test_registry_wrapper():
    reg = protected.registry
    value = ["payload"]
    reg["wrapped"] = value
    assert "wrapped" in reg
    assert reg["wrapped"] is value
    assert protected.Registry()["wrapped"] is value
    assert "wrapped" in list(reg)
    del reg["wrapped"]
    assert reg.get("wrapped", "gone") == "gone"
    with pytest.raises(KeyError):
        reg["wrapped"]
    with pytest.raises(KeyError, match="reserved"):
        reg["registry"] = 1


def test_sum_values_releases_the_gil():
    values = list(range(10_000))
    results = run_parallel(lambda _: protected.sum_values(values), calls=200)
    assert set(results) == {sum(values)}


def test_count_primes_from_threads():
    results = run_parallel(lambda i: protected.count_primes(10 ** (i % 5 + 1)), calls=100)
    expected = {10: 4, 100: 25, 1000: 168, 10_000: 1229, 100_000: 9592}
    assert results == [expected[10 ** (i % 5 + 1)] for i in range(100)]
    assert protected.count_primes(2) == 0


def test_lazy_tables_are_single_objects():
    tables = run_parallel(lambda _: protected.unit_prefixes())
    assert all(t is tables[0] for t in tables)
    assert tables[0]["kilo"] == 3
    reserved = run_parallel(lambda _: protected.reserved_names())
    assert all(r is reserved[0] for r in reserved)
    assert reserved[0] == frozenset({"__all__", "__builtins__", "registry"})


def test_scale():
    assert run_parallel(lambda i: protected.scale(float(i), "kilo")) == [i * 1000.0 for i in range(CALLS)]
    assert protected.scale(5.0, "milli") == pytest.approx(0.005)
    with pytest.raises(KeyError):
        protected.scale(1.0, "furlong")


def test_trim_counts_then_empties_past_a_limit():
    for i in range(3):
        protected.register(f"trim-{i}", object())
    assert all(count >= 3 for count in run_parallel(lambda _: _native.trim(10_000), calls=50))
    assert _native.trim(0) >= 3
    assert _native.trim(10_000) == 0
    assert protected.registered_names() == []
