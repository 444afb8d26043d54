"""`make bench`: run every benchmark module in bench/ against a throw-away SQLite database with the demo
data. Each prints its timings and a ratio against a baseline measured in the same run."""

import importlib
import os
import pkgutil
import shutil
import sys
import tempfile
from pathlib import Path


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="headframe-bench-"))
    os.environ.setdefault("HEADFRAME_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("HEADFRAME_VAR_DIR", str(workdir))
    os.environ.setdefault("HEADFRAME_MODE", "demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headframe.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from headframe.demo import load_demo

    call_command("migrate", interactive=False, verbosity=0)
    load_demo()
    only = set(sys.argv[1:])
    package = Path(__file__).parent
    try:
        for module in sorted(
            m.name for m in pkgutil.iter_modules([str(package)]) if m.name.startswith("bench_")
        ):
            if only and module not in only:
                continue
            print(f"== {module}", flush=True)
            importlib.import_module(f"bench.{module}").run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the production benchmark's database is ~0.5 GB
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
