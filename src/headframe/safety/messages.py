"""The safety app's error messages: catalogue key (a code, or code.variant) → English template with named
placeholders, translated through gettext. Registered into headframe.core.messages when the app is ready."""

from django.utils.translation import gettext_noop as N

from headframe.org.messages import both_languages

__all__ = ["MESSAGES", "both_languages"]


MESSAGES: dict[str, str] = {
    "not_found.unit": N("unit {unit} not found"),
    "not_found.inspection": N("inspection {id} not found"),
    "not_found.finding": N("finding {id} not found"),
    "not_found.incident": N("incident {id} not found"),
    "not_found.photo": N("photo not found"),
    "not_found.template": N("checklist template {code} not found"),
    "not_found.campaign": N("campaign {code} not found"),
    "not_found.in_campaign": N("{position} is not in campaign {campaign}"),
    "permission_denied.perm_for": N("you may not {action} for {unit}"),
    "permission_denied.campaign": N("you may not {action} for every unit of campaign {campaign}"),
    "permission_denied.release": N("only a safety officer may release {unit}"),
    "permission_denied.publish_template": N("only a group safety officer may publish checklist templates"),
    "permission_denied.inspect": N("you may not inspect {unit}"),
    "permission_denied.close_campaign": N("you may not close campaign {campaign}"),
    "permission_denied.evidence": N("you may not add evidence for {unit}"),
    "permission_denied.photos": N("you may not add photos for {unit}"),
    "permission_denied.countersign": N("you may not countersign for {unit}"),
    "permission_denied.link_findings": N("you may not link findings of {unit}: outside your scope"),
    "permission_denied.incidents": N("you may not report incidents for {unit}"),
    "missing.checklist_item": N("a checklist needs at least one item"),
    "missing.units": N("name at least one unit"),
    "missing.photo_target": N("attach the photo to an inspection, a finding or an incident"),
    "missing.answer": N("{code} not answered: {text}"),
    "missing.action_taken": N("say what corrective action was taken"),
    "duplicate.item_code": N("item code {code} used twice"),
    "duplicate.answered": N("item {item} answered twice"),
    "unknown_limit.default_profile": N("no limit {limit} in the default profile"),
    "enum.choice": N("{field} must be one of {choices}"),
    "enum.answer": N("answer pass, fail or na, not {choice}"),
    "enum.severity": N("choose a severity: {choices}"),
    "enum.export_format": N("format must be xlsx or pdf"),
    "team_outside.line": N("{unit} is not on the line of this campaign's units"),
    "empty.no_position": N("no active work position with a checklist in these units"),
    "already_in_campaign.active": N("{position} is already in active campaign {campaign}"),
    "unknown_item.in_template": N("no item {item} in {template}"),
    "out_of_range.measurable": N(
        "{value} {uom} is outside what can be measured ({lo}–{hi}): check the reading"
    ),
    "too_long.chars": N("at most {max} characters"),
    "closed.finding": N("the finding is closed"),
    "closed.finding_already": N("the finding is already closed"),
    "not_signed.inspector": N("the inspector has not signed yet"),
    "self_countersign.inspector": N(
        "the inspector cannot countersign their own inspection: the shift overman must"
    ),
    "open_inspection.of": N("inspection #{id} of {unit} is still open"),
    "outside_unit.responsible": N("{user} has no role at {unit}: choose someone of that unit"),
    "deadline_in_past.finding": N("the deadline {day} is in the past"),
    "critical_item.stays": N("a failed critical item stays a critical finding"),
    "evidence_required.finding": N(
        "closing a {severity} finding needs evidence: a note of what was verified or a photo"
    ),
    "not_in_campaign.active": N("{unit} is not in an active inspection campaign"),
    "unknown_finding.ids": N("unknown finding(s) {ids}"),
    "naive_time.offset": N("give the time with its offset"),
    "near_miss_injury.nobody": N("a near miss injures nobody"),
    "date_parsing.deadline": N("give the deadline as a date"),
    "not_ready.reason": N("{unit}: {reason}"),
    "signed.inspection": N("inspection #{id} is already signed: its answers cannot change"),
    "empty.photo": N("the photo is empty"),
    "too_large.photo": N("the photo is {size} MB; at most {limit} MB"),
    "unsupported_type.photo": N("only JPEG, PNG or WebP photos are accepted"),
    "unreadable_image.photo": N("the photo cannot be read: the file is damaged or not really an image"),
    "image_too_large.photo": N(
        "the photo is {w} × {h} pixels; at most {side} pixels a side and {mp} megapixels"
    ),
    "photo_file_missing.id": N("the file of photo {id} is missing"),
    "unsupported_type.signature": N("the signature must be a PNG image"),
    "unreadable_image.signature": N("the signature must be a PNG image"),
    "too_large.signature": N("the signature image is too large: at most {kb} KB"),
    "image_too_large.signature": N("the signature image is {w} × {h} pixels; at most {side} pixels a side"),
}
