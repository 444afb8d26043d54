"""Safe restart: checklist templates, inspection campaigns, inspections and answers, photos, findings,
incidents, and each work position's readiness and release within a campaign.

The rules (what passes, what is ready, who may sign, release and close) live in services.py and
readiness.py; the database holds what it can as constraints.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from headframe.org.models import PositionKind, Unit, code_validator


def _pick_language(vi: str, en: str) -> str:
    if (get_language() or "vi").startswith("en") and en:
        return en
    return vi


class AnswerType(models.TextChoices):
    PASS_FAIL_NA = "pass_fail_na", _("Pass / fail / not applicable")
    NUMBER = "number", _("Number with limits")
    TEXT = "text", _("Text")
    PHOTO = "photo", _("Photo")


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")


class ChecklistTemplate(models.Model):
    """One version of a checklist for one kind of work position. A new version is a new row: inspections
    keep pointing at the version they were made with."""

    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    version = models.PositiveIntegerField(_("version"), default=1)
    position_kind = models.CharField(_("work position kind"), max_length=24, choices=PositionKind.choices)
    title_vi = models.CharField(_("Vietnamese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["position_kind", "code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="%(app_label)s_%(class)s_code_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="%(app_label)s_%(class)s_version_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    @property
    def title(self) -> str:
        return _pick_language(self.title_vi, self.title_en)


class TemplateSection(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveSmallIntegerField(_("order"))
    title_vi = models.CharField(_("Vietnamese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)

    class Meta:
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="%(app_label)s_%(class)s_order"),
        ]

    def __str__(self) -> str:
        return f"{self.template} §{self.order}"

    @property
    def title(self) -> str:
        return _pick_language(self.title_vi, self.title_en)


class TemplateItem(models.Model):
    """One question. Numbers have acceptance limits (outside → the item fails) and a plausible range
    (outside → the answer is refused as a typing error); a gas reading is bound to a telemetry limit code and
    judged against the limit profile instead of fixed limits."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(TemplateSection, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    text_vi = models.CharField(_("Vietnamese text"), max_length=400)
    text_en = models.CharField(_("English text"), max_length=400, blank=True)
    answer_type = models.CharField(_("answer type"), max_length=16, choices=AnswerType.choices)
    unit_of_measure = models.CharField(_("unit of measure"), max_length=16, blank=True)
    min_value = models.FloatField(_("lowest acceptable value"), null=True, blank=True)
    max_value = models.FloatField(_("highest acceptable value"), null=True, blank=True)
    range_min = models.FloatField(_("lowest plausible value"), null=True, blank=True)
    range_max = models.FloatField(_("highest plausible value"), null=True, blank=True)
    limit_code = models.CharField(_("telemetry limit code"), max_length=60, blank=True)
    critical = models.BooleanField(_("critical"), default=False)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["template", "section__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="%(app_label)s_%(class)s_code"),
            models.CheckConstraint(
                condition=Q(answer_type="number")
                | Q(min_value__isnull=True, max_value__isnull=True, limit_code=""),
                name="%(app_label)s_%(class)s_limits_only_on_numbers",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=models.F("max_value")),
                name="%(app_label)s_%(class)s_limits_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template}:{self.code}"

    @property
    def text(self) -> str:
        return _pick_language(self.text_vi, self.text_en)

    @property
    def severity_on_fail(self) -> str:
        return Severity.CRITICAL if self.critical else Severity.MAJOR


class GateMode(models.TextChoices):
    REJECT = "reject", _("Reject shift figures of positions not released")
    FLAG = "flag", _("Accept them, flagged for review")


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Campaign(models.Model):
    """An inspection campaign over some units (e.g. every underground mine of a company after Tết). While it
    is active, its work positions are gated: no production is credited to one until it is released."""

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    title_vi = models.CharField(_("Vietnamese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    units = models.ManyToManyField(Unit, verbose_name=_("units in scope"), related_name="+")
    starts_on = models.DateField(_("starts on"))
    due_on = models.DateField(_("inspections due by"))
    status = models.CharField(
        _("status"), max_length=8, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
    )
    gate_mode = models.CharField(
        _("production gate"), max_length=8, choices=GateMode.choices, default="reject"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inspection campaign")
        verbose_name_plural = _("inspection campaigns")
        ordering = ["-starts_on", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("starts_on")), name="%(app_label)s_%(class)s_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def title(self) -> str:
        return _pick_language(self.title_vi, self.title_en)


class CampaignPosition(models.Model):
    """A work position within a campaign: its team, its last observed readiness and its release."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="positions")
    position = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    team = models.CharField(_("team"), max_length=120, blank=True)
    ready = models.BooleanField(_("ready"), default=False)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_note = models.CharField(_("release note"), max_length=300, blank=True)
    revoked_at = models.DateTimeField(_("release revoked at"), null=True, blank=True)
    revoke_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("position in campaign")
        verbose_name_plural = _("positions in campaign")
        ordering = ["campaign", "position__path"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="%(app_label)s_%(class)s_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.position_id}"

    @property
    def released(self) -> bool:
        return self.released_at is not None and self.revoked_at is None


class InspectionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SIGNED = "signed", _("Signed by the inspector")
    COMPLETE = "complete", _("Countersigned")


class InspectionResult(models.TextChoices):
    NONE = "", _("Not yet")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class Inspection(models.Model):
    """One inspection of one work position with one template version. The inspector signs (which fixes the
    result and raises findings), the shift overman countersigns."""

    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="inspections"
    )
    position = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveSmallIntegerField(_("inspection no."), default=1)
    team = models.CharField(_("team"), max_length=120, blank=True)
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=8, choices=InspectionStatus.choices, default=InspectionStatus.PENDING
    )
    result = models.CharField(_("result"), max_length=8, choices=InspectionResult.choices, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    countersigned_at = models.DateTimeField(null=True, blank=True)
    # The inspector's signature drawn on the screen when signing, a PNG kept like a photo (item-less).
    signature = models.ForeignKey(
        "Photo",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("signature"),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["campaign", "position__path", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "position", "sequence"], name="%(app_label)s_%(class)s_sequence"
            ),
            models.CheckConstraint(
                condition=Q(countersigned_by__isnull=True) | ~Q(countersigned_by=models.F("signed_by")),
                name="%(app_label)s_%(class)s_countersign_by_another",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", result="") | ~Q(status="pending") & ~Q(result=""),
                name="%(app_label)s_%(class)s_result_when_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id or '-'}:{self.position_id}#{self.sequence}"


class Answer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(TemplateItem, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=4, blank=True)  # pass / fail / na
    number = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)
    note = models.CharField(max_length=500, blank=True)
    passed = models.BooleanField(null=True)  # None: not applicable / not judged
    verdict = models.CharField(max_length=300, blank=True)  # why it failed, with the limit and its clause
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["inspection", "item__section__order", "item__order"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="%(app_label)s_%(class)s_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id}:{self.item_id}"


class FindingStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed (verified)")


class Finding(models.Model):
    """Something wrong at a work position: from a failed checklist item, an incident or a walk-round."""

    position = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    inspection = models.ForeignKey(
        Inspection, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    item = models.ForeignKey(TemplateItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    title = models.CharField(_("finding"), max_length=400)
    detail = models.TextField(_("detail"), blank=True)
    responsible = models.CharField(_("responsible person"), max_length=200, blank=True)
    responsible_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=8, choices=FindingStatus.choices, default="open")
    action_taken = models.TextField(_("corrective action taken"), blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["status", "deadline", "-id"]
        indexes = [models.Index(fields=["position", "status"], name="safety_finding_position_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False, verified_by__isnull=False),
                name="%(app_label)s_%(class)s_closed_is_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.severity} {self.title[:60]}"

    @property
    def unit(self) -> Unit:
        return self.position


class Photo(models.Model):
    """A photo on disk (MEDIA_ROOT/safety/…, named by its SHA-256), attached to an answer, a finding's
    evidence or an incident. Served only through a view that checks the viewer's scope."""

    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=16)
    size = models.PositiveIntegerField()
    path = models.CharField(max_length=200)
    original_name = models.CharField(max_length=200, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    inspection = models.ForeignKey(
        Inspection, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    item = models.ForeignKey(TemplateItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    finding = models.ForeignKey(
        Finding, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(inspection__isnull=False) | Q(finding__isnull=False) | Q(incident__isnull=False),
                name="%(app_label)s_%(class)s_attached",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.content_type})"


class ReadinessEvent(models.Model):
    """Every change of a position's readiness or release within a campaign, append-only."""

    class Kind(models.TextChoices):
        READY = "ready", _("became ready")
        NOT_READY = "not_ready", _("became not ready")
        RELEASED = "released", _("released to production")
        REVOKED = "revoked", _("release revoked")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    position = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reasons = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.position_id} {self.kind}"


class FlaggedActual(models.Model):
    """A shift figure accepted for a position that was not released, under a campaign whose planner chose
    to flag rather than reject. One row per figure (natural key), kept for review."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="flagged_actuals")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    indicator_code = models.CharField(max_length=40)
    day = models.DateField()
    shift = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=400)
    flagged_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-day", "unit"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "unit", "indicator_code", "day", "shift"],
                name="%(app_label)s_%(class)s_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.indicator_code} {self.day} ca {self.shift}"


class IncidentKind(models.TextChoices):
    NEAR_MISS = "near_miss", _("Near miss")
    INCIDENT = "incident", _("Incident")
    INJURY = "injury", _("Injury accident")


class IncidentCategory(models.TextChoices):
    GAS = "gas", _("Gas / ventilation")
    ROOF = "roof", _("Roof fall / rib spall")
    WATER = "water", _("Water inrush")
    FIRE = "fire", _("Fire / heating")
    ELECTRICAL = "electrical", _("Electrical")
    MACHINERY = "machinery", _("Machinery / conveyor")
    TRANSPORT = "transport", _("Haulage / transport")
    EXPLOSIVES = "explosives", _("Explosives")
    OTHER = "other", _("Other")


class IncidentSeverity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    FATAL = "fatal", _("Fatal")


class Incident(models.Model):
    unit = models.ForeignKey(Unit, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("type"), max_length=10, choices=IncidentKind.choices)
    category = models.CharField(_("category"), max_length=12, choices=IncidentCategory.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=IncidentSeverity.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("what happened"), blank=True)
    people_involved = models.TextField(_("people involved"), blank=True)
    injured = models.PositiveSmallIntegerField(_("people injured"), default=0)
    immediate_actions = models.TextField(_("immediate actions"), blank=True)
    investigation = models.TextField(_("investigation"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    findings = models.ManyToManyField(
        Finding, verbose_name=_("linked findings"), blank=True, related_name="+"
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["occurred_at"], name="safety_incident_occurred")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="near_miss") | Q(injured=0),
                name="%(app_label)s_%(class)s_near_miss_no_injury",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%d/%m/%Y} {self.kind} {self.title[:60]}"
