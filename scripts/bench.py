"""Benchmark pyo3-migrate against ast-grep and ripgrep on a generated (or real) PyO3 workspace.

Usage (from anywhere; standard library only):

    python scripts/bench.py                          # default corpus, 3 repetitions (takes minutes)
    python scripts/bench.py --crates 3 --files 60 --longest 800 --nesting 100 --py-files 20 --repeat 1
    python scripts/bench.py --tool "/path/.venv/bin/pyo3-migrate" --ast-grep /path/ast-grep
    python scripts/bench.py --generate-only /tmp/corpus   # write the corpus and exit (for profiling)
    python scripts/bench.py --real ~/src/proj1 ~/src/proj2 --timeout 600

The generated corpus (seeded, so the same flags give the same bytes) is a maturin project: a cargo
workspace of `--crates` members under crates/ (the PyO3 ones on pyo3 0.22.6, directly or through
`[workspace.dependencies]`, plus a Cargo.lock), nested `mod` trees up to `--depth`, `pub use x::*;`
re-export chains, a crate `prelude.rs` re-exporting `GILOnceCell as Cell`, one `--longest`-line
file, one file with a `--nesting`-deep expression, `--py-files` Python files under python/<pkg>/,
and a Python 2 file under tests/data/. Beside it: one-crate projects whose lib.rs has 400, 1,600
and 6,400 lines, and two small projects (the deeply nested file vs a flat file of the same size).

Each command runs as its own process `--repeat` times; wall time is measured around the process,
peak RSS comes from os.wait4 on that child. The script prints the corpus stats and a Markdown table
(median and min seconds, ratio to ast-grep, peak RSS, the acceptance target, pass/FAIL). With
`--real`, one row per directory instead. Our command is `<tool> diff DIR --target-pyo3 0.26` (all
codemods); `--target-pyo3 none` drops the flag so each crate's own PyO3 version is the target.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PYO3 = "0.22.6"
PKG = "acme"
SIZES = (400, 1600, 6400)
SKIP_DIRS = {"target", "node_modules", "__pycache__", "build", "dist"}
WORDS = "io codec cache graph geom parse schema store stats net auth text units util model query index plan".split()
SPINE = ["api", "inner", "detail", "imp", "raw", "base", "leaf"]

# Rust item templates, separated by `~~~` lines; `@` becomes a corpus-wide unique number.
PLAIN = """
/// A record kept by stage @.
#[derive(Debug, Clone, PartialEq)]
pub struct Record@ {
    pub id: u64,
    pub name: String,
    pub weights: Vec<f64>,
}

impl Record@ {
    pub fn new(id: u64, name: &str) -> Self {
        Self { id, name: name.to_owned(), weights: Vec::new() }
    }

    pub fn describe(&self) -> String {
        let total: f64 = self.weights.iter().copied().sum();
        format!("record {} ({}): {total:.2}", self.id, self.name)
    }
}
~~~
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State@ {
    Idle,
    Running { ticks: u32 },
    Done(i64),
}

pub fn advance@(state: State@) -> State@ {
    match state {
        State@::Idle => State@::Running { ticks: 0 },
        State@::Running { ticks } if ticks >= 10 => State@::Done(i64::from(ticks)),
        State@::Running { ticks } => State@::Running { ticks: ticks + 1 },
        State@::Done(code) => State@::Done(code),
    }
}
~~~
/* Parses "key = value" lines; '#' starts a comment. */
pub fn parse_pairs@(input: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in input.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            out.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}
~~~
pub trait Score@ {
    fn score(&self) -> i64;

    fn label(&self) -> &'static str {
        "unnamed"
    }
}

impl Score@ for [i64] {
    fn score(&self) -> i64 {
        self.iter().filter(|v| **v > 0).sum()
    }
}
~~~
pub const LIMIT_@: usize = 64;
static NAMES_@: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

/// Looks a name up by index (wrapping at `LIMIT_@`).
pub fn name_for@(index: usize) -> Option<&'static str> {
    NAMES_@.get(index % LIMIT_@).copied()
}
~~~
#[derive(Debug)]
pub enum Error@ {
    Missing(String),
    Invalid { line: usize, reason: String },
}

impl std::fmt::Display for Error@ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error@::Missing(name) => write!(f, "missing field `{name}`"),
            Error@::Invalid { line, reason } => write!(f, "line {line}: {reason}"),
        }
    }
}

impl std::error::Error for Error@ {}
~~~
pub fn checksum@(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests_@ {
    use super::*;

    #[test]
    fn checksum_is_stable() {
        let data: Vec<u8> = (0..32).collect();
        assert_eq!(checksum@(&data), checksum@(&data));
        assert_ne!(checksum@(b"a"), checksum@(b"b"));
    }
}
~~~
macro_rules! square_@ {
    ($x:expr) => {
        $x * $x
    };
}

pub fn area@(sides: &[u32]) -> u32 {
    sides.iter().map(|s| square_@!(*s)).sum()
}
""".strip().split("\n~~~\n")

LOOKALIKE = """// Not PyO3 code: GILOnceCell and Python::with_gil appear in this text only.
pub const NOTE_@: &str = "GILOnceCell lives in the extension crate";"""

PYO3_ITEMS = """
static IMPORTED_@: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

pub fn imported@(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let obj = IMPORTED_@.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import_bound("decimal")?.getattr("Decimal")?.unbind())
    })?;
    Ok(obj.bind(py))
}
~~~
static SENTINEL_@: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

pub fn sentinel@(py: Python<'_>) -> Py<PyAny> {
    SENTINEL_@.get_or_init(py, || py.None()).clone_ref(py)
}
~~~
#[pyclass]
pub struct TypeCache@ {
    cell: GILOnceCell<Py<PyType>>,
    hits: u64,
}

impl Clone for TypeCache@ {
    fn clone(&self) -> Self {
        Python::with_gil(|py| {
            let c = GILOnceCell::new();
            if let Some(v) = self.cell.get(py) {
                let _ = c.set(py, v.clone_ref(py));
            }
            TypeCache@ { cell: c, hits: self.hits }
        })
    }
}
~~~
static SEEN_@: GILProtected<RefCell<Vec<u32>>> = GILProtected::new(RefCell::new(Vec::new()));

pub fn record@(py: Python<'_>, value: u32) -> usize {
    SEEN_@.get(py).borrow_mut().push(value);
    SEEN_@.get(py).borrow().len()
}
~~~
pub fn checksum_detached@(data: Vec<u8>) -> u64 {
    Python::with_gil(|py| py.allow_threads(move || data.iter().map(|b| u64::from(*b)).sum()))
}
~~~
#[pyfunction]
pub fn first_item@(py: Python<'_>, items: Vec<PyObject>) -> Option<PyObject> {
    items.first().map(|obj| obj.clone_ref(py))
}
~~~
#[pyclass]
#[derive(Clone)]
pub struct Labelled@ {
    obj: Py<PyAny>,
    weight: f64,
}

#[pymethods]
impl Labelled@ {
    #[new]
    fn new(obj: Py<PyAny>, weight: f64) -> Self {
        Self { obj, weight }
    }

    fn label(&self, py: Python<'_>) -> PyResult<String> {
        let obj = self.obj.clone();
        Ok(format!("{} x{}", obj.bind(py).repr()?, self.weight))
    }
}
""".strip().split("\n~~~\n")

HEADERS = {  # how a PyO3 file reaches the cell types
    "direct": "use std::cell::RefCell;\n\nuse pyo3::prelude::*;\nuse pyo3::sync::{GILOnceCell, GILProtected};\n"
              "use pyo3::types::PyType;\n",
    "qualified": "use std::cell::RefCell;\n\nuse pyo3::prelude::*;\nuse pyo3::types::PyType;\n",
    "prelude": "use std::cell::RefCell;\n\nuse crate::prelude::*;\n",
}
PRELUDE = """//! The crate prelude: PyO3 plus the cell types under short names.
pub use pyo3::prelude::*;
pub use pyo3::sync::GILOnceCell as Cell;
pub use pyo3::sync::GILProtected;
pub use pyo3::types::{PyDict, PyList, PyTuple, PyType};
"""

PY_MODULE = '''"""$DOC"""

from __future__ import annotations

import dataclasses
import functools
from typing import Iterable

from $PKG import _core

__all__ = ["Item$N", "load$N", "summarise$N"]


@dataclasses.dataclass(frozen=True)
class Item$N:
    name: str
    weight: float = 1.0

    def scaled(self, factor: float) -> "Item$N":
        return dataclasses.replace(self, weight=self.weight * factor)


@functools.lru_cache(maxsize=None)
def load$N(name: str) -> Item$N:
    """Build an item; its weight comes from the native extension."""
    return Item$N(name=name, weight=float(len(_core.version())))


def summarise$N(items: Iterable[Item$N]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for item in items:
        totals[item.name] = totals.get(item.name, 0.0) + item.weight
    return totals
'''
PY_HELPER = '''

def helper$N(values: list[int], *, limit: int = 10) -> list[int]:
    """Keep the first `limit` positive values, doubled."""
    out = []
    for value in values:
        if value <= 0:
            continue
        out.append(value * 2)
        if len(out) >= limit:
            break
    return out
'''


# ---------------------------------------------------------------- generation

def rust_items(rng: random.Random, ids, lines: int, pyo3_ratio: float, style: str = "direct") -> str:
    """Items until `lines` is reached; PyO3 ones (the first always, when pyo3_ratio > 0) in `style`."""
    chunks, count = [], 0
    while count < lines:
        pyo3 = pyo3_ratio > 0 and (not chunks or rng.random() < pyo3_ratio)
        if pyo3:
            text = rng.choice(PYO3_ITEMS)
            text = text.replace("GILOnceCell", {"prelude": "Cell", "qualified": "pyo3::sync::GILOnceCell"}.get(
                style, "GILOnceCell"))
            if style == "qualified":
                text = text.replace("GILProtected", "pyo3::sync::GILProtected")
        else:
            text = LOOKALIKE if rng.random() < 0.01 else rng.choice(PLAIN)
        chunks.append(text.replace("@", str(next(ids))))
        count += text.count("\n") + 2
    return "\n\n".join(chunks) + "\n"


def pad_to(text: str, lines: int) -> str:
    """Cut or pad (with comment lines) to exactly `lines` lines, ending at an item boundary."""
    kept = text.splitlines()
    if len(kept) > lines:  # cut at a blank line before a top-level item
        cuts = [k for k in range(lines + 1) if kept[k] == "" and kept[k + 1][:1] not in ("", " ", "}")]
        kept = kept[:max(cuts, default=lines)]
    return "\n".join(kept + [f"// padding line {i}" for i in range(lines - len(kept))]) + "\n"


def nested_fn(depth: int, deep: bool) -> str:
    """`(1 + (2 + (... (depth))))` inside with_gil, or a flat array sum of the same numbers and lines."""
    if deep:
        terms = [f"({k} + " for k in range(1, depth)] + [f"({depth}" + ")" * depth]
    else:
        terms = [f"{k}, " for k in range(1, depth + 1)]
    rows = ["        " + "".join(terms[i:i + 10]) for i in range(0, len(terms), 10)]
    expr = "\n".join(rows) if deep else "[\n" + "\n".join(rows) + "\n    ].iter().sum()"
    return (f"pub fn nested_total() -> u64 {{\n    Python::with_gil(|_py| {{\n        let x: u64 = {expr};\n"
            f"        x\n    }})\n}}\n")


@dataclass
class Node:
    name: str
    parent: int | None
    depth: int
    children: list[int] = field(default_factory=list)
    glob: str = ""  # the child it re-exports with `pub use child::*;`
    text: str = ""  # the body after the mod declarations
    pyo3: bool = False


def module_tree(rng: random.Random, modules: int, depth: int, chain: int) -> list[Node]:
    """Root (lib.rs) plus `modules` nodes: a spine of `depth` first (glob re-exports on its last
    `chain` links), the rest hung under random nodes above the maximum depth."""
    nodes = [Node("lib", None, 0)]
    spine = min(depth, modules)
    for i in range(modules):
        if i < spine:
            parent = i
            name = SPINE[i] if i < len(SPINE) else f"level{i}"
        else:
            parent = rng.choice([j for j, n in enumerate(nodes) if n.depth < depth])
            name = f"{rng.choice(WORDS)}_{i}"
        nodes.append(Node(name, parent, nodes[parent].depth + 1))
        nodes[parent].children.append(len(nodes) - 1)
    for i in range(max(1, spine - chain), spine):
        nodes[i].glob = nodes[i + 1].name
    return nodes


def file_paths(rng: random.Random, nodes: list[Node], src: Path) -> dict[int, Path]:
    """lib.rs, then `x.rs` for leaves and `x/mod.rs` or `x.rs` + `x/` for modules with children."""
    paths, dirs = {0: src / "lib.rs"}, {0: src}
    for i, node in enumerate(nodes[1:], 1):
        folder = dirs[node.parent]
        mod_rs = node.children and rng.random() < 0.5
        paths[i] = folder / node.name / "mod.rs" if mod_rs else folder / f"{node.name}.rs"
        dirs[i] = folder / node.name
    return paths


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def lock_text(names: list[str]) -> str:
    packages = [f'[[package]]\nname = "{n}"\nversion = "0.1.0"\n' for n in sorted(names)]
    packages.append(f'[[package]]\nname = "pyo3"\nversion = "{PYO3}"\n'
                    'source = "registry+https://github.com/rust-lang/crates.io-index"\n')
    return "# This file is automatically @generated by Cargo.\nversion = 3\n\n" + "\n".join(packages)


def single_project(root: Path, lib_rs: str) -> None:
    write(root / "Cargo.toml", f'[package]\nname = "single"\nversion = "0.1.0"\nedition = "2021"\n\n'
                               f'[lib]\ncrate-type = ["cdylib"]\n\n[dependencies]\n'
                               f'pyo3 = {{ version = "{PYO3}", features = ["py-clone"] }}\n')
    write(root / "Cargo.lock", lock_text(["single"]))
    write(root / "src/lib.rs", lib_rs)


def crate_manifest(name: str, pyo3: bool, style: int, deps: list[str], cdylib: bool) -> str:
    text = f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
    if cdylib:
        text += '\n[lib]\nname = "_core"\ncrate-type = ["cdylib", "rlib"]\n'
    text += "\n[dependencies]\n"
    if pyo3:
        text += ['pyo3 = { workspace = true, features = ["py-clone"] }\n', 'pyo3 = { workspace = true }\n',
                 f'pyo3 = "{PYO3}"\n', f'pyo3 = {{ version = "{PYO3}", features = ["py-clone"] }}\n'][style % 4]
    return text + "".join(f'{d} = {{ path = "../{d}" }}\n' for d in deps)


def lib_extra(index: int, spine_path: str, members: list[str]) -> str:
    """The PyO3 crate root: the `_core` module in crate 0, a `register` function elsewhere."""
    shared = (f"pub fn shared_value(py: Python<'_>) -> Py<PyAny> {{\n"
              f"    crate::{spine_path}::SHARED_CACHE.get_or_init(py, || py.None()).clone_ref(py)\n}}\n\n")
    if index:
        return shared + ("#[pyfunction]\nfn crate_version() -> &'static str {\n    env!(\"CARGO_PKG_VERSION\")\n}\n\n"
                         "pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {\n"
                         "    m.add_function(wrap_pyfunction!(crate_version, m)?)?;\n    Ok(())\n}\n")
    calls = "".join(f"    {m}::register(m)?;\n" for m in members)
    return shared + ("#[pyclass]\n#[derive(Clone)]\nstruct Handle {\n    obj: Py<PyAny>,\n}\n\n"
                     "#[pyfunction]\nfn version() -> &'static str {\n    env!(\"CARGO_PKG_VERSION\")\n}\n\n"
                     "#[pymodule]\nfn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {\n"
                     "    m.add_function(wrap_pyfunction!(version, m)?)?;\n    m.add_class::<Handle>()?;\n"
                     f"{calls}    Ok(())\n}}\n")


def generate_workspace(args, root: Path) -> None:
    rng, ids = random.Random(args.seed), itertools.count()
    n = args.crates
    n_pyo3 = max(1, min(n, math.ceil(n * args.pyo3_share * 2)))
    pyo3_crates = {0} | set(rng.sample(range(1, n), n_pyo3 - 1))
    names = [f"c{i:02d}_{rng.choice(WORDS)}" for i in range(n)]
    sizes = [args.files // n + (i < args.files % n) for i in range(n)]
    nest_crate = max(pyo3_crates)
    trees = [module_tree(rng, max(1, sizes[i] - 1 - (i in pyo3_crates) - (i == 0) - (i == nest_crate)),
                         args.depth, args.chain) for i in range(n)]
    slots = [(c, j) for c in sorted(pyo3_crates) for j in range(1, len(trees[c]))]
    for c, j in rng.sample(slots, min(len(slots), max(0, round(args.files * args.pyo3_share) - n_pyo3))):
        trees[c][j].pyo3 = True
    trees[0].append(Node("big", 0, 1, pyo3=True))  # the longest file
    trees[0][0].children.append(len(trees[0]) - 1)
    trees[nest_crate].append(Node("deep_expr", 0, 1, text=nested_fn(args.nesting, True), pyo3=True))
    trees[nest_crate][0].children.append(len(trees[nest_crate]) - 1)
    members = [names[c] for c in sorted(pyo3_crates) if c]
    for c, nodes in enumerate(trees):
        pyo3 = c in pyo3_crates
        spine_leaf = 1
        while spine_leaf + 1 < len(nodes) and nodes[spine_leaf + 1].parent == spine_leaf:
            spine_leaf += 1
        top = min((i for i in range(1, spine_leaf) if nodes[i].glob), default=spine_leaf)
        path = "::".join(nodes[i].name for i in range(1, top + 1))  # SHARED_CACHE is visible there
        for i, node in enumerate(nodes):
            style = "direct" if i == 0 or i == spine_leaf else rng.choice(list(HEADERS))
            node.pyo3 = node.pyo3 or (pyo3 and i == spine_leaf)
            target = args.longest if node.name == "big" else rng.randint(int(args.lines * .4), int(args.lines * 1.6))
            body = node.text or rust_items(rng, ids, target, 0.35 if node.pyo3 or (pyo3 and i == 0) else 0, style)
            if pyo3 and i == spine_leaf:
                body = "pub static SHARED_CACHE: GILOnceCell<Py<PyAny>> = GILOnceCell::new();\n\n" + body
            if pyo3 and i == 0:
                body += "\n" + lib_extra(c, path, members)
            head = HEADERS[style] + "\n" if pyo3 and (node.pyo3 or i == 0) else ""
            decls = "".join(f"pub mod {nodes[k].name};\n" for k in node.children)
            decls += ("pub mod prelude;\n" if pyo3 and i == 0 else "") + (f"pub use {node.glob}::*;\n" if node.glob else "")
            node.text = f"//! Module `{node.name}` of `{names[c]}`.\n\n{head}{decls}\n{body}"
            node.text = pad_to(node.text, args.longest) if node.name == "big" else node.text
        crate_dir = root / "crates" / names[c]
        for i, p in file_paths(rng, nodes, crate_dir / "src").items():
            write(p, nodes[i].text)
        if pyo3:
            write(crate_dir / "src/prelude.rs", PRELUDE)
        write(crate_dir / "Cargo.toml", crate_manifest(names[c], pyo3, c, members if c == 0 else [], c == 0))
    write(root / "Cargo.toml", '[workspace]\nresolver = "2"\nmembers = ["crates/*"]\n\n'
                               f'[workspace.dependencies]\npyo3 = "{PYO3}"\n')
    write(root / "Cargo.lock", lock_text(names))
    write(root / "pyproject.toml", f'[build-system]\nrequires = ["maturin>=1.5,<2"]\nbuild-backend = "maturin"\n\n'
          f'[project]\nname = "{PKG}"\nversion = "0.1.0"\n\n[tool.maturin]\n'
          f'manifest-path = "crates/{names[0]}/Cargo.toml"\npython-source = "python"\nmodule-name = "{PKG}._core"\n')
    generate_python(rng, root / "python" / PKG, args.py_files)
    write(root / "tests/data/legacy_py2.py", '# A Python 2 script kept as test data.\nprint "hello"\n')


def generate_python(rng: random.Random, pkg: Path, count: int) -> None:
    write(pkg / "__init__.py", f'"""The {PKG} package."""\n\nfrom ._core import version\n\n__all__ = ["version"]\n')
    for k in range(1, count):
        sub = pkg / f"sub{k // 12:02d}"
        if k % 12 == 0 or k == 1:
            write(sub / "__init__.py", '"""A subpackage."""\n')
            continue
        text = PY_MODULE.replace("$DOC", f"Module {k}.").replace("$PKG", PKG)
        text += "".join(PY_HELPER.replace("$N", f"{k}_{h}") for h in range(rng.randint(0, 12)))
        write(sub / f"mod{k:03d}.py", text.replace("$N", str(k)))


def generate_all(args, out: Path) -> None:
    generate_workspace(args, out / "workspace")
    rng, ids = random.Random(args.seed + 1), itertools.count()
    for size in SIZES:
        single_project(out / f"lines_{size}", pad_to(HEADERS["direct"] + "\n" + rust_items(rng, ids, size, 0.3), size))
    deep = HEADERS["direct"] + "\n" + rust_items(rng, ids, 60, 0.5) + "\n"
    flat = deep + nested_fn(args.nesting, False)
    deep += nested_fn(args.nesting, True)
    single_project(out / "nest_deep", deep)
    single_project(out / "nest_flat", flat + "// " + "x" * max(0, len(deep) - len(flat) - 4) + "\n")


def corpus_stats(root: Path) -> dict[str, int]:
    stats = dict.fromkeys(["crates", ".rs files", "Rust lines", "PyO3 .rs files", ".py files"], 0)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath, name)
            if name == "Cargo.toml" and "[package]" in path.read_text(errors="replace"):
                stats["crates"] += 1
            elif name.endswith(".rs"):
                data = path.read_bytes()
                stats[".rs files"] += 1
                stats["Rust lines"] += data.count(b"\n")
                stats["PyO3 .rs files"] += bool(re.search(rb"pyo3|Py<|Python<'|PyObject", data))
            elif name.endswith(".py"):
                stats[".py files"] += 1
    return stats


# ---------------------------------------------------------------- measurement

@dataclass
class Result:
    times: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    codes: set[int] = field(default_factory=set)
    timeout: bool = False
    stderr: str = ""
    skipped: str = ""

    @property
    def median(self) -> float | None:
        return None if self.timeout or self.skipped or not self.times else statistics.median(self.times)


def run_once(cmd: list[str], timeout: float, result: Result) -> None:
    """One process: wall time around it, its own peak RSS from wait4, killed after `timeout`."""
    fired = threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout, lambda: (fired.set(), proc.kill()))
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: do not leave the child running
            proc.kill()
            raise
        elapsed = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        result.stderr = err.read().decode(errors="replace")
    if fired.is_set():
        result.timeout = True
        return
    result.times.append(elapsed)
    result.rss_mb = max(result.rss_mb, usage.ru_maxrss / 1024)
    result.codes.add(proc.returncode)


def measure(cmd: list[str] | None, args, why_missing: str = "") -> Result:
    result = Result(skipped=why_missing if cmd is None else "")
    for _ in range(0 if cmd is None else args.repeat):
        run_once(cmd, args.timeout, result)
        if result.timeout:
            break
    return result


def binary(explicit: str | None, name: str) -> str | None:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / name  # e.g. installed in the same venv
    return shutil.which(name) or (str(beside) if beside.exists() else None)


class Commands:
    def __init__(self, args):
        self.tool = shlex.split(args.tool) if args.tool else [sys.executable, "-m", "migrate"]
        self.target = [] if args.target_pyo3.lower() == "none" else ["--target-pyo3", args.target_pyo3]
        self.ast_grep, self.rg = binary(args.ast_grep, "ast-grep"), binary(args.rg, "rg")
        for name, found in (("ast-grep", self.ast_grep), ("rg", self.rg)):
            if not found:
                print(f"{name} not found (PATH, next to {sys.executable}, --{name}): skipped")

    def ours(self, path: Path) -> list[str]:
        return self.tool + ["diff", str(path)] + self.target

    def ast_grep_cmd(self, path: Path) -> list[str] | None:
        return self.ast_grep and [self.ast_grep, "run", "--pattern", "GILOnceCell", "--rewrite", "PyOnceLock",
                                  "--lang", "rust", str(path)]

    def rg_cmd(self, path: Path) -> list[str] | None:
        return self.rg and [self.rg, "-l", "GILOnceCell", str(path)]

    def startup(self) -> tuple[list[str], str]:
        probe = subprocess.run(self.tool + ["--version"], capture_output=True)
        if probe.returncode == 0:
            return self.tool + ["--version"], "ours: start-up (`--version`)"
        return self.tool + ["list"], "ours: start-up (`list`; no `--version` yet)"


# ---------------------------------------------------------------- report

def secs(value: float | None, r: Result | None = None) -> str:
    if r is not None and (r.timeout or r.skipped):
        return "timeout" if r.timeout else "skipped"
    return "—" if value is None else f"{value:.3f}"


def ratio(a: Result, b: Result) -> float | None:
    return a.median / b.median if a.median is not None and b.median else None


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("pass" if ok else "**FAIL**")


def notes_for(label: str, r: Result, notes: list[str]) -> None:
    if r.skipped:
        notes.append(f"{label}: skipped ({r.skipped})")
    elif 2 in r.codes or "Traceback" in r.stderr:
        last = (r.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        notes.append(f"{label}: exit {sorted(r.codes)}: {last}")


def generated_report(args, out: Path, cmds: Commands) -> None:
    ws = out / "workspace"
    stats = corpus_stats(ws)
    print("corpus: " + ", ".join(f"{v:,} {k}" for k, v in stats.items()) + f" ({ws})")
    startup_cmd, startup_label = cmds.startup()
    ours, ag, rg = measure(cmds.ours(ws), args), measure(cmds.ast_grep_cmd(ws), args, "no ast-grep"), \
        measure(cmds.rg_cmd(ws), args, "no rg")
    start = measure(startup_cmd, args)
    lines = {size: measure(cmds.ours(out / f"lines_{size}"), args) for size in SIZES}
    deep, flat = measure(cmds.ours(out / "nest_deep"), args), measure(cmds.ours(out / "nest_flat"), args)
    rows = [("ours: full dry run (`diff`, all codemods)", ours, ratio(ours, ag), "<= 1.0x ast-grep",
             verdict(None if ratio(ours, ag) is None else ratio(ours, ag) <= 1.0)),
            ("ast-grep: one rule (GILOnceCell -> PyOnceLock)", ag, 1.0 if ag.median else None, "", ""),
            ("rg -l GILOnceCell", rg, ratio(rg, ag), "", ""),
            (startup_label, start, None, "<= 150 ms", verdict(start.median and start.median <= 0.150))]
    for size, r in lines.items():
        per_line = f", {r.median / size * 1e6:.0f} µs/line" if r.median else ""
        rows.append((f"ours: {size:,}-line lib.rs{per_line}", r, None, "", ""))
    big, small = lines[SIZES[-1]], lines[SIZES[-2]]
    grow = ratio(big, small)
    rows[-1] = rows[-1][:3] + (f"<= 8x {SIZES[-2]:,}-line", f"{grow:.1f}x " + verdict(grow <= 8) if grow else "n/a")
    extra = deep.median - flat.median if deep.median is not None and flat.median is not None else None
    rows += [(f"ours: project with the depth-{args.nesting} expression", deep, None, "", ""),
             ("ours: same project, flat expression", flat, None, "nesting adds < 2 s",
              f"+{extra:.3f} s " + verdict(extra < 2) if extra is not None else "n/a")]
    print("\n| measure | median s | min s | vs ast-grep | peak RSS MB | target | result |\n|---|---|---|---|---|---|---|")
    ours_rss = []
    for label, r, rat, target, result in rows:
        mine = label.startswith("ours")
        rss = f"{r.rss_mb:.0f}" if r.times else "—"
        ours_rss += [r.rss_mb] if mine and r.times else []
        print(f"| {label} | {secs(r.median, r)} | {secs(min(r.times) if r.times else None, r)} | "
              f"{f'{rat:.2f}x' if rat is not None else '—'} | {rss} | {target} | {result} |")
    peak = max(ours_rss, default=None)
    print(f"| ours: peak RSS, any run | | | | {peak:.0f} | <= 500 MB | {verdict(peak <= 500)} |" if peak else
          "| ours: peak RSS, any run | | | | — | <= 500 MB | n/a |")
    notes: list[str] = []
    for label, r, *_ in rows:
        notes_for(label, r, notes)
    print("\nrepetitions: %d; ours = `%s`" % (args.repeat, shlex.join(cmds.ours(Path("DIR")))))
    for note in notes:
        print("note: " + note)


def real_report(args, cmds: Commands) -> None:
    print("| directory | crates | .rs files | Rust lines | .py files | ours s | ast-grep s | ours / ast-grep | rg s "
          "| ours peak RSS MB | <= 1.0x ast-grep, <= 500 MB |\n|---|---|---|---|---|---|---|---|---|---|---|")
    notes: list[str] = []
    for d in map(Path, args.real):
        s = corpus_stats(d)
        ours, ag = measure(cmds.ours(d), args), measure(cmds.ast_grep_cmd(d), args, "no ast-grep")
        rg = measure(cmds.rg_cmd(d), args, "no rg")
        rat = ratio(ours, ag)
        ok = None if rat is None else rat <= 1.0 and ours.rss_mb <= 500
        print(f"| {d} | {s['crates']:,} | {s['.rs files']:,} | {s['Rust lines']:,} | {s['.py files']:,} | "
              f"{secs(ours.median, ours)} | {secs(ag.median, ag)} | {f'{rat:.2f}x' if rat else '—'} | "
              f"{secs(rg.median, rg)} | {ours.rss_mb:.0f} | {verdict(ok)} |")
        notes_for(f"ours on {d}", ours, notes)
    for note in notes:
        print("note: " + note)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--crates", type=int, default=25, help="member crates")
    p.add_argument("--files", type=int, default=1200, help="total .rs files in the workspace (about)")
    p.add_argument("--lines", type=int, default=160, help="average lines per .rs file")
    p.add_argument("--depth", type=int, default=4, help="deepest `mod` nesting")
    p.add_argument("--chain", type=int, default=3, help="length of the `pub use x::*;` re-export chain")
    p.add_argument("--longest", type=int, default=5000, help="lines of the longest file")
    p.add_argument("--pyo3-share", type=float, default=0.2, help="share of .rs files with PyO3 patterns")
    p.add_argument("--nesting", type=int, default=800, help="depth of the nested expression")
    p.add_argument("--py-files", type=int, default=300, help=".py files under python/<pkg>/")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=3, help="runs per command (median and min reported)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per command run")
    p.add_argument("--tool", help="our command (default: `<this python> -m migrate`)")
    p.add_argument("--target-pyo3", default="0.26", help="passed to `diff`; `none` to leave it out")
    p.add_argument("--ast-grep", help="ast-grep binary")
    p.add_argument("--rg", help="ripgrep binary")
    p.add_argument("--out", type=Path, help="write the corpus here (kept) instead of a temporary directory")
    p.add_argument("--generate-only", type=Path, metavar="DIR", help="write the corpus to DIR and exit")
    p.add_argument("--real", nargs="+", metavar="DIR", help="measure these directories instead of a corpus")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.generate_only:
        generate_all(args, args.generate_only)
        print(f"corpus written to {args.generate_only}: " + ", ".join(
            f"{v:,} {k}" for k, v in corpus_stats(args.generate_only / "workspace").items()))
        return 0
    cmds = Commands(args)
    if args.real:
        real_report(args, cmds)
        return 0
    if args.out:
        generate_all(args, args.out)
        generated_report(args, args.out, cmds)
        return 0
    with tempfile.TemporaryDirectory(prefix="pyo3-migrate-bench-") as tmp:
        generate_all(args, Path(tmp))
        generated_report(args, Path(tmp), cmds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
