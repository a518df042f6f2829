"""The codemods, one module each, in the order they run (each on the previous one's output).

Order matters: `clone-ref` rewrites manual clones while the cell types are still the old ones,
so that `once-lock` then sees every `clone_ref` use when it decides what std can express.
"""

from __future__ import annotations

from codemods import clone_ref, manifest, once_lock
from migrate.codemod import Codemod

REGISTRY: tuple[Codemod, ...] = (
    clone_ref.CODEMOD,
    once_lock.CODEMOD,
    manifest.CODEMOD,
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
