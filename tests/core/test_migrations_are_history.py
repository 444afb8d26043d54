"""Migrations are history, not live code: no migration imports the application's loaders or models (it works on
the historical models it is given and on data frozen beside it), and the data the newest frozen copies hold is
what the live files hold today — a change to the live data must come with a migration that freezes it."""

from __future__ import annotations

import ast
import filecmp
import json
from pathlib import Path

import pytest

import headframe

SRC = Path(headframe.__file__).parent
MIGRATIONS = sorted(p for p in SRC.glob("*/migrations/*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_migration_imports_nothing_of_the_live_application(path):
    app = path.parent.parent.name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    live = [
        f"line {node.lineno}: {node.module}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("headframe")
        and not (node.module or "").startswith(f"headframe.{app}.migrations")
    ]
    live += [
        f"line {node.lineno}: {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("headframe")
    ]
    assert not live, f"{path.name} imports live code: {live}"


def test_the_newest_frozen_limit_profiles_are_the_live_ones():
    frozen = sorted((SRC / "telemetry/migrations/frozen").glob("limit_profiles_*.json"))[-1]
    assert filecmp.cmp(frozen, SRC / "telemetry/limit_profiles.json", shallow=False), (
        "telemetry/limit_profiles.json changed: add a migration that loads a frozen copy of it "
        f"(the newest frozen copy is {frozen.name})"
    )


def test_the_frozen_restart_checklists_are_version_1_of_the_live_ones():
    from headframe.safety.checklists import RESTART_SOURCE, RESTART_TEMPLATES

    frozen = json.loads(
        (SRC / "safety/migrations/frozen/restart_templates_v1.json").read_text(encoding="utf-8")
    )
    live = json.loads(json.dumps({"source": RESTART_SOURCE, "templates": RESTART_TEMPLATES}))
    assert frozen == live, (
        "the restart checklists changed: ship the change as a new template version (a migration that adds it), "
        "never as an edit of version 1"
    )


@pytest.mark.django_db
def test_a_fresh_database_holds_the_frozen_data():
    """The test database was migrated from nothing: its limits and checklists are the frozen ones."""
    from headframe.safety.models import ChecklistTemplate, TemplateItem
    from headframe.telemetry.models import Limit

    newest = sorted((SRC / "telemetry/migrations/frozen").glob("limit_profiles_*.json"))[-1]
    rows = json.loads(newest.read_text(encoding="utf-8"))["profiles"]
    assert Limit.objects.count() == sum(len(p["limits"]) for p in rows)
    frozen = json.loads(
        (SRC / "safety/migrations/frozen/restart_templates_v1.json").read_text(encoding="utf-8")
    )
    assert ChecklistTemplate.objects.filter(version=1).count() == len(frozen["templates"])
    items = sum(
        len(section[3]) for _code, _vi, _en, sections in frozen["templates"].values() for section in sections
    )
    assert TemplateItem.objects.filter(template__version=1).count() == items
