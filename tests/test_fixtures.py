"""Every fixture case: expected output, idempotence, re-parse, findings."""

from __future__ import annotations

import pytest

from pyo3_migrate.analysis import rust
from tests.fixture_cases import discover_cases, run_case

CASES = discover_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture(case):
    results = run_case(case)
    outputs = {r.path: r.after for r in results}
    expected = case.after if case.after is not None else case.before
    for path, data in expected.items():
        assert outputs[path].decode() == data.decode(), f"{path} differs from the expected output"
        assert outputs[path] == data  # byte for byte (line endings, BOM)
    assert not [r.input_error for r in results if r.input_error]
    assert not [s for r in results for s in r.skipped], "an edit was dropped by the re-parse gate"

    for path, data in outputs.items():
        if path.suffix == ".rs":
            assert rust.error_count(rust.parse(data)) == 0, f"{path} does not re-parse"

    again = run_case(case, outputs, migrated=True)
    assert {r.path: r.after for r in again} == outputs, "a second run changed something"

    findings = [f"{f.codemod}: {f.message}" for r in results for f in r.findings]
    wanted = case.options.get("findings", [])
    for text in wanted:
        assert any(text in f for f in findings), f"no finding mentions {text!r}; got {findings}"
    if not wanted:
        assert findings == [], f"unexpected findings: {findings}"
