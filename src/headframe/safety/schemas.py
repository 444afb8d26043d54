"""Input and output schemas of the safety API (/api/v1/safety/). The dicts the routes answer with are built
from the records by outputs.py (`*_out`), in the shape of the output schemas here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Field, Schema
from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from headframe.core.dates import Day, Moment
from headframe.safety.services import AnswerIn

MAX_PAGE = 500

# --- input --------------------------------------------------------------------------------------------------


class ItemIn(Schema):
    code: str
    text_vi: str
    text_en: str = ""
    answer_type: str
    unit_of_measure: str = ""
    min_value: float | None = None
    max_value: float | None = None
    range_min: float | None = None
    range_max: float | None = None
    limit_code: str = ""
    critical: bool = False
    required: bool = True


class SectionIn(Schema):
    title_vi: str
    title_en: str = ""
    items: list[ItemIn]


class TemplateIn(Schema):
    code: str
    position_kind: str
    title_vi: str
    title_en: str = ""
    source: str = ""
    sections: list[SectionIn]


class CampaignIn(Schema):
    code: str
    title_vi: str
    title_en: str = ""
    units: list[str] = Field(..., description="unit codes (mines, areas or positions) in scope")
    starts_on: Day
    due_on: Day
    gate_mode: str = Field(
        "reject", description="reject | flag: what happens to figures of unreleased positions"
    )
    teams: dict[str, str] = Field(default_factory=dict, description="unit code → inspection team")


class CampaignPatch(Schema):
    gate_mode: str | None = None
    status: str | None = None


def _reading(value):
    """A number or a string as sent, for the service to read; a JSON true/false is not a reading."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        raise PydanticCustomError(
            "not_a_number", 'a reading is a JSON number or a decimal string such as "0,45"'
        )
    return value


Reading = Annotated[
    float | str | None,
    PlainValidator(_reading),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}),
]


class AnswerSchema(Schema):
    item: str
    choice: str = ""
    number: Reading = None
    text: str = ""
    note: str = ""


class AnswersIn(Schema):
    answers: list[AnswerSchema]


class SignIn(Schema):
    answers: list[AnswerSchema] = Field(default_factory=list)
    signature: str = Field(
        "", description="the signature drawn on the screen, as a data:image/png;base64 URL"
    )


class RepeatIn(Schema):
    position: str


class FindingIn(Schema):
    position: str
    severity: str
    title: str
    deadline: Day
    detail: str = ""
    responsible: str = ""


class FindingPatch(Schema):
    responsible: str | None = None
    responsible_user: str | None = None
    deadline: Day | None = None
    severity: str | None = None


class CloseIn(Schema):
    action_taken: str = ""
    evidence: str = ""


class FindingQuery(Schema):
    unit: str | None = None
    status: str = ""
    severity: str = ""
    overdue: bool = False
    on: Day | None = None
    before: int | None = Field(None, description="cursor: next_cursor of the previous page")
    limit: int = Field(100, ge=1, le=MAX_PAGE)


class IncidentIn(Schema):
    unit: str
    kind: str
    category: str
    severity: str
    occurred_at: Moment
    title: str
    description: str = ""
    people_involved: str = ""
    injured: int = Field(0, ge=0)
    immediate_actions: str = ""
    findings: list[int] = Field(default_factory=list)


class IncidentPatch(Schema):
    investigation: str | None = None
    root_cause: str | None = None
    immediate_actions: str | None = None
    severity: str | None = None
    findings: list[int] | None = None


class PeriodQuery(Schema):
    unit: str
    start: Day = Field(..., alias="from")
    end: Day = Field(..., alias="to")


class IncidentQuery(Schema):
    unit: str | None = None
    start: Day | None = Field(None, alias="from")
    end: Day | None = Field(None, alias="to")
    before: int | None = None
    limit: int = Field(100, ge=1, le=MAX_PAGE)


class ReadinessQuery(Schema):
    unit: str
    campaign: str | None = None


class ReleaseIn(Schema):
    position: str
    campaign: str = ""
    note: str = ""


# --- output -------------------------------------------------------------------------------------------------


class ChecklistItemOut(Schema):
    code: str
    text_vi: str
    text_en: str
    answer_type: str
    unit_of_measure: str
    min_value: float | None
    max_value: float | None
    range_min: float | None
    range_max: float | None
    limit_code: str
    critical: bool
    required: bool


class ChecklistSectionOut(Schema):
    title_vi: str
    title_en: str
    items: list[ChecklistItemOut]


class ChecklistTemplateOut(Schema):
    code: str
    version: int
    position_kind: str
    title_vi: str
    title_en: str
    source: str
    sections: list[ChecklistSectionOut]


class CampaignOut(Schema):
    code: str
    title_vi: str
    title_en: str
    units: list[str]
    starts_on: dt.date
    due_on: dt.date
    status: str
    gate_mode: str
    created_at: dt.datetime


class CampaignCreatedOut(CampaignOut):
    inspections: int = Field(description="inspections generated")
    skipped: list[str] = Field(description="positions whose kind has no checklist")


class ProgressRowOut(Schema):
    unit: str
    name: str
    total: int
    done: int
    failed: int
    pending: int
    ready: int
    released: int
    overdue: int


class SiteProgressOut(ProgressRowOut):
    areas: list[ProgressRowOut]


class OverdueInspectionOut(Schema):
    position: str
    inspection: int | None
    due_on: dt.date | None
    team: str


class CampaignProgressOut(Schema):
    campaign: str
    total: ProgressRowOut
    sites: list[SiteProgressOut]
    overdue: list[OverdueInspectionOut]


class InspectionTemplateOut(Schema):
    code: str
    version: int


class InspectionOut(Schema):
    id: int
    campaign: str | None
    position: str
    template: InspectionTemplateOut
    sequence: int
    team: str
    due_on: dt.date
    status: str
    result: str | None
    signed_by: str | None
    signed_at: dt.datetime | None
    countersigned_by: str | None
    countersigned_at: dt.datetime | None
    signature: int | None = Field(description="id of the photo of the drawn signature")


class InspectionAnswerOut(Schema):
    item: str
    answer_type: str
    critical: bool
    choice: str
    number: float | None
    text: str
    note: str
    passed: bool | None
    verdict: str
    photos: list[int]


class InspectionDetailOut(InspectionOut):
    answers: list[InspectionAnswerOut]
    findings: list[int]


class FindingOut(Schema):
    id: int
    position: str
    campaign: str | None
    inspection: int | None
    item: str | None
    severity: str
    title: str
    detail: str
    responsible: str
    responsible_user: str | None
    deadline: dt.date
    status: str
    action_taken: str
    evidence: str
    closed_at: dt.datetime | None
    verified_by: str | None
    photos: list[int]


class FindingPageOut(Schema):
    items: list[FindingOut]
    next_cursor: int | None


class OverdueFindingOut(FindingOut):
    days_overdue: int
    escalation_level: int = Field(description="1: the mine's management; 2: the company; 3: the group")


class IncidentOut(Schema):
    id: int
    unit: str
    kind: str
    category: str
    severity: str
    occurred_at: dt.datetime
    title: str
    description: str
    people_involved: str
    injured: int
    immediate_actions: str
    investigation: str
    root_cause: str
    findings: list[int]
    reported_by: str | None


class IncidentPageOut(Schema):
    items: list[IncidentOut]
    next_cursor: int | None


class IncidentCountDetailsOut(Schema):
    by_severity: dict[str, int]
    injured: int


class IncidentCountsOut(Schema):
    """Incidents under a unit in a period: counts per type; by severity and people injured in `details`."""

    unit: str
    start: dt.date = Field(alias="from")  # keyed "from"/"to": the route serialises by alias
    end: dt.date = Field(alias="to")
    near_miss: int
    incident: int
    injury: int
    details: IncidentCountDetailsOut


class ReadinessReasonOut(Schema):
    code: str
    msg: str


class ReadinessOut(Schema):
    position: str
    name: str
    campaign: str | None
    state: str = Field(description="released, ready or not_ready")
    ready: bool
    released: bool
    released_by: str | None
    released_at: dt.datetime | None
    inspection: int | None
    inspection_outcome: str
    has_gas_sensors: bool
    reasons: list[ReadinessReasonOut]


class ReadinessRollupOut(Schema):
    unit: str
    total: int
    ready: int
    released: int


class ReadinessBoardOut(Schema):
    unit: str
    ready: int
    total: int
    sites: list[ReadinessRollupOut]
    areas: list[ReadinessRollupOut]
    positions: list[ReadinessOut]


class SafetyPhotoOut(Schema):
    id: int
    content_type: str
    size: int
    sha256: str
    item: str | None
    url: str


# --- parsing ------------------------------------------------------------------------------------------------


def answers_in(items: list[AnswerSchema]) -> list[AnswerIn]:
    """The answers as the services take them."""
    return [AnswerIn(a.item, a.choice, a.number, a.text, a.note) for a in items]
