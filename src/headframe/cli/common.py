"""What every `headframe` subcommand shares. Django is set up only once the command line is parsed (a
`--help` or a usage error needs no database), so the subcommands import Django and the apps inside their
functions: that is the one place in headframe where imports stay local on purpose."""

from __future__ import annotations

import os

PROG = "headframe"
DELEGATED = ("ingest", "simulate")  # subcommands whose options their own module parses
# Commands that run against a database ahead of this code (see core/schema_guard.py): copying it out or in, and
# the maintainers' escape hatch. Every other command refuses to start there.
UNGUARDED = ("backup", "restore", "manage")


class CommandError(Exception):
    """A refused operation: printed as one line, exit code 1."""


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headframe.settings")
    import django

    django.setup()
