"""The codemods, one module each, in the order they run (each on the previous one's output).

Order matters: `clone-ref` rewrites manual clones while the cell types are still the old ones,
so that `once-lock` then sees every `clone_ref` use when it decides what std can express;
`from-py-object` runs after `py-clone` (which may turn a derived `Clone` into an impl);
`gil-used` runs after every other Rust codemod, so its blocker scan sees the migrated code;
`manifest` runs after the Rust codemods, and the Python-side codemods after it: they act on what
the Rust now declares.
"""

from __future__ import annotations

from pyo3_migrate.codemods import (
    as_py_pointer,
    attach,
    bound_api,
    call_args,
    cast,
    ci_free_threading,
    clone_ref,
    extract,
    from_py_object,
    from_py_with,
    initializer_from,
    gil_used,
    interpreter_aware_cells,
    into_pyobject,
    manifest,
    numpy_fields,
    mutex,
    once_lock,
    py_clone,
    py_classifiers,
    py_clone_feature,
    py_gil_workarounds,
    py_stubs,
    pymutex_path,
    raw_pointers,
    removed_features,
    superclass_init,
    toolchain,
    utf8_error,
)
from pyo3_migrate.core.codemod import Codemod

REGISTRY: tuple[Codemod, ...] = (
    bound_api.CODEMOD,
    as_py_pointer.CODEMOD,
    into_pyobject.CODEMOD,
    call_args.CODEMOD,
    cast.CODEMOD,
    extract.CODEMOD,
    utf8_error.CODEMOD,
    from_py_with.CODEMOD,
    clone_ref.CODEMOD,
    once_lock.CODEMOD,
    interpreter_aware_cells.CODEMOD,
    mutex.CODEMOD,
    attach.CODEMOD,
    py_clone.CODEMOD,
    py_clone_feature.CODEMOD,
    from_py_object.CODEMOD,
    pymutex_path.CODEMOD,
    numpy_fields.CODEMOD,
    superclass_init.CODEMOD,
    initializer_from.CODEMOD,
    raw_pointers.CODEMOD,
    gil_used.CODEMOD,
    removed_features.CODEMOD,
    toolchain.CODEMOD,
    manifest.CODEMOD,
    py_gil_workarounds.CODEMOD,
    ci_free_threading.CODEMOD,
    py_classifiers.CODEMOD,
    py_stubs.CODEMOD,
)


def by_id(codemod_id: str) -> Codemod:
    for codemod in REGISTRY:
        if codemod.info.id == codemod_id:
            return codemod
    raise KeyError(codemod_id)


def select(ids: list[str] | None) -> list[Codemod]:
    """The registered codemods named by ids (all when none), always in registry order."""
    if not ids:
        return list(REGISTRY)
    wanted = set(ids)
    unknown = wanted - {c.info.id for c in REGISTRY}
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))
    return [c for c in REGISTRY if c.info.id in wanted]
