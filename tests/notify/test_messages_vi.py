"""Notify errors come from the message catalogue: the kind of unit is named in words, never as its code."""

from __future__ import annotations

import pytest
from django.utils import translation

from headframe.core.errors import ValidationFailed
from headframe.notify import services as notify


def test_a_roster_on_an_area_is_refused_in_vietnamese(mine, tree):
    with pytest.raises(ValidationFailed) as err:
        notify.oncall_create(
            actor=None, unit_code=tree.a_m1_k1.code, level=1, name="Trực ca", email="truc@example.com"
        )
    item = err.value.items[0]
    assert item.type == "roster_unit_kind"
    assert (
        item.msg == "A-M1-K1 is a area / section: on-call rosters are kept for the group, a company or a site"
    )
    with translation.override("vi"):
        assert item.text == (
            "A-M1-K1 là khu vực / phân xưởng: danh sách trực chỉ lập cho tập đoàn, công ty hoặc mỏ / công trường"
        )
