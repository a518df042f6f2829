"""py-classifiers: say on PyPI that the package supports free-threaded Python, once every module does.

What it does
    When every extension module of the project claims free-threading support after the Rust
    codemods, and the claim is the user's (`--declare-free-threaded`, or `gil_used = false` written
    in every module), each maturin package's `pyproject.toml` gets the trove classifier

        [project]                                   [project]
        classifiers = [                             classifiers = [
            "Programming Language :: Rust",   ->        "Programming Language :: Rust",
        ]                                               "Programming Language :: Python :: Free Threading :: 2 - Beta",
                                                    ]

    (`--free-threading-level unstable|beta|stable|resolved` picks the level; beta by default), with
    tomlkit, so every other byte of the file stays. A `requires-python` whose upper bound shuts out
    the free-threaded releases (3.13 and later) is a finding.

What it will not do
    - Write a second Free Threading classifier, or change the level of one already there.
    - Touch a pyproject without a `[project]` table, or one that is not a maturin package's.
    - Anything while a module still needs the GIL, or when the modules claim support only by 0.28's
      default and the run was not told `--declare-free-threaded` (a crate that never said it runs
      free-threaded is not advertised as such on PyPI).

Fix safety
    Safe: the classifier states what the modules now declare to CPython itself.
"""

from __future__ import annotations

import re
import tomllib

import tomlkit

from pyo3_migrate.analysis.pyside import SideCodemod, SideFacts, side_info
from pyo3_migrate.core import pysyntax
from pyo3_migrate.core.codemod import Context

INFO = side_info(__doc__, id="py-classifiers", language="toml",
                 summary="add the `Free Threading` trove classifier when every module claims support")

CLASSIFIER = "Programming Language :: Python :: Free Threading :: "
_UPPER = re.compile(r"<\s*=?\s*3\.(\d+)")


def _is_maturin_package(document: dict) -> bool:
    return "maturin" in document.get("tool", {}) or document.get("build-system", {}).get("build-backend") == "maturin"


def _excludes_free_threaded(requires: str) -> bool:
    """An upper bound below 3.13 (`<3.13`, `<=3.12`): no free-threaded CPython can install it."""
    for match in _UPPER.finditer(requires):
        minor = int(match.group(1))
        if minor < 13 or (minor == 13 and "=" not in match.group(0)):
            return True
    return False


class PyClassifiersCodemod(SideCodemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        facts: SideFacts = ctx.facts
        if ctx.path.name != "pyproject.toml" or not facts.all_claim:
            return
        if not (ctx.snapshot.options.declare_free_threaded or facts.all_written):
            return
        document = tomllib.loads(ctx.source.decode("utf-8-sig"))
        project = document.get("project")
        if not isinstance(project, dict) or not _is_maturin_package(document):
            return
        requires = project.get("requires-python")
        if isinstance(requires, str) and _excludes_free_threaded(requires):
            ctx.finding(max(ctx.source.find(b"requires-python"), 0),
                        f"requires-python {requires!r} shuts out the free-threaded releases (3.13t, 3.14t) "
                        "that every module now supports")
        classifiers = project.get("classifiers", [])
        if not isinstance(classifiers, list) or any(str(c).startswith(CLASSIFIER) for c in classifiers):
            return
        if "classifiers" in project.get("dynamic", []):
            return  # the build backend writes them
        wanted = CLASSIFIER + ctx.snapshot.options.free_threading_level
        edited = tomlkit.parse(ctx.source.decode("utf-8-sig"))
        if "classifiers" in edited["project"]:
            edited["project"]["classifiers"].append(wanted)
        else:
            edited["project"]["classifiers"] = [wanted]
        bom = b"\xef\xbb\xbf" if ctx.source.startswith(b"\xef\xbb\xbf") else b""
        new = bom + tomlkit.dumps(edited).encode()
        ctx.fix(f"classifier `{wanted}`: every module claims free-threading support",
                pysyntax.edits_between(ctx.source, new))


CODEMOD = PyClassifiersCodemod()
