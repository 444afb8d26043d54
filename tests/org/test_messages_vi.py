"""Org errors come from the message catalogue: a kind of unit is named in words in the language shown."""

from __future__ import annotations

import pytest
from django.utils import translation

from headframe.core.errors import NotFound, ValidationFailed
from headframe.org import selectors
from tests.factories import make_unit


def test_a_site_without_a_parent_is_refused_naming_the_kinds(tree):
    with pytest.raises(ValidationFailed) as err:
        make_unit("NEW", "site", None)
    item = err.value.items[0]
    assert item.type == "parent_required"
    assert item.msg == "a mine / site must have a parent of kind company"
    with translation.override("vi"):
        assert item.text == "mỏ / công trường phải trực thuộc một đơn vị loại công ty"


def test_an_unknown_unit_reads_in_vietnamese(tree, users):
    with pytest.raises(NotFound) as err:
        selectors.unit_get(users.admin_a, "NOPE")
    assert str(err.value) == "path.code: unit 'NOPE' not found"
    with translation.override("vi"):
        assert err.value.text == "không tìm thấy đơn vị 'NOPE'"
