"""The Python lane: libcst trees of Python files, and their changes as byte edits.

A Python codemod edits a libcst tree (which prints every untouched byte back as it was read);
`edits_between` turns old and new bytes into line-precise byte edits, so Python fixes go through
the same selection, diff, re-parse gate and apply steps as Rust and TOML ones. Files are parsed
only when a codemod asks (none of the Python side is parsed up front).
"""

from __future__ import annotations

import configparser
import difflib

from pyo3_migrate.core import syntax
from pyo3_migrate.core.model import Edit

_TREES: dict[bytes, object] = syntax.run_cache()  # a libcst Module, or why the bytes do not parse


class NotPython(Exception):
    """The bytes are not a Python 3 module libcst can read (the message says where)."""


def parse(source: bytes):
    """The module's libcst tree (once per bytes); NotPython when it does not parse."""
    tree = _TREES.get(source)
    if tree is None:
        import libcst  # only runs that parse a Python file pay for the import

        try:
            tree = libcst.parse_module(source)
        except libcst.ParserSyntaxError as exc:
            tree = f"syntax error at {exc.raw_line}:{exc.raw_column + 1}"
        except (UnicodeDecodeError, RecursionError) as exc:
            tree = f"cannot be read as Python ({type(exc).__name__})"
        _TREES[source] = tree
    if isinstance(tree, str):
        raise NotPython(tree)
    return tree


def edits_between(old: bytes, new: bytes) -> list[Edit]:
    """The byte edits that turn old into new, one per run of changed lines."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            edits.append(Edit(starts[i1], starts[i2], b"".join(b[j1:j2])))
    return edits


def ini_problem(source: bytes) -> str | None:
    """Why an ini-style settings file (pytest.ini, tox.ini, setup.cfg) does not read (None: it does)."""
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(source.decode("utf-8-sig"))
    except (configparser.Error, UnicodeDecodeError) as exc:
        return f"not an ini file: {str(exc).splitlines()[0]}"
    return None


_YAML: dict[bytes, object] = syntax.run_cache()


def yaml_loader():
    """libyaml's safe loader when PyYAML has it (several times faster), else the pure-Python one."""
    import yaml  # only runs that read YAML pay for the import

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_nodes(source: bytes) -> list:
    """The composed documents (nodes with their marks), once per bytes; a YAMLError when they do not parse."""
    found = _YAML.get(source)
    if found is None:
        import yaml

        try:
            found = list(yaml.compose_all(source.decode("utf-8-sig"), Loader=yaml_loader()))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            found = exc
        _YAML[source] = found
    if isinstance(found, Exception):
        raise found
    return found


def yaml_problem(source: bytes) -> str | None:
    """Why a YAML file does not parse (None: it does)."""
    try:
        yaml_nodes(source)
    except Exception as exc:  # YAMLError or UnicodeDecodeError, as yaml_nodes raised it
        return f"YAML error: {str(exc).splitlines()[0]}"
    return None


def yaml_load(text: str) -> list:
    """The documents' values (what the YAML means)."""
    import yaml

    return list(yaml.load_all(text, Loader=yaml_loader()))
