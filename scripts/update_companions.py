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
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "migrate" / "companions.py"
sys.path.insert(0, str(ROOT))

from migrate.core.version import admits  # noqa: E402  (cargo's requirement rules, shared with the codemod)

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

PYO3_NAMES = ("pyo3", "pyo3-ffi")
CACHE_VERSION = 3
INDEX_FORMAT_VERSION = 2


# --- Cargo's semver requirements ------------------------------------------------------------

@dataclass(frozen=True, order=True)
class SemVer:
    major: int
    minor: int
    patch: int
    pre: str = ""

    @classmethod
    def parse(cls, text: str) -> "SemVer":
        core, _, _build = text.partition("+")
        core, _, pre = core.partition("-")
        major, minor, patch = (int(p) for p in core.split("."))
        return cls(major, minor, patch, pre)

    def line(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")


def requirement_matches(requirement: str, version: SemVer) -> bool:
    """Cargo's reading of `requirement` ("^0.22", ">=0.23, <0.25", "*") for a release version."""
    if version.pre:
        return False  # prereleases are never offered as companions' PyO3
    return admits(requirement, (version.major, version.minor, version.patch))


# --- cargo's index cache ----------------------------------------------------------------------

def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def _index_prefix(name: str) -> str:
    name = name.lower()
    if len(name) <= 2:
        return f"{len(name)}/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[:2]}/{name[2:4]}/{name}"


def _cache_files(name: str) -> list[Path]:
    return list((cargo_home() / "registry" / "index").glob(f"*/.cache/{_index_prefix(name)}"))


def fetch(name: str, workdir: Path) -> Path | None:
    """Make cargo fetch NAME's index file from the registry; return cargo's cached copy (None: no such crate)."""
    before = {p: p.stat().st_mtime_ns for p in _cache_files(name)}
    proc = subprocess.run(["cargo", "info", "--quiet", name], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(f"  cargo info {name}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'failed'}\n")
        return None
    files = _cache_files(name)
    fresh = [p for p in files if before.get(p) != p.stat().st_mtime_ns]
    chosen = max(fresh or files, key=lambda p: p.stat().st_mtime_ns, default=None)
    if chosen is None:
        raise SystemExit(f"cargo info {name} succeeded but left no index cache file under {cargo_home()}")
    return chosen


def read_cache(path: Path) -> list[dict]:
    """The registry's JSON records from one cargo index cache file (cache format 3, index format 2)."""
    data = path.read_bytes()
    if len(data) < 5 or data[0] != CACHE_VERSION or int.from_bytes(data[1:5], "little") != INDEX_FORMAT_VERSION:
        raise SystemExit(f"{path}: unknown cargo index cache layout (header {data[:5]!r}); update this script")
    fields = data[5:].split(b"\0")
    # fields: index_version, then (version, json) pairs, then the empty string after the last NUL
    records = []
    pairs = fields[1:]
    if pairs and pairs[-1] == b"":
        pairs = pairs[:-1]
    if len(pairs) % 2:
        raise SystemExit(f"{path}: odd number of fields; update this script")
    for version, blob in zip(pairs[0::2], pairs[1::2]):
        record = json.loads(blob)
        if record.get("vers") != version.decode():
            raise SystemExit(f"{path}: record for {version!r} holds {record.get('vers')!r}")
        records.append(record)
    return records


# --- the table --------------------------------------------------------------------------------

def pyo3_lines(records: list[dict]) -> list[SemVer]:
    return sorted(
        v for v in (SemVer.parse(r["vers"]) for r in records if not r.get("yanked")) if not v.pre
    )


def _pyo3_requirement(record: dict) -> str | None:
    deps = [
        d for d in record.get("deps", [])
        if (d.get("package") or d["name"]) in PYO3_NAMES and d.get("kind", "normal") in ("normal", None)
    ]
    if not deps:
        return None
    plain = [d for d in deps if not d.get("target")] or deps
    pyo3 = [d for d in plain if (d.get("package") or d["name"]) == "pyo3"] or plain
    return pyo3[0]["req"]


def _admitted(requirement: str, releases: list[SemVer]) -> set[tuple[int, int]]:
    return {v.line() for v in releases if requirement_matches(requirement, v)}


def companion_table(records: list[dict], releases: list[SemVer]) -> dict[str, str]:
    """{"0.26": lowest version admitting PyO3 0.26, ...} for one companion's index records."""
    versions = []
    for record in records:
        version = SemVer.parse(record["vers"])
        requirement = _pyo3_requirement(record)
        if record.get("yanked") or version.pre or requirement is None:
            continue
        lines = _admitted(requirement, releases)
        open_ended = requirement_matches(requirement, SemVer(999, 0, 0))
        if lines:
            versions.append((version, lines, open_ended))
    versions.sort()
    table: dict[tuple[int, int], SemVer] = {}
    for i, (version, lines, open_ended) in enumerate(versions):
        if open_ended:
            later_starts = [min(l) for _, l, _ in versions[i + 1:] if min(l) > min(lines)]
            if later_starts:
                lines = {line for line in lines if line < min(later_starts)}
        for line in lines:
            if line not in table or version < table[line]:
                table[line] = version
    return {f"{major}.{minor}": str(v) for (major, minor), v in sorted(table.items())}


def _dropped_pyo3(records: list[dict]) -> str | None:
    """The first release after which the crate no longer declares pyo3 at all (None: it still does)."""
    releases = sorted(
        (SemVer.parse(r["vers"]), _pyo3_requirement(r) is not None)
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
