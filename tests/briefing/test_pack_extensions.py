"""The extension points briefing offers the apps above it (briefing.extensions): a pack section registered by
a module is built into every block, shown in the page and the PDF, written to the workbook, spoken of in the
drafted summary and part of the live pack's cache key; a KPI of kind "measure" reads a registered figure, and
an unknown measure is refused naming the field. The fake section and measure here are real registrations,
removed after each test."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.template import Template
from openpyxl import load_workbook

from headframe.briefing import selectors
from headframe.briefing import services as briefing
from headframe.briefing.extensions import (
    KpiMeasure,
    PackSection,
    XlsxSheet,
    register_kpi_measure,
    register_pack_section,
    unregister_kpi_measure,
    unregister_pack_section,
)
from headframe.briefing.pack import pack_for, pack_restrict, pack_version
from headframe.briefing.pack.export import pack_html
from headframe.briefing.pack.xlsx import pack_xlsx
from headframe.core.errors import ValidationFailed
from tests.briefing import pack_fixtures
from tests.briefing.pack_fixtures import END, START, YEAR

pytestmark = pytest.mark.django_db
figures = pack_fixtures.figures  # the shared fixture

VERSION = {"mark": "1"}


def _build(root, start, end, blocks):
    """Lamps issued per block: 7 per letter of the code; company B has none (no section)."""
    return {b.code: {"lamps": 7 * len(b.code), "as_of": end.isoformat()} for b in blocks if b.code != "B"}


def _narrative(block, language):
    n = block["fake"]["lamps"]
    return f"Đèn: {n} chiếc." if language == "vi" else f"Lamps: {n}."


def _xlsx(blocks):
    headers = [("Mã đơn vị", 12, None), ("Đèn", 10, "i")]
    return [XlsxSheet("Đèn", headers, [[b["unit"]["code"], b["fake"]["lamps"]] for b in blocks])]


@pytest.fixture
def fake_section():
    section = PackSection(
        name="fake",
        label=("Đèn lò", "Cap lamps"),
        build=_build,
        template=Template('<p data-testid="fake-{{ b.unit.code }}">{{ s.lamps }} · {{ language }}</p>'),
        xlsx=_xlsx,
        narrative=_narrative,
        depends_on=lambda: VERSION["mark"],
        order=1,
    )
    register_pack_section(section)
    yield section
    unregister_pack_section("fake")


def test_a_registered_section_is_built_into_each_block_that_has_it(figures, fake_section):
    pack = pack_for(figures.group, START, END)
    by_code = {b["unit"]["code"]: b for b in pack["blocks"]}
    assert by_code["G"]["fake"] == {"lamps": 7, "as_of": END.isoformat()}
    assert by_code["A"]["fake"]["lamps"] == 7
    assert "fake" not in by_code["B"]  # the builder gave B nothing: no section
    assert pack_restrict(pack, "A")["blocks"][0]["fake"]["lamps"] == 7


def test_the_section_is_rendered_by_its_template_in_the_page(figures, fake_section):
    pack = pack_for(figures.group, START, END)
    html = pack_html(pack, "vi")
    assert 'id="sec-fake"' in html and "Đèn lò" in html
    assert '<p data-testid="fake-G">7 · vi</p>' in html and 'data-testid="fake-A"' in html
    assert 'data-testid="fake-B"' not in html
    assert "Cap lamps" in pack_html(pack, "en")


def test_the_section_has_its_sheet_in_the_workbook(figures, fake_section):
    book = load_workbook(io.BytesIO(pack_xlsx(pack_for(figures.group, START, END))))
    sheet = book["Đèn"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["Mã đơn vị", "Đèn"], ["G", 7], ["A", 7]]


def test_the_drafted_summary_carries_the_sections_sentence(figures, fake_section):
    pack = pack_for(figures.group, START, END)
    assert "Đèn: 7 chiếc." in pack["narrative"]["vi"]
    assert "Lamps: 7." in pack["narrative"]["en"]
    # Before the directives' sentence, after safety: the section speaks of the block, not of the register.
    assert pack["narrative"]["vi"].index("Đèn:") > pack["narrative"]["vi"].index("Về an toàn")


def test_what_the_section_depends_on_is_part_of_the_live_packs_key(figures, fake_section):
    before = pack_version()
    assert before == pack_version()
    VERSION["mark"] = "2"
    try:
        assert pack_version() != before
    finally:
        VERSION["mark"] = "1"


def test_a_pack_without_the_section_renders_as_before(figures, fake_section):
    pack = pack_for(figures.group, START, END)
    unregister_pack_section("fake")
    again = pack_for(figures.group, START, END)
    assert all("fake" not in b for b in again["blocks"])
    assert 'id="sec-fake"' not in pack_html(again, "vi")
    # A pack frozen with the section, rendered after it is gone, skips it (no template to draw it with).
    assert 'id="sec-fake"' not in pack_html(pack, "vi")


# ---------------------------------------------------------------- KPI measures


@pytest.fixture
def answer():
    register_kpi_measure(
        KpiMeasure(
            "test.answer", ("Câu trả lời", "The answer"), "chiếc", lambda unit, on: Decimal("41.56"), 1
        )
    )
    yield
    unregister_kpi_measure("test.answer")


@pytest.fixture
def task(tree, users):
    return briefing.key_task_create(actor=users.planner_g, year=YEAR, title_vi="Đèn lò", owner_unit_code="G")


def test_a_kpi_of_kind_measure_reads_the_registered_figure(answer, task, users, tree):
    briefing.kpi_create(
        actor=users.planner_g,
        key_task=task,
        name_vi="Câu trả lời ≥ 40",
        kind="measure",
        measure_code="test.answer",
        unit_code="A",
        target=40,
    )
    (status,) = selectors.key_task_statuses([task], on=dt.date(YEAR, 10, 31))
    (value,) = status.kpis
    assert value.value == Decimal("41.56") and value.unit_of_measure == "chiếc" and value.decimals == 1
    assert value.kpi.unit == tree.a and value.kpi.measure == "test.answer"
    assert value.state == "on_track"  # a figure that is not a year's total may still fall before December
    unregister_kpi_measure("test.answer")
    (status,) = selectors.key_task_statuses([task], on=dt.date(YEAR, 10, 31))
    assert status.kpis[0].value is None and status.kpis[0].state == "no_data"  # no longer registered


@pytest.mark.parametrize(
    ("kwargs", "loc", "type_"),
    [
        (
            {"kind": "measure", "measure_code": "test.nothing", "target": 1},
            ("body", "measure"),
            "unknown_measure",
        ),
        ({"kind": "measure", "target": 1}, ("body", "measure"), "missing"),
        (
            {"kind": "measure", "measure_code": "test.answer", "indicator_code": "raw_coal_t", "target": 1},
            ("body", "indicator"),
            "measure_bound",
        ),
        ({"kind": "measure", "measure_code": "test.answer"}, ("body", "target"), "missing"),
        (
            {
                "kind": "indicator_value",
                "indicator_code": "raw_coal_t",
                "measure_code": "test.answer",
                "target": 1,
            },
            ("body", "measure"),
            "measure_not_bound",
        ),
    ],
)
def test_a_bad_measure_binding_is_refused_naming_the_field(
    answer, task, users, indicator_catalogue, kwargs, loc, type_
):
    with pytest.raises(ValidationFailed) as exc:
        briefing.kpi_create(actor=users.planner_g, key_task=task, name_vi="KPI", **kwargs)
    (item,) = exc.value.items
    assert (item.loc, item.type) == (loc, type_)
    assert not task.kpis.exists()


def test_the_api_takes_a_measure_and_refuses_an_unknown_one_naming_the_field(answer, task, users, api):
    planner = api(users.planner_g)
    url = f"/api/v1/key-tasks/{task.pk}/kpis"
    bad = planner.post(url, {"name_vi": "KPI", "kind": "measure", "measure": "test.nothing", "target": 1})
    assert bad.status_code == 422, bad.json()
    (detail,) = bad.json()["detail"]
    assert detail["loc"] == ["body", "measure"] and "test.nothing" in detail["msg"]
    assert "test.answer" in detail["msg"]  # the measures it could have been
    good = planner.post(url, {"name_vi": "KPI", "kind": "measure", "measure": "test.answer", "target": 40})
    assert good.status_code == 201, good.json()
    (kpi,) = good.json()["kpis"]
    assert kpi["measure"] == "test.answer" and kpi["value"] == 41.56 and kpi["unit_of_measure"] == "chiếc"


def test_the_key_tasks_page_and_the_pack_show_the_measure(answer, task, users, client, figures):
    briefing.kpi_create(
        actor=users.planner_g,
        key_task=task,
        name_vi="Câu trả lời",
        kind="measure",
        measure_code="test.answer",
        target=40,
    )
    pack = pack_for(figures.group, START, END)
    (item,) = [t for t in pack["key_tasks"]["items"] if t["id"] == task.pk]
    (kpi,) = item["kpis"]
    assert (kpi["value"], kpi["uom"], kpi["decimals"], kpi["measure"]) == (41.56, "chiếc", 1, "test.answer")
    assert "41,6 chiếc" in pack_html(pack, "vi")
    client.force_login(users.planner_g)
    page = client.get(f"/briefing/key-tasks/?year={YEAR}").content.decode()
    assert 'data-testid="measure-test.answer">41,6</span> chiếc' in page
