"""Checks that apps above safety add to the readiness gate of a work position, without safety importing them
(layers): an app registers a check when it is ready (AppConfig.ready), and the gate consults every check.

A check is `fn(positions, day) -> {position id: [reason, ...]}` for a list of work positions and the local day
of the moment the gate looks at; each reason is `{"code": ..., "msg": ...}` with `msg` in the active language,
naming no person and no internal code. A check's reasons block the position's readiness (and so its release),
but never revoke a release already given: like a gas alarm, they are handled where they arise (the workforce's
lamp room refuses an unfit person at check-in)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from headframe.org.models import Unit

ReadinessCheck = Callable[[list[Unit], dt.date], dict[int, list[dict]]]

_CHECKS: list[ReadinessCheck] = []
_CODES: set[str] = set()


def register_readiness_check(fn: ReadinessCheck, *, codes: tuple[str, ...] = ()) -> None:
    """Add a check (once: registering the same function again changes nothing); `codes`: the reason codes it
    may give."""
    if fn not in _CHECKS:
        _CHECKS.append(fn)
    _CODES.update(codes)


def hook_codes() -> frozenset[str]:
    """The reason codes of the registered checks (they block readiness but do not revoke a release)."""
    return frozenset(_CODES)


def hook_reasons(positions: list[Unit], day: dt.date) -> dict[int, list[dict]]:
    """Every registered check's reasons, by position id."""
    out: dict[int, list[dict]] = {}
    for check in _CHECKS:
        for position_id, reasons in check(positions, day).items():
            out.setdefault(position_id, []).extend(reasons)
    return out
