"""Writing results to disk: a project is written whole or not at all, files keep their mode,
owner and links, and nothing is written over a file that changed meanwhile.

Two phases. Prepare: every new content goes to a temporary file beside its target (checked,
written, synced, given the target's mode and owner). Commit: with SIGINT and SIGTERM held back,
each temporary file replaces its target; if one cannot, the ones already replaced get their old
bytes back. Temporary files never outlive the call, whatever happens.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class ApplyError(Exception):
    """A file that could not be written safely: the message names it."""


class Interrupted(Exception):
    """SIGINT or SIGTERM came while writing: `written` is every file that was written (all of
    the call's, or none)."""

    def __init__(self, written: list[Path]):
        super().__init__(f"interrupted; {len(written)} file(s) written")
        self.written = written


@dataclass
class _Staged:
    path: Path  # the file written (a symlink's target, when it is one)
    before: bytes
    temp: Path | None = None  # None: written in place (a file with hard links keeps them)


def _check(path: Path, expected: bytes) -> os.stat_result:
    try:
        current = path.read_bytes()
        info = path.stat()
    except OSError as exc:
        raise ApplyError(f"{path}: cannot read: {exc.strerror}") from exc
    if current != expected:
        raise ApplyError(f"{path}: changed on disk while we worked; not written "
                         "(commit or stash that change, then run again)")
    if not info.st_mode & stat.S_IWUSR:
        raise ApplyError(f"{path}: read-only; not written (make it writable to migrate it)")
    return info


def _stage(path: Path, expected: bytes, data: bytes) -> _Staged:
    try:
        path = path.resolve(strict=True)  # an in-tree symlink is written through, to its target
    except (OSError, RuntimeError) as exc:
        raise ApplyError(f"{path}: cannot resolve: {exc}") from exc
    info = _check(path, expected)
    if info.st_nlink > 1:
        return _Staged(path, expected)  # replacing it would cut its other links: written in place
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".pyo3-migrate", dir=path.parent)
    except OSError as exc:
        raise ApplyError(f"{path}: cannot write beside it: {exc.strerror}") from exc
    staged = _Staged(path, expected, Path(temp))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        try:
            os.chown(temp, info.st_uid, info.st_gid)
        except PermissionError:
            pass  # only the owner's group or root may keep another owner: the file is ours now
    except OSError as exc:
        staged.temp.unlink(missing_ok=True)
        raise ApplyError(f"{path}: cannot write: {exc.strerror}") from exc
    return staged


def _put(staged: _Staged, data: bytes) -> None:
    if staged.temp is not None:
        os.replace(staged.temp, staged.path)
        staged.temp = None
    else:
        with open(staged.path, "r+b") as handle:
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())


@contextmanager
def _signals_held():
    """SIGINT and SIGTERM wait until the block ends (a commit is not cut in half)."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError):  # no signal masks here: nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def write_all(changes: list[tuple[Path, bytes, bytes]]) -> list[Path]:
    """Write every (path, bytes read, new bytes), or none of them: ApplyError names the first file
    that could not be written, and every file is then as it was. Returns the paths written (as
    given). SIGINT or SIGTERM while preparing: nothing is written (KeyboardInterrupt); while
    committing: the commit finishes, then Interrupted says so."""
    staged: list[tuple[_Staged, bytes, Path]] = []
    done: list[tuple[_Staged, bytes]] = []
    with _sigterm_interrupts():
        try:
            for path, before, after in changes:
                staged.append((_stage(path, before, after), after, path))
            try:
                with _signals_held():
                    for item, after, _ in staged:
                        try:
                            _put(item, after)
                        except OSError as exc:
                            _undo(done)
                            raise ApplyError(f"{item.path}: cannot write: {exc.strerror}; the {len(done)} "
                                             "file(s) written before it were put back") from exc
                        done.append((item, after))
            except KeyboardInterrupt:
                raise Interrupted([given for _, _, given in staged[: len(done)]]) from None
        finally:
            for item, _, _ in staged:
                if item.temp is not None:
                    item.temp.unlink(missing_ok=True)
    return [given for _, _, given in staged]


@contextmanager
def _sigterm_interrupts():
    """SIGTERM raises KeyboardInterrupt here, as SIGINT does: the cleanup above runs for both."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _undo(done: list[tuple[_Staged, bytes]]) -> None:
    for item, _ in reversed(done):
        try:
            _put(_Staged(item.path, item.before), item.before)
        except OSError:
            pass  # the error that stopped us is the one to report


def write_atomic(path: Path, expected: bytes, data: bytes) -> None:
    """One file (see write_all)."""
    write_all([(path, expected, data)])


def git_state(path: Path) -> tuple[bool, list[str]]:
    """(inside a git work tree, paths with uncommitted changes under path, untracked ones included)."""
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
        ["git", "status", "--porcelain", "--untracked-files=all", "--", "."],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    return True, [line[3:] for line in status.stdout.splitlines() if line.strip()]
