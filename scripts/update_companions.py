"""Regenerate migrate/companions.py: which release of each PyO3 companion crate goes with which PyO3.

Usage (from the repository root, in the project's venv):

    python scripts/update_companions.py            # rewrite migrate/companions.py
    python scripts/update_companions.py --check    # exit 1 if the file would change
    python scripts/update_companions.py --verify   # also let cargo's resolver confirm every entry

Where the data comes from: cargo itself, nothing else. For each crate the script runs
`cargo info NAME` in an empty directory, which makes cargo fetch the crate's file from the
registry's sparse index (through whatever proxy or mirror cargo is configured for), and cargo keeps
that file in its index cache, `$CARGO_HOME/registry/index/<registry>/.cache/<prefix>/<name>`: one
JSON record per published version, exactly as the registry serves it (version, yanked flag, every
dependency with its requirement, kind and rename). The script reads those records back. `cargo info`
alone shows one version's dependencies at a time and there is no cargo command that lists all
versions, so the cache file is the only complete listing cargo gives; its layout (cache version 3,
index format 2) is checked and the script stops if cargo ever changes it.

What it computes, for every companion crate C and every PyO3 release line L ("0.26"):
    the lowest published, non-yanked, non-prerelease version of C whose own requirement on `pyo3`
    (or `pyo3-ffi`) admits a release of line L.
Requirements are evaluated with Cargo's semver rules against PyO3's real list of releases (also
from the index). An open-ended requirement (`pyo3 = ">=0.12"`) of an old release is not taken at its
word beyond the line where a later release of C starts: numpy 0.12.1 asked for `>=0.12`, but numpy
0.13 moved to PyO3 0.13, so 0.12.1 counts for line 0.12 only. The newest release's open end is
trusted (serde-pyobject 0.8 declares `>=0.27`).

`--verify` then asks cargo's resolver about every table entry: a throwaway crate depending on
`pyo3 = "0.L"` and `C = "<entry>"` must resolve (`cargo generate-lockfile`) to a single PyO3 of line
L. It takes a few minutes (each check refetches the index files it needs).

The generated module is data only; codemods/manifest.py decides what to do with it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "migrate" / "companions.py"
sys.path.insert(0, str(ROOT))

from pyo3_migrate.analysis.registry import (  # noqa: E402  (the index records, shared with the manifest codemod)
    SemVer,
    cargo_cache_files,
    cargo_home,
    companion_table,
    pyo3_lines,
    pyo3_requirement,
    read_cache,
)

# The crates whose releases track PyO3's, with why they are listed. Found through PyO3's README
# ("Tools and libraries") and the ecosystem around it. A crate that has no dependency on pyo3 in the
# registry cannot be placed by this script: it ends up in UNDECLARED instead.
CANDIDATES: dict[str, str] = {
    "numpy": "rust-numpy, NumPy C-API bindings (PyO3 org)",
    "pyo3-log": "bridge from Rust's log to Python's logging",
    "pythonize": "serde <-> Python objects",
    "pyo3-async-runtimes": "asyncio <-> Rust async runtimes (PyO3 org)",
    "pyo3-asyncio": "predecessor of pyo3-async-runtimes, stopped at PyO3 0.20",
    "pyo3-stub-gen": "type stub generation",
    "serde-pyobject": "serde data format over PyAny",
    "pyo3-polars": "Polars DataFrames across the boundary",
    "pyo3-arrow": "Apache Arrow integration",
    "pyo3-bytes": "bytes::Bytes integration",
    "pyo3-object_store": "object_store integration",
    "pyo3-file": "Python file objects as Read/Write",
    "pyo3-filelike": "Python file-like objects in Rust",
    "pyo3-pylogger": "log records into Python's logging",
    "pyo3-tracing-subscriber": "tracing subscribers configured from Python",
    "pyo3-opentelemetry": "OpenTelemetry context across the boundary",
    "pyo3_special_method_derive": "derive __str__/__repr__/... for pyclasses",
    "pyo3-built": "build metadata as a PyDict (a macro_rules! crate)",
    "dict_derive": "derive FromPyObject/IntoPy for dicts (a proc-macro crate)",
}




# --- cargo's index cache ----------------------------------------------------------------------

def fetch(name: str, workdir: Path) -> Path | None:
    """Make cargo fetch NAME's index file from the registry; return cargo's cached copy (None: no such crate)."""
    before = {p: p.stat().st_mtime_ns for p in cargo_cache_files(name)}
    proc = subprocess.run(["cargo", "info", "--quiet", name], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(f"  cargo info {name}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'failed'}\n")
        return None
    files = cargo_cache_files(name)
    fresh = [p for p in files if before.get(p) != p.stat().st_mtime_ns]
    chosen = max(fresh or files, key=lambda p: p.stat().st_mtime_ns, default=None)
    if chosen is None:
        raise SystemExit(f"cargo info {name} succeeded but left no index cache file under {cargo_home()}")
    return chosen


# --- the table --------------------------------------------------------------------------------

def _dropped_pyo3(records: list[dict]) -> str | None:
    """The first release after which the crate no longer declares pyo3 at all (None: it still does)."""
    releases = sorted(
        (SemVer.parse(r["vers"]), pyo3_requirement(r) is not None)
        for r in records
        if not r.get("yanked") and not SemVer.parse(r["vers"]).pre
    )
    if not releases or releases[-1][1]:
        return None
    first = None
    for version, declares in reversed(releases):
        if declares:
            break
        first = version
    return str(first)


def verify(name: str, line: str, requirement: str, workdir: Path) -> str | None:
    """None when cargo resolves pyo3 = LINE with NAME = REQUIREMENT to one PyO3 of that line."""
    crate = workdir / f"verify-{name}-{line}".replace(".", "_")
    crate.mkdir(parents=True, exist_ok=True)
    (crate / "lib.rs").write_text("")
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "companion-check"\nversion = "0.0.0"\nedition = "2021"\n'
        f'[lib]\npath = "lib.rs"\n[workspace]\n'
        f'[dependencies]\npyo3 = "{line}"\n"{name}" = "{requirement}"\n'
    )
    proc = subprocess.run(["cargo", "generate-lockfile", "--quiet"], cwd=crate, capture_output=True, text=True)
    if proc.returncode != 0:
        return proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "cargo generate-lockfile failed"
    lock = (crate / "Cargo.lock").read_text()
    found = re.findall(r'name = "pyo3"\nversion = "([^"]+)"', lock)
    if len(found) != 1 or ".".join(found[0].split(".")[:2]) != line:
        return f"resolved pyo3 {found}"
    return None


def render(table: dict[str, dict[str, str]], undeclared: dict[str, str], lines: list[str], cargo: str) -> str:
    today = datetime.date.today().isoformat()
    out = [
        '"""Which release of each PyO3 companion crate goes with which PyO3 release line.',
        "",
        "GENERATED by scripts/update_companions.py: do not edit by hand, run the script again.",
        "How: the script has cargo fetch each crate's file from the crates.io sparse index",
        "(`cargo info NAME`, through cargo's own registry access) and reads every published version's",
        "dependencies from cargo's index cache; `--verify` has cargo's resolver confirm each entry.",
        "See the script's docstring for the rules.",
        f"Made on {today} with {cargo}.",
        "",
        "COMPANIONS[crate][pyo3 line] is the lowest non-yanked release of `crate` whose requirement on",
        "pyo3 admits that line: the requirement codemods/manifest.py writes when it moves the crate.",
        "A line missing from a crate's row has no release of that crate (at generation time).",
        '"""',
        "",
        f'GENERATED = "{today}"',
        "",
        "# PyO3 release lines published when the table was made.",
        f"PYO3_LINES: tuple[str, ...] = ({', '.join(json.dumps(x) for x in lines)},)",
        "",
        "COMPANIONS: dict[str, dict[str, str]] = {",
    ]
    for name in sorted(table):
        out.append(f'    "{name}": {{')
        row = table[name]
        for line in row:
            out.append(f'        "{line}": "{row[line]}",')
        out.append("    },")
    out.append("}")
    out.append("")
    out.append("# Crates that work with PyO3 but declare no dependency on it in the registry (macro-only")
    out.append("# crates): nothing says which PyO3 a release supports. Listed so the codemod can say so.")
    out.append("UNDECLARED: dict[str, str] = {")
    for name in sorted(undeclared):
        out.append(f'    "{name}": "{undeclared[name]}",')
    out.append("}")
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if migrate/companions.py would change (date ignored)")
    parser.add_argument("--verify", action="store_true", help="confirm every entry with cargo's resolver (slow)")
    args = parser.parse_args(argv)

    cargo = subprocess.run(["cargo", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="pyo3-companions-") as tmp:
        workdir = Path(tmp)
        print("fetching pyo3 from the registry through cargo", file=sys.stderr)
        pyo3_cache = fetch("pyo3", workdir)
        if pyo3_cache is None:
            raise SystemExit("cargo cannot reach pyo3 in the registry")
        releases = pyo3_lines(read_cache(pyo3_cache))
        lines = sorted({v.line() for v in releases})
        table: dict[str, dict[str, str]] = {}
        undeclared: dict[str, str] = {}
        for name, why in CANDIDATES.items():
            print(f"fetching {name}", file=sys.stderr)
            path = fetch(name, workdir)
            if path is None:
                continue
            records = read_cache(path)
            row = companion_table(records, releases)
            dropped = _dropped_pyo3(records)
            if row and dropped is None:
                table[name] = row
            elif dropped is not None and row:
                undeclared[name] = f"{why}; no pyo3 dependency since {dropped}"
            else:
                undeclared[name] = why
        failures = []
        if args.verify:
            for name, row in table.items():
                for line, requirement in row.items():
                    if tuple(int(p) for p in line.split(".")) < (0, 13):
                        continue  # too old to matter, and old pyo3 needs old resolvers
                    problem = verify(name, line, requirement, workdir)
                    print(f"verify {name} {requirement} with pyo3 {line}: {problem or 'ok'}", file=sys.stderr)
                    if problem:
                        failures.append(f"{name} {requirement} / pyo3 {line}: {problem}")

    text = render(table, undeclared, [f"{a}.{b}" for a, b in lines], cargo)
    if args.check:
        strip = lambda s: re.sub(r"(?m)^(Made on|GENERATED = ).*$", r"\1", s)  # noqa: E731
        same = OUTPUT.exists() and strip(OUTPUT.read_text()) == strip(text)
        print("up to date" if same else "migrate/companions.py is out of date", file=sys.stderr)
        return 0 if same and not failures else 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(table)} crates, {sum(len(r) for r in table.values())} entries", file=sys.stderr)
    for failure in failures:
        print(f"NOT CONFIRMED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
