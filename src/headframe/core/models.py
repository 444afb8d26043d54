"""Shared kernel models: the append-only audit log."""

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    pass


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("the audit log is append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("the audit log is append-only")


class AuditEntry(models.Model):
    """Who changed what, when, through which channel: one row per write, written in the write's transaction.

    Append-only: the queryset and model refuse update/delete, and the database refuses UPDATE (SQLite and
    PostgreSQL) and DELETE (PostgreSQL) with triggers installed by the migration.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("updated")
        MOVE = "move", _("moved")
        DELETE = "delete", _("deleted")
        GRANT = "grant", _("granted")
        REVOKE = "revoke", _("revoked")
        LOGIN = "login", _("logged in")
        LOGIN_FAILED = "login_failed", _("log-in failed")
        LOCKOUT = "lockout", _("locked out")
        UNLOCK = "unlock", _("unlocked")
        ALARM_ACK = "alarm_ack", _("acknowledged an alarm")
        ALARM_RESET = "alarm_reset", _("reset an alarm")
        ALARM_SHELVE = "alarm_shelve", _("shelved an alarm")
        ALARM_UNSHELVE = "alarm_unshelve", _("unshelved an alarm")
        READ = "read", _("read a record")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(_("user name"), max_length=150, blank=True)
    channel = models.CharField(_("channel"), max_length=16)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    # Materialised path of the unit the object belongs to ("/GRP/CO1/"), so scope filters are prefix scans.
    unit_path = models.CharField(_("unit path"), max_length=512, blank=True, db_index=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    # Set on the rows the audit page shows (core.selectors.audit_display), never stored.
    object_text: str
    object_label: str
    channel_label: str
    changes: list[tuple[str, str, str]]

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="core_audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_type} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("the audit log is append-only")
