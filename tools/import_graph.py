"""Draw headframe's import graph at the level of its layers (apps and top-level modules), from the same
import analysis the layer contract in `make lint` uses (grimp, import-linter's engine).

    .venv/bin/python tools/import_graph.py            # a text table: who imports whom, how many imports
    .venv/bin/python tools/import_graph.py --mermaid  # a Mermaid graph for docs/ARCHITECTURE.md or a PR

An arrow that points up the layers (DESIGN.md §1) is marked "UP"; `make lint` refuses it."""

from __future__ import annotations

import argparse
from collections import Counter

import grimp

LAYERS = ["core", "org", "notify", "telemetry", "safety", "production", "briefing", "web", "top"]
TOP = {"api", "cli", "demo", "urls", "settings", "asgi", "wsgi", "__main__"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "top"
    return "top" if parts[1] in TOP else parts[1]


def edges() -> Counter:
    graph = grimp.build_graph("headframe", cache_dir=None)
    counted: Counter = Counter()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = layer_of(importer), layer_of(imported)
            if a != b and ".migrations" not in importer:
                counted[(a, b)] += 1
    return counted


def rank(name: str) -> int:
    return LAYERS.index(name) if name in LAYERS else len(LAYERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mermaid", action="store_true", help="print a Mermaid graph instead of a table")
    args = parser.parse_args()
    counted = edges()
    ordered = sorted(counted.items(), key=lambda e: (-rank(e[0][0]), rank(e[0][1])))
    if args.mermaid:
        print("graph TD")
        for (a, b), n in ordered:
            arrow = "-.->|UP|" if rank(b) > rank(a) else f"-->|{n}|"
            print(f"  {a} {arrow} {b}")
        return
    print(f"{'importer':<12} {'imports':<12} {'count':>5}")
    for (a, b), n in ordered:
        print(f"{a:<12} {b:<12} {n:>5}{'  UP' if rank(b) > rank(a) else ''}")


if __name__ == "__main__":
    main()
