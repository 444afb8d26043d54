"""Production-control briefings (meetings across bridge points), their directives, and the year's key tasks.

A meeting is held by a unit (the group or a company); who may see it follows that unit's scope. Closing a
meeting freezes its briefing pack as JSON in `Meeting.pack`. A directive's stored status is what people set
(open, in progress, done, cancelled); "overdue" is derived — deadline passed and neither done nor cancelled —
and shown as the effective status everywhere (see `Directive.effective_status` and
`briefing.selectors.with_effective_status`).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from headframe.org.models import BridgePoint, Person, Unit
from headframe.production.models import Indicator


def _lang_en() -> bool:
    return (get_language() or "vi").startswith("en")


class MeetingType(models.TextChoices):
    MONTHLY = "monthly", _("Monthly briefing")
    QUARTERLY = "quarterly", _("Quarterly briefing")
    WEEKLY = "weekly", _("Weekly briefing")
    EXTRAORDINARY = "extraordinary", _("Extraordinary briefing")
    MID_MONTH = "mid_month", _("Mid-month operational briefing")


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_SESSION = "in_session", _("In session")
    CLOSED = "closed", _("Closed")


class Section(models.TextChoices):
    """Sections of the briefing pack an agenda item (and the live room's focus) points at."""

    PRODUCTION = "production", _("Production")
    SAFETY = "safety", _("Safety")
    DIRECTIVES = "directives", _("Directives")
    KEY_TASKS = "key_tasks", _("Key tasks")
    OTHER = "other", _("Other")


class Meeting(models.Model):
    """A production-control briefing (giao ban điều hành sản xuất) held by a unit over a period."""

    type = models.CharField(
        _("type"), max_length=16, choices=MeetingType.choices, default=MeetingType.MONTHLY
    )
    title = models.CharField(_("title"), max_length=300)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="meetings")
    starts_at = models.DateTimeField(_("starts at"))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("chair"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    narrative_vi = models.TextField(_("summary (Vietnamese)"), blank=True)
    narrative_en = models.TextField(_("summary (English)"), blank=True)
    pack = models.JSONField(_("frozen briefing pack"), null=True, blank=True, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The live room: what the chair has put on every bridge point's screen.
    current_agenda_item = models.ForeignKey(
        "AgendaItem",
        verbose_name=_("current agenda item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    current_section = models.CharField(
        _("current section"), max_length=16, choices=Section.choices, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["unit", "period_end"], name="brief_meeting_unit_period_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="%(app_label)s_%(class)s_period_order",
            ),
            models.CheckConstraint(
                condition=Q(status__in=MeetingStatus.values), name="%(app_label)s_%(class)s_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(type__in=MeetingType.values), name="%(app_label)s_%(class)s_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False)
                | Q(~Q(status="closed"), closed_at__isnull=True),
                name="%(app_label)s_%(class)s_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(status="closed") | Q(pack__isnull=True),
                name="%(app_label)s_%(class)s_pack_only_when_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d})"

    @property
    def is_closed(self) -> bool:
        return self.status == MeetingStatus.CLOSED


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    order = models.PositiveSmallIntegerField(_("order"))
    title = models.CharField(_("title"), max_length=300)
    section = models.CharField(_("section"), max_length=16, choices=Section.choices, default=Section.OTHER)
    presenter = models.CharField(_("presenter"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["meeting", "order"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "order"], name="%(app_label)s_%(class)s_unique_order"),
            models.CheckConstraint(
                condition=Q(section__in=Section.values), name="%(app_label)s_%(class)s_section_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"


class MeetingBridgePoint(models.Model):
    """A bridge point taking part in a meeting, who attends there, and when it joined the live room."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="bridge_points")
    bridge_point = models.ForeignKey(
        BridgePoint, verbose_name=_("bridge point"), on_delete=models.PROTECT, related_name="+"
    )
    attendees = models.TextField(_("attendees"), blank=True)
    joined_at = models.DateTimeField(_("joined at"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("meeting bridge point")
        verbose_name_plural = _("meeting bridge points")
        ordering = ["meeting", "bridge_point__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "bridge_point"], name="%(app_label)s_%(class)s_unique_point"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id} @ {self.bridge_point_id}"


class Priority(models.TextChoices):
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class DirectiveStatus(models.TextChoices):
    """Stored statuses. OVERDUE is never stored: it is derived from the deadline (see effective_status)."""

    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class EffectiveStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    OVERDUE = "overdue", _("Overdue")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (DirectiveStatus.OPEN, DirectiveStatus.IN_PROGRESS)


class Directive(models.Model):
    """A conclusion/directive (kết luận, chỉ đạo) with an owner and a deadline, numbered "seq/year"."""

    year = models.PositiveSmallIntegerField(_("year"))
    seq = models.PositiveIntegerField(_("number in year"))
    text = models.TextField(_("directive"))
    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("raised in meeting"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="directives",
    )
    owner_unit = models.ForeignKey(
        Unit, verbose_name=_("owner unit"), on_delete=models.PROTECT, related_name="directives"
    )
    owner_person = models.ForeignKey(
        Person,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="directives",
    )
    deadline = models.DateField(_("deadline"))
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    indicator = models.ForeignKey(
        Indicator,
        verbose_name=_("linked indicator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    key_task = models.ForeignKey(
        "KeyTask",
        verbose_name=_("linked key task"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="directives",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=DirectiveStatus.choices, default=DirectiveStatus.OPEN
    )
    evidence = models.TextField(_("evidence"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("directive")
        verbose_name_plural = _("directives")
        ordering = ["-year", "-seq"]
        indexes = [
            models.Index(fields=["owner_unit", "status", "deadline"], name="brief_directive_owner_idx"),
            models.Index(fields=["status", "deadline"], name="brief_directive_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["year", "seq"], name="%(app_label)s_%(class)s_unique_number"),
            models.CheckConstraint(
                condition=Q(status__in=DirectiveStatus.values), name="%(app_label)s_%(class)s_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="%(app_label)s_%(class)s_priority_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | (Q(done_at__isnull=False) & ~Q(evidence="")),
                name="%(app_label)s_%(class)s_done_needs_evidence",
            ),
            models.CheckConstraint(
                condition=Q(status="done") | Q(done_at__isnull=True),
                name="%(app_label)s_%(class)s_done_at_only_when_done",
            ),
            models.CheckConstraint(
                condition=Q(indicator__isnull=True) | Q(key_task__isnull=True),
                name="%(app_label)s_%(class)s_one_link",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.text[:60]}"

    @property
    def number(self) -> str:
        return f"{self.seq}/{self.year}"

    def effective_status_on(self, on: dt.date) -> str:
        if self.status in OPEN_STATUSES and self.deadline < on:
            return EffectiveStatus.OVERDUE
        return self.status

    @property
    def effective_status(self) -> str:
        """Annotated by selectors when read through them; computed against today otherwise."""
        annotated = self.__dict__.get("effective_status_db")
        return annotated or self.effective_status_on(timezone.localdate())

    @property
    def is_overdue(self) -> bool:
        return self.effective_status == EffectiveStatus.OVERDUE


class DirectiveComment(models.Model):
    directive = models.ForeignKey(Directive, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    text = models.TextField(_("comment"), blank=True)
    new_status = models.CharField(_("new status"), max_length=12, choices=DirectiveStatus.choices, blank=True)

    class Meta:
        verbose_name = _("directive comment")
        verbose_name_plural = _("directive comments")
        ordering = ["directive", "at", "id"]

    def __str__(self) -> str:
        return f"{self.directive_id} {self.at:%Y-%m-%d %H:%M} {self.new_status}"


class KeyTask(models.Model):
    """One of the year's key tasks (nhiệm vụ trọng tâm), numbered within the year."""

    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("number"))
    title_vi = models.CharField(_("Vietnamese title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    owner_unit = models.ForeignKey(
        Unit, verbose_name=_("owner unit"), on_delete=models.PROTECT, related_name="key_tasks"
    )
    owner_person = models.ForeignKey(
        Person,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="key_tasks",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("key task")
        verbose_name_plural = _("key tasks")
        ordering = ["year", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner_unit", "year", "number"], name="%(app_label)s_%(class)s_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="%(app_label)s_%(class)s_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}/{self.year} {self.title_vi}"

    @property
    def title(self) -> str:
        return self.title_en if _lang_en() and self.title_en else self.title_vi


class KpiKind(models.TextChoices):
    # xgettext:no-python-format
    INDICATOR_VS_PLAN = "indicator_vs_plan", _("Indicator vs plan (% of year-to-date plan)")
    INDICATOR_VALUE = "indicator_value", _("Indicator value (year to date)")
    MANUAL = "manual", _("Manual milestone")
    MEASURE = "measure", _("A figure computed by a module")


class Comparator(models.TextChoices):
    GE = "ge", "≥"
    LE = "le", "≤"


class KeyTaskKpi(models.Model):
    """A measure of a key task: bound to an indicator of a unit (against plan or an absolute target), to a
    figure a module computes for a unit (`measure`, a code of briefing.extensions' registry such as
    "workforce.cases"), or a manual milestone marked done with evidence."""

    key_task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="kpis")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    name_vi = models.CharField(_("Vietnamese name"), max_length=300)
    name_en = models.CharField(_("English name"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=KpiKind.choices)
    indicator = models.ForeignKey(
        Indicator,
        verbose_name=_("indicator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit measured"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # kind "measure": the code of a figure registered in briefing.extensions ("workforce.cases").
    measure = models.CharField(_("measure"), max_length=60, blank=True, default="")
    comparator = models.CharField(
        _("comparator"), max_length=2, choices=Comparator.choices, default=Comparator.GE
    )
    # indicator_vs_plan: percent of the year-to-date plan (100 = on plan); indicator_value: in the indicator's unit.
    target = models.DecimalField(_("target"), max_digits=20, decimal_places=4, null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    evidence = models.TextField(_("evidence"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("key task KPI")
        verbose_name_plural = _("key task KPIs")
        ordering = ["key_task", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=KpiKind.values), name="%(app_label)s_%(class)s_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(comparator__in=Comparator.values), name="%(app_label)s_%(class)s_comparator_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind="manual", indicator__isnull=True, unit__isnull=True, measure="")
                | Q(
                    kind="measure",
                    indicator__isnull=True,
                    unit__isnull=False,
                    target__isnull=False,
                    done=False,
                )
                & ~Q(measure="")
                | Q(
                    ~Q(kind__in=("manual", "measure")),
                    indicator__isnull=False,
                    unit__isnull=False,
                    target__isnull=False,
                    done=False,
                    measure="",
                ),
                name="%(app_label)s_%(class)s_binding_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(done=False) | ~Q(evidence=""), name="%(app_label)s_%(class)s_done_needs_evidence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_task_id}.{self.order} {self.name_vi}"

    @property
    def name(self) -> str:
        return self.name_en if _lang_en() and self.name_en else self.name_vi
