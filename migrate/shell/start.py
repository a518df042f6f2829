"""The `pyo3-migrate` entry point: `--version` answers before the CLI and its codemods load."""

from __future__ import annotations

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
    from migrate.shell.cli import main as cli

    cli()
