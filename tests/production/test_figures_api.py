"""Issue 12 through the public API: the adjusted year plan and its original (defect 3), and early warnings
that evaluate the root (defect 4)."""

import datetime as dt

from headframe.production import services

PAST = dt.datetime(2027, 12, 31, 12, 0, tzinfo=dt.UTC)


def plan(unit, values, effective=dt.date(2027, 1, 1), kind="original"):
    services.plan_version_create(
        actor=None, unit_code=unit, year=2027, effective_from=effective, kind=kind, values=values
    )


def put(*rows):
    services.actuals_upsert(
        actor=None,
        rows=[services.ActualRow(u, i, d, s, v, loc=("body", n)) for n, (u, i, d, s, v) in enumerate(rows)],
        source="api",
        now=PAST,
    )


def raw_coal(body):
    return next(i for i in body["indicators"] if i["code"] == "raw_coal_t")


def test_summary_api_year_plan_is_the_adjusted_version_with_the_original_alongside(mines, users, api):
    plan("A-M1", {"raw_coal_t": [270_000] * 12})  # 3 240 000 t
    adjusted = [270_000] * 6 + [256_710] * 6  # 3 160 260 t, approved in July
    plan("A-M1", {"raw_coal_t": adjusted}, effective=dt.date(2027, 7, 1), kind="adjusted")
    put(("A-M1-K1-F1", "raw_coal_t", dt.date(2027, 8, 1), 0, 2_000_000))
    caller = api(users.viewer_a)
    ytd = raw_coal(caller.get("/api/v1/production/summary", unit="A", date="2027-08-31").json())["ytd"]
    assert ytd["plan"] == sum(adjusted) == 3_160_260
    assert ytd["plan_original"] == 3_240_000 and ytd["plan_adjusted"] is True
    assert ytd["pct_of_plan"] == round(2_000_000 * 100 / 3_160_260, 1) == 63.3
    assert ytd["pct_of_plan_original"] == 61.7
    # Before the adjustment was in force the original is the plan.
    before = raw_coal(caller.get("/api/v1/production/summary", unit="A", date="2027-06-30").json())["ytd"]
    assert before["plan"] == before["plan_original"] == 3_240_000 and before["plan_adjusted"] is False
    versions = caller.get("/api/v1/production/plans", unit="A-M1", year=2027).json()
    assert [v["kind"] for v in versions] == ["original", "adjusted"]


def test_early_warnings_api_names_the_root_when_only_the_root_is_behind(mines, users, api):
    # The group's roadway plan is held at the group (no company plan): needs ~1 000 m/day, has done 100.
    plan("G", {"roadway_m": 365_000})
    put(*[("A-M1-K1-F1", "roadway_m", dt.date(2027, 6, d), 0, 100) for d in range(1, 31)])
    body = api(users.admin_g).get("/api/v1/production/early-warnings", unit="G", date="2027-06-30").json()
    assert [(w["unit"], w["indicator"]) for w in body] == [("G", "roadway_m")]
    assert body[0]["best_30_day_rate"] == 100.0 and body[0]["required_daily"] > 1000
