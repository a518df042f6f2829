"""The engine's guarantees, with small codemods made up for the purpose."""

from __future__ import annotations

from pathlib import Path

from pyo3_migrate.core import engine
from pyo3_migrate.core.codemod import Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.project import single_crate
from pyo3_migrate.core.version import Version


def _info(codemod_id: str, safety: Safety = Safety.SAFE) -> CodemodInfo:
    return CodemodInfo(codemod_id, "test", "rust", safety, Version(0, 0), None, "https://example.invalid", "")


class RenameFoo(Codemod):
    """`foo` -> `bar` everywhere; `broken` files get a stray brace instead (a parse error)."""

    info = _info("rename-foo")

    def transform(self, ctx: Context) -> None:
        at = ctx.source.find(b"foo")
        if at == -1:
            return
        replacement = b"bar {" if b"broken" in ctx.source else b"bar"
        ctx.fix("foo -> bar", [Edit(at, at + 3, replacement)])


class Unsafe(Codemod):
    info = _info("unsafe-one", Safety.UNSAFE)

    def transform(self, ctx: Context) -> None:
        at = ctx.source.find(b"fn ")
        if at != -1:
            ctx.fix("rename fn", [Edit(at + 3, at + 4, b"g")])


def _run(files: dict[str, bytes], codemods, include_unsafe: bool = False):
    paths = {Path(k): v for k, v in files.items()}
    project = single_crate(list(paths), "0.26.0")
    options = engine.Options(target=Version(0, 26), include_unsafe=include_unsafe)
    return {r.path.as_posix(): r for r in engine.run(project, paths, codemods, options)}


def test_a_fix_that_breaks_parsing_withdraws_the_codemod_everywhere():
    results = _run({"src/a.rs": b"fn foo() {}\n", "src/b.rs": b"// broken\nfn foo() {}\n"}, [RenameFoo()])
    assert not results["src/a.rs"].changed and not results["src/b.rs"].changed
    assert any("withdrawn" in s and "src/b.rs" in s for s in results["src/a.rs"].skipped)


def test_clean_fixes_apply_and_name_their_codemod():
    results = _run({"src/a.rs": b"fn foo() {}\n"}, [RenameFoo()])
    assert results["src/a.rs"].after == b"fn bar() {}\n"
    assert results["src/a.rs"].codemods() == ["rename-foo"]


def test_unsafe_fixes_wait_for_the_flag():
    held = _run({"src/a.rs": b"fn f() {}\n"}, [Unsafe()])["src/a.rs"]
    assert not held.changed and [f.codemod for f in held.held_back] == ["unsafe-one"]
    applied = _run({"src/a.rs": b"fn f() {}\n"}, [Unsafe()], include_unsafe=True)["src/a.rs"]
    assert applied.after == b"fn g() {}\n"


class Stamp(Codemod):
    """Puts a first line in, once: every later byte moves."""

    info = _info("stamp")

    def transform(self, ctx: Context) -> None:
        if not ctx.source.startswith(b"// stamped"):
            ctx.fix("stamp", [Edit(0, 0, b"// stamped\n")])


def test_a_held_back_fix_is_listed_once_and_points_into_the_final_bytes():
    # the unsafe fix is made before the stamp moves the file, and made again in the next pass
    held = _run({"src/a.rs": b"fn f() {}\n"}, [Unsafe(), Stamp()])["src/a.rs"]
    assert held.after == b"// stamped\nfn f() {}\n"
    assert [f.codemod for f in held.held_back] == ["unsafe-one"]
    (edit,) = held.held_back[0].edits
    assert held.after[edit.start : edit.end] == b"f"


def test_bad_input_is_left_alone_with_a_reason():
    results = _run({"src/a.rs": b"fn foo( {\n", "src/b.rs": b"\xff\xfe\n"}, [RenameFoo()])
    assert results["src/a.rs"].input_error.startswith("syntax error at 1:")
    assert results["src/b.rs"].input_error.startswith("not UTF-8")
    assert not results["src/a.rs"].changed


class Crashes(Codemod):
    info = _info("crashes")

    def transform(self, ctx: Context) -> None:
        raise RuntimeError("a bug")


def test_a_crashing_codemod_costs_only_its_own_edits():
    result = _run({"src/a.rs": b"fn foo() {}\n"}, [Crashes(), RenameFoo()])["src/a.rs"]
    assert result.after == b"fn bar() {}\n"
    assert result.failures == ["crashes: failed (RuntimeError: a bug); file left as it was for this codemod"]


class Needle(Codemod):
    """Records what it is shown: a codemod whose trigger word is `needle`."""

    info = CodemodInfo("needle", "test", "rust", Safety.SAFE, Version(0, 0), None, "https://example.invalid", "",
                       triggers=("needle",))

    def __init__(self):
        self.scanned: list[list[str]] = []
        self.transformed: list[str] = []

    def scan(self, snapshot):
        self.scanned.append(sorted(p.as_posix() for p in snapshot.rust_files()))

    def transform(self, ctx: Context) -> None:
        self.transformed.append(ctx.path.as_posix())


def test_a_crate_without_the_trigger_words_is_never_shown_to_the_codemod():
    from pyo3_migrate.core.project import Crate, Project

    files = {Path("a/src/lib.rs"): b"fn needle() {}\n", Path("a/src/other.rs"): b"fn f() {}\n",
             Path("b/src/lib.rs"): b"fn haystack() {}\n"}
    crates = [Crate("a", Path("a/Cargo.toml"), "0.26", None, None, [], [Path("a/src/lib.rs"), Path("a/src/other.rs")]),
              Crate("b", Path("b/Cargo.toml"), "0.26", None, None, [], [Path("b/src/lib.rs")])]
    project = Project(Path("."), crates, [], [], [])
    needle = Needle()
    engine.run(project, files, [needle], engine.Options(target=Version(0, 26)))
    assert needle.scanned == [["a/src/lib.rs", "a/src/other.rs"]]  # all of crate a, nothing of b
    assert needle.transformed == ["a/src/lib.rs", "a/src/other.rs"]

    engine.run(project, {p: b"fn f() {}\n" for p in files}, [needle := Needle()], engine.Options(target=Version(0, 26)))
    assert needle.scanned == [] and needle.transformed == []


class BumpToml(Codemod):
    """A TOML codemod that changes Cargo.toml once."""

    info = CodemodInfo("bump", "test", "toml", Safety.SAFE, Version(0, 0), None, "https://example.invalid", "")

    def transform(self, ctx: Context) -> None:
        at = ctx.source.find(b"0.1")
        if at != -1:
            ctx.fix("0.1 -> 0.2", [Edit(at, at + 3, b"0.2")])


class Reporter(Codemod):
    """A Rust codemod that reports on every file and counts its runs."""

    info = _info("reporter")

    def __init__(self):
        self.runs = 0

    def scan(self, snapshot):
        self.runs += 1

    def transform(self, ctx: Context) -> None:
        ctx.finding(0, "look here")


def test_a_later_pass_replays_a_codemod_whose_inputs_did_not_change():
    reporter = Reporter()
    files = {Path("Cargo.toml"): b'[package]\nversion = "0.1"\n', Path("src/lib.rs"): b"fn f() {}\n"}
    project = single_crate([Path("src/lib.rs")], "0.26.0")
    results = {r.path.as_posix(): r for r in engine.run(project, files, [reporter, BumpToml()],
                                                       engine.Options(target=Version(0, 26)))}
    assert results["Cargo.toml"].after == b'[package]\nversion = "0.2"\n'  # a second pass followed
    assert reporter.runs == 1  # ... in which the Rust it reads was the same: replayed, not rerun
    assert [f.message for f in results["src/lib.rs"].findings] == ["look here"]


def test_incremental_reparse_gives_the_tree_a_fresh_parse_gives():
    """The engine re-parses a file after a codemod's edits from the tree it had; on every
    fixture step the result is the tree a parse from scratch gives."""
    from pyo3_migrate.core import syntax
    from pyo3_migrate.core.model import apply_edits
    from tests.fixture_cases import discover_cases, run_case

    checked = 0
    for case in discover_cases():
        for result in run_case(case) if case.changes else []:
            for step in result.steps:
                if result.path.suffix != ".rs":
                    continue
                syntax.parse(step.before)
                incremental = syntax.parse_edited(step.before, step.edits, apply_edits(step.before, step.edits))
                fresh = syntax._PARSER.parse(step.after)
                assert str(incremental.root_node) == str(fresh.root_node), (case.id, step.codemod)
                assert incremental.root_node.end_point == fresh.root_node.end_point
                checked += 1
            syntax.clear_caches()
    assert checked > 200
