"""Safety writes: templates, campaigns, answers, signatures, photos, findings, releases, incidents, and the
flags the production gate leaves. Each service checks scope first, validates everything, then writes in one
transaction with its audit rows: a refused request leaves nothing behind.

A package split along those sections; every name callers use is re-exported here, so
`from headframe.safety.services import X` and `services.X` keep working. (To replace a service in a test,
patch the sub-module that calls it, e.g. `services.readiness.readiness_refresh`.)"""

from headframe.safety.images import signature_from_data_url
from headframe.safety.selectors import inspection_progress, item_photos, responsible_candidates
from headframe.safety.services.campaigns import CampaignResult, campaign_create, campaign_update
from headframe.safety.services.findings import finding_close, finding_create, finding_update
from headframe.safety.services.incidents import incident_report, incident_update
from headframe.safety.services.inspections import (
    AnswerIn,
    answers_save,
    inspection_countersign,
    inspection_repeat,
    inspection_sign,
)
from headframe.safety.services.photos import photo_add, photo_open, photo_path
from headframe.safety.services.production_gate import production_flags_record
from headframe.safety.services.readiness import position_release, readiness_refresh
from headframe.safety.services.templates import template_publish

__all__ = [
    "AnswerIn",
    "CampaignResult",
    "answers_save",
    "campaign_create",
    "campaign_update",
    "finding_close",
    "finding_create",
    "finding_update",
    "incident_report",
    "incident_update",
    "inspection_countersign",
    "inspection_progress",
    "inspection_repeat",
    "inspection_sign",
    "item_photos",
    "photo_add",
    "photo_open",
    "photo_path",
    "position_release",
    "production_flags_record",
    "readiness_refresh",
    "responsible_candidates",
    "signature_from_data_url",
    "template_publish",
]
