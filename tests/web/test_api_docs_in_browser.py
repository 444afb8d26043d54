"""Swagger UI at /api/v1/docs in Debian's Chromium with every request to another host refused, as on an
air-gapped mine network: the page still renders the operations, and the browser reports no blocked content."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_api_docs_render_with_no_request_leaving_the_server(page, live_server, db):
    offsite, violations = [], []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live_server.url)
            else (offsite.append(route.request.url), route.abort())
        ),
    )
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("headframe API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert offsite == []
    assert violations == []
