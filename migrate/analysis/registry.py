"""The crate registry's index, read for one question: which release of a crate goes with which PyO3.

A crate that depends on pyo3 (or pyo3-ffi) pins the PyO3 line of the whole build: pyo3-ffi
declares `links = "python"`, so cargo allows one of it in a graph. To move a crate's PyO3, each
such dependency must move to a release whose own requirement admits the target, or the move is
blocked. The registry's index records every published version with its dependencies; this module
reads them from, in order:

  1. this tool's own cache (`~/.cache/pyo3-migrate/registry/NAME.json`, a day old at most),
  2. the crates.io sparse index over HTTPS (then written to that cache),
  3. cargo's index cache (`$CARGO_HOME/registry/index/*/.cache/..`, what cargo last fetched),
  4. `PYO3_MIGRATE_REGISTRY=DIR`, when set, instead of all of these: `DIR/NAME.json` in the sparse
     index's format (one JSON record per line). The tests use it; it also serves an air-gapped mirror.

and says which one answered. `scripts/update_companions.py` builds the offline table in
`migrate/analysis/companions.py` from the same records.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from pyo3_migrate.core.version import admits

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


def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def index_prefix(name: str) -> str:
    name = name.lower()
    if len(name) <= 2:
        return f"{len(name)}/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[:2]}/{name[2:4]}/{name}"


def cargo_cache_files(name: str) -> list[Path]:
    return list((cargo_home() / "registry" / "index").glob(f"*/.cache/{index_prefix(name)}"))


def read_cache(path: Path) -> list[dict]:
    """The registry's JSON records from one cargo index cache file (cache format 3, index format 2)."""
    data = path.read_bytes()
    if len(data) < 5 or data[0] != CACHE_VERSION or int.from_bytes(data[1:5], "little") != INDEX_FORMAT_VERSION:
        raise ValueError(f"{path}: unknown cargo index cache layout (header {data[:5]!r})")
    fields = data[5:].split(b"\0")
    # fields: index_version, then (version, json) pairs, then the empty string after the last NUL
    records = []
    pairs = fields[1:]
    if pairs and pairs[-1] == b"":
        pairs = pairs[:-1]
    if len(pairs) % 2:
        raise ValueError(f"{path}: odd number of fields in a cargo index cache file")
    for version, blob in zip(pairs[0::2], pairs[1::2]):
        record = json.loads(blob)
        if record.get("vers") != version.decode():
            raise ValueError(f"{path}: record for {version!r} holds {record.get('vers')!r}")
        records.append(record)
    return records


def pyo3_lines(records: list[dict]) -> list[SemVer]:
    return sorted(
        v for v in (SemVer.parse(r["vers"]) for r in records if not r.get("yanked")) if not v.pre
    )


def pyo3_requirement(record: dict) -> str | None:
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
        requirement = pyo3_requirement(record)
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




# --- lookups ------------------------------------------------------------------------------------

SPARSE_INDEX = "https://index.crates.io"
FRESH_FOR = 24 * 3600  # seconds a cached index file is trusted
TIMEOUT = 10.0


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyo3-migrate" / "registry"


def _parse_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _from_mirror(mirror: str, name: str) -> tuple[list[dict], str] | None:
    """A mirror answers alone: a crate it lacks has no answer (the network is never asked)."""
    path = Path(mirror) / f"{name}.json"
    return (_parse_lines(path.read_text()), f"the index mirror {mirror}") if path.is_file() else None


def _from_own_cache(name: str) -> list[dict] | None:
    path = _cache_dir() / f"{name}.json"
    try:
        if time.time() - path.stat().st_mtime < FRESH_FOR:
            return _parse_lines(path.read_text())
    except (OSError, ValueError):
        pass
    return None


def _from_sparse_index(name: str) -> list[dict] | None:
    import urllib.error  # only when the network is asked: 60 ms of start-up otherwise
    import urllib.request

    url = f"{SPARSE_INDEX}/{index_prefix(name)}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (a fixed https URL)
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        return [] if exc.code == 404 else None
    except (urllib.error.URLError, OSError, TimeoutError):
        return None
    try:
        path = _cache_dir() / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError:
        pass  # a read-only home only costs the next run a download
    return _parse_lines(text)


def _from_cargo_cache(name: str) -> list[dict] | None:
    for path in sorted(cargo_cache_files(name), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            return read_cache(path)
        except (OSError, ValueError):
            continue
    return None


_RECORDS: dict[str, tuple[list[dict], str] | None] = {}


def records(name: str) -> tuple[list[dict], str] | None:
    """(the index records of every published version of `name`, where they came from), None when
    no source answered. Asked once per name and process."""
    if name not in _RECORDS:
        mirror = os.environ.get("PYO3_MIGRATE_REGISTRY")
        found = _from_mirror(mirror, name) if mirror else None
        if not mirror:
            for source, read in (("the registry cache", _from_own_cache), ("the crates.io sparse index", _from_sparse_index),
                                 ("cargo's index cache", _from_cargo_cache)):
                got = read(name)
                if got is not None:
                    found = (got, source)
                    break
        _RECORDS[name] = found
    return _RECORDS[name]


@dataclass(frozen=True)
class Row:
    """Which release of a crate goes with each PyO3 line, and where the answer came from."""

    lines: dict[str, str]  # "0.26" -> lowest release of the crate that admits PyO3 0.26
    source: str


def pyo3_row(name: str) -> Row | None:
    """The crate's row, like the companion table's, from the live index (None: no source answered)."""
    found, pyo3 = records(name), records("pyo3")
    if found is None or pyo3 is None or not pyo3[0]:
        return None
    return Row(companion_table(found[0], pyo3_lines(pyo3[0])), found[1])
