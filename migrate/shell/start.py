"""The `pyo3-migrate` entry point: `--version` answers before the CLI and its codemods load."""

from __future__ import annotations

import gc
import sys


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("pyo3-migrate")
    except PackageNotFoundError:
        return "unknown"


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        print(f"pyo3-migrate {version()}")
        return
    # A run allocates millions of short-lived objects (tree nodes, names) and makes almost no
    # cycles: the default collector thresholds spend about a tenth of a large run finding none.
    gc.set_threshold(100_000, 50, 100)
    debug = "--debug" in sys.argv[1:]
    if debug:
        sys.argv.remove("--debug")
    try:
        from pyo3_migrate.shell.cli import main as cli

        cli()
    except KeyboardInterrupt:
        print("pyo3-migrate: interrupted; nothing was written", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug: one line and a way to report it, not a traceback
        if debug:
            raise
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        place = f" at {where.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{where.tb_lineno}" if where else ""
        print(f"pyo3-migrate: internal error: {type(exc).__name__}: {exc}{place}. This is a bug: please report it "
              "with the command you ran (--debug shows the traceback).", file=sys.stderr)
        sys.exit(3)
