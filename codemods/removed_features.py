"""removed-features: drop PyO3 cargo features that the target release no longer has.

What it does
    Cargo refuses to resolve a crate that asks for a feature its dependency lost, so a manifest
    that still names one cannot build on the target at all. PyO3 removed `gil-refs` in 0.23
    (the GIL Refs API it enabled is gone; the `bound-api` codemod moves the code). For targets
    0.23 and later `gil-refs` is dropped from every `pyo3` dependency's features, from the crate's
    own `[features]` entries (`"pyo3/gil-refs"`), and from `[tool.maturin] features`.

Example
    [features]                                 [features]
    gil-refs = ["pyo3/gil-refs"]        ->     gil-refs = []

What it will not do
    `abi3-py37`, gone in 0.29, is reported, not changed: its replacement `abi3-py38` raises the
    lowest Python your wheels install on, which is the user's decision. A crate's own feature
    named after the PyO3 one is kept (emptied), since other crates may enable it by name.

Fix safety
    Safe: the feature does not exist on the target, so nothing can depend on it there.
"""

from __future__ import annotations

from migrate import features
from migrate.codemod import GUIDE, Codemod, CodemodInfo, Context
from migrate.model import Safety, minimal_edit
from migrate.version import V0_23, Version

INFO = CodemodInfo(
    id="removed-features",
    summary="drop PyO3 cargo features the target no longer has (`gil-refs` from 0.23); report `abi3-py37` (0.29)",
    language="toml",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#gil-refs-feature-removed",
    docs=__doc__.strip(),
)

# feature -> the first release without it
DROPPED = {"gil-refs": V0_23}
REPORTED = {"abi3-py37": (Version(0, 29), "use `abi3-py38` (wheels then need Python 3.8 or later)")}


class RemovedFeaturesCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        drop = features.drop_from_cargo if ctx.path.name == "Cargo.toml" else features.drop_from_pyproject
        source = ctx.source
        for feature, gone_in in DROPPED.items():
            if ctx.target >= gone_in and features.mentions(source, feature):
                dropped = drop(source, feature)
                if dropped is not None:
                    source = dropped
        if source != ctx.source:
            
            ctx.fix(f"dropped PyO3 features the target {ctx.target} no longer has", [minimal_edit(ctx.source, source)])
        for feature, (gone_in, advice) in REPORTED.items():
            at = ctx.source.find(f'"{feature}"'.encode())
            if ctx.target >= gone_in and at != -1:
                ctx.finding(at, f"PyO3 {gone_in.major}.{gone_in.minor} has no `{feature}` feature: {advice}")


CODEMOD = RemovedFeaturesCodemod()
