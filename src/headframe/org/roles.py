"""Roles and what each may do. A role is always granted on a unit and applies to that unit's whole subtree."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Perm(models.TextChoices):
    VIEW = "view", _("view figures and pages")
    REPORT = "report", _("enter production figures")
    DISPATCH = "dispatch", _("dispatch and handle alarms")
    SAFETY = "safety", _("inspect, release work positions")
    PLAN = "plan", _("plans and period locks")
    MANAGE = "manage", _("manage units, people and roles")
    AUDIT = "audit", _("read the audit log")
    INGEST = "ingest", _("send telemetry readings (gateways)")
    WORKFORCE = "workforce", _("manage workers, rosters and training")
    LAMP_ROOM = "lamp_room", _("check people in and out underground")
    CHECKIN_OVERRIDE = "checkin_override", _("let a refused person underground (overman)")
    MEDICAL = "medical", _("read and record individual health records")


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    REPORTER = "reporter", _("Reporter")
    DISPATCHER = "dispatcher", _("Dispatcher")
    SAFETY_OFFICER = "safety_officer", _("Safety officer")
    PLANNER = "planner", _("Planner")
    ADMIN = "admin", _("Administrator")
    GATEWAY = "gateway", _("Gateway (machine account)")
    PERSONNEL = "personnel", _("Personnel officer")
    LAMP_ROOM = "lamp_room", _("Lamp-room operator")
    OVERMAN = "overman", _("Overman")
    MEDICAL = "medical", _("Medical officer")


ROLE_PERMS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({Perm.VIEW}),
    Role.REPORTER: frozenset({Perm.VIEW, Perm.REPORT}),
    Role.DISPATCHER: frozenset({Perm.VIEW, Perm.REPORT, Perm.DISPATCH}),
    Role.SAFETY_OFFICER: frozenset({Perm.VIEW, Perm.SAFETY, Perm.AUDIT}),
    Role.PLANNER: frozenset({Perm.VIEW, Perm.REPORT, Perm.PLAN, Perm.AUDIT}),
    # Health records are the medical role's alone: an administrator sees counts, never a person's record.
    Role.ADMIN: frozenset(Perm.values) - {Perm.MEDICAL},
    Role.GATEWAY: frozenset({Perm.INGEST}),
    Role.PERSONNEL: frozenset({Perm.VIEW, Perm.WORKFORCE}),
    Role.LAMP_ROOM: frozenset({Perm.VIEW, Perm.LAMP_ROOM}),
    Role.OVERMAN: frozenset({Perm.VIEW, Perm.LAMP_ROOM, Perm.CHECKIN_OVERRIDE, Perm.DISPATCH}),
    Role.MEDICAL: frozenset({Perm.VIEW, Perm.MEDICAL}),
}
