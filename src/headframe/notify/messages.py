"""The notify app's error messages: catalogue key (a code, or code.variant) → English template with named
placeholders, translated through gettext. Registered into headframe.core.messages when the app is ready."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    "permission_denied.roster": N(
        "the on-call roster needs the administrator or safety officer role on this unit"
    ),
    "roster_unit_kind.named": N(
        "{unit} is a {kind}: on-call rosters are kept for the group, a company or a site"
    ),
    "not_found.oncall_entry": N("on-call entry {id} not found"),
    "null.field": N("{field} may not be null"),
}
