"""The workforce demo, one module per part of the module. `load_workforce_demo` loads every part (idempotent:
each part skips what is already there)."""

from __future__ import annotations

import datetime as dt

from headframe.workforce.demo import epidemic, health, income, people, training, voice


def load_workforce_demo(*, now: dt.datetime | None = None, full: bool = False) -> None:
    """`full`: the whole group's ~10 000 workers and a month of rosters and presence (`make demo`); otherwise
    NDA's two underground mines today (what the tests load)."""
    people.load_workforce_demo(now=now, full=full)
    for part in (training, health, epidemic, voice, income):
        part.load(now=now)
