"""Every codemod documents itself and has fixtures that change code and fixtures that must not."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

from pyo3_migrate import codemods
from tests.fixture_cases import discover_cases

CASES = discover_cases()
IDS = [c.info.id for c in codemods.REGISTRY]


def test_every_codemod_module_is_registered():
    modules = {m.name for m in pkgutil.iter_modules(codemods.__path__)}
    registered = {type(c).__module__.rsplit(".", 1)[-1] for c in codemods.REGISTRY}
    assert modules == registered


def test_ids_are_unique():
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("codemod_id", IDS)
def test_docs(codemod_id):
    info = codemods.by_id(codemod_id).info
    for heading in ("What it does", "Fix safety"):
        assert heading in info.docs, f"{codemod_id} docs lack a '{heading}' section"
    assert info.summary and info.guide.startswith("https://")


@pytest.mark.parametrize("codemod_id", IDS)
def test_changing_and_noop_fixtures(codemod_id):
    mine = [c for c in CASES if c.codemod == codemod_id]
    reports_only = codemods.by_id(codemod_id).info.reports_only
    assert reports_only or any(c.changes for c in mine), f"{codemod_id} has no fixture that changes code"
    assert not (reports_only and any(c.changes for c in mine)), f"{codemod_id} reports only, yet changed code"
    assert any(not c.changes for c in mine), f"{codemod_id} has no fixture that must stay unchanged"


def _imports(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


ROOT = Path(__file__).parent.parent
# What each layer may not import: arrows point down only (shell -> codemods -> analysis -> core).
FORBIDDEN = {
    "migrate/core": ("pyo3_migrate.analysis", "pyo3_migrate.shell", "pyo3_migrate.codemods"),
    "migrate/analysis": ("pyo3_migrate.shell", "pyo3_migrate.codemods"),
    "codemods": ("pyo3_migrate.shell",),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_downwards_only(layer):
    for path in sorted((ROOT / layer).glob("*.py")):
        bad = {m for m in _imports(path) for prefix in FORBIDDEN[layer] if m == prefix or m.startswith(prefix + ".")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_codemods_never_import_each_other_and_only_the_cli_knows_the_registry():
    for path in sorted((ROOT / "codemods").glob("*.py")):
        if path.name != "__init__.py":
            assert not {m for m in _imports(path) if m.startswith("pyo3_migrate.codemods")}, path.name
    knows = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "migrate").rglob("*.py")
                   if any(m == "pyo3_migrate.codemods" or m.startswith("pyo3_migrate.codemods.") for m in _imports(p)))
    assert knows == ["migrate/shell/cli.py"]
