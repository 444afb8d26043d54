"""The workers' import: CSV and XLSX, created and updated by employee number, all rows or none with every bad
cell named, units outside the importer's scope refused."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from headframe.core.errors import ValidationFailed
from headframe.core.models import AuditEntry
from headframe.workforce.models import Trade, Worker
from headframe.workforce.services import ImportResult, workers_import

HEADER = "employee_no,full_name,unit,team,trade,skill_grade,hire_date,health_class,tag_no"


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def test_a_csv_creates_and_then_updates_workers(wf):
    content = csv(
        "A100,Đỗ Văn Hải,A-M1-K1,Tổ 1,thợ lò,4,15/03/2019,II,T-100",
        "A101,Ngô Thị Lan,A-M1,,electromechanic,5,2020-07-01,1,",
    )
    assert workers_import(actor=wf.personnel_a, content=content, filename="hr.csv") == ImportResult(2, 0)
    hai = Worker.objects.get(employee_no="A100")
    assert (hai.trade, hai.skill_grade, hai.health_class, hai.tag_no) == (Trade.MINER, 4, 2, "T-100")
    assert hai.hire_date == dt.date(2019, 3, 15) and hai.unit == wf.a_m1_k1 and hai.team == "Tổ 1"
    assert Worker.objects.get(employee_no="A101").tag_no is None
    assert AuditEntry.objects.filter(object_type="workforce.worker", action="create").count() == 2
    again = csv(
        "A100,Đỗ Văn Hải,A-M1-K2,Tổ 2,thợ lò,5,15/03/2019,II,T-100",
        "A101,Ngô Thị Lan,A-M1,,electromechanic,5,2020-07-01,1,",
    )
    assert workers_import(actor=wf.personnel_a, content=again, filename="hr.csv") == ImportResult(0, 1)
    hai.refresh_from_db()
    assert hai.unit == wf.a_m1_k2 and hai.skill_grade == 5
    update = AuditEntry.objects.get(object_type="workforce.worker", action="update")
    assert update.unit_path == wf.a_m1_k2.path and update.after["unit"] == "A-M1-K2"


def test_an_xlsx_is_read_the_same_way(wf):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["A200", "Bùi Văn Nam", "A-M1-K1", "", "driver", 3, dt.datetime(2018, 5, 2), 3, "T-200"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert workers_import(
        actor=wf.personnel_a, content=buffer.getvalue(), filename="HR.xlsx"
    ) == ImportResult(1, 0)
    nam = Worker.objects.get(employee_no="A200")
    assert nam.hire_date == dt.date(2018, 5, 2) and nam.trade == Trade.DRIVER


def test_several_bad_cells_are_all_listed_and_nothing_is_written(wf):
    content = csv(
        "A300,Good Row,A-M1-K1,,miner,3,01/01/2020,1,T-300",
        ",No Number,A-M1-K1,,miner,3,01/01/2020,1,",
        "A302,,A-M1-K1,,cook,9,31/02/2020,7,",
        "A303,Wrong Unit,NOPE,,miner,3,,1,",
        "A304,Position,A-M1-K1-F1,,miner,3,,1,",
        "A300,Twice,A-M1-K1,,miner,3,,1,T-A1",
    )
    with pytest.raises(ValidationFailed) as caught:
        workers_import(actor=wf.personnel_a, content=content, filename="hr.csv")
    found = {(item.loc, item.type) for item in caught.value.items}
    assert found == {
        (("row", 3, "employee_no"), "missing"),
        (("row", 4, "full_name"), "missing"),
        (("row", 4, "trade"), "enum"),
        (("row", 4, "skill_grade"), "range"),
        (("row", 4, "hire_date"), "bad_date"),
        (("row", 4, "health_class"), "range"),
        (("row", 5, "unit"), "unknown_unit"),
        (("row", 6, "unit"), "worker_unit_kind"),
        (("row", 7, "employee_no"), "duplicate"),
        (("row", 7, "tag_no"), "tag_taken"),
    }
    assert all(item.msg for item in caught.value.items)
    assert not Worker.objects.filter(employee_no__startswith="A30").exists()
    assert not AuditEntry.objects.filter(object_type="workforce.worker").exists()


def test_a_unit_outside_the_importers_scope_is_refused(wf):
    with pytest.raises(ValidationFailed) as caught:
        workers_import(
            actor=wf.personnel_a, content=csv("A400,Someone,B-M1-K1,,miner,3,,1,"), filename="hr.csv"
        )
    assert [(i.loc, i.type) for i in caught.value.items] == [(("row", 2, "unit"), "unknown_unit")]
    # visible but without the workforce permission (a lamp-room operator)
    with pytest.raises(ValidationFailed) as caught:
        workers_import(actor=wf.lamp_a, content=csv("A401,Someone,A-M1-K1,,miner,3,,1,"), filename="hr.csv")
    assert [i.type for i in caught.value.items] == ["permission_denied"]
    # moving another company's worker by naming their number
    with pytest.raises(ValidationFailed) as caught:
        workers_import(
            actor=wf.personnel_a, content=csv("B001,Taken,A-M1-K1,,miner,3,,1,"), filename="hr.csv"
        )
    assert [i.type for i in caught.value.items] == ["permission_denied"]
    assert Worker.objects.get(employee_no="B001").unit == wf.b_m1_k1
    # another company's tag is taken, but its holder is not named
    with pytest.raises(ValidationFailed) as caught:
        workers_import(
            actor=wf.personnel_a, content=csv("A402,Someone,A-M1-K1,,miner,3,,1,T-B1"), filename="hr.csv"
        )
    assert [i.type for i in caught.value.items] == ["tag_taken"]
    assert "B001" not in caught.value.items[0].msg and "T-B1" in caught.value.items[0].msg


def test_header_and_file_problems(wf):
    with pytest.raises(ValidationFailed) as caught:
        workers_import(actor=wf.personnel_a, content=b"employee_no,name,salary\nA1,x,1\n", filename="hr.csv")
    assert {i.type for i in caught.value.items} == {"unknown_column", "missing_column"}
    with pytest.raises(ValidationFailed) as caught:
        workers_import(actor=wf.personnel_a, content=b"x", filename="hr.pdf")
    assert caught.value.items[0].type == "unsupported_type"
    with pytest.raises(ValidationFailed):
        workers_import(actor=wf.personnel_a, content=b"", filename="hr.csv")
    with pytest.raises(ValidationFailed):
        workers_import(actor=wf.personnel_a, content=b"not a zip", filename="hr.xlsx")


def test_tags_may_move_between_workers_of_one_file(wf):
    content = csv(
        "A001,Nguyễn Văn An,A-M1-K1,,miner,3,,1,T-A2",
        "A002,Trần Văn Bình,A-M1-K1,,miner,3,,1,T-A1",
    )
    assert workers_import(actor=wf.personnel_a, content=content, filename="hr.csv").updated == 2
    assert Worker.objects.get(employee_no="A001").tag_no == "T-A2"
