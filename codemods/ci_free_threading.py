"""ci-free-threading: CI stops forcing the GIL off once every module claims free-threading support.

What it does
    `PYTHON_GIL=0` makes free-threaded CPython keep the GIL off even for a module that has not
    declared support: the usual CI workaround while an extension still turned the GIL back on.
    When every extension module of the project claims support after the Rust codemods, it hides
    exactly what the free-threaded job should test, so in GitHub workflows
    (`.github/workflows/*.yml`) and `.gitlab-ci.yml` this codemod removes:

        env:                                      env:
          PYTHON_GIL: 0                    ->       RUST_BACKTRACE: 1
          RUST_BACKTRACE: 1
        run: PYTHON_GIL=0 pytest -x        ->     run: pytest -x
        run: python -X gil=0 -m pytest     ->     run: python -m pytest
             export PYTHON_GIL=0           ->     (the line goes)

    Lines are edited in place (comments, anchors and every other byte stay); a comment block
    directly above a removed line goes with it when it talks about the GIL; an `env:` or
    `variables:` left empty goes too. The result must parse as YAML and mean exactly the old
    document minus those settings, or nothing is edited and a finding says where to look.

    A workflow whose Python matrices have no free-threaded entry gets one finding (at the first)
    suggesting one (`3.14t`: PyO3 0.29 and later build free-threaded only for CPython 3.14+).

What it will not do
    - Edit a `PYTHON_GIL` set from an expression (`${{ matrix.ft && '0' || '' }}`), in a flow
      mapping (`env: {PYTHON_GIL: 0}`), or anything while a module still needs the GIL: a finding
      for the first two, nothing for the last.
    - Add a matrix entry (which runner, which wheel: a person decides).

Fix safety
    Safe: every module the job imports declares that it runs without the GIL, which is what
    `PYTHON_GIL=0` was forcing.
"""

from __future__ import annotations

import re

from pyo3_migrate.analysis.pyside import SideCodemod, SideFacts, side_info, absorb_doubled_blanks, drop_explaining_comments
from pyo3_migrate.core import pysyntax
from pyo3_migrate.core.codemod import Context
from pyo3_migrate.core.lines import offset_of_line

INFO = side_info(__doc__, id="ci-free-threading", language="yaml",
                 summary="remove PYTHON_GIL=0 from CI once every module claims support; suggest a 3.14t matrix entry")

_KEY_LINE = re.compile(r"""^\s*["']?PYTHON_GIL["']?\s*:\s*(["']?)0\1\s*(#.*)?$""")
_EXPORT_LINE = re.compile(r"^\s*(export\s+)?PYTHON_GIL=0\s*(#.*)?$")
_INLINE = re.compile(r"(?<![\w-])(PYTHON_GIL=0|-X\s*gil=0)([ \t]+|(?=[\"']?\r?$))", re.MULTILINE)
_ENV_KEYS = ("env", "variables")


def _scrub(value: str) -> str:
    """A command string as it reads without the GIL override (the same rule as the line edits)."""
    lines = [line for line in value.split("\n") if not _EXPORT_LINE.match(line)]
    return _INLINE.sub("", "\n".join(lines))


def _expected(node: object) -> object:
    """The document as it must read after the edit: PYTHON_GIL=0 gone from environments and
    commands, environments left empty gone."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "PYTHON_GIL" and str(value) == "0":
                continue
            value = _expected(value)
            if key in _ENV_KEYS and value == {} and node[key] != {}:
                continue
            out[key] = value
        return out
    if isinstance(node, list):
        return [_expected(v) for v in node]
    if isinstance(node, str):
        return _scrub(node)
    return node


def _edit_lines(source: bytes) -> bytes:
    text = source.decode("utf-8-sig")
    bom = source[: len(source) - len(source.lstrip(b"\xef\xbb\xbf"))]
    lines = text.splitlines(keepends=True)
    keep = [True] * len(lines)
    for i, line in enumerate(lines):
        if _KEY_LINE.match(line) or _EXPORT_LINE.match(line):
            keep[i] = False
            drop_explaining_comments(lines, keep, i)
        elif "PYTHON_GIL=0" in line or "gil=0" in line:
            lines[i] = _INLINE.sub("", line)
    for i, line in enumerate(lines):  # an env: or variables: whose entries all went
        if keep[i] and re.match(rf"^\s*({'|'.join(_ENV_KEYS)})\s*:\s*(#.*)?$", line) and _emptied(lines, keep, i):
            keep[i] = False
    absorb_doubled_blanks(lines, keep)
    return bom + "".join(line for line, kept in zip(lines, keep) if kept).encode()


def _emptied(lines: list[str], keep: list[bool], i: int) -> bool:
    """The key at line i had entries (more indented lines below it) and none of them stays."""
    indent = len(lines[i]) - len(lines[i].lstrip())
    had = False
    for j in range(i + 1, len(lines)):
        body = lines[j].strip()
        if not body or body.startswith("#"):
            continue
        if len(lines[j]) - len(lines[j].lstrip()) <= indent:
            break
        had = True
        if keep[j]:
            return False
    return had


def _python_matrix_lines(source: bytes) -> list[tuple[int, list[str]]]:
    """(0-based line, versions) of each `python-version` list in a `matrix`, when no matrix of the
    workflow has a free-threaded entry."""
    import yaml

    found = []
    free_threaded = [False]  # an `include` entry or another matrix has one: no suggestion

    def walk(node, in_matrix: bool) -> None:
        if isinstance(node, yaml.MappingNode):
            versions = []
            for key, value in node.value:
                if key.value == "matrix":
                    walk(value, True)
                    continue
                if in_matrix and key.value == "python-version" and isinstance(value, yaml.SequenceNode):
                    versions = [v.value for v in value.value if isinstance(v, yaml.ScalarNode)]
                    if any(v.endswith("t") for v in versions):
                        free_threaded[0] = True
                    elif versions:
                        found.append((key.start_mark.line, versions))
                elif in_matrix and key.value == "python-version" and isinstance(value, yaml.ScalarNode) \
                        and value.value.endswith("t"):
                    free_threaded[0] = True
                walk(value, in_matrix)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, in_matrix)

    for document in pysyntax.yaml_nodes(source):
        walk(document, False)
    return [] if free_threaded[0] else found


class CiFreeThreadingCodemod(SideCodemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        facts: SideFacts = ctx.facts
        sets_gil = b"PYTHON_GIL" in ctx.source or b"gil=0" in ctx.source
        has_matrix = b"python-version" in ctx.source and b"matrix" in ctx.source
        if not facts.all_claim or not (sets_gil or has_matrix):
            return  # a workflow with neither is never parsed
        problem = pysyntax.yaml_problem(ctx.source)
        if problem is not None:
            ctx.finding(0, f"not read as YAML ({problem}): its GIL settings, if any, are left for a person")
            return
        for line, versions in _python_matrix_lines(ctx.source)[:1]:  # once per workflow
            ctx.finding(offset_of_line(ctx.source, line + 1), f"the Python matrix ({', '.join(versions)}) has no "
                        "free-threaded entry: every module now claims support, so consider adding `3.14t` "
                        "(PyO3 0.29+ builds free-threaded only for 3.14 and later)")
        if not sets_gil:
            return
        new = _edit_lines(ctx.source)
        old_doc = pysyntax.yaml_load(ctx.source.decode("utf-8-sig"))
        try:
            new_doc = pysyntax.yaml_load(new.decode("utf-8-sig"))
        except Exception:  # a YAMLError: the edit broke the file, so it is not made
            new_doc = None
        if new_doc != [_expected(d) for d in old_doc] or _still_set(new):
            for i, line in enumerate(ctx.source.decode("utf-8-sig").splitlines()):
                if "PYTHON_GIL" in line or "gil=0" in line:
                    ctx.finding(offset_of_line(ctx.source, i + 1), "CI forces the GIL off here (`PYTHON_GIL`), which "
                                "every module now claims not to need: remove it by hand (not a plain setting)")
            return
        if new != ctx.source:
            ctx.fix("CI no longer forces the GIL off (PYTHON_GIL=0): every module claims free-threading support",
                    pysyntax.edits_between(ctx.source, new))


def _still_set(source: bytes) -> bool:
    return any("PYTHON_GIL" in line and not line.lstrip().startswith("#")
               for line in source.decode("utf-8-sig").splitlines())


CODEMOD = CiFreeThreadingCodemod()
