"""Production demo data for the demo group: holidays, plans, daily actuals, deviations.

Figures are sized from the public scale of a Vietnamese coal group (DESIGN.md §6): ~39 Mt raw coal and ~50 Mt
coal sold a year, ~9 Mm³ overburden and ~22 km of roadway a month, 1.3–1.5 million đồng per tonne sold,
4–8 t per man-shift underground. Actuals are reported where a dispatcher would drill down to: raw coal per
longwall face and per bench, metres per development heading, overburden per bench, man-shifts per area,
clean coal and ash per site (per processing line at the plant), sales and revenue per company, coal in stock
per site.

Deterministic: every figure of a day comes from a random generator seeded with (seed, day), every yearly
event (which mine struggles, when the rain comes) from one seeded with (seed, year), so loading a range in
one go or in pieces gives the same numbers. Idempotent: holidays and plan versions that exist are left
alone, and actuals are only generated for days outside the span the demo already covers — a second call with
the same `today` writes nothing, a call on a later day only fills the days since.

Actuals are bulk-inserted (they are demo data, not reports: one summary audit row, not one per figure) and
their daily and monthly totals are written with the same rules as `services.refresh_totals`.

Layout: `scale` (figures and holidays), `structure`, `plans`, `events` (yearly), `days` (one day's figures),
`loader`.
"""

from __future__ import annotations

from headframe.production.demo.loader import insert_rows, load_production_demo
from headframe.production.demo.scale import (
    GROUP_CODE,
    NATIONAL_DAY_SECOND,
    REGISTER_YEARS,
    demo_holidays,
    tet_holidays,
)

__all__ = [
    "GROUP_CODE",
    "NATIONAL_DAY_SECOND",
    "REGISTER_YEARS",
    "demo_holidays",
    "insert_rows",
    "load_production_demo",
    "tet_holidays",
]
