"""Briefing errors read in the UI language: raised through the real services, the English `msg` for API
clients and the Vietnamese `text` for pages, with dates dd/mm/yyyy and statuses by their name."""

from __future__ import annotations

import pytest
from django.utils import translation

from headframe.briefing import services
from headframe.core.errors import Conflict, PermissionDenied, ValidationFailed
from tests.briefing.helpers_meetings import bridge_points, meeting, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def points(tree):
    bridge_points(tree)
    return tree


def test_starting_a_closed_meeting_names_its_status_in_each_language(points):
    m = run(meeting())
    with pytest.raises(Conflict) as exc:
        services.meeting_start(actor=None, meeting=m)
    [item] = exc.value.items
    assert item.type == "meeting_not_planned"
    assert item.msg == f"meeting {m.pk} is already closed; only a planned meeting can start"
    with translation.override("vi"):
        assert exc.value.text == (
            f"cuộc họp giao ban {m.pk} đang ở trạng thái đã kết thúc; chỉ cuộc họp đã lên lịch mới bắt đầu được"
        )


def test_editing_a_closed_meeting_names_the_field_in_vietnamese(points):
    m = run(meeting())
    m.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.meeting_update(actor=None, meeting=m, changes={"title": "Khác"})
    when = translation.override("vi")
    assert exc.value.items[0].msg.startswith(f"meeting {m.pk} is closed (since ")
    assert exc.value.items[0].msg.endswith("): its title can no longer be changed")
    with when:
        text = exc.value.text
    assert text.startswith(f"cuộc họp giao ban {m.pk} đã kết thúc (từ ")
    assert text.endswith("): không thể sửa tiêu đề của cuộc họp nữa")


def test_a_reporter_outside_the_meeting_is_refused_in_vietnamese(points, users):
    m = meeting()
    with pytest.raises(PermissionDenied) as exc:
        services.meeting_start(actor=users.reporter_a, meeting=m)
    assert exc.value.items[0].msg == "you may not start this meeting: only the chair or a planner of G may"
    with translation.override("vi"):
        assert exc.value.text == (
            "bạn không được bắt đầu cuộc họp này: chỉ chủ trì hoặc cán bộ kế hoạch của G mới được"
        )


def test_an_unknown_section_lists_the_allowed_ones(points):
    m = meeting()
    services.meeting_start(actor=None, meeting=m)
    with pytest.raises(ValidationFailed) as exc:
        services.meeting_set_focus(actor=None, meeting=m, section="finance")
    assert exc.value.items[0].msg == (
        "unknown section 'finance'; expected one of production, safety, directives, key_tasks, other"
    )
    with translation.override("vi"):
        assert exc.value.text.startswith("không có phần 'finance'; phải là một trong: production, safety")
