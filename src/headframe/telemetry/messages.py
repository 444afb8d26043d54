"""The telemetry app's error messages: catalogue key (a code, or code.variant) → English template with named
placeholders, translated through gettext. Registered into headframe.core.messages when the app is ready."""

from django.utils.translation import gettext_noop as N
from django.utils.translation import override


def label(choice) -> dict:
    """A choice's label as a message parameter, in both languages: never the stored value."""
    texts = {}
    for language in ("vi", "en"):
        with override(language):
            texts[language] = str(getattr(choice, "label", choice))
    return texts


# A refused cell of a registry import: "<sheet>!<row> column <column>: <reason>".
MESSAGES: dict[str, str] = {
    "code_taken": N("the code is already in use"),
    # alarms
    "not_found.alarm": N("alarm not found"),
    "permission_denied.handle_alarms": N(
        "handling alarms needs the dispatcher or safety officer role at this site"
    ),
    "missing.alarms": N("choose at least one alarm"),
    "value_error.too_many_alarms": N("at most {count} alarms at a time"),
    "value_error.still_tripped": N("the value is still beyond the trip limit: it cannot be reset yet"),
    "no_operator_override.shelve": N(
        "this alarm can be neither shelved nor suppressed: it is a trip or fail-safe alarm with no operator "
        "override"
    ),
    "missing.shelve_reason": N("say why the alarm is shelved"),
    "range.shelve_minutes": N("shelve for 1 to {max} minutes"),
    # sensors in and out of service
    "permission_denied.out_of_service": N(
        "taking a sensor out of service needs the safety officer role at this site"
    ),
    "permission_denied.return_to_service": N(
        "returning a sensor to service needs the safety officer role at this site"
    ),
    "missing.out_of_service_reason": N("say why the sensor is taken out of service"),
    "range.out_of_service_hours": N("out of service for more than 0 and at most {max} hours"),
    # the registry
    "permission_denied.registry": N("changing the sensor registry needs the administrator role here"),
    "unknown_unit.site": N("no site with code {site}"),
    "value_error.new_in_service": N(
        "a new sensor is in service; a safety officer takes it out of service with a reason and an expiry"
    ),
    "value_error.position_site": N("work position {position} is not at the gateway's site {site}"),
    "not_found.sensor": N("sensor {sensor} not found"),
    "not_found.gateway": N("gateway {gateway} not found"),
    "unknown_gateway.named": N("unknown gateway {gateway}"),
    "permission_denied.gateway": N("you may not {perm} for gateway {gateway}"),
    # readings
    "value_error.to_after_from": N("'to' must be after 'from'"),
    "enum.step": N("step must be raw, 1m, 1h or auto"),
    "naive_time.query": N("give the time with its offset (Z or +07:00)"),
    "out_of_range.moment": N("give a time between 1970 and 2200"),
    # registry files
    "not_xlsx.xml_entities": N(
        "the workbook declares XML entities or external references, which are refused"
    ),
    "not_xlsx.unreadable": N("not a readable .xlsx workbook"),
    "not_utf8.csv": N("CSV must be UTF-8"),
    "cell_too_large.csv": N("csv: a cell holds more than {limit} characters; the limit is {limit}"),
    "not_csv.unreadable": N("not a readable CSV file: {error}"),
    "value_error.empty_file": N("the file is empty"),
    "too_many_rows.blank": N("{sheet}: more than {count} blank rows; remove them"),
    "value_error.empty_header": N("{sheet}!1: the header row is empty"),
    "value_error.unknown_header": N("{sheet}!1 column {index}: unknown column {header}"),
    "value_error.missing_columns": N("{sheet}!1: missing column(s) {columns}"),
    "value_error.more_errors": N("… and {count} more errors"),
    "registry_changed.checked": N(
        "the sensor registry changed while the file was being checked: nothing was imported, send it again"
    ),
    "registry_changed.registered": N(
        "a sensor with one of these codes was registered meanwhile: nothing was imported, send it again"
    ),
    "hidden_character.cell": N(
        "{sheet}!{row} column {column}: contains an invisible or control character ({character}); retype it"
    ),
    "value_error.required_cell": N("{sheet}!{row} column {column}: required"),
    "value_error.kind_cell": N("{sheet}!{row} column {column}: unknown kind {kind} (one of {expected})"),
    "value_error.location_cell": N("{sheet}!{row} column {column}: unknown location {location}"),
    "unknown_gateway.cell": N("{sheet}!{row} column {column}: unknown gateway {gateway}"),
    "unknown_unit.position_cell": N("{sheet}!{row} column {column}: unknown work position {position}"),
    "value_error.position_site_cell": N(
        "{sheet}!{row} column {column}: {position} is not at the gateway's site {site}"
    ),
    "value_error.not_a_number_cell": N("{sheet}!{row} column {column}: {column} is not a number: {value}"),
    "value_error.not_finite_cell": N(
        "{sheet}!{row} column {column}: {column} is not a finite number: {value}"
    ),
    "value_error.range_order_cell": N("{sheet}!{row} column {column}: must be above range_min"),
    "value_error.period_positive_cell": N(
        "{sheet}!{row} column {column}: must be a positive number of seconds"
    ),
    "value_error.period_whole_cell": N(
        "{sheet}!{row} column {column}: must be a whole number of seconds, not {value}"
    ),
    "value_error.date_cell": N("{sheet}!{row} column {column}: not a date (dd/mm/yyyy): {value}"),
    "value_error.date_range_cell": N(
        "{sheet}!{row} column {column}: not a plausible date (1970 to 2199): {value}"
    ),
    "value_error.in_service_cell": N(
        "{sheet}!{row} column {column}: use 1/0, yes/no or có/không, not {value}"
    ),
    "value_error.out_of_service_cell": N(
        "{sheet}!{row} column {column}: a sensor is taken out of service by a safety officer of its site, with a "
        "reason and an expiry (sensor page or API), never by an import"
    ),
    "duplicate.row_cell": N("{sheet}!{row} column {column}: duplicate of row {other}"),
    "permission_denied.site_cell": N("{sheet}!{row} column {column}: you do not manage this site"),
    "code_taken.cell": N("{sheet}!{row} column {column}: the code {code} is already in use; choose another"),
    "permission_denied.in_service_cell": N(
        "{sheet}!{row} column {column}: the sensor is out of service: a safety officer of its site returns it to "
        "service (sensor page or API), never an import"
    ),
    "value_error.model_cell": N("{sheet}!{row} column {column}: {reason}"),
}
