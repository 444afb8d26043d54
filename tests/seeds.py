"""What the data migrations seed, put back where a transactional test earlier in the run flushed it.

Browser and live-server tests run on a flushed database (`transaction=True`): the flush empties every table,
the catalogues the migrations loaded included, and tests that need them call these first.
"""

from __future__ import annotations

import importlib

from django.apps import apps


def _migration_seed(module: str) -> None:
    importlib.import_module(module).seed(apps, None)


def indicator_catalogue() -> None:
    """The indicator catalogue (production/0002) and its plausible ranges (production/0007)."""
    from headframe.production.models import Indicator, PlausibleRange

    if not Indicator.objects.exists():
        _migration_seed("headframe.production.migrations.0002_seed_indicators")
    if not PlausibleRange.objects.exists():
        _migration_seed("headframe.production.migrations.0007_seed_plausible_ranges")


def limit_profiles() -> None:
    """The regulatory limit profiles (telemetry/0002)."""
    from headframe.telemetry.limits import load_limit_profiles
    from headframe.telemetry.models import Limit, LimitProfile

    if not Limit.objects.exists():
        load_limit_profiles(LimitProfile, Limit)


def restart_checklists() -> None:
    """The restart checklists a campaign inspects with (safety/0002)."""
    from headframe.safety.models import ChecklistTemplate

    if not ChecklistTemplate.objects.exists():
        _migration_seed("headframe.safety.migrations.0002_restart_templates")


def all_seeds() -> None:
    indicator_catalogue()
    limit_profiles()
    restart_checklists()
