"""Print the correctness table: every sample x target x fixes -> compiles?, warnings, deprecations left, findings left.

Usage (from the repository root, in the project's venv):  python scripts/correctness_table.py
Each sample is copied, migrated with `pyo3-migrate apply --target-pyo3 X` (with and without `--unsafe`), and `cargo check`ed
against the real PyO3 (one shared cargo target directory: see tests/proof.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.proof import FIX_SETS, TARGETS, check, copy_sample, migrate, samples  # noqa: E402


def main() -> int:
    rows = [
        "| sample | target | fixes | compiles | warnings | deprecations left | findings left | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    runs = [("as is", "-")] + [(target, fixes) for target in TARGETS for fixes in FIX_SETS]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for sample in samples():
            for target, fixes in runs:
                started = time.monotonic()
                project = copy_sample(sample, Path(tmp) / f"{sample.name}-{target.replace(' ', '_')}-{fixes}")
                findings = "-"
                if target != "as is":
                    findings = str(len(migrate(project, target, *FIX_SETS[fixes]).findings))
                result = check(project)
                failed |= not result.ok
                rows.append(
                    f"| {sample.name} | {target} | {fixes} | {'yes' if result.ok else 'NO'} | {len(result.warnings)} | "
                    f"{len(result.deprecations())} | {findings} | {time.monotonic() - started:.0f} |"
                )
                print(rows[-1], file=sys.stderr, flush=True)
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
