import datetime as dt

import pytest

from headframe.production import services
from headframe.production.models import Actual
from tests.production.conftest import plan_a_m1_2026

DAY = dt.date(2026, 3, 10)


def rows(*items):
    return {
        "rows": [
            {"unit": u, "indicator": i, "day": d.isoformat(), "shift": s, "value": v}
            for u, i, d, s, v in items
        ]
    }


@pytest.fixture
def put_json(client, token_for):
    def send(user, body):
        return client.put(
            "/api/v1/production/actuals", body, content_type="application/json", **token_for(user)
        )

    return send


def test_put_actuals_is_idempotent(mines, users, put_json):
    body = rows(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 100), ("A-M1-K1-F1", "raw_coal_t", DAY, 2, "55.5"))
    first = put_json(users.reporter_a, body)
    assert first.status_code == 200, first.content
    assert first.json()["created"] == 2
    again = put_json(users.reporter_a, body).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_put_actuals_bad_rows_are_422_located_and_nothing_stored(mines, users, put_json):
    body = rows(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 100), ("A-M1-K1-F1", "raw_coal_t", DAY, 1, -3))
    response = put_json(users.reporter_a, body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "rows", 1, "value"] or detail[0]["loc"][:3] == ["body", "rows", 1]
    assert Actual.objects.count() == 0


def test_put_actuals_wrong_types_are_422(mines, users, put_json):
    response = put_json(
        users.reporter_a, {"rows": [{"unit": "A-M1", "indicator": "raw_coal_t", "day": "hôm qua"}]}
    )
    assert response.status_code == 422
    locs = [d["loc"] for d in response.json()["detail"]]
    assert ["body", "rows", 0, "day"] in locs and ["body", "rows", 0, "value"] in locs


def test_put_actuals_empty_batch_is_422(mines, users, put_json):
    assert put_json(users.reporter_a, {"rows": []}).status_code == 422


def test_reporter_of_one_mine_cannot_write_another(mines, users, put_json):
    response = put_json(users.reporter_a, rows(("B-M1-K1-F1", "raw_coal_t", DAY, 1, 1)))
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "unknown_unit"


def test_viewer_gets_403_for_writes(mines, users, put_json):
    assert put_json(users.viewer_a, rows(("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1))).status_code == 403


def test_summary_api(mines, users, api):
    plan_a_m1_2026()
    services.actuals_upsert(
        actor=None, rows=[services.ActualRow("A-M1-K1-F1", "raw_coal_t", DAY, 0, 900)], source="api"
    )
    response = api(users.viewer_a).get("/api/v1/production/summary", unit="A", date=DAY.isoformat())
    assert response.status_code == 200, response.content
    body = response.json()
    raw = next(i for i in body["indicators"] if i["code"] == "raw_coal_t")
    assert raw["day"] == {"actual": 900.0, "plan": 1000.0, "pct_of_plan": 90.0}  # the basis is named
    assert raw["status"] == "red"
    assert body["top_reasons"] == []


def test_summary_of_another_company_is_404(mines, users, api):
    assert (
        api(users.viewer_a).get("/api/v1/production/summary", unit="B", date="2026-03-10").status_code == 404
    )


def test_summary_bad_date_and_unknown_indicator_are_422(mines, users, api):
    caller = api(users.viewer_a)
    assert caller.get("/api/v1/production/summary", unit="A", date="10/03/2026").status_code == 422
    response = caller.get("/api/v1/production/summary", unit="A", indicators="raw_coal_t,nope")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "indicators"]


def test_summary_needs_authentication(mines, client):
    assert client.get("/api/v1/production/summary?unit=A").status_code == 401


def test_plans_api_needs_the_planner(mines, users, api):
    body = {"unit": "A-M1", "year": 2026, "effective_from": "2026-01-01", "values": {"raw_coal_t": "365000"}}
    assert api(users.reporter_a).post("/api/v1/production/plans", body).status_code == 403
    response = api(users.planner_g).post("/api/v1/production/plans", body)
    assert response.status_code == 201, response.content
    assert response.json()["months"]["raw_coal_t"][0] == 31000.0
    listed = api(users.viewer_a).get("/api/v1/production/plans", unit="A-M1", year=2026).json()
    assert [v["kind"] for v in listed] == ["original"]


def test_deviation_and_lock_api(mines, users, api):
    response = api(users.reporter_a).post(
        "/api/v1/production/deviations",
        {
            "unit": "A-M1",
            "indicator": "raw_coal_t",
            "day": "2026-03-10",
            "category": "water",
            "lost_hours": 2,
        },
    )
    assert response.status_code == 201, response.content
    listed = api(users.viewer_a).get("/api/v1/production/deviations", unit="A", month="2026-03-01").json()
    assert [d["category"] for d in listed] == ["water"]
    bad = api(users.reporter_a).post(
        "/api/v1/production/deviations",
        {
            "unit": "A-M1",
            "indicator": "raw_coal_t",
            "day": "2026-03-10",
            "category": "water",
            "lost_hours": 30,
        },
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "lost_hours"]
    assert (
        api(users.reporter_a)
        .post("/api/v1/production/locks", {"unit": "A-M1", "month": "2026-03-01"})
        .status_code
        == 403
    )
    assert (
        api(users.planner_g)
        .post("/api/v1/production/locks", {"unit": "A", "month": "2026-03-15"})
        .status_code
        == 201
    )


def test_indicator_catalogue(mines, users, api):
    body = api(users.viewer_a).get("/api/v1/production/indicators").json()
    productivity = next(i for i in body if i["code"] == "productivity_t_per_man_shift")
    assert productivity["aggregation"] == "ratio"
    assert (productivity["numerator"], productivity["denominator"]) == ("raw_coal_t", "man_shifts")


def test_actuals_listing_is_scoped(mines, users, api):
    services.actuals_upsert(
        actor=None,
        rows=[
            services.ActualRow("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1),
            services.ActualRow("B-M1-K1-F1", "raw_coal_t", DAY, 1, 2),
        ],
        source="api",
    )
    listed = api(users.viewer_a).get(
        "/api/v1/production/actuals", unit="A", **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert [a["unit"] for a in listed.json()] == ["A-M1-K1-F1"]
    assert (
        api(users.viewer_a)
        .get("/api/v1/production/actuals", unit="B", **{"from": "2026-03-01", "to": "2026-03-31"})
        .status_code
        == 404
    )


def test_missing_reports_and_early_warnings(mines, users, api):
    services.actuals_upsert(
        actor=None,
        rows=[services.ActualRow("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1)],
        source="api",
        now=dt.datetime(2026, 3, 10, 23, 0, tzinfo=dt.UTC),  # 06:00 the next morning in Hanoi: on time
    )
    missing = (
        api(users.planner_g).get("/api/v1/production/missing-reports", unit="G", date=DAY.isoformat()).json()
    )
    assert [m["unit"] for m in missing] == ["B-M1", "B-OP"]
    services.plan_version_create(
        actor=None,
        unit_code="A",
        year=2026,
        effective_from=dt.date(2026, 1, 1),
        values={"raw_coal_t": 3650000},
    )
    warnings = (
        api(users.planner_g).get("/api/v1/production/early-warnings", unit="G", date=DAY.isoformat()).json()
    )
    # The group is behind as well as A: every level is evaluated, the root included.
    assert sorted((w["unit"], w["indicator"]) for w in warnings) == [("A", "raw_coal_t"), ("G", "raw_coal_t")]
    assert all(w["best_30_day_rate"] < w["required_daily"] for w in warnings)


def test_missing_reports_count_late_figures_as_missing_at_eight(mines, users, api):
    on_time = dt.datetime(2026, 3, 11, 0, 30, tzinfo=dt.UTC)  # 07:30 in Hanoi
    services.actuals_upsert(
        actor=None,
        rows=[services.ActualRow("A-M1-K1-F1", "raw_coal_t", DAY, 1, 1)],
        source="api",
        now=on_time,
    )
    services.actuals_upsert(
        actor=None, rows=[services.ActualRow("B-M1-K1-F1", "raw_coal_t", DAY, 1, 1)], source="api"
    )  # today: long after 08:00 the next morning
    missing = (
        api(users.planner_g).get("/api/v1/production/missing-reports", unit="G", date=DAY.isoformat()).json()
    )
    assert [(m["unit"], m["late"]) for m in missing] == [("B-M1", True), ("B-OP", False)]
