"""The production app's error messages: catalogue key (a code, or code.variant) → English template with named
placeholders, translated through gettext. Registered into headframe.core.messages when the app is ready."""

from django.utils.translation import gettext_noop as N

MESSAGES: dict[str, str] = {
    # who may write
    "permission_denied.approve_plans": N("you may not approve plans for {unit}"),
    "permission_denied.close_months": N("only a planner may close months for {unit}"),
    "permission_denied.report_for": N("you may not report for {unit}"),
    "permission_denied.plausible_ranges": N("only a planner of {unit} may set its plausible ranges"),
    "permission_denied.range_everywhere": N(
        "only a planner of the whole group may set a range that holds everywhere"
    ),
    "permission_denied.month_closed": N("{month} is closed for {unit}: ask a planner"),
    # plans
    "year_mismatch.plan": N("a {year} plan must come into force in {year}"),
    "duplicate_version.plan": N("{unit} already has a {year} plan in force from {day}"),
    # deviations
    "enum.reason": N("unknown reason {category}; one of {expected}"),
    # plausible ranges
    "derived_indicator.range": N("{indicator} is computed, not entered"),
    "range_order.impossible": N("the upper impossible bound must be above the lower one ({low})"),
    "range.above_zero": N("must be above 0"),
    "range.best_multiple": N("a multiple below 10 000 with at most 2 decimals"),
    "impossible.below": N("{value} {uom} is impossible for {indicator}: it cannot be below {bound}"),
    "impossible.above": N("{value} {uom} is impossible for {indicator}: it cannot be above {bound}"),
    "implausible.shift_above": N(
        "{value} {uom} of {indicator} for {unit} is implausible: above {bound} per shift. Check it; if it is "
        "right, confirm it to store it"
    ),
    "implausible.day_above": N(
        "{value} {uom} of {indicator} for {unit} is implausible: above {bound} per day. Check it; if it is "
        "right, confirm it to store it"
    ),
    "implausible.best_shift": N(
        "{value} {uom} of {indicator} for {unit} is implausible: above {multiple} × the best shift of the last "
        "90 days ({best}). Check it; if it is right, confirm it to store it"
    ),
    "implausible.best_day": N(
        "{value} {uom} of {indicator} for {unit} is implausible: above {multiple} × the best day of the last "
        "90 days ({best}). Check it; if it is right, confirm it to store it"
    ),
    # reporting levels
    "reporting_level.stored": N(
        "{indicator} of {unit} is already reported at {other} ({code}) in {year}; an indicator is reported at "
        "one level of the unit tree only"
    ),
    "reporting_level.batch": N(
        "{indicator} of {unit} is also given for {other} ({code}) in this batch; an indicator is reported at "
        "one level of the unit tree only"
    ),
    # holidays
    "not_found.holiday": N("holiday {holiday} not found"),
    "not_found.holiday_gone": N("the holiday no longer exists"),
    "unknown_unit.no_group": N("there is no group unit yet"),
    "permission_denied.add_holidays_unit": N("only a planner may add holidays of unit {unit}"),
    "permission_denied.add_holidays_group": N("only a planner may add holidays of the whole group"),
    "permission_denied.remove_holidays_unit": N("only a planner may remove holidays of unit {unit}"),
    "permission_denied.remove_holidays_group": N("only a planner may remove holidays of the whole group"),
    "month_locked.holiday": N("month {month} is closed for {unit}: its plans can no longer change"),
    "missing.holiday_name": N("name the holiday"),
    "string_too_long.holiday_name": N("the name is {length} characters long; at most {max}"),
    "holiday_exists.unit": N("{day} is already a holiday for {unit} ({name})"),
    "holiday_exists.group": N("{day} is already a holiday for the whole group ({name})"),
    # queries
    "unknown_indicator.list": N("unknown indicator(s): {indicators}"),
    "period_order.summary": N("the period must start on or before the summary's date"),
    # workbooks of figures
    "not_xlsx.workbook": N(
        "not an Excel .xlsx file (an old .xls file or a .csv: open it in Excel and save it as .xlsx)"
    ),
    "empty.workbook": N("the file has no figures (every indicator cell is empty)"),
    "no_data_sheet.headers": N("no sheet has the columns “{unit}”, “{day}”, “{shift}” in row 1"),
    "unlabelled_column.cell": N("a figure in a column without a header (indicator code)"),
    "bad_date.missing": N("missing day: write dd/mm/yyyy"),
    "bad_date.value": N("invalid day {value}: write dd/mm/yyyy"),
    "outside_plan_year.day": N(
        "day outside the plan year {year}: {day} (the plan year is the year of the first day in the file)"
    ),
    "bad_shift.missing": N("missing shift: write 1, 2, 3 (or 4) for each shift, 0 for the whole day"),
    "bad_shift.value": N("invalid shift {value}: write 1, 2, 3 (or 4) for each shift, 0 for the whole day"),
    # the API's body parser (headframe/api.py), which has no app of its own
    "hidden_character.nul": N("a NUL character (U+0000) has no place here"),
    "percent_format.indicator": N(
        "the cell is formatted as a percentage but {indicator} is not measured in %: remove the cell's % format"
    ),
}
