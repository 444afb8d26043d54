"""One place sets the audit channel of a request (core.middleware.AuditChannelMiddleware): every write a request
makes is audited under the door it came through, and the channel does not leak into the next request."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from headframe.core.audit import current_channel
from headframe.core.middleware import AuditChannelMiddleware


@pytest.mark.parametrize(
    "path,expected",
    [("/api/v1/production/actuals", "api"), ("/admin/org/unit/", "admin"), ("/production/entry/", "web")],
)
def test_the_request_runs_under_its_channel_and_leaves_it_behind(path, expected):
    seen = []

    def view(request):
        seen.append(current_channel.get())
        return HttpResponse()

    before = current_channel.get()
    AuditChannelMiddleware(view)(RequestFactory().get(path))
    assert seen == [expected]
    assert current_channel.get() == before
