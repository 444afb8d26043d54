"""Safety errors come from the message catalogue: the English `msg` the API returns as before, and the
Vietnamese `text` a page shows, with the permission in words and the unit code as typed."""

from __future__ import annotations

import pytest
from django.utils import translation

from headframe.core.errors import PermissionDenied, ValidationFailed
from headframe.org.roles import Perm
from headframe.safety import selectors, services
from tests.safety.conftest import inspection_of


def test_a_refused_release_reads_in_vietnamese(campaign, mine, people):
    with pytest.raises(PermissionDenied) as err:
        services.position_release(actor=people.viewer, position_code=mine.face.code)
    assert err.value.items[0].msg == "only a safety officer may release A-M1-K1-F1"
    with translation.override("vi"):
        assert err.value.text == "chỉ cán bộ an toàn mới được cho phép A-M1-K1-F1 vào sản xuất"


def test_a_missing_permission_is_named_in_words_not_as_its_code(campaign, mine, people):
    inspection = inspection_of(campaign, mine.face)
    with pytest.raises(PermissionDenied) as err:
        selectors.inspection_get(people.viewer, inspection.pk, Perm.SAFETY)
    assert err.value.items[0].msg == "you may not inspect, release work positions for A-M1-K1-F1"
    with translation.override("vi"):
        assert (
            err.value.text == "bạn không có quyền kiểm tra, cho phép vị trí làm việc hoạt động tại A-M1-K1-F1"
        )


def test_an_unknown_campaign_status_lists_the_choices(campaign, people):
    with pytest.raises(ValidationFailed) as err:
        services.campaign_update(actor=people.safety, campaign=campaign, status="paused")
    item = err.value.items[0]
    assert (item.type, item.msg) == ("enum", "status must be one of active, closed")
    with translation.override("vi"):
        assert item.text == "status phải là một trong các giá trị: active, closed"
