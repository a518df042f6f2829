"""The floor of a run of ours: what `diff DIR` pays before its first codemod, and nothing else.

    python scripts/bench_floor.py DIR [--target-pyo3 X.Y]

Start the interpreter, import what every run imports (the CLI and every codemod), find the
project, read its inputs, and parse every file some codemod will read, as the engine does up
front (core.engine.check_inputs). No codemod runs and nothing is printed. scripts/bench.py times
it beside the full run: no analysis written in Python over tree-sitter can take less than this.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyo3_migrate.core import engine
from pyo3_migrate.core.project import discover, find_root
from pyo3_migrate.core.version import Version
from pyo3_migrate.shell import cli, runner


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    target = Version.parse(argv[argv.index("--target-pyo3") + 1]) if "--target-pyo3" in argv else None
    codemods = cli._selected(None)
    root = find_root(path)
    project = discover(root)
    contents = runner._read_inputs(root, project, codemods, [], [])
    engine.check_inputs(project, contents, codemods, engine.Options(target=target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
