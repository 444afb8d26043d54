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
    # A licence a trade must hold to be rostered (blasting for blasters, vehicle for drivers…): Trade values.
    required_trades = models.JSONField(_("required for trades"), default=list, blank=True)

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
            # the contact trace's "same cage": who went down or came up at a mine within minutes of a case
            models.Index(fields=["site", "checked_in_at"], name="workforce_presence_site_in"),
            models.Index(fields=["site", "checked_out_at"], name="workforce_presence_site_out"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.site_id} from {self.checked_in_at}"

    @property
    def is_open(self) -> bool:
        return self.checked_out_at is None


# ---------------------------------------------------------------- health (only the medical role reads rows)


class ExamKind(models.TextChoices):
    PERIODIC = "periodic", _("periodic examination")
    PRE_EMPLOYMENT = "pre_employment", _("pre-employment examination")
    RETURN_TO_WORK = "return_to_work", _("return-to-work examination")
    OCCUPATIONAL = "occupational", _("occupational disease screening")


class Pneumoconiosis(models.TextChoices):
    NOT_SCREENED = "", _("not screened")
    NEGATIVE = "negative", _("negative")
    SUSPECTED = "suspected", _("suspected")
    CONFIRMED = "confirmed", _("confirmed")


class MedicalExam(models.Model):
    """A medical examination of a worker: the health class it gives becomes the worker's (the latest exam wins),
    with the occupational disease screening (pneumoconiosis first). Individual rows: the medical role only."""

    worker = models.ForeignKey(
        Worker, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="medical_exams"
    )
    examined_on = models.DateField(_("examined on"))
    kind = models.CharField(_("kind"), max_length=20, choices=ExamKind.choices, default=ExamKind.PERIODIC)
    health_class = models.PositiveSmallIntegerField(
        _("health class"), validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    pneumoconiosis = models.CharField(
        _("pneumoconiosis"), max_length=12, choices=Pneumoconiosis.choices, blank=True, default=""
    )
    findings = models.TextField(_("findings"), blank=True)
    next_due = models.DateField(_("next examination due"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("medical examination")
        verbose_name_plural = _("medical examinations")
        ordering = ["worker", "-examined_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "examined_on", "kind"], name="%(app_label)s_%(class)s_one_per_day"
            ),
            models.CheckConstraint(
                condition=Q(health_class__gte=1, health_class__lte=6),
                name="%(app_label)s_%(class)s_health_class_1_6",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.kind} {self.examined_on}"


# ---------------------------------------------------------------- epidemic register


class TestResult(models.TextChoices):
    POSITIVE = "positive", _("positive")
    NEGATIVE = "negative", _("negative")


class EpidemicTest(models.Model):
    """One test of a worker for a disease (rapid or PCR) and its result."""

    worker = models.ForeignKey(
        Worker, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="epidemic_tests"
    )
    disease = models.CharField(_("disease"), max_length=60, default="COVID-19")
    tested_on = models.DateField(_("tested on"))
    method = models.CharField(_("method"), max_length=20, default="rapid")
    result = models.CharField(_("result"), max_length=10, choices=TestResult.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("epidemic test")
        verbose_name_plural = _("epidemic tests")
        ordering = ["-tested_on", "worker"]
        indexes = [models.Index(fields=["tested_on"], name="workforce_epitest_day")]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.disease} {self.tested_on} {self.result}"


class CaseStatus(models.TextChoices):
    ISOLATING = "isolating", _("isolating")
    HOSPITAL = "hospital", _("in hospital")
    RECOVERED = "recovered", _("recovered")


class EpidemicCase(models.Model):
    """A confirmed case: isolated from `isolation_from` to `isolation_to` (inclusive; open while unknown)."""

    worker = models.ForeignKey(
        Worker, verbose_name=_("worker"), on_delete=models.PROTECT, related_name="epidemic_cases"
    )
    disease = models.CharField(_("disease"), max_length=60, default="COVID-19")
    confirmed_on = models.DateField(_("confirmed on"))
    isolation_from = models.DateField(_("isolated from"))
    isolation_to = models.DateField(_("isolated until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.ISOLATING
    )
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("epidemic case")
        verbose_name_plural = _("epidemic cases")
        ordering = ["-confirmed_on", "worker"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "disease", "confirmed_on"], name="%(app_label)s_%(class)s_one_per_day"
            ),
            models.CheckConstraint(
                condition=Q(isolation_to__isnull=True) | Q(isolation_to__gte=models.F("isolation_from")),
                name="%(app_label)s_%(class)s_isolation_order",
            ),
        ]
        indexes = [models.Index(fields=["confirmed_on"], name="workforce_case_day")]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.disease} {self.confirmed_on}"


# ---------------------------------------------------------------- workers' voice (key task 6)


class GrievanceCategory(models.TextChoices):
    WAGES = "wages", _("wages and benefits")
    SAFETY = "safety", _("safety")
    CONDITIONS = "conditions", _("working conditions")
    WELFARE = "welfare", _("welfare, meals, housing")
    OTHER = "other", _("other")


class GrievanceStatus(models.TextChoices):
    OPEN = "open", _("open")
    ANSWERED = "answered", _("answered")
    CLOSED = "closed", _("closed")


class Grievance(models.Model):
    """A suggestion or grievance (kiến nghị) raised at a unit: anonymous when the worker wishes (no worker is
    stored then), answered by a deadline; overdue ones escalate up the tree."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="grievances"
    )
    worker = models.ForeignKey(
        Worker,
        verbose_name=_("worker"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grievances",
    )
    anonymous = models.BooleanField(_("anonymous"), default=False)
    category = models.CharField(
        _("category"), max_length=12, choices=GrievanceCategory.choices, default=GrievanceCategory.OTHER
    )
    text = models.TextField(_("text"))
    received_on = models.DateField(_("received on"))
    due_on = models.DateField(_("answer due"))
    status = models.CharField(
        _("status"), max_length=10, choices=GrievanceStatus.choices, default=GrievanceStatus.OPEN
    )
    answer = models.TextField(_("answer"), blank=True)
    answered_on = models.DateField(_("answered on"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("grievance")
        verbose_name_plural = _("grievances")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymous=False) | Q(worker__isnull=True),
                name="%(app_label)s_%(class)s_anonymous_has_no_worker",
            ),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("received_on")), name="%(app_label)s_%(class)s_due_after"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="workforce_grievance_due")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.received_on} {self.status}"


# ---------------------------------------------------------------- income (aggregates only, from payroll)


class PayrollMonth(models.Model):
    """A unit's payroll of one month as aggregates: how many were paid and the total paid (VND). No person's pay
    is stored. Average income per worker = total_income / headcount."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="payroll")
    month = models.DateField(_("month"), help_text=_("the first day of the month"))
    headcount = models.PositiveIntegerField(_("people paid"))
    total_income = models.DecimalField(_("total income (VND)"), max_digits=20, decimal_places=0)
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)

    class Meta:
        verbose_name = _("payroll month")
        verbose_name_plural = _("payroll months")
        ordering = ["unit", "month"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "month"], name="%(app_label)s_%(class)s_one_per_month"),
            models.CheckConstraint(
                condition=Q(headcount__gt=0), name="%(app_label)s_%(class)s_headcount_pos"
            ),
            models.CheckConstraint(
                condition=Q(total_income__gte=0), name="%(app_label)s_%(class)s_income_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.month:%Y-%m}"


class IncomePlan(models.Model):
    """The planned average income per worker per month of a unit for a year (VND)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="income_plans"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    average_income = models.DecimalField(_("planned average income (VND)"), max_digits=16, decimal_places=0)

    class Meta:
        verbose_name = _("income plan")
        verbose_name_plural = _("income plans")
        ordering = ["unit", "year"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="%(app_label)s_%(class)s_one_per_year"),
            models.CheckConstraint(
                condition=Q(average_income__gt=0), name="%(app_label)s_%(class)s_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.year}"
