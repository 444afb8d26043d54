"""Workers, training courses and certificates, rosters and the lamp room's presence records."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from headframe.org.models import Unit

employee_no_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,19}$",
    _("Use 1-20 letters, digits, '-', '_', '.' or '/', starting with a letter or digit."),
    code="invalid_employee_no",
)

UNDERGROUND_HEALTH_CLASSES = frozenset({1, 2, 3})
"""Health classes I–III may work underground; IV–VI may not."""


class Trade(models.TextChoices):
    MINER = "miner", _("miner")
    ELECTROMECHANIC = "electromechanic", _("electromechanic")
    DRIVER = "driver", _("driver")
    BLASTER = "blaster", _("blaster")
    SURVEYOR = "surveyor", _("surveyor")
    OTHER = "other", _("other")


class Worker(models.Model):
    """One person on the payroll of a unit (company, mine or area). Only what the mine needs is stored."""

    employee_no = models.CharField(
        _("employee number"), max_length=20, unique=True, validators=[employee_no_validator]
    )
    full_name = models.CharField(_("full name"), max_length=200)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="workers")
    team = models.CharField(_("team"), max_length=60, blank=True)
    trade = models.CharField(_("trade"), max_length=20, choices=Trade.choices, default=Trade.MINER)
    skill_grade = models.PositiveSmallIntegerField(
        _("skill grade"), default=1, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    hire_date = models.DateField(_("hire date"), null=True, blank=True)
    health_class = models.PositiveSmallIntegerField(
        _("health class"), default=1, validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    tag_no = models.CharField(_("tag number"), max_length=20, unique=True, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["employee_no"]
        constraints = [
            models.CheckConstraint(
                condition=Q(skill_grade__gte=1, skill_grade__lte=7),
                name="%(app_label)s_%(class)s_skill_grade_1_7",
            ),
            models.CheckConstraint(
                condition=Q(health_class__gte=1, health_class__lte=6),
                name="%(app_label)s_%(class)s_health_class_1_6",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee_no} — {self.full_name}"

    @property
    def may_work_underground(self) -> bool:
        return self.health_class in UNDERGROUND_HEALTH_CLASSES


class Course(models.Model):
    """A training course or licence: periodic safety training, first aid, mine rescue, blasting…"""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_vi = models.CharField(_("Vietnamese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    validity_months = models.PositiveSmallIntegerField(
        _("validity (months)"), null=True, blank=True, help_text=_("empty: the certificate does not expire")
    )
    required_underground = models.BooleanField(_("required to go underground"), default=False)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    @property
    def name(self) -> str:
        if (get_language() or "vi").startswith("en") and self.name_en:
            return self.name_en
        return self.name_vi


class Certificate(models.Model):
    """A worker passed a course on a day; valid until `expires_on` (inclusive), or for good when empty."""

    worker = models.ForeignKey(
        Worker, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="certificates"
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="certificates"
    )
    passed_on = models.DateField(_("passed on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["worker", "course", "-passed_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "course", "passed_on"], name="%(app_label)s_%(class)s_one_per_day"
            ),
        ]
        indexes = [models.Index(fields=["expires_on"], name="workforce_cert_expires")]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.course_id} {self.passed_on}"


class RosterEntry(models.Model):
    """Who works at which work position on which shift of a day: one person, one place per shift."""

    worker = models.ForeignKey(
        Worker, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="roster_entries"
    )
    position = models.ForeignKey(
        Unit, verbose_name=_("work position"), on_delete=models.PROTECT, related_name="roster_entries"
    )
    day = models.DateField(_("day"))
    shift = models.PositiveSmallIntegerField(_("shift"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster entries")
        ordering = ["day", "shift", "position", "worker"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "day", "shift"], name="%(app_label)s_%(class)s_one_place_per_shift"
            ),
            models.CheckConstraint(condition=Q(shift__gte=1), name="%(app_label)s_%(class)s_shift_from_1"),
        ]
        indexes = [models.Index(fields=["position", "day", "shift"], name="workforce_roster_pos_day")]

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.position_id} on {self.day} shift {self.shift}"


class Presence(models.Model):
    """One stay underground at a mine: checked in at the lamp room, checked out (null while underground)."""

    worker = models.ForeignKey(
        Worker, verbose_name=_("worker"), on_delete=models.PROTECT, related_name="presences"
    )
    site = models.ForeignKey(Unit, verbose_name=_("mine"), on_delete=models.PROTECT, related_name="presences")
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked out by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("let underground by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    override_reason = models.TextField(_("override reason"), blank=True)
    refusals = models.JSONField(_("refusals overridden"), default=list, blank=True)

    class Meta:
        verbose_name = _("presence underground")
        verbose_name_plural = _("presences underground")
        ordering = ["-checked_in_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker"],
                condition=Q(checked_out_at__isnull=True),
                name="%(app_label)s_%(class)s_one_open_per_worker",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=models.F("checked_in_at")),
                name="%(app_label)s_%(class)s_out_after_in",
            ),
        ]
        indexes = [
            models.Index(
                fields=["site"], condition=Q(checked_out_at__isnull=True), name="workforce_presence_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.site_id} from {self.checked_in_at}"

    @property
    def is_open(self) -> bool:
        return self.checked_out_at is None
