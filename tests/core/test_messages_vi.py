"""Core helpers raise catalogue errors: numbers and dates in the Vietnamese way on a page, the field's label
translated, and the English `msg` for the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from headframe.core.dates import check_day
from headframe.core.errors import TooLarge, ValidationFailed
from headframe.core.spreadsheets import check_upload_size
from headframe.core.text import check_clean_text
from headframe.web.search import clean_query


def test_an_upload_past_the_limit_gives_the_sizes_with_vietnamese_grouping():
    with pytest.raises(TooLarge) as err:
        check_upload_size(b"x" * 1001, limit=1000)
    assert err.value.items[0].msg == "the file is 1001 bytes; the limit is 1000 bytes"
    with translation.override("vi"):
        assert err.value.text == "tệp có dung lượng 1.001 byte; giới hạn là 1.000 byte"


def test_a_hidden_character_names_the_field_in_the_language_shown():
    with pytest.raises(ValidationFailed) as err:
        check_clean_text("ghi\u202echú", loc=("body", "note"), label="the note")
    assert err.value.items[0].msg == "the note contains an invisible or control character (U+202E); retype it"
    with translation.override("vi"):
        assert err.value.text == "ghi chú chứa ký tự ẩn hoặc ký tự điều khiển (U+202E); hãy gõ lại"


def test_a_day_out_of_range_is_written_dd_mm_yyyy():
    with pytest.raises(ValidationFailed) as err:
        check_day(dt.date(1999, 12, 31), loc=("body", "day"))
    assert err.value.items[0].msg == "31/12/1999 is outside 01/01/2000–31/12/2100"
    with translation.override("vi"):
        assert err.value.text == "31/12/1999 nằm ngoài khoảng 01/01/2000–31/12/2100"


def test_a_search_too_long_reads_in_vietnamese():
    with pytest.raises(ValidationFailed) as err:
        clean_query("x" * 1000)
    assert err.value.items[0].type == "too_long"
    with translation.override("vi"):
        assert err.value.text.startswith("chỉ tìm kiếm tối đa ")
