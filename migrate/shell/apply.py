"""Writing results to disk: atomic, mode-preserving, and never over a file that changed meanwhile."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from pathlib import Path


class ApplyError(Exception):
    """A file that could not be written safely: the message names it."""


def write_atomic(path: Path, expected: bytes, data: bytes) -> None:
    """Replace path's bytes with data, if it still holds `expected`; keep its mode.

    The new content goes to a temporary file in the same directory, then `os.replace` swaps it
    in, so a crash leaves either the old file or the new one, never half of either.
    """
    try:
        current = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise ApplyError(f"{path}: cannot read: {exc.strerror}") from exc
    if current != expected:
        raise ApplyError(f"{path}: changed on disk while we worked; not written (run again)")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".pyo3-migrate", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ApplyError(f"{path}: cannot write: {exc.strerror}") from exc


def git_state(path: Path) -> tuple[bool, list[str]]:
    """(inside a git work tree, paths with uncommitted changes under path)."""
    directory = path if path.is_dir() else path.parent
    try:
        inside = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=directory, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return False, []
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return False, []
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    return True, [line[3:] for line in status.stdout.splitlines() if line.strip()]
