"""gil-used: say whether each module needs the GIL; never claim free-threading support silently.

What it does
    Free-threaded CPython (3.13t, 3.14t) turns the GIL back on when it imports an extension module
    that has not declared free-threading support. PyO3 0.23 added the declaration
    (`#[pymodule(gil_used = false)]`, `PyModule::gil_used(false)`); PyO3 0.28 flipped the default,
    so a module without `gil_used` now claims support. This codemod runs after the other Rust
    codemods and decides per crate, from the crate's current code:

    - `--declare-free-threaded` (targets 0.23-0.27), and nothing in the crate blocks it: each
      module gets `gil_used = false`, and each submodule created at run time with
      `PyModule::new` + `add_submodule` gets a `sub.gil_used(false)?;` call after it is created
      (also when a helper function returns it and a call of that helper is what this file passes
      to `add_submodule`).
    - Target 0.28 or later, crate on an older PyO3, no `--declare-free-threaded`: each module gets
      `gil_used = true`, so that the upgrade does not start claiming support on its own. With the
      flag (and no blocker) nothing is needed: 0.28's default already claims support.
    - `--declare-free-threaded` with blockers: nothing is declared (for 0.28+ targets the modules
      get `gil_used = true`, as without the flag); every blocker is reported where it is, and every
      module that was left says why.
    - Without the flag below 0.28: nothing (declaring support is the user's choice).

    Blockers, searched in the crate and the crates it depends on by `path` (after the other
    codemods have run): `GILProtected`, a remaining `GILOnceCell`, `#[pyclass(unsendable)]`,
    `static mut`, an explicit `gil_used = true` on a module or a runtime submodule (targets below
    0.28), and for targets 0.26 or later (where their replacements exist) remaining `with_gil`,
    `with_gil_unchecked`, `allow_threads` and `assume_gil_acquired` calls. Code compiled only on
    GIL-enabled builds (`#[cfg(not(Py_GIL_DISABLED))]` on the item or an enclosing one) does not
    block: the declaration is only read by free-threaded builds.

    Module shapes: `#[pymodule] fn`, `#[pymodule] mod` (declarative), `#[pyo3::pymodule]` (and
    `pyo3::prelude::pymodule`), options in a separate `#[pyo3(..)]` attribute (a `gil_used` there
    counts as explicit), `#[cfg_attr(PRED, pymodule(..))]` (the option goes inside each branch
    that lacks it; a `gil_used` in any branch counts as explicit), runtime submodules.

Example
    #[pymodule]                                   #[pymodule(gil_used = false)]
    fn fast(m: &Bound<'_, PyModule>)        ->    fn fast(m: &Bound<'_, PyModule>)
    #[pyo3::pymodule(name = "_x")]                #[pyo3::pymodule(name = "_x", gil_used = false)]
    let sub = PyModule::new(py, "sub")?;          let sub = PyModule::new(py, "sub")?;
                                                  sub.gil_used(false)?;
    (with --declare-free-threaded, target 0.26; for a 0.28 target without the flag:
    `#[pymodule(gil_used = true)]`)

What it will not do
    - An explicit `gil_used = ...` (in `pymodule`, `pyo3` or a `cfg_attr` branch, or a
      `.gil_used(..)` call) is never changed; `gil_used = true` is never flipped.
    - Submodules declared with the macro (a `#[pymodule] mod` directly inside a `#[pymodule]
      mod`, or a `fn` or `mod` marked `submodule`) are left alone. PyO3 does not pass the
      parent's `gil_used` down to them (0.23-0.27 always mark them as needing the GIL whatever
      they say; 0.28+ gives each its own flag), and CPython only reads the flag of the module the
      import system loads (the one with the `PyInit_` symbol), so the top-level declaration is
      the one that counts.
    - Submodules created at run time get no `gil_used(true)` call for 0.28+ targets (0.28's
      `PyModule::new` marks them free-threading-ready, but CPython never reads that flag on a
      module it did not import), and none when `PyModule::new(..)` is not bound by `let x = ..?;`
      or is returned from a function that this file never passes to `add_submodule` (reported
      instead).
    - A `#[pymodule]` written inside a macro (`macro_rules!` body or invocation) is not edited:
      it is reported wherever this codemod would have written `gil_used` on it.
    - A crate already on PyO3 0.28 or later keeps its modules as they are (the new default is
      already its behaviour); with the flag and blockers it gets findings only.
    - Targets below 0.23: not applicable (`gil_used` did not exist).

Fix safety
    Safe. `gil_used = false` is only written when the user passes `--declare-free-threaded`: a
    behaviour change they asked for (free-threaded builds keep the GIL off after import), made
    only when the scan finds nothing that relied on the GIL. `gil_used = true` for 0.28+ targets
    keeps the behaviour the module had before the upgrade.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node, Tree

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import (
    AttrUse,
    attributes_before,
    indent_text,
    path_of_tokens,
)
from pyo3_migrate.analysis.modules import Insertion, ModuleDecl, bool_literal, is_pymodule, module_decl
from pyo3_migrate.core.cargo import dependency_tables, toml_document
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Safety, line_col
from pyo3_migrate.core.version import V0_23, V0_26, V0_28, Version

_GIL_ERA_API = ("with_gil", "with_gil_unchecked", "allow_threads", "assume_gil_acquired")
_GIL_TYPES = {
    "GILProtected": "`GILProtected` relies on the GIL for mutual exclusion (free-threaded builds do not have it): "
    "replace it with a `Mutex` first",
    "GILOnceCell": "`GILOnceCell` remains (once-lock left it for a person): migrate it first",
}
# What `analyze` looks for is spelled with one of these (`static mut` is looked for on its own; a
# runtime submodule is made with `PyModule::new`).
_WORDS = (*_GIL_ERA_API, *_GIL_TYPES, "unsendable", "pymodule", "PyModule::new")


def _may_matter(source: bytes) -> bool:
    return any(word.encode() in source for word in _WORDS) or _has_static_mut(source)


def _has_static_mut(source: bytes) -> bool:
    at = source.find(b"static")
    while at != -1:
        if source[at + 6 : at + 40].lstrip().startswith(b"mut"):
            return True
        at = source.find(b"static", at + 6)
    return False


INFO = CodemodInfo(
    id="gil-used",
    summary="declare gil_used = false on request when nothing blocks it; keep the GIL (gil_used = true) across 0.28",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_23,
    max_target=None,
    guide=f"{GUIDE}#default-to-supporting-free-threaded-python",
    docs=__doc__.strip(),
    stages=(V0_28,),
    triggers=(*_WORDS, "static mut"),  # a crate that spells none has no module and no blocker
    trigger_test=_may_matter,  # `static` then `mut` across any spacing
    reads_manifests=True,  # path dependencies: a dependency crate's blockers count
)

# Code under these is not part of a free-threaded build of the extension: it blocks nothing.
_COMPILED_OUT = {"#[cfg(not(Py_GIL_DISABLED))]", "#[cfg(test)]"}
_NOT_EXTENSION_DIRS = {"tests", "benches", "examples"}  # integration tests and the like


# ------------------------------------------------------------------------------ per-file facts


@dataclass(frozen=True)
class RuntimeSub:
    var: str | None
    offset: int  # the `PyModule::new` call
    explicit: bool | None
    has_explicit: bool
    insertion: Insertion | None  # None: cannot be edited safely (`note` says why)
    note: str | None = None


@dataclass(frozen=True)
class Blocker:
    offset: int
    reason: str
    api: bool = False  # a GIL-era API name: a blocker only where its replacement exists (>= 0.26)


@dataclass
class FileFacts:
    modules: list[ModuleDecl] = field(default_factory=list)
    subs: list[RuntimeSub] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    in_macros: list[int] = field(default_factory=list)  # `#[pymodule]`s inside macro token trees


def _runtime_sub(source: bytes, call: Node, adders: set[str]) -> RuntimeSub | None:
    """A `PyModule::new(..)` call whose module becomes a submodule: passed to `add_submodule` in
    its function, or returned from a function whose call is passed to one (`adders`: the names
    of the functions called inside `add_submodule(..)` arguments in this file)."""
    body = next((a for a in rust.ancestors(call) if a.type in ("function_item", "closure_expression")), None)
    if body is None:
        return None
    parent = call.parent
    let = parent.parent if parent is not None and parent.type == "try_expression" else None
    var = None
    if let is not None and let.type == "let_declaration" and let.child_by_field_name("value") == parent:
        pattern = let.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "identifier":
            var = rust.text(source, pattern)
    added = False
    explicit: list[bool | None] = []
    for node in rust.walk(body):
        if node.type != "call_expression":
            continue
        function = node.child_by_field_name("function")
        if function is None or function.type != "field_expression":
            continue
        method = rust.text(source, function.child_by_field_name("field"))
        receiver = function.child_by_field_name("value")
        arguments = node.child_by_field_name("arguments")
        if method == "add_submodule" and arguments is not None:
            if var is not None and any(
                n.type == "identifier" and rust.text(source, n) == var for n in rust.walk(arguments)
            ):
                added = True
            elif any(n.id == call.id for n in rust.walk(arguments)):
                added = True  # `m.add_submodule(&PyModule::new(py, "sub")?)`
        elif method == "gil_used" and var is not None and rust.text(source, receiver) == var:
            args = [c for c in arguments.named_children] if arguments is not None else []
            explicit.append(bool_literal(source, args[0]) if len(args) == 1 else None)
    value = True if True in explicit else (False if False in explicit else None)
    note = None
    if not added:
        if var is None or body.type != "function_item" or not _returns(source, body, var):
            return None
        name = rust.text(source, body.child_by_field_name("name"))
        if name not in adders:
            note = (f"module created at run time and returned from `fn {name}`: if it becomes a submodule, "
                    f"call `{var}.gil_used(false)?` on it by hand")
    elif var is None:
        note = "submodule created at run time and not bound by `let x = ...?;`: call `.gil_used(false)?` on it by hand"
    insertion = _statement_after(source, let, var) if var is not None and note is None else None
    return RuntimeSub(var, call.start_byte, value, bool(explicit), insertion, note)


def _returns(source: bytes, function: Node, var: str) -> bool:
    """`fn f(..) { ..; Ok(var) }` (or `var`, or `return Ok(var);`): the function hands var out."""
    block = function.child_by_field_name("body")
    if block is None:
        return False
    results = [r.named_children[0] for r in rust.walk(block) if r.type == "return_expression" and r.named_children]
    tail = [c for c in block.named_children if c.type not in ("line_comment", "block_comment")][-1:]
    results += [t for t in tail if t.type.endswith("_expression") or t.type == "identifier"]
    return any(_is_var_or_ok_var(source, r, var) for r in results)


def _is_var_or_ok_var(source: bytes, node: Node, var: str) -> bool:
    if node.type == "identifier":
        return rust.text(source, node) == var
    if node.type != "call_expression":
        return False
    function = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    values = [a for a in args.named_children if a.type not in ("line_comment", "block_comment")] if args else []
    return (function is not None and rust.text(source, function) == "Ok" and len(values) == 1
            and values[0].type == "identifier" and rust.text(source, values[0]) == var)


def _submodule_makers(source: bytes, tree: Tree) -> set[str]:
    """Names of the functions called inside `add_submodule(..)` arguments: `m.add_submodule(&make(py)?)`."""
    names = set()
    for node in rust.tree_nodes(tree, ("call_expression",)):
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is None or function.type != "field_expression" or arguments is None:
            continue
        if rust.text(source, function.child_by_field_name("field")) != "add_submodule":
            continue
        for inner in rust.walk(arguments):
            callee = inner.child_by_field_name("function") if inner.type == "call_expression" else None
            if callee is not None and callee.type in ("identifier", "scoped_identifier"):
                names.add(rust.path_segments(source, callee)[-1])
    return names


def _statement_after(source: bytes, let: Node, var: str) -> Insertion:
    eol = rust.line_ending(source)
    statement = f"{var}.gil_used({{}})?;"
    line_end = source.find(b"\n", let.end_byte)
    rest = source[let.end_byte : len(source) if line_end == -1 else line_end]
    tail = rest.strip()
    if tail and not tail.startswith(b"//"):
        return Insertion(let.end_byte, " " + statement)  # more code on the let's line
    indent = indent_text(source, let.start_byte)
    if line_end == -1:
        return Insertion(len(source), eol.decode() + indent + statement)
    return Insertion(line_end + 1, indent + statement + eol.decode())


def _not_in_free_threaded_extension(source: bytes, node: Node) -> bool:
    """Under `#[cfg(not(Py_GIL_DISABLED))]` or `#[cfg(test)]`, on node or anything enclosing it
    (attributes count for the item they are attached to)."""
    for a in [node, *rust.ancestors(node)]:
        owner = _attributed_item(a) if a.type == "attribute_item" else a
        for attr in attributes_before(owner):
            if "".join(rust.text(source, attr).split()) in _COMPILED_OUT:
                return True
    return False


def _attributed_item(attr_item: Node) -> Node:
    """The item (or statement) an outer attribute is attached to."""
    sibling = attr_item.next_sibling
    while sibling is not None and sibling.type in ("attribute_item", "line_comment", "block_comment"):
        sibling = sibling.next_sibling
    return sibling or attr_item


_NAME_KINDS = ("identifier", "type_identifier", "field_identifier")
_BLOCKER_WORDS = rust.as_words((*_GIL_ERA_API, *_GIL_TYPES))


def _blockers(source: bytes, tree) -> list[Blocker]:
    found: list[tuple[Blocker, Node]] = []
    type_mentions: dict[str, list[Node]] = {}
    names = [n for n in rust.spelled(source, tree.root_node, _BLOCKER_WORDS) if n.type in _NAME_KINDS]
    items = rust.tree_nodes(tree, ("static_item", "attribute_item"))
    for node in sorted(names + items, key=lambda n: (n.start_byte, -n.end_byte)):
        kind = node.type
        if kind in ("identifier", "type_identifier"):
            written = rust.text(source, node)
            if written in _GIL_TYPES:
                type_mentions.setdefault(written, []).append(node)
                continue
        if kind in ("identifier", "field_identifier") and rust.text(source, node) in _GIL_ERA_API:
            if not any(a.type == "use_declaration" for a in rust.ancestors(node)):
                name = rust.text(source, node)
                reason = f"`{name}` remains: a GIL-era API (migrate it, and review what it relied on the GIL for)"
                found.append((Blocker(node.start_byte, reason, api=True), node))
        elif kind == "static_item" and any(c.type == "mutable_specifier" for c in node.children):
            name = node.child_by_field_name("name")
            written = rust.text(source, name) if name is not None else "?"
            reason = f"`static mut {written}`: global state the GIL used to serialise; without it threads race on it"
            found.append((Blocker(node.start_byte, reason), node))
        elif kind == "attribute_item" and _unsendable(source, node):
            reason = ("`#[pyclass(unsendable)]`: the class may only be used from the thread that created it, "
                      "which free-threaded Python rarely keeps")
            found.append((Blocker(node.start_byte, reason), node))
    for name, nodes in type_mentions.items():
        outside_use = [n for n in nodes if not any(a.type == "use_declaration" for a in rust.ancestors(n))]
        for n in outside_use or nodes:
            found.append((Blocker(n.start_byte, _GIL_TYPES[name]), n))
    kept, lines = [], set()
    for b, node in sorted(found, key=lambda pair: pair[0].offset):
        line = source.count(b"\n", 0, b.offset)
        if (line, b.reason) in lines or _not_in_free_threaded_extension(source, node):
            continue
        lines.add((line, b.reason))
        kept.append(b)
    return kept


def _unsendable(source: bytes, attr_item: Node) -> bool:
    attr = next((c for c in attr_item.named_children if c.type == "attribute"), None)
    if attr is None or not attr.named_children:
        return False
    path = rust.path_segments(source, attr.named_children[0])
    if not path or path[-1] not in ("pyclass", "pyo3", "cfg_attr"):
        return False
    return any(n.type == "identifier" and rust.text(source, n) == "unsendable" for n in rust.walk(attr))


def _macro_modules(source: bytes, tree: Tree) -> list[int]:
    """`#[pymodule]`s written inside a macro (`macro_rules!` bodies, invocations) with no
    `gil_used` and no `submodule`: token trees this tool does not edit."""
    found = []
    for node in rust.tree_nodes(tree, ("token_tree",)):
        if node.prev_sibling is None or node.prev_sibling.type != "#":
            continue
        inner = node.children[1:-1]
        if not inner or node.children[0].type != "[":
            continue
        args = inner[-1] if inner[-1].type == "token_tree" else None
        path = inner[:-1] if args is not None else inner
        if not path or any(t.type not in ("identifier", "::") for t in path):
            continue
        if not is_pymodule(AttrUse(path_of_tokens(source, path), path[-1].end_byte, args)):
            continue
        words = {rust.text(source, t) for t in rust.walk(args) if t.type == "identifier"} if args else set()
        if not words & {"gil_used", "submodule"}:
            found.append(node.prev_sibling.start_byte)
    return found


_ANALYSED: dict[bytes, "FileFacts"] = rust.run_cache()


def analyze(source: bytes) -> FileFacts:
    """The modules, runtime submodules and blockers of one file (once per distinct bytes; a file
    that spells none of what they are made of is not parsed)."""
    facts = _ANALYSED.get(source)
    if facts is None:
        facts = _ANALYSED[source] = _analyze(source) if _may_matter(source) else FileFacts()
    return facts


def _analyze(source: bytes) -> FileFacts:
    tree = rust.parse(source)
    facts = FileFacts()
    adders = _submodule_makers(source, tree)
    for node in rust.tree_nodes(tree, ("function_item", "mod_item", "call_expression")):
        if node.type in ("function_item", "mod_item"):
            module = module_decl(source, node)
            if module is not None:
                facts.modules.append(module)
        elif node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None and function.type == "scoped_identifier":
                segs = rust.path_segments(source, function)
                if len(segs) >= 2 and segs[-2] == "PyModule" and segs[-1] in ("new", "new_bound"):
                    sub = _runtime_sub(source, node, adders)
                    if sub is not None:
                        facts.subs.append(sub)
    facts.blockers = _blockers(source, tree)
    facts.in_macros = _macro_modules(source, tree)
    return facts


# ------------------------------------------------------------------------------ crate-wide facts


@dataclass(frozen=True)
class Located:
    path: Path
    offset: int
    line: int
    reason: str


@dataclass
class CrateDecision:
    blockers: list[Located]
    own_version: Version | None  # the crate's PyO3 before the migration (None: unknown)


@dataclass
class Facts:
    flag: bool
    crates: dict[Path, CrateDecision] = field(default_factory=dict)  # by manifest
    report: dict[Path, list[Located]] = field(default_factory=dict)  # blockers to report, by file


def _path_dependencies(snapshot: Snapshot) -> dict[Path, set[Path]]:
    """Crate manifest -> manifests of the project's crates it depends on by `path` (transitively)."""
    crates = snapshot.project.crates
    by_dir = {os.path.normpath(str(c.directory)): c.manifest for c in crates}
    manifests: dict[Path, dict] = {}
    for path, data in snapshot.contents.items():
        if path.name == "Cargo.toml":
            try:
                manifests[path] = toml_document(data)
            except (UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
    direct: dict[Path, set[Path]] = {}
    for crate in crates:
        manifest = manifests.get(crate.manifest, {})
        deps = set()
        for _, table in dependency_tables(manifest, ("dependencies",), workspace=False):
            for name, entry in table.items():
                where = _dependency_dir(crate.manifest, name, entry, manifests)
                if where is not None and where in by_dir:
                    deps.add(by_dir[where])
        direct[crate.manifest] = deps
    closure: dict[Path, set[Path]] = {}
    for crate in crates:
        seen, stack = {crate.manifest}, [crate.manifest]
        while stack:
            for dep in direct.get(stack.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        closure[crate.manifest] = seen
    return closure


def _dependency_dir(manifest: Path, name: str, entry: object, manifests: dict[Path, dict]) -> str | None:
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("path"), str):
        return os.path.normpath(str(manifest.parent / entry["path"]))
    if entry.get("workspace") is True:
        for parent in manifest.parents[1:]:
            root = parent / "Cargo.toml"
            workspace = manifests.get(root, {}).get("workspace")
            if workspace is not None:
                ws_entry = workspace.get("dependencies", {}).get(name)
                if isinstance(ws_entry, dict) and isinstance(ws_entry.get("path"), str):
                    return os.path.normpath(str(parent / ws_entry["path"]))
                return None
    return None


def _in_extension(directory: Path, path: Path) -> bool:
    """Whether a crate's file can be part of the built extension (not tests/, benches/, build.rs)."""
    try:
        parts = path.relative_to(directory).parts
    except ValueError:
        return True
    return not (parts and parts[0] in _NOT_EXTENSION_DIRS) and parts != ("build.rs",)


def _needs_decision(facts: FileFacts, target) -> bool:
    """Something here the flag asks about: a module or runtime submodule that does not declare
    `gil_used = false` (undeclared, or explicitly `true`)."""
    if facts.in_macros or any(not m.nested and (not m.has_explicit or m.explicit is True) for m in facts.modules):
        return True
    return target < V0_28 and any(not s.has_explicit or s.explicit is True for s in facts.subs)


class GilUsedCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> Facts:
        flag = snapshot.options.declare_free_threaded
        facts = Facts(flag)
        closure = _path_dependencies(snapshot)
        by_manifest = {c.manifest: c for c in snapshot.project.crates}
        own: dict[Path, list[Located]] = {}
        for crate in snapshot.project.crates:
            located = []
            for path in snapshot.rust_files(crate):
                if not _in_extension(crate.directory, path):
                    continue
                source = snapshot.contents[path]
                target = snapshot.target_for(path)
                file_facts = analyze(source)
                for b in file_facts.blockers:
                    if b.api and (target is None or target < V0_26):
                        continue
                    located.append(Located(path, b.offset, line_col(source, b.offset)[0], b.reason))
                if target is not None and target < V0_28:
                    for m in file_facts.modules:
                        if m.explicit is True:
                            located.append(Located(path, m.offset, line_col(source, m.offset)[0],
                                                   f"module `{m.name}` declares `gil_used = true`: it says it needs "
                                                   "the GIL (kept, never flipped)"))
                    for s in file_facts.subs:
                        if s.explicit is True:
                            located.append(Located(path, s.offset, line_col(source, s.offset)[0],
                                                   f"submodule `{s.var}` is marked `gil_used(true)`: it says it "
                                                   "needs the GIL (kept, never flipped)"))
            own[crate.manifest] = located
        for crate in snapshot.project.crates:
            members = sorted(closure.get(crate.manifest, {crate.manifest}), key=str)
            blockers = sorted((b for m in members for b in own.get(m, [])), key=lambda b: (str(b.path), b.offset))
            facts.crates[crate.manifest] = CrateDecision(blockers, crate.pyo3_version)
            if not (flag and blockers):
                continue
            wants = False
            for path in snapshot.rust_files(by_manifest[crate.manifest]):
                target = snapshot.target_for(path)
                if target is not None and target >= V0_23:
                    wants = wants or _needs_decision(analyze(snapshot.contents[path]), target)
            if wants:
                for b in blockers:
                    if b not in facts.report.setdefault(b.path, []):
                        facts.report[b.path].append(b)
        return facts

    def transform(self, ctx: Context) -> None:
        facts: Facts = ctx.facts
        for b in facts.report.get(ctx.path, []):
            ctx.finding(b.offset, f"blocks --declare-free-threaded: {b.reason}")
        crate = ctx.crate
        if crate is None or crate.manifest not in facts.crates:
            return
        decision = facts.crates[crate.manifest]
        file_facts = analyze(ctx.source)
        blocked = bool(decision.blockers)
        declare = facts.flag and not blocked
        why = ""
        if facts.flag and blocked:
            first = decision.blockers[0]
            why = (f"the crate has {len(decision.blockers)} blocker(s), each reported where it is "
                   f"(first at {first.path}:{first.line})")
        crosses = decision.own_version is None or decision.own_version < V0_28
        for module in file_facts.modules:
            name = f"module `{module.name}`"
            if module.nested:
                continue
            if module.has_explicit:
                if facts.flag and module.explicit is True and ctx.target >= V0_28:
                    ctx.finding(module.offset, f"{name} keeps the GIL (`gil_used = true`): " + (
                        why or "it is never flipped, though nothing else in the crate blocks free-threading "
                        "support: remove it by hand to declare support"))
                continue
            if ctx.target < V0_28:
                if declare:
                    self._write(ctx, module.insertions, False, f"{name}: gil_used = false (declared on request)")
                elif why:
                    ctx.finding(module.offset, f"{name} is not declared free-threaded: {why}")
            elif declare:
                continue  # 0.28's default already claims support, as asked
            elif crosses:
                self._write(ctx, module.insertions, True, f"{name}: gil_used = true (keeps the GIL across 0.28)")
                if why:
                    ctx.finding(module.offset, f"{name} keeps the GIL (`gil_used = true`): {why}")
            elif why:
                ctx.finding(module.offset, f"{name} claims free-threading support (the PyO3 >= 0.28 default), "
                                           f"but {why}: consider `gil_used = true`")
        for offset in file_facts.in_macros:
            self._report_macro_module(ctx, offset, declare, crosses, why)
        if ctx.target >= V0_28 or not declare:
            return
        for sub in file_facts.subs:
            if sub.has_explicit:
                continue
            if sub.insertion is None:
                ctx.finding(sub.offset, sub.note or "submodule created at run time: call `.gil_used(false)?` on it")
            else:
                self._write(ctx, (sub.insertion,), False, f"submodule `{sub.var}`: gil_used(false)")

    @staticmethod
    def _report_macro_module(ctx: Context, offset: int, declare: bool, crosses: bool, why: str) -> None:
        """What the module-shaped code above would have written, asked of a person instead."""
        where = "a `#[pymodule]` inside a macro (this tool does not edit macro bodies)"
        if ctx.target < V0_28 and declare:
            ctx.finding(offset, f"{where}: add `gil_used = false` to it by hand")
        elif ctx.target < V0_28 and why:
            ctx.finding(offset, f"{where} is not declared free-threaded: {why}")
        elif ctx.target >= V0_28 and not declare and crosses:
            ctx.finding(offset, f"{where}: add `gil_used = true` to it by hand, or PyO3 >= 0.28 makes it claim "
                                "free-threading support" + (f" ({why})" if why else ""))

    @staticmethod
    def _write(ctx: Context, insertions: tuple[Insertion, ...], value: bool, message: str) -> None:
        ctx.fix(message, [i.edit(value) for i in insertions])


CODEMOD = GilUsedCodemod()
