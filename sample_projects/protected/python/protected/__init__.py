"""A process-wide registry of named Python objects, backed by a Rust extension.

The registry itself lives in `protected._native` (a GIL-protected map); this
package adds a small mapping-style wrapper around it.
"""

from protected._native import (
    count_primes,
    fraction_class,
    gcd,
    lookup,
    make_fraction,
    math_module,
    register,
    registered_names,
    reserved_names,
    scale,
    sum_values,
    unit_prefixes,
    unregister,
)

__all__ = [
    "Registry",
    "count_primes",
    "fraction_class",
    "gcd",
    "lookup",
    "make_fraction",
    "math_module",
    "register",
    "registered_names",
    "registry",
    "reserved_names",
    "scale",
    "sum_values",
    "unit_prefixes",
    "unregister",
]


class Registry:
    """Mapping-style view of the native registry (all instances share it)."""

    def __getitem__(self, name):
        obj = lookup(name)
        if obj is None:
            raise KeyError(name)
        return obj

    def __setitem__(self, name, obj):
        if name in reserved_names():
            raise KeyError(f"{name!r} is reserved")
        register(name, obj)

    def __delitem__(self, name):
        if unregister(name) is None:
            raise KeyError(name)

    def __contains__(self, name):
        return lookup(name) is not None

    def __iter__(self):
        return iter(registered_names())

    def __len__(self):
        return len(registered_names())

    def get(self, name, default=None):
        obj = lookup(name)
        return default if obj is None else obj


registry = Registry()
