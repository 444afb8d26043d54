"""Tiny timing helpers shared by the benchmarks: best-of-N wall time, printed with a ratio to a baseline."""

import time
from collections.abc import Callable


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
