"""Batch overhead: generate N small git repositories (one PyO3 crate each) and time a dry-run
`pyo3-migrate batch` over them, on the local process pool and through a Dask LocalCluster.

    python scripts/bench_batch.py                 # N = 10, 100, 1000
    python scripts/bench_batch.py --sizes 10 100 --no-dask

Prints, per N and executor: total seconds and seconds per repository (wall time / N), against
the target of 50 ms per repository at N = 1,000 on the local pool. Timings, not assertions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CARGO = '[package]\nname = "r{n}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\npyo3 = "0.22.6"\n'
LIB = """use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;

static CACHE: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

#[pyfunction]
fn cached(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Python::with_gil(|py| CACHE.get_or_try_init(py, || Ok(py.None())).map(|v| v.clone_ref(py)))
}
"""
GIT = ["git", "-c", "user.name=b", "-c", "user.email=b@localhost", "-c", "commit.gpgsign=false"]


def make_repos(root: Path, n: int) -> Path:
    for i in range(n):
        repo = root / f"r{i}"
        (repo / "src").mkdir(parents=True)
        (repo / "Cargo.toml").write_text(CARGO.format(n=i))
        (repo / "src" / "lib.rs").write_text(LIB)
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
            subprocess.run(GIT + args, cwd=repo, check=True, capture_output=True)
    listing = root / "batch.txt"
    listing.write_text("".join(f"r{i}\n" for i in range(n)))
    return listing


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--no-dask", action="store_true", help="only the local pool")
    parser.add_argument("--tool", default=f"{sys.executable} -m pyo3_migrate")
    args = parser.parse_args()
    tool = args.tool.split()
    rows = []
    cluster = None
    if not args.no_dask:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=":0")
    try:
        for n in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                listing = make_repos(Path(tmp), n)
                runs = [("local pool", [])]
                if cluster is not None:
                    runs.append(("Dask LocalCluster", ["--scheduler", cluster.scheduler_address]))
                for label, extra in runs:
                    out = Path(tmp) / f"out-{len(rows)}"
                    seconds = timed(tool + ["batch", str(listing), "--out", str(out), "--target-pyo3", "0.26", "-q", *extra])
                    rows.append((n, label, seconds))
    finally:
        if cluster is not None:
            cluster.close()
    print(f"cores: {os.cpu_count()}\n")
    print("| repositories | executor | total s | per repository ms | target |")
    print("|---|---|---|---|---|")
    for n, label, seconds in rows:
        per = 1000 * seconds / n
        target = ("<= 50 ms: " + ("pass" if per <= 50 else "FAIL")) if n == 1000 and label == "local pool" else ""
        print(f"| {n:,} | {label} | {seconds:.2f} | {per:.1f} | {target} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
