"""Every codemod documents itself and has fixtures that change code and fixtures that must not."""

from __future__ import annotations

import pkgutil

import pytest

import codemods
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
    assert any(c.changes for c in mine), f"{codemod_id} has no fixture that changes code"
    assert any(not c.changes for c in mine), f"{codemod_id} has no fixture that must stay unchanged"
