"""The tree-sitter helpers the codemods build on: `use` tree editing and name resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.names import CrateNames, glob_provides
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.model import Edit, apply_edits


def _leaf(source: bytes, local_name: str):
    index = FileIndex.build(source)
    return next(leaf for leaf in index.all_leaves() if not leaf.is_glob and leaf.local_name == local_name)


def _remove(source: str, local_name: str) -> str:
    data = source.encode()
    out = apply_edits(data, rust.remove_use_leaf(data, _leaf(data, local_name)))
    assert rust.error_count(rust.parse(out)) == 0
    return out.decode()


# ------------------------------------------------------------------------------------ remove_use_leaf


@pytest.mark.parametrize(
    "before, name, after",
    [
        pytest.param(
            "use a::b;\nuse pyo3::sync::GILOnceCell;\nfn f() {}\n", "GILOnceCell", "use a::b;\nfn f() {}\n",
            id="standalone-declaration-and-its-line",
        ),
        pytest.param(
            "use pyo3::sync::{GILOnceCell, GILProtected};\n", "GILOnceCell", "use pyo3::sync::GILProtected;\n",
            id="pair-loses-braces",
        ),
        pytest.param(
            "use pyo3::sync::{GILProtected, GILOnceCell};\n", "GILOnceCell", "use pyo3::sync::GILProtected;\n",
            id="pair-last-item",
        ),
        pytest.param(
            "use pyo3::{prelude::*, sync::{GILOnceCell, GILProtected}, types::PyDict};\n",
            "GILOnceCell",
            "use pyo3::{prelude::*, sync::GILProtected, types::PyDict};\n",
            id="nested-group",
        ),
        pytest.param(
            "use pyo3::{prelude::*, sync::GILOnceCell, types::PyDict};\n",
            "GILOnceCell",
            "use pyo3::{prelude::*, types::PyDict};\n",
            id="middle-of-three",
        ),
        pytest.param(
            "use pyo3::{prelude::*, sync::GILOnceCell};\n", "GILOnceCell", "use pyo3::prelude::*;\n",
            id="group-left-with-one",
        ),
        pytest.param(
            "use pyo3::{prelude::*, sync::{GILOnceCell}};\n", "GILOnceCell", "use pyo3::prelude::*;\n",
            id="emptied-inner-group-goes",
        ),
        pytest.param(
            "use pyo3::sync::{GILOnceCell};\nfn f() {}\n", "GILOnceCell", "fn f() {}\n",
            id="emptied-declaration-goes",
        ),
        pytest.param(
            "use pyo3::sync::{self, GILOnceCell};\n", "GILOnceCell", "use pyo3::sync::{self};\n",
            id="self-keeps-braces",
        ),
        pytest.param(
            "use pyo3::sync::{GILProtected, GILOnceCell as Lazy};\n", "Lazy", "use pyo3::sync::GILProtected;\n",
            id="aliased-item",
        ),
        pytest.param(
            "use pyo3::{\n    prelude::*,\n    sync::GILOnceCell,\n};\n",
            "GILOnceCell",
            "use pyo3::{\n    prelude::*,\n};\n",
            id="multiline-last-item-line",
        ),
        pytest.param(
            "use pyo3::{\n    sync::GILOnceCell,\n    prelude::*,\n};\n",
            "GILOnceCell",
            "use pyo3::{\n    prelude::*,\n};\n",
            id="multiline-first-item-line",
        ),
        pytest.param(
            "use pyo3::sync::{GILProtected, GILOnceCell,};\n", "GILOnceCell", "use pyo3::sync::GILProtected;\n",
            id="trailing-comma-pair-loses-braces",
        ),
        pytest.param(
            "use pyo3::sync::{OnceExt, GILProtected, GILOnceCell,};\n", "GILOnceCell",
            "use pyo3::sync::{OnceExt, GILProtected,};\n",
            id="trailing-comma-kept",
        ),
        pytest.param(
            "fn f() {\n    use pyo3::sync::GILOnceCell;\n    g();\n}\n", "GILOnceCell", "fn f() {\n    g();\n}\n",
            id="in-a-block",
        ),
        pytest.param(
            "\ufeffuse pyo3::sync::GILOnceCell;\nuse a::b;\n", "GILOnceCell", "\ufeffuse a::b;\n",
            id="first-line-after-a-bom",
        ),
        pytest.param(
            "use pyo3::sync::{OnceExt, GILOnceCell /* b */, GILProtected};\n", "GILOnceCell",
            "use pyo3::sync::{OnceExt, GILProtected};\n",
            id="comment-before-its-comma-goes-with-it",
        ),
        pytest.param(
            "use pyo3::sync::{OnceExt, /* a */ GILOnceCell, GILProtected};\n", "GILOnceCell",
            "use pyo3::sync::{OnceExt, /* a */ GILProtected};\n",
            id="comment-before-the-item-stays",
        ),
        pytest.param(
            "use a::b;\r\nuse pyo3::sync::GILOnceCell;\r\nfn f() {}\r\n", "GILOnceCell", "use a::b;\r\nfn f() {}\r\n",
            id="crlf",
        ),
    ],
)
def test_remove_use_leaf(before, name, after):
    assert _remove(before, name) == after


@pytest.mark.parametrize(
    "source, removed, expected_end",
    [
        pytest.param("use x;\n\nmod cells;\n", "use x;\n", "use x;\n\n", id="file-top"),
        pytest.param("a;\n\nuse x;\n\nfn f();\n", "use x;\n", "use x;\n\n", id="between-blank-lines"),
        pytest.param("a;\nuse x;\n\nfn f();\n", "use x;\n", "use x;\n", id="after-a-line"),
    ],
)
def test_absorb_blank_line(source, removed, expected_end):
    data = source.encode()
    start = data.index(removed.encode())
    end = rust.absorb_blank_line(data, start, start + len(removed))
    assert data[start:end] == expected_end.encode()


def test_tidy_removals_takes_a_doubled_blank_line_unless_an_edit_lands_there():
    source = b"a;\n\nuse x;\n\nfn f();\n"
    start = source.index(b"use x;")
    removal = Edit(start, start + len(b"use x;\n"), b"")
    (tidied,) = rust.tidy_removals(source, [removal])
    assert apply_edits(source, [tidied]) == b"a;\n\nfn f();\n"
    insertion = Edit(removal.end, removal.end, b"use y;\n")  # an import added right after the removed line
    assert rust.tidy_removals(source, [removal, insertion]) == [removal, insertion]
    assert apply_edits(source, [removal, insertion]) == b"a;\n\nuse y;\n\nfn f();\n"


# ------------------------------------------------------------------------------------------ add_uses


def _add(source: str | bytes, paths: list[str], scope=None) -> bytes:
    data = source.encode() if isinstance(source, str) else source
    tree = rust.parse(data)
    out = apply_edits(data, [rust.add_uses(data, scope(tree) if scope else tree.root_node, paths)])
    assert rust.error_count(rust.parse(out)) == 0
    return out


@pytest.mark.parametrize(
    "before, after",
    [
        pytest.param(
            "use a::b;\nuse c::d;\n\nfn f() {}\n",
            "use a::b;\nuse c::d;\nuse std::sync::OnceLock;\n\nfn f() {}\n",
            id="after-the-last-leading-use",
        ),
        pytest.param(
            "use a::b;\n\nfn f() {}\n\npub use inner::g;\n",
            "use a::b;\nuse std::sync::OnceLock;\n\nfn f() {}\n\npub use inner::g;\n",
            id="not-after-a-re-export-at-the-end",
        ),
        pytest.param(
            "mod inner;\nuse a::b;\n\nfn f() {}\n",
            "mod inner;\nuse a::b;\nuse std::sync::OnceLock;\n\nfn f() {}\n",
            id="after-mod-declarations",
        ),
        pytest.param(
            "//! Crate docs.\n#![allow(dead_code)]\n\nfn f() {}\n",
            "//! Crate docs.\n#![allow(dead_code)]\n\nuse std::sync::OnceLock;\n\nfn f() {}\n",
            id="no-use-yet-after-inner-attributes",
        ),
        pytest.param("fn f() {}\n", "use std::sync::OnceLock;\n\nfn f() {}\n", id="no-use-at-top"),
        pytest.param("use a::b;", "use a::b;\nuse std::sync::OnceLock;", id="no-final-newline"),
        pytest.param("use a::b;\r\nfn f() {}\r\n", "use a::b;\r\nuse std::sync::OnceLock;\r\nfn f() {}\r\n", id="crlf"),
    ],
)
def test_add_uses(before, after):
    assert _add(before, ["std::sync::OnceLock"]).decode() == after


def test_add_uses_keeps_the_bom_first():
    out = _add(b"\xef\xbb\xbffn f() {}\n", ["std::sync::OnceLock"])
    assert out == b"\xef\xbb\xbfuse std::sync::OnceLock;\n\nfn f() {}\n"


def test_add_uses_in_a_module_body_takes_its_indentation():
    source = "mod inner {\n    use super::*;\n\n    fn f() {}\n}\n"

    def body(tree):
        return next(n for n in rust.walk(tree.root_node) if n.type == "declaration_list")

    out = _add(source, ["pyo3::sync::OnceLockExt", "std::sync::OnceLock"], body).decode()
    assert out == (
        "mod inner {\n    use super::*;\n    use pyo3::sync::OnceLockExt;\n    use std::sync::OnceLock;\n\n"
        "    fn f() {}\n}\n"
    )


# ----------------------------------------------------------------------------------- FileIndex.resolve


def _resolve(source: str, name: str, at: str):
    data = source.encode()
    index = FileIndex.build(data)
    offset = data.index(at.encode())
    node = index.tree.root_node.descendant_for_byte_range(offset, offset)
    return index.resolve(node, name, glob_provides)


@pytest.mark.parametrize(
    "source, at, expected",
    [
        pytest.param("use pyo3::sync::GILOnceCell;\nstatic X: GILOnceCell<u8> = 0;\n", "GILOnceCell<u8>",
                     ("pyo3", "sync", "GILOnceCell"), id="explicit"),
        pytest.param("use pyo3::sync::*;\nstatic X: GILOnceCell<u8> = 0;\n", "GILOnceCell<u8>",
                     ("pyo3", "sync", "GILOnceCell"), id="pyo3-glob"),
        pytest.param("use other::*;\nstatic X: GILOnceCell<u8> = 0;\n", "GILOnceCell<u8>", None, id="unknown-glob"),
        pytest.param("struct GILOnceCell;\nuse pyo3::sync::*;\nstatic X: GILOnceCell = GILOnceCell;\n", "GILOnceCell =",
                     ("crate", "<local>", "GILOnceCell"), id="local-definition-beats-glob"),
        pytest.param("use pyo3::sync::GILOnceCell;\nmod m {\n    static X: GILOnceCell<u8> = 0;\n}\n", "GILOnceCell<u8>",
                     None, id="child-module-does-not-see-parent-imports"),
        pytest.param("use pyo3::sync::GILOnceCell;\nmod m {\n    use super::*;\n    static X: GILOnceCell<u8> = 0;\n}\n",
                     "GILOnceCell<u8>", ("pyo3", "sync", "GILOnceCell"), id="super-glob"),
        pytest.param("fn f() {\n    use pyo3::sync::GILOnceCell as Cell;\n    let c: Cell<u8> = todo!();\n}\n",
                     "Cell<u8>", ("pyo3", "sync", "GILOnceCell"), id="block-alias"),
    ],
)
def test_file_index_resolve(source, at, expected):
    assert _resolve(source, at.split("<")[0].split(" ")[0], at) == expected


# ------------------------------------------------------------------------------- CrateNames (files)


def _crate(files: dict[str, str]) -> CrateNames:
    contents = {Path(p): t.encode() for p, t in files.items()}
    return CrateNames(contents, {p: Path(".") for p in contents})


def _node_at(names: CrateNames, path: str, at: str):
    index = names.index[Path(path)]
    offset = index.source.index(at.encode())
    return index.tree.root_node.descendant_for_byte_range(offset, offset)


def test_crate_names_follow_a_re_export_across_files():
    names = _crate({
        "src/lib.rs": "pub use pyo3::sync::GILOnceCell;\nmod cells;\n",
        "src/cells.rs": "use crate::GILOnceCell;\nstatic X: GILOnceCell<u8> = todo!();\n",
    })
    found = names.resolve(Path("src/cells.rs"), _node_at(names, "src/cells.rs", "GILOnceCell<u8>"), "GILOnceCell")
    assert found.target == ("pyo3", "sync", "GILOnceCell")
    assert [str(p) for p, _ in found.chain] == ["src/cells.rs", "src/lib.rs"]


def test_crate_names_super_glob_in_a_file_module_reaches_the_parent_file():
    names = _crate({
        "src/lib.rs": "use pyo3::sync::GILOnceCell;\nmod child;\n",
        "src/child.rs": "use super::*;\nstatic X: GILOnceCell<u8> = todo!();\n",
    })
    found = names.resolve(Path("src/child.rs"), _node_at(names, "src/child.rs", "GILOnceCell<u8>"), "GILOnceCell")
    assert found.target == ("pyo3", "sync", "GILOnceCell")
    assert found.leaf[0] == Path("src/lib.rs")


def test_crate_names_tell_the_crates_own_type_apart():
    names = _crate({
        "src/lib.rs": "mod gil;\nuse crate::gil::GILOnceCell;\nstatic X: GILOnceCell<u8> = todo!();\n",
        "src/gil.rs": "pub struct GILOnceCell<T>(T);\n",
    })
    found = names.resolve(Path("src/lib.rs"), _node_at(names, "src/lib.rs", "GILOnceCell<u8>"), "GILOnceCell")
    assert found.target == ("crate", "gil", "GILOnceCell")
    assert found.definition is not None and found.definition[0] == Path("src/gil.rs")


def test_crate_names_resolve_a_static_through_an_import():
    names = _crate({
        "src/lib.rs": "mod cache;\nmod api;\n",
        "src/cache.rs": "pub static CELL: u8 = 0;\n",
        "src/api.rs": "use crate::cache::CELL;\nfn f() -> u8 { CELL }\n",
    })
    found = names.resolve(Path("src/api.rs"), _node_at(names, "src/api.rs", "CELL }"), "CELL", "value")
    assert found.definition[0] == Path("src/cache.rs") and found.definition[1].type == "static_item"



def test_crate_names_glob_cycles_resolve_from_either_side_and_are_memoized():
    names = _crate({
        "src/lib.rs": "mod a;\nmod b;\nmod c;\n",
        "src/a.rs": "pub use crate::b::*;\nstatic X: Cell<u8> = todo!();\n",
        "src/b.rs": "pub use crate::a::*;\npub use crate::c::*;\nstatic Y: Cell<u8> = todo!();\n",
        "src/c.rs": "pub use pyo3::sync::GILOnceCell as Cell;\n",
    })
    want = ("pyo3", "sync", "GILOnceCell")
    # b first: b -> a -> (b again: cut) finds nothing in a, then b -> c finds it; a's "nothing", found
    # under the cut, must not be remembered: from a, the walk a -> b -> c finds it
    assert names.resolve(Path("src/b.rs"), _node_at(names, "src/b.rs", "Cell<u8>"), "Cell").target == want
    assert names.resolve(Path("src/a.rs"), _node_at(names, "src/a.rs", "Cell<u8>"), "Cell").target == want
    assert names._memo  # lookups are remembered


def test_crate_names_parse_a_file_only_when_a_lookup_reaches_it():
    names = _crate({
        "src/lib.rs": "mod used;\nmod unrelated;\nuse used::X;\nstatic S: X = X;\n",
        "src/used.rs": "pub struct X;\n",
        "src/unrelated.rs": "pub fn f() {}\n",
    })
    names.resolve(Path("src/lib.rs"), _node_at(names, "src/lib.rs", "X = X"), "X")
    assert set(names.index._built) == {Path("src/lib.rs"), Path("src/used.rs")}
    assert names.files_with({"f"}) == [Path("src/unrelated.rs")]  # whole words: `fn`, `pub` do not count


def test_item_names_follow_aliases_of_aliases_across_files():
    from pyo3_migrate.analysis.names import item_names

    names = _crate({
        "src/lib.rs": "mod prelude;\nmod user;\n",
        "src/prelude.rs": "pub use pyo3::sync::GILOnceCell as Cell;\n",
        "src/user.rs": "use crate::prelude::Cell as Lazy;\nstatic X: Lazy<u8> = todo!();\n",
    })
    assert item_names(names, ("pyo3", "sync", "GILOnceCell")) == {"GILOnceCell", "Cell", "Lazy"}


def test_nodes_of_kinds_come_in_source_order():
    tree = rust.parse(b"struct A; fn f() { struct B; } enum C {}\n")
    found = rust.nodes_of_kinds(tree.root_node, ("struct_item", "enum_item"))
    assert [n.type for n in found] == ["struct_item", "struct_item", "enum_item"]
    assert [n.start_byte for n in found] == sorted(n.start_byte for n in found)
