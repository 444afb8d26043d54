"""Input and output schemas of the notify API (separate per direction, no logic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

PriorityLiteral = Literal["urgent", "high", "medium", "low"]
StatusLiteral = Literal["pending", "sending", "sent", "failed"]


class OnCallIn(Schema):
    unit: str = Field(min_length=1, max_length=40, description="code of the group, a company or a site")
    level: int = Field(
        1, ge=1, le=3, description="1 mine control room / site, 2 company safety office, 3 group"
    )
    name: str = Field(min_length=1, max_length=200)
    email: str = Field("", max_length=254)
    webhook_url: str = Field("", max_length=500, description="receives a signed JSON POST")
    min_priority: PriorityLiteral = Field("high", description="the lowest alarm priority notified")
    active: bool = True


class OnCallPatchIn(Schema):
    unit: str | None = Field(None, min_length=1, max_length=40)
    level: int | None = Field(None, ge=1, le=3)
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=254)
    webhook_url: str | None = Field(None, max_length=500)
    min_priority: PriorityLiteral | None = None
    active: bool | None = None


class OnCallOut(Schema):
    id: int
    unit: str
    unit_path: str
    level: int
    name: str
    email: str
    webhook_url: str = Field(description="scheme and host only, unless you may edit the entry")
    min_priority: str
    active: bool
    editable: bool


class DeliveryOut(Schema):
    id: int
    notification: int
    event: str
    source_ref: str
    site_path: str
    priority: str
    level: int
    subject: str
    created_at: dt.datetime
    entry: str | None = Field(description="the on-call entry's name (None once the entry was removed)")
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None = Field(description="when pending: the next attempt")
    last_error: str
    sent_at: dt.datetime | None


class DeliveryPageOut(Schema):
    items: list[DeliveryOut]
    next_cursor: int | None
