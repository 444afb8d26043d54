"""The workforce's reads, scoped by what the caller may see."""

from headframe.workforce.selectors.lamp_room import (
    MusterGroup,
    MusterList,
    UndergroundRow,
    muster_list,
    underground_counts,
    underground_now,
)
from headframe.workforce.selectors.workers import CertificateRow, certificates_expiring, workers_visible

__all__ = [
    "CertificateRow",
    "MusterGroup",
    "MusterList",
    "UndergroundRow",
    "certificates_expiring",
    "muster_list",
    "underground_counts",
    "underground_now",
    "workers_visible",
]
