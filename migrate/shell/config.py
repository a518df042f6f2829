"""Settings from the project: `[tool.pyo3-migrate]` in pyproject.toml, or a `pyo3-migrate.toml`
beside it (top-level keys). The command line wins over the file.

    [tool.pyo3-migrate]
    target = "0.26"
    select = ["once-lock", "attach"]      # codemods to run (default: all)
    ignore = ["py-clone"]                 # codemods never to run
    exclude = ["tests/data", "vendor/*"]  # globs of paths never read
    unsafe = false
    declare-free-threaded = true
    free-threading-level = "beta"
    format = "text"
    fail-on = "both"
"""

from __future__ import annotations

import tomllib
from pathlib import Path

KEYS = {"target": str, "select": list, "ignore": list, "exclude": list, "unsafe": bool,
        "declare-free-threaded": bool, "free-threading-level": str, "format": str, "fail-on": str}


class ConfigError(Exception):
    """A settings file the tool cannot use (the message names it and the key)."""


def load(root: Path) -> tuple[dict, Path | None]:
    """(settings, the file they came from); empty when there is none."""
    for name, table in (("pyo3-migrate.toml", ()), ("pyproject.toml", ("tool", "pyo3-migrate"))):
        path = root / name
        if not path.is_file():
            continue
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from exc
        for key in table:
            document = document.get(key, {})
        if not document and table:
            continue
        for key, value in document.items():
            if key not in KEYS:
                raise ConfigError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(KEYS))})")
            if not isinstance(value, KEYS[key]) or (KEYS[key] is list and not all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{path}: {key} must be {'a list of strings' if KEYS[key] is list else KEYS[key].__name__}")
        return document, path
    return {}, None
