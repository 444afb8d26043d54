"""Input and output schemas of the meetings, directives and key-tasks API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from headframe.core.dates import Day, Moment

# --- meetings ------------------------------------------------------------------------------------------


class BridgePointItemIn(Schema):
    code: str = Field(min_length=1, max_length=40)
    attendees: str = Field("", max_length=2000, description="who attends there")


class AgendaItemSchemaIn(Schema):
    title: str = Field(min_length=1, max_length=300)
    section: str = Field("other", description="production, safety, directives, key_tasks or other")
    presenter: str = Field("", max_length=200)


class MeetingIn(Schema):
    unit: str = Field(
        min_length=1, max_length=40, description="the unit holding the meeting (group or company)"
    )
    type: str = Field("monthly", description="monthly, quarterly, weekly, extraordinary or mid_month")
    title: str = Field(min_length=1, max_length=300)
    starts_at: Moment
    period_start: Day
    period_end: Day
    chair: str | None = Field(None, description="username of the chair")
    bridge_points: list[BridgePointItemIn] = Field(default_factory=list, max_length=200)
    agenda: list[AgendaItemSchemaIn] = Field(default_factory=list, max_length=100)


class MeetingPatch(Schema):
    type: str | None = None
    title: str | None = Field(None, min_length=1, max_length=300)
    starts_at: Moment | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    chair: str | None = None
    narrative_vi: str | None = None
    narrative_en: str | None = None
    bridge_points: list[BridgePointItemIn] | None = Field(None, max_length=200)
    agenda: list[AgendaItemSchemaIn] | None = Field(None, max_length=100)


class FocusIn(Schema):
    agenda_item: int | None = Field(None, description="id of an agenda item of this meeting")
    section: str | None = Field(None, description="production, safety, directives, key_tasks or other")


class JoinIn(Schema):
    bridge_point: str = Field(min_length=1, max_length=40)


class AgendaItemOut(Schema):
    id: int
    order: int
    title: str
    section: str
    presenter: str


class MeetingBridgePointOut(Schema):
    code: str
    name: str
    unit: str
    attendees: str
    joined_at: dt.datetime | None
    last_seen_at: dt.datetime | None


class MeetingOut(Schema):
    id: int
    type: str
    title: str
    unit: str
    starts_at: dt.datetime
    period_start: dt.date
    period_end: dt.date
    chair: str | None
    status: str
    started_at: dt.datetime | None
    closed_at: dt.datetime | None
    closed_by: str | None
    current_agenda_item: int | None
    current_section: str
    narrative_vi: str | None  # None for users who may not see the meeting unit's pack
    narrative_en: str | None
    has_pack: bool
    agenda: list[AgendaItemOut]
    bridge_points: list[MeetingBridgePointOut]


class MeetingListItem(Schema):
    id: int
    type: str
    title: str
    unit: str
    starts_at: dt.datetime
    period_start: dt.date
    period_end: dt.date
    status: str


class MeetingPage(Schema):
    items: list[MeetingListItem]
    next_cursor: int | None


# --- directives ----------------------------------------------------------------------------------------


class DirectiveIn(Schema):
    text: str = Field(min_length=1, max_length=5000)
    owner_unit: str = Field(min_length=1, max_length=40)
    owner_person: str | None = Field(None, description="employee number of the person in charge")
    deadline: Day
    priority: str = Field("normal", description="high, normal or low")
    meeting: int | None = Field(None, description="id of the meeting it is raised in")
    indicator: str | None = Field(None, description="linked indicator code")
    key_task: int | None = Field(None, description="linked key task id")


class DirectiveStatusIn(Schema):
    status: str = Field(description="open, in_progress, done or cancelled (overdue is derived)")
    comment: str = Field("", max_length=5000)
    evidence: str = Field("", max_length=5000, description="required to mark done")


class DirectiveCommentOut(Schema):
    at: dt.datetime
    author: str | None
    text: str
    new_status: str


class DirectiveOut(Schema):
    id: int
    number: str
    text: str
    meeting: int | None
    owner_unit: str
    owner_person: str | None
    deadline: dt.date
    priority: str
    indicator: str | None
    key_task: int | None
    status: str = Field(description="effective status: open, in_progress, overdue, done or cancelled")
    stored_status: str
    evidence: str
    done_at: dt.datetime | None
    created_by: str | None
    created_at: dt.datetime


class DirectiveDetailOut(DirectiveOut):
    comments: list[DirectiveCommentOut]


class DirectivePage(Schema):
    items: list[DirectiveOut]
    next_cursor: int | None


class ReminderOut(Schema):
    owner_unit: str
    owner_person: str | None
    overdue: list[DirectiveOut]
    due_soon: list[DirectiveOut]
    later: list[DirectiveOut]


# --- key tasks -----------------------------------------------------------------------------------------


class KeyTaskIn(Schema):
    year: int = Field(ge=2000, le=2100)
    number: int | None = Field(None, ge=1)
    title_vi: str = Field(min_length=1, max_length=300)
    title_en: str = Field("", max_length=300)
    description: str = ""
    owner_unit: str = Field(min_length=1, max_length=40)
    owner_person: str | None = None


class KpiIn(Schema):
    name_vi: str = Field(min_length=1, max_length=300)
    name_en: str = Field("", max_length=300)
    kind: str = Field(description="indicator_vs_plan, indicator_value, measure or manual")
    indicator: str | None = None
    measure: str | None = Field(
        None,
        max_length=60,
        description="kind measure: the figure a module computes (workforce.training_coverage, "
        "workforce.grievances_on_time, workforce.cases, workforce.average_income)",
    )
    unit: str | None = Field(None, description="unit measured; default the key task's owner")
    comparator: str = Field("ge", description="ge (≥) or le (≤)")
    target: Decimal | None = Field(None, description="% of plan (vs plan) or a value in the indicator's unit")


class KpiManualIn(Schema):
    done: bool
    evidence: str = Field("", max_length=5000)


class KpiOut(Schema):
    id: int
    order: int
    name_vi: str
    name_en: str
    kind: str
    indicator: str | None
    measure: str | None = None
    unit: str | None
    comparator: str
    target: float | None
    value: float | None
    unit_of_measure: str
    ytd_actual: float | None
    ytd_plan: float | None
    done: bool
    evidence: str
    state: str = Field(
        description="met, near, missed, no_data, on_track (bound); done, pending, on_track, missed (manual). "
        "A target held over the year (≤, % of plan, a manual target) is on_track until 31 December, met or "
        "done only after; a year total (≥) is judged against the part due by the date"
    )


class KeyTaskOut(Schema):
    id: int
    year: int
    number: int
    title_vi: str
    title_en: str
    description: str
    owner_unit: str
    owner_person: str | None
    status: str = Field(description="on_track, at_risk, off_track or done")
    as_of: dt.date
    kpis: list[KpiOut]


# --- packs ---------------------------------------------------------------------------------------------


class PackQuery(Schema):
    unit: str = Field(description="unit code: the group or a company in your scope")
    start: Day | None = Field(None, alias="from", description="first day (default: first of to's month)")
    end: Day | None = Field(None, alias="to", description="last day, figures as of it (default: yesterday)")
    lang: str | None = Field(None, description="PDF language: vi (default) or en")


# --- query parameters ------------------------------------------------------------------------------------


class MeetingQuery(Schema):
    unit: str | None = Field(None, description="only meetings held by this unit")
    status: str | None = Field(None, description="planned, in_session or closed")
    before: int | None = Field(None, description="cursor: next_cursor of the previous page")


class DirectiveQuery(Schema):
    owner: str | None = Field(None, description="owner unit code (its whole subtree)")
    status: str | None = Field(None, description="open, in_progress, overdue, done or cancelled")
    meeting: int | None = Field(None, description="raised in this meeting")
    before: int | None = Field(None, description="cursor: next_cursor of the previous page")


class ReminderQuery(Schema):
    owner: str | None = Field(None, description="owner unit code (its whole subtree)")
    on: Day | None = Field(None, description="as of this day; default today")


class KeyTaskQuery(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="default: this year")
    on: Day | None = Field(None, description="figures as of this day; default yesterday")
