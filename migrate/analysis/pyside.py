"""What the Python side needs to know of the Rust side (the cross-language fact), and how a GIL
workaround is recognised in Python, settings and CI text.

After the Rust codemods, each extension module either claims free-threading support (see
modules.claims_free_threading) or not. A workaround that names one of this project's modules
may go when that module claims support; one that names no module in particular may go when
every module of the project does; one that names another project's module always stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import attr_uses, attribute_options
from pyo3_migrate.analysis.modules import ExtensionModule, extension_modules
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Snapshot, info_from_module
from pyo3_migrate.core.model import Safety
from pyo3_migrate.core.version import V0_23


class Scope(Enum):
    OURS = "ours"  # names a module of this project that now claims support
    GENERIC = "generic"  # names no module in particular
    STAYS = "stays"  # names another module, or one of ours that still needs the GIL


@dataclass(frozen=True)
class SideFacts:
    modules: tuple[ExtensionModule, ...]
    names: dict[str, bool]  # every Python spelling of our modules -> whether that module claims support

    @property
    def all_claim(self) -> bool:
        """Every extension module of the project claims support (and there is one)."""
        return bool(self.modules) and all(m.free_threaded for m in self.modules)

    @property
    def all_written(self) -> bool:
        """Every module's claim is written in its source (`gil_used = false`), not a default."""
        return self.all_claim and all(m.written for m in self.modules)

    @property
    def claiming(self) -> list[str]:
        return [m.name for m in self.modules if m.free_threaded]

    def scope(self, text: str) -> Scope:
        """Whose workaround a warning text or reason is (see the module docstring)."""
        named = mentioned_module(text)
        if named is None:
            return Scope.GENERIC
        for spelling in (named, named.rsplit(".", 1)[-1]):
            if spelling in self.names:
                return Scope.OURS if self.names[spelling] else Scope.STAYS
        return Scope.STAYS

    def acts_on(self, text: str) -> bool:
        kind = self.scope(text)
        return kind is Scope.OURS or (kind is Scope.GENERIC and self.all_claim)


def side_facts(snapshot: Snapshot) -> SideFacts:
    """The extension modules of the project as its current Rust bytes declare them, with every
    name Python may import them by (the `#[pymodule]` name, maturin's `module-name`)."""
    modules = tuple(extension_modules(snapshot.contents, snapshot.target_for))
    names: dict[str, bool] = {}
    for module in modules:
        names[module.name] = names.get(module.name, True) and module.free_threaded
    for package in snapshot.project.python:
        dotted = package.module_name
        if dotted and dotted.rsplit(".", 1)[-1] in names:
            names[dotted] = names[dotted.rsplit(".", 1)[-1]]
    return SideFacts(modules, names)


# "The global interpreter lock (GIL) has been enabled to load module 'x._x', which has not
# declared that it can run safely without the GIL." -- written as a regex, a glob or plain text.
_MODULE = re.compile(r"load\W+module\W+([A-Za-z_][\w\\.]*)", re.IGNORECASE)
_GIL_WARNING = re.compile(r"(\bGIL\b|global\W+interpreter\W+lock).*enabled|enabled.*\bGIL\b"
                          r"|enabled\W+to\W+load\W+module|run\W+safely\W+without"
                          r"|^\W*the\W+global\W+interpreter\W+lock", re.IGNORECASE)
_EXPLAINS = re.compile(r"\bgil\b|free.?thread|nogil|PYTHON_GIL|global interpreter lock", re.IGNORECASE)


def mentioned_module(text: str) -> str | None:
    match = _MODULE.search(text)
    if match is None:
        return None
    return match.group(1).replace("\\", "").rstrip(".") or None


def is_gil_warning(text: str) -> bool:
    """Whether a warning filter's message is CPython's "GIL has been enabled" RuntimeWarning."""
    return bool(_GIL_WARNING.search(text))


def ignores_gil_warning(spec: str) -> bool:
    """A `filterwarnings` mark or setting "ignore:MESSAGE[:CATEGORY[:MODULE[:LINE]]]" for the GIL warning."""
    action, _, rest = spec.partition(":")
    message, _, tail = rest.partition(":")
    category = tail.split(":", 1)[0].strip()
    return action.strip() == "ignore" and is_gil_warning(message) and category in ("", "RuntimeWarning")


def explains_workaround(comment: str) -> bool:
    """Whether a comment line is about the GIL or free-threading (it goes with its workaround)."""
    return bool(_EXPLAINS.search(comment))


def gil_off_setting(name: str, value: str) -> bool:
    """`PYTHON_GIL=0`: an environment setting that forces the GIL off whatever modules declare."""
    return name.strip() == "PYTHON_GIL" and value.strip().strip("'\"") == "0"


# ------------------------------------------------------------------ line edits of settings and CI files


def drop_explaining_comments(lines: list[str], keep: list[bool], i: int, markers: tuple[str, ...] = ("#",)) -> None:
    """Line i goes: so does the comment block directly above it, when that block is about the GIL."""
    block = []
    j = i - 1
    while j >= 0 and lines[j].lstrip().startswith(markers):
        block.append(j)
        j -= 1
    if any(explains_workaround(lines[k]) for k in block):
        for k in block:
            keep[k] = False


def absorb_doubled_blanks(lines: list[str], keep: list[bool]) -> None:
    """A removed run of lines takes the blank line after it along when a blank line (or the
    file's start) comes before it."""
    previous_blank = True  # the file's start counts as one
    i = 0
    while i < len(lines):
        if keep[i]:
            previous_blank = not lines[i].strip()
            i += 1
            continue
        j = i
        while j < len(lines) and not keep[j]:
            j += 1
        if j < len(lines) and previous_blank and not lines[j].strip():
            keep[j] = False
        i = j


FREE_THREADING_GUIDE = f"{GUIDE}#default-to-supporting-free-threaded-python"


def side_info(module_doc: str | None, **fields) -> CodemodInfo:
    """A Python-side codemod's metadata: safe, from 0.23 (where `gil_used` exists) with no upper
    bound, reading the Rust (which modules claim support); `fields` add or override."""
    defaults = dict(safety=Safety.SAFE, min_target=V0_23, max_target=None, guide=FREE_THREADING_GUIDE, reads_rust=True)
    return info_from_module(module_doc, **{**defaults, **fields})


class SideCodemod(Codemod):
    """Base of the Python-side codemods: what they scan is which modules claim support."""

    def scan(self, snapshot: Snapshot) -> SideFacts:
        return side_facts(snapshot)


# ------------------------------------------------------------------ what Python sees of the Rust


@dataclass(frozen=True)
class BytesReturn:
    """A Python-visible function or method whose Rust return type is a `u8` sequence that PyO3
    0.23 turned from `list[int]` into `bytes`."""

    name: str  # as Python calls it
    owner: str | None  # the Python class of a method (None: a module function)
    path: Path
    offset: int


_BYTE_SEQUENCES = ("Vec", "SmallVec")
_WRAPPERS = ("PyResult", "Result", "Option")
_BYTES_RETURNS: dict[tuple[Path, bytes], tuple[BytesReturn, ...]] = rust.run_cache()


def _is_u8_sequence(source: bytes, node) -> bool:
    """`Vec<u8>`, `[u8; N]`, `SmallVec<[u8; N]>`, inside `PyResult`/`Result`/`Option` too."""
    if node is None:
        return False
    if node.type == "array_type":
        element = node.child_by_field_name("element")
        return element is not None and rust.text(source, element) == "u8"
    if node.type != "generic_type":
        return False
    name = rust.text(source, node.child_by_field_name("type")).rsplit("::", 1)[-1]
    args = [c for c in node.child_by_field_name("type_arguments").named_children if c.type not in ("line_comment", "block_comment")]
    if name in _WRAPPERS and args:
        return _is_u8_sequence(source, args[0])
    if name == "Vec" and len(args) == 1:
        return rust.text(source, args[0]) == "u8"
    return name == "SmallVec" and len(args) == 1 and _is_u8_sequence(source, args[0])


def _python_name(source: bytes, item, default: str) -> str:
    for use in attr_uses(source, item):
        if use.path[-1:] in (("pyo3",), ("pyfunction",), ("pyclass",), ("getter",)) and use.args is not None:
            options = attribute_options(source, use)
            if options.get("name") is not None:
                return rust.text(source, options["name"]).strip('"')
            if use.path[-1] == "getter":
                bare = [k for k, v in options.items() if v is None]
                if bare:
                    return bare[0]
    return default


def _may_return_bytes(source: bytes) -> bool:
    """A `Vec<u8>` or `[u8; N]` after a `->` on its line (rustfmt keeps a return type on the
    signature's line); a file without one is not parsed."""
    for word in (b"Vec<u8>", b"[u8;"):
        at = source.find(word)
        while at != -1:
            if b"->" in source[source.rfind(b"\n", 0, at) + 1 : at]:
                return True
            at = source.find(word, at + 1)
    return False


def bytes_returns(path: Path, source: bytes) -> tuple[BytesReturn, ...]:
    """The `#[pyfunction]`s and `#[pymethods]` methods of one Rust file that return bytes now."""
    key = (path, source)
    if key in _BYTES_RETURNS:
        return _BYTES_RETURNS[key]
    found = []
    if _may_return_bytes(source) and (b"pyfunction" in source or b"pymethods" in source):
        tree = rust.parse(source)
        classes = {}
        for item in rust.tree_nodes(tree, ("struct_item", "enum_item")):
            name = item.child_by_field_name("name")
            if name is not None:
                classes[rust.text(source, name)] = _python_name(source, item, rust.text(source, name))
        for item in rust.tree_nodes(tree, ("function_item",)):
            if not _is_u8_sequence(source, item.child_by_field_name("return_type")):
                continue
            paths = [u.path[-1] for u in attr_uses(source, item) if u.path]
            name = rust.text(source, item.child_by_field_name("name"))
            owner = None
            if "pyfunction" not in paths:
                impl = item.parent.parent if item.parent is not None else None
                if impl is None or impl.type != "impl_item" or "pymethods" not in [u.path[-1] for u in attr_uses(source, impl) if u.path]:
                    continue
                if "new" in paths:
                    continue
                rust_type = rust.text(source, impl.child_by_field_name("type"))
                owner = classes.get(rust_type, rust_type)
            found.append(BytesReturn(_python_name(source, item, name), owner, path, item.start_byte))
    _BYTES_RETURNS[key] = tuple(found)
    return tuple(found)
