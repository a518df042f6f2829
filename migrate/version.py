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


V0_22_3 = Version(0, 22, 3)
V0_23 = Version(0, 23)
V0_24 = Version(0, 24)
V0_26 = Version(0, 26)
V0_28 = Version(0, 28)
