"""Who is on call where, and the outbox: a Notification written in the caller's transaction (the alarm's), one
Delivery per channel of every on-call entry it reaches, and every attempt to deliver it journalled.

This app sits between `org` and `telemetry`: it knows units, never alarms, so priorities are its own copy of
the telemetry values.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from headframe.org.models import Unit


class Priority(models.TextChoices):
    """The values of headframe.telemetry.models.Priority (this app may not import telemetry)."""

    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


PRIORITY_RANK: dict[str, int] = {Priority.URGENT: 4, Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}


class Level(models.IntegerChoices):
    SITE = 1, _("1 — mine control room / site")
    COMPANY = 2, _("2 — company safety office")
    GROUP = 3, _("3 — group")


class Channel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    WEBHOOK = "webhook", _("webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")  # claimed by a worker until next_attempt_at (the lease)
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")  # every attempt failed: kept and listed, never dropped


class OnCallEntry(models.Model):
    """A person, desk or gateway on call for a unit (a site, a company or the group) at one escalation level."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, default=Level.SITE)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    webhook_url = models.URLField(
        _("webhook URL"),
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Receives a signed JSON POST (the mine's SMS gateway or chat bridge)."),
    )
    min_priority = models.CharField(
        _("lowest priority notified"), max_length=8, choices=Priority.choices, default=Priority.HIGH
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("on-call entry")
        verbose_name_plural = _("on-call entries")
        ordering = ["unit__path", "level", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(webhook_url=""),
                name="%(app_label)s_%(class)s_email_or_webhook",
            ),
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=3), name="%(app_label)s_%(class)s_level_1_to_3"
            ),
            models.CheckConstraint(
                condition=Q(min_priority__in=Priority.values),
                name="%(app_label)s_%(class)s_min_priority_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit.code}, level {self.level})"

    def clean(self) -> None:
        if not self.email and not self.webhook_url:
            message = _("Give an e-mail address or a webhook URL (or both).")
            raise ValidationError(
                {
                    "email": ValidationError(message, code="channel_required"),
                    "webhook_url": ValidationError(message, code="channel_required"),
                }
            )


class Notification(models.Model):
    """One message to the people on call at one level for one site: written in the caller's transaction."""

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    event = models.CharField(_("event"), max_length=40)  # alarm_raised, alarm_escalated
    site_path = models.CharField(_("site path"), max_length=512, db_index=True)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"))
    payload = models.JSONField(_("payload"), default=dict)
    source_ref = models.CharField(_("source"), max_length=100, blank=True, db_index=True)  # "alarm:123"

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.source_ref} → level {self.level}"


class Delivery(models.Model):
    """One notification to one target over one channel; the worker claims, sends and records it."""

    notification = models.ForeignKey(Notification, on_delete=models.PROTECT, related_name="deliveries")
    entry = models.ForeignKey(
        OnCallEntry,
        verbose_name=_("on-call entry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # an entry removed later does not erase what was sent to it
        related_name="deliveries",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    target = models.CharField(_("target"), max_length=500)  # the address or URL as it was when enqueued
    status = models.CharField(
        _("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claim_token = models.CharField(max_length=32, blank=True)  # the worker holding the "sending" lease
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notify_delivery_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="%(app_label)s_%(class)s_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="%(app_label)s_%(class)s_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.target} ({self.status})"


class DeliveryAttempt(models.Model):
    """Every attempt, successful or not: the journal that shows a notification was never silently lost."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="attempt_log")
    number = models.PositiveIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"), db_index=True)
    ok = models.BooleanField(_("delivered"))
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number} {'ok' if self.ok else 'failed'}"
