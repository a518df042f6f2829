"""manifest: move `pyo3` and the crates that must match it in Cargo.toml up to the target PyO3.

What it does
    When the target is above what a manifest asks for, the `pyo3` requirement becomes the target, so
    that the migrated code and its manifest agree; `pyo3-ffi`, `pyo3-macros` and
    `pyo3-build-config`, when listed directly, move with it (they are released in lockstep).
    Companion crates whose releases are tied to one PyO3 line (rust-numpy's `numpy`, `pyo3-log`,
    `pythonize`, `pyo3-async-runtimes`, `pyo3-stub-gen`, `serde-pyobject`, `pyo3-polars`,
    `pyo3-arrow`, `pyo3-bytes`, `pyo3-object_store`, ... : the table in migrate/companions.py) move
    to their lowest release that depends on the target's line, as the crate registry records it
    (the line followed is the one the manifest ends up asking for: the target, or its own `pyo3`
    when that is already higher).
    Every place a requirement can live is covered: `[dependencies]`, `[dev-dependencies]`,
    `[build-dependencies]`, their `[target.'cfg(..)'.*]` forms, `[workspace.dependencies]` (a member's
    `{ workspace = true }` is changed where it lives), plain strings, inline tables, dotted tables,
    renamed (`package = "numpy"`) and `optional = true` entries. An exact pin stays exact
    (`=0.22.6` -> `=0.26.0`); the operator and the number of version components are kept
    (`numpy = "0.22"` -> `"0.26"`). Only the version strings' bytes change: formatting, quoting
    style, comments, CRLF line ends and a BOM are kept.

    Cargo.lock says which packages of the crate's graph depend on pyo3 or pyo3-ffi (pyo3-ffi
    `links = "python"`: one PyO3 line per build). A direct dependency among them moves to its
    lowest release whose own pyo3 requirement admits the target, as the registry's index says
    (migrate/analysis/registry.py: this tool's cache, the crates.io sparse index, cargo's index
    cache; the fix names the source). For the companions above, the table is the offline answer,
    used when no source of the index answers (or when there is no Cargo.lock). One reached through another dependency
    (arrow's `arrow-pyarrow`) cannot move until that dependency does: it blocks, and the finding
    names both and the first release that would do.

    A companion or dependency with no release for the target blocks the move, and a blocked move is
    not half made: the whole run (every codemod) is made again at the highest release line that
    every such dependency supports, so code and manifest stay in step and cargo can resolve them.
    The findings say what holds the crate there and what to wait for or replace; cargo would
    otherwise refuse to resolve the manifest (two PyO3 versions that both declare
    `links = "python"`). The same holds for a requirement this codemod cannot rewrite (a range such
    as `">=0.20, <0.23"` that excludes the target): reported, not moved.

Example
    [dependencies]
    pyo3 = { version = "0.22.6", features = ["extension-module"] }
    numpy = "0.22"   # NumPy arrays
    ->
    [dependencies]
    pyo3 = { version = "0.26.0", features = ["extension-module"] }
    numpy = "0.26"   # NumPy arrays

What it will not do
    It never lowers a requirement, and leaves a requirement alone when it already admits a suitable
    release (a range or a newer companion release than the table knows). It does not touch git or
    path dependencies, `[patch]` sections or Cargo.lock (cargo updates the lock on the next build);
    when `pyo3` moves to a new line, a git/path companion and a crate that works with PyO3 without
    declaring a dependency on it (`pyo3-built`, `dict_derive`) get a finding asking for a look.
    It does not adapt code to a companion's own API changes between the two releases: read that
    crate's changelog. The table is as fresh as its last regeneration (scripts/update_companions.py);
    a target newer than the table gets a finding, not a guess. A crate that depends on `pyo3-ffi`
    alone (no `pyo3`) is not looked at.

Fix safety
    Safe: only version strings change, pyo3 and its companions together in one fix, and only to
    releases the registry says depend on the same PyO3 line; cargo resolves them on the next build.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
from tomlkit.items import String

from pyo3_migrate.analysis import companions, registry
from pyo3_migrate.core.cargo import dependency_tables, toml_document
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety, minimal_edit
from pyo3_migrate.core.version import Version, admits, is_comparator, requirement_operator

INFO = CodemodInfo(
    id="manifest",
    summary="pyo3 (and pyo3-ffi/-macros/-build-config) and its companion crates in Cargo.toml -> the target",
    language="toml",
    safety=Safety.SAFE,
    min_target=Version(0, 0),
    max_target=None,
    guide=GUIDE,
    docs=__doc__.strip(),
)

# Released in lockstep with pyo3, same version numbers: they follow the target itself.
FAMILY = ("pyo3", "pyo3-ffi", "pyo3-macros", "pyo3-build-config")

_BOM = b"\xef\xbb\xbf"


# --- Cargo requirement strings ------------------------------------------------------------------

def _simple(requirement: str) -> bool:
    """One comparator that names a floor: bare/caret, tilde, exact or >= (what can be moved up)."""
    return "," not in requirement and "*" not in requirement and requirement_operator(requirement) in ("", "^", "~", "=", ">=") \
        and is_comparator(requirement)


def _floor(requirement: str) -> Version | None:
    try:
        return Version.parse(requirement)
    except ValueError:
        return None


def raised(requirement: str, new: str) -> str:
    """requirement moved to version `new`, keeping its operator, spacing and precision when exact."""
    m = re.match(r"^(\s*(?:\^|~|=|>=)?\s*)(\d+(?:\.\d+){0,2})(?:-[0-9A-Za-z.-]+)?(\s*)$", requirement)
    if not m:
        return new
    have = len(m[2].split("."))
    parts = new.split(".")
    keep = max(have, max((i + 1 for i, p in enumerate(parts) if p != "0"), default=1))
    return m[1] + ".".join(parts[:keep]) + m[3]


def _astuple(v: Version) -> tuple[int, int, int]:
    return (v.major, v.minor, v.patch)


def _line_key(version: Version) -> str:
    return f"{version.major}.{version.minor}"


def _parse_line(line: str) -> Version:
    major, minor = line.split(".")
    return Version(int(major), int(minor))


# --- what a manifest holds ---------------------------------------------------------------------

@dataclass
class Requirement:
    """One dependency entry: where it is (keys from the document root) and what it asks for."""

    path: tuple[str, ...]  # e.g. ("target", "cfg(unix)", "dependencies", "np")
    package: str  # the crate's real name (`package = ...` when renamed)
    version: str | None  # None: workspace-inherited, git or path
    external: bool  # git or path: no registry version to move

    @property
    def key(self) -> str:
        return self.path[-1]


def requirements(doc: dict) -> list[Requirement]:
    """Every dependency entry of a parsed manifest (tomllib or tomlkit), in document order."""
    found = []
    for path, table in dependency_tables(doc):
        for key, entry in table.items():
            if isinstance(entry, str):
                found.append(Requirement(path + (key,), key, entry, False))
            elif isinstance(entry, dict):
                package = entry.get("package", key)
                version = entry.get("version")
                external = "git" in entry or "path" in entry
                found.append(Requirement(path + (key,), str(package), str(version) if isinstance(version, str) else None, external))
    return found


# --- the decision for one manifest -------------------------------------------------------------

@dataclass
class Plan:
    """What one manifest needs: changes to make, and what blocks them or needs a look."""

    changes: list[tuple[Requirement, str]] = field(default_factory=list)  # (entry, new requirement)
    # (entry, why it blocks, the release line it rules out: the run is held below it, or None)
    blockers: list[tuple[Requirement, str, Version | None]] = field(default_factory=list)
    notes: list[tuple[Requirement, str]] = field(default_factory=list)  # findings that block nothing
    notes_on_moves: list[str] = field(default_factory=list)  # where a looked-up release came from
    # companions moved across a breaking release, said from the manifest as read (a later pass
    # sees them moved already)
    breaking_moves: list[tuple[Requirement, str]] = field(default_factory=list)


def _companion_decision(req: Requirement, line: Version, raising: bool, plan: Plan, live: dict) -> None:
    """A companion (the table's row, or the registry's for a dependency the lock shows on pyo3)."""
    name = req.package
    if name in companions.UNDECLARED:
        if raising and req.version is not None:
            plan.notes.append((req, f"{name} declares no dependency on pyo3 in the registry, so nothing says which "
                                    f"release works with PyO3 {_line_key(line)}: check it by hand"))
        return
    row = companions.COMPANIONS.get(name)
    source = ""
    if name in live:
        found = live[name]
        if isinstance(found, str):  # no source answered: the table, or nothing, says it
            if row is None:
                if raising and req.version is not None:
                    plan.blockers.append((req, found, line))
                return
        else:
            row, source = found.lines, f" (from {found.source})"
    if row is None:
        return
    if req.external:
        if raising:
            plan.notes.append((req, f"{name} comes from git or a path: check that it supports PyO3 {_line_key(line)}"))
        return
    if req.version is None:
        return  # inherited from [workspace.dependencies]: decided there
    current = _floor(req.version)
    want = row.get(_line_key(line))
    if want is None:
        newest = max(row.values(), key=Version.parse)
        if current is not None and current > Version.parse(newest):
            return  # a release newer than the table knows: the user moved it on purpose
        plan.blockers.append((req, _no_release(name, row, line), _ruled_out(row, line)))
        return
    if current is not None and _simple(req.version) and (current >= Version.parse(want) or (
            not raising and _compatible(current, Version.parse(want)))):
        return  # already there, or PyO3 keeps its line and `0.13` admits the 0.13.4 it needs
    companion = name in companions.COMPANIONS  # its releases follow PyO3's: moving with it is the point
    if source and not companion and current is not None and not _compatible(current, Version.parse(want)):
        # a dependency whose PyO3 support came with a breaking release: its API is not ours to migrate
        plan.blockers.append((req, f"{name} {req.version} depends on PyO3 below {_line_key(line)}; its first release "
                                   f"for {_line_key(line)} is {want}{source}, a breaking release whose API this tool "
                                   f"does not migrate: move it (and what must match it) by hand", line))
        return
    if _simple(req.version):
        plan.changes.append((req, raised(req.version, want)))
        if source:
            plan.notes_on_moves.append(f"{name}{source}")
        if (companion or not source) and raising and current is not None and not _compatible(current, Version.parse(want)):
            plan.breaking_moves.append((req, f"{name} moves from {req.version} to {want} with PyO3: code that uses its "
                                             "own API may need changes this tool does not make (see its changelog)"))
        return
    try:
        if admits(req.version, _astuple(Version.parse(want))):
            return
    except ValueError:
        pass
    plan.blockers.append((req, f"{name} = {req.version!r} excludes {want}, the release for PyO3 "
                               f"{_line_key(line)}, and is not a requirement this codemod rewrites: set it by hand", None))


def _compatible(current: Version, want: Version) -> bool:
    """Cargo's semver: 1.2 -> 1.9 is compatible, 0.12 -> 0.13 and 54 -> 55 are not."""
    if current.major != want.major:
        return False
    return current.major > 0 or current.minor == want.minor


def _ruled_out(row: dict[str, str], line: Version) -> Version | None:
    """The line after the highest one up to `line` that the row supports: the run is held below it."""
    supported = [_parse_line(k) for k in row if _parse_line(k) <= line]
    return Version(line.major, max(supported).minor + 1) if supported else None


def _no_release(name: str, row: dict[str, str], line: Version) -> str:
    lines = sorted((_parse_line(k) for k in row), reverse=False)
    below = [x for x in lines if x < line]
    above = [x for x in lines if x > line]
    newest = _line_key(lines[-1])
    if _line_key(line) not in companions.PYO3_LINES and line > _parse_line(companions.PYO3_LINES[-1]):
        why = (f"the companion table (made {companions.GENERATED}) knows PyO3 up to {companions.PYO3_LINES[-1]}: "
               "run scripts/update_companions.py")
    elif above and below:
        why = f"its releases skip from PyO3 {_line_key(below[-1])} to {_line_key(above[0])}"
    elif above:
        why = f"its first release is for PyO3 {_line_key(above[0])}"
    else:
        why = "nothing newer published"
    return f"{name} has no release for PyO3 {_line_key(line)} (newest supported: PyO3 {newest}; {why})"


def _family_decision(req: Requirement, target: Version, plan: Plan) -> None:
    if req.version is None or req.external:
        return
    current = _floor(req.version)
    if _simple(req.version) and current is not None:
        # a requirement that already admits a release of the target's line is left as written
        # (a lock at 0.22.6 under `pyo3 = "0.22"` is no reason to touch the manifest)
        if current < target and not (current.line() == target.line() and admits(req.version, _astuple(target))):
            plan.changes.append((req, raised(req.version, str(target))))
        return
    try:
        if admits(req.version, _astuple(target)):
            return
    except ValueError:
        pass
    plan.blockers.append((req, f"{req.package} = {req.version!r} excludes PyO3 {target} and is not a requirement "
                               "this codemod rewrites: set it by hand", None))


def plan_manifest(doc: dict, target: Version, started: Version | None, live: dict | None = None) -> Plan:
    """What moving this manifest to `target` takes.

    started: the PyO3 the crate built with when the run began (the project's facts, which do not
    change between passes); it decides whether PyO3 moves to a new line, so that the findings that
    only matter then are the same on every pass.
    """
    plan = Plan()
    reqs = requirements(doc)
    own = [f for f in (_floor(r.version) for r in reqs if r.package == "pyo3" and r.version) if f is not None]
    floor = max(own) if own else started
    line = max(target, floor).line() if floor is not None else target.line()
    before = started or floor
    raising = before is None or before.line() < target.line()
    for req in reqs:
        if req.package in FAMILY:
            _family_decision(req, target, plan)
        else:
            _companion_decision(req, line, raising, plan, live or {})
    return plan


# --- applying a plan ---------------------------------------------------------------------------

def _replace_version(doc, req: Requirement, new: str) -> None:
    container = doc
    for key in req.path[:-1]:
        container = container[key]
    entry = container[req.key]
    if isinstance(entry, String):
        container[req.key] = String(entry.type, new, new, entry.trivia)
    else:
        old = entry["version"]
        entry["version"] = String(old.type, new, new, old.trivia) if isinstance(old, String) else new


def apply_plan(source: bytes, changes: list[tuple[Requirement, str]]) -> list[Edit]:
    """One byte-minimal edit per changed requirement (each made on the original bytes)."""
    bom = _BOM if source.startswith(_BOM) else b""
    text = source[len(bom):].decode("utf-8")
    edits = []
    for req, new in changes:
        doc = tomlkit.parse(text)
        _replace_version(doc, req, new)
        edit = minimal_edit(source, bom + tomlkit.dumps(doc).encode("utf-8"))
        if edit is not None:
            edits.append(edit)
    return edits


_HEADER = re.compile(rb"(?m)^[ \t]*\[(?!\[)([^\]\r\n]+)\][ \t]*(?:#[^\r\n]*)?\r?$")


def _header_path(text: bytes) -> tuple[str, ...] | None:
    """The key path a table header names ("target.'cfg(unix)'.dependencies" -> 3 keys)."""
    try:
        node = tomllib.loads("[" + text.decode("utf-8") + "]\n")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    path = []
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return tuple(path)


def locate(source: bytes, req: Requirement) -> int:
    """Byte offset of req's entry: its `[a.b.key]` header, or its key line under `[a.b]` (0: not found)."""
    headers = [(m.start(), m.end(), _header_path(m[1])) for m in _HEADER.finditer(source)]
    for start, _end, path in headers:
        if path == req.path:
            return start + len(source[start:]) - len(source[start:].lstrip(b" \t"))
    key = re.compile(rb"(?m)^[ \t]*[\"']?" + re.escape(req.key.encode()) + rb"[\"']?[ \t]*[=.]")
    for i, (start, end, path) in enumerate(headers):
        if path != req.path[:-1]:
            continue
        stop = headers[i + 1][0] if i + 1 < len(headers) else len(source)
        m = key.search(source, end, stop)
        if m:
            return m.start() + len(m[0]) - len(m[0].lstrip(b" \t"))
    m = key.search(source)
    return m.start() + len(m[0]) - len(m[0].lstrip(b" \t")) if m else 0


# --- dependencies that depend on pyo3 (from Cargo.lock) ------------------------------------------

def _unlisted(name: str) -> bool:
    """PyO3's own crates and the macro-only ones the registry cannot place (the companion table's
    crates are looked up live, the table being their offline answer)."""
    return name in companions.UNDECLARED or name in FAMILY


def _live_rows(crates: list, snapshot: Snapshot) -> dict:
    """Direct dependencies the lock shows on an older PyO3 line than the target, not in the table:
    name -> their row from the registry, or why none could be had."""
    live: dict = {}
    for crate in crates:
        target = snapshot.target_for(crate.manifest)
        for dep in crate.pyo3_dependents:
            if dep.via != dep.name or _unlisted(dep.name) or target is None or dep.pyo3.line() >= target.line():
                continue
            if dep.name not in live:
                row = registry.pyo3_row(dep.name)
                if row is None:
                    row = (f"{dep.name} {dep.version} depends on PyO3 {_line_key(dep.pyo3)} and no source of the "
                           "registry's index answered (offline?): run again online, or move it by hand")
                elif not row.lines:
                    row = f"{dep.name}: no release in {row.source} declares a dependency on pyo3: move it by hand"
                live[dep.name] = row
    return live


def _transitive_blockers(crate, doc: dict, target: Version, plan: Plan) -> None:
    """A package that depends on pyo3 through one of the crate's dependencies pins PyO3's line:
    until that dependency moves, the crate cannot (cargo would fail to select a version)."""
    reqs = requirements(doc)
    for dep in crate.pyo3_dependents:
        if dep.via == dep.name or dep.pyo3.line() >= target.line():
            continue
        anchor = next((r for r in reqs if r.package == dep.via), None) or next((r for r in reqs if r.package == "pyo3"), None)
        if anchor is None:
            continue
        row = registry.pyo3_row(dep.name)
        first = row.lines.get(_line_key(target)) if row is not None else None
        known = f"; its first release for PyO3 {_line_key(target)} is {first} (from {row.source})" if first else ""
        plan.blockers.append((anchor, f"{dep.name} {dep.version}, through {dep.via}, depends on PyO3 "
                                      f"{_line_key(dep.pyo3)}: cargo cannot select PyO3 {_line_key(target)} until "
                                      f"{dep.via} moves to a release that brings a newer {dep.name}{known}",
                              Version(dep.pyo3.major, dep.pyo3.minor + 1)))


# --- the codemod -------------------------------------------------------------------------------

@dataclass
class ManifestFacts:
    plans: dict[Path, Plan]
    blocked_by: dict[Path, list[str]]  # unit root -> "crate (manifest)" descriptions of blockers
    unit_of: dict[Path, Path]


def _unit_root(path: Path, workspaces: set[Path]) -> Path:
    for parent in path.parents:
        candidate = parent / "Cargo.toml"
        if candidate in workspaces:
            return candidate
    return path


class ManifestCodemod(Codemod):
    info = INFO

    def scan(self, snapshot: Snapshot) -> ManifestFacts:
        """Plan every Cargo.toml of every workspace (or lone crate) that has a PyO3 crate in it."""
        docs = {}
        for path, data in snapshot.contents.items():
            if path.name != "Cargo.toml" or path in snapshot.broken:
                continue
            try:
                docs[path] = toml_document(data)
            except (UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
        workspaces = {p for p, d in docs.items() if isinstance(d.get("workspace"), dict)}
        unit_of = {p: _unit_root(p, workspaces) for p in docs}
        crates = snapshot.project.pyo3_crates()
        units = {unit_of.get(c.manifest, c.manifest) for c in crates}
        unit_floor: dict[Path, Version] = {}
        for crate in crates:
            floor = _floor(crate.requirement or "")
            unit = unit_of.get(crate.manifest, crate.manifest)
            if floor is not None and (unit not in unit_floor or floor > unit_floor[unit]):
                unit_floor[unit] = floor
        plans: dict[Path, Plan] = {}
        blocked_by: dict[Path, list[str]] = {}
        live = _live_rows(crates, snapshot)
        for path, doc in docs.items():
            unit = unit_of[path]
            target = snapshot.target_for(path)
            if unit not in units or target is None:
                continue
            crate = snapshot.project.crate_of(path)
            floor = _floor(crate.requirement) if crate is not None and crate.requirement else None
            plan = plan_manifest(doc, target, floor or unit_floor.get(unit), live)
            original = snapshot.original.get(path)
            if original is not None and original != snapshot.contents[path]:
                try:
                    first = toml_document(original)
                    plan.breaking_moves = plan_manifest(first, target, floor or unit_floor.get(unit), live).breaking_moves
                except (UnicodeDecodeError, tomllib.TOMLDecodeError):
                    pass
            plans[path] = plan
            if crate is not None and crate in crates and crate.manifest == path:
                _transitive_blockers(crate, doc, target, plan)
            for req, *_ in plan.blockers:
                named = blocked_by.setdefault(unit, [])
                if f"{req.package} ({path.as_posix()})" not in named:
                    named.append(f"{req.package} ({path.as_posix()})")
        return ManifestFacts(plans, blocked_by, unit_of)

    def transform(self, ctx: Context) -> None:
        facts: ManifestFacts = ctx.facts
        if ctx.path.name != "Cargo.toml" or ctx.path not in facts.plans:
            return
        plan = facts.plans[ctx.path]
        for req, message in plan.notes + plan.breaking_moves:
            ctx.finding(locate(ctx.source, req), message)
        for req, message, ruled_out in plan.blockers:
            ctx.finding(locate(ctx.source, req), message, removed_in=ruled_out)
        blockers = facts.blocked_by.get(facts.unit_of.get(ctx.path, ctx.path), [])
        moves = list(dict.fromkeys(f"{req.package} {req.version} -> {new}" for req, new in plan.changes))
        if blockers:
            if plan.changes:
                ctx.finding(locate(ctx.source, plan.changes[0][0]),
                            f"left unchanged ({', '.join(moves)}): blocked by {', '.join(blockers)}")
            return
        try:
            edits = apply_plan(ctx.source, plan.changes)
        except Exception as exc:  # a TOML shape tomlkit reads differently: say so, change nothing
            ctx.finding(locate(ctx.source, plan.changes[0][0]), f"could not edit ({', '.join(moves)}): {exc}")
            return
        if edits:
            looked_up = f" (releases looked up: {', '.join(plan.notes_on_moves)})" if plan.notes_on_moves else ""
            ctx.fix("; ".join(moves) + looked_up, edits)


CODEMOD = ManifestCodemod()
