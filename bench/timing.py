"""Tiny timing helpers shared by the benchmarks: best-of-N wall time, printed with a ratio to a baseline."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def best_of(fn: Callable[[], object], repeat: int = 7, number: int = 20) -> float:
    """Best mean seconds per call over `repeat` rounds of `number` calls (the least disturbed round)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def report(name: str, seconds: float, baseline_name: str, baseline: float) -> None:
    print(f"  {name:<48} {seconds * 1e3:9.3f} ms   {seconds / baseline:6.2f}× {baseline_name}")


def rerun_module(module: str, database_url: str, child_flag: str) -> None:
    """Run `python -m bench <module>` again against another database, in a subprocess (Django reads its
    settings once per process); `child_flag` is set in its environment so the child does not recurse."""
    env = {**os.environ, "HEADFRAME_DATABASE_URL": database_url, child_flag: "1"}
    subprocess.run(
        [sys.executable, "-m", "bench", module],
        env=env,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
