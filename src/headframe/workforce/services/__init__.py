"""The workforce's writes: keyword-only, transactional, audited under the unit they touch."""

from headframe.workforce.services.lamp_room import CheckInRefused, check_in, check_out, refusals
from headframe.workforce.services.rosters import roster_copy_week, roster_set
from headframe.workforce.services.workers import ImportResult, workers_import

__all__ = [
    "CheckInRefused",
    "ImportResult",
    "check_in",
    "check_out",
    "refusals",
    "roster_copy_week",
    "roster_set",
    "workers_import",
]
