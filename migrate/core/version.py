"""PyO3 versions and Cargo requirement strings, reduced to what the codemods decide on."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REQ = re.compile(r"^\s*(?P<op>\^|~|=|>=)?\s*(?P<maj>\d+)(?:\.(?P<min>\d+))?(?:\.(?P<pat>\d+))?")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> "Version":
        """Parse "0.26", "0.22.3", "=0.25.1", "^0.23": the lowest version the text allows."""
        m = _REQ.match(text)
        if not m:
            raise ValueError(f"not a PyO3 version: {text!r}")
        return cls(int(m["maj"]), int(m["min"] or 0), int(m["pat"] or 0))

    def line(self) -> "Version":
        """The release line (0.26.2 -> 0.26.0)."""
        return Version(self.major, self.minor, 0)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def requirement_operator(requirement: str) -> str:
    """The comparison operator a requirement string starts with ("" for a bare caret one)."""
    m = _REQ.match(requirement)
    return (m["op"] or "") if m else ""


def same_line(a: Version, b: Version) -> bool:
    return (a.major, a.minor) == (b.major, b.minor)


# --- Cargo's reading of requirement strings ------------------------------------------------------

COMPARATOR = re.compile(
    r"^\s*(=|>=|<=|>|<|~|\^)?\s*(\d+|\*|x|X)(?:\.(\d+|\*|x|X))?(?:\.(\d+|\*|x|X))?(?:-[0-9A-Za-z.-]+)?\s*$"
)


def _comparator(text: str):
    """One comparator of a requirement, as a predicate on a release's (major, minor, patch)."""
    m = COMPARATOR.match(text)
    if not m:
        raise ValueError(f"cannot read requirement {text!r}")
    op = m[1]
    parts: list[int] = []
    wildcard = False
    for part in m.group(2, 3, 4):
        if part is None:
            break
        if part in "*xX":
            wildcard = True
            break
        parts.append(int(part))
    if wildcard:
        op = op or "="  # "0.22.*" and "*": whatever the given components say
    op = op or "^"
    given = len(parts)
    major, minor, patch = (parts + [0, 0, 0])[:3]
    lo = (major, minor, patch)
    if given == 0:
        return lambda v: True
    if op == "=":
        return lambda v: tuple(v[:given]) == tuple(parts)
    if op == "^":
        if major > 0 or given == 1:
            hi = (major + 1, 0, 0)
        elif minor > 0 or given == 2:
            hi = (0, minor + 1, 0)
        else:
            hi = (0, 0, patch + 1)
        return lambda v: lo <= v < hi
    if op == "~":
        hi = (major + 1, 0, 0) if given == 1 else (major, minor + 1, 0)
        return lambda v: lo <= v < hi
    # the first version past everything the given components name ("1.2" -> 1.3.0)
    past = (major + 1, 0, 0) if given == 1 else (major, minor + 1, 0) if given == 2 else (major, minor, patch + 1)
    if op == ">=":
        return lambda v: v >= lo
    if op == ">":
        return lambda v: v >= past
    if op == "<":
        return lambda v: v < lo
    return lambda v: v < past  # "<="


def admits(requirement: str, version: tuple[int, int, int]) -> bool:
    """Cargo's reading of a requirement ("^0.22", ">=0.23, <0.25", "=0.26.1", "*") for a release."""
    return all(_comparator(part)(tuple(version)) for part in requirement.split(",") if part.strip())


def is_comparator(text: str) -> bool:
    """Whether text is one comparator cargo understands ("0.22", "=0.25.1", ">=0.23", "0.22.*")."""
    return bool(COMPARATOR.match(text))


V0_22 = Version(0, 22)
V0_22_3 = Version(0, 22, 3)
V0_23 = Version(0, 23)
V0_24 = Version(0, 24)
V0_25 = Version(0, 25)
V0_26 = Version(0, 26)
V0_27 = Version(0, 27)
V0_28 = Version(0, 28)
V0_29 = Version(0, 29)
V0_30 = Version(0, 30)
