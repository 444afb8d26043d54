"""CI probe: the RBAC matrix, generated from the OpenAPI document (issue 11, "In CI, so it stays fixed").

For every operation the API documents and every role held on company A:

* company B's codes and ids go into every place the operation takes an object (path parameters, code-like query
  and body fields, rows of uploaded files) — all at once, and one at a time beside A's own values (A's sensor
  register row naming B's sensor: the cross-company import of issue 11);
* the answer must be a refusal (403, 404, or 422 naming the field), and the same refusal — status and body, up
  to the code itself — as for a code or id that does not exist: no existence oracle;
* no code or name of B's data may appear in any answer, except the values the caller itself sent;
* operations that take no object of a company are called as each role, and must not show B's data either.

So that a refusal means "not yours" rather than "malformed request", `test_own_company_request_is_accepted`
sends each operation with company A's own values and needs at least one role to be served.

A new endpoint joins the matrix by itself; one whose inputs tests/probes/fields.py cannot fill fails with
"teach the probe" until someone adds a rule there. The world is built once for the package (conftest.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from headframe.org.roles import Role
from tests.probes.calls import Operation, Request, Response, Template, operations
from tests.probes.fields import Ref, TeachTheProbe
from tests.probes.world import A_ROLES, ROLES_MOST_ABLE_FIRST, World

OPERATIONS = operations()
REFUSED = {403, 404, 422}
CONTROL_ROLES = ROLES_MOST_ABLE_FIRST
#: Operations whose control call is refused by the state of company A's data, not by the request (the answer
#: still has to be one of these, for a role that may act, and is never a 5xx).
CONTROL_REFUSALS: dict[str, set[int]] = {
    # A's position is not ready: an inspection pending, a gas alarm active (the 422 lists the reasons)
    "POST /safety/readiness/release": {422},
    # an inspection is signed only when every required item is answered (the 422 lists what is missing)
    "POST /safety/inspections/{inspection_id}/sign": {422},
    # countersigned only once signed
    "POST /safety/inspections/{inspection_id}/countersign": {409},
    # a position is inspected again only once its last inspection is complete
    "POST /safety/campaigns/{code}/inspections": {409},
    # A's alarm is a methane trip: never shelved (409, no operator override), not reset while the value is high
    "POST /telemetry/alarms/{condition_id}/shelve": {409},
    "POST /telemetry/alarms/{condition_id}/reset": {422},
}


def test_every_role_is_probed(world: World):
    """Every role there is has a user on company A in the matrix (a new role joins by itself)."""
    assert set(A_ROLES) == set(Role.values)
    assert set(A_ROLES) <= set(world.tokens)


def test_every_operation_is_in_the_matrix():
    assert len(OPERATIONS) >= 90, "the OpenAPI document lost operations"
    assert len({op.key for op in OPERATIONS}) == len(OPERATIONS)


@pytest.mark.parametrize(
    "spec",
    [
        {
            "parameters": [
                {"in": "path", "name": "widget_id", "required": True, "schema": {"type": "integer"}}
            ]
        },
        {
            "parameters": [
                {"in": "query", "name": "widget_code", "required": False, "schema": {"type": "string"}}
            ]
        },
    ],
    ids=["path parameter", "optional code-like query parameter"],
)
def test_an_input_the_probe_cannot_fill_asks_to_be_taught(spec: dict):
    with pytest.raises(TeachTheProbe):
        Template.of(Operation("get", "/api/v1/widgets/{widget_id}", spec))


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/units/{b.site}",
        "/api/v1/safety/campaigns/{b.campaign}/export?format=xlsx",
        "/api/v1/safety/campaigns/{b.campaign}/export?format=pdf",
    ],
)
def test_the_probe_sees_company_b_data_where_it_is(url: str, http, world: World):
    """The leak check itself: B's data as the group administrator sees it (JSON, workbook, PDF) is found."""
    raw = http.get(url.format(b=world.b), headers=world.auth("group_admin"))
    response = Response(raw.status_code, raw.headers.get("Content-Type", ""), raw.get_data())
    assert response.status == 200, response.excerpt()
    if "pdf" in response.content_type and response.readable_text() is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    assert leaked(world, response, []), f"no code or name of company B found in {response.content_type}"


def _template(op: Operation) -> Template:
    try:
        return Template.of(op)
    except TeachTheProbe as exc:
        pytest.fail(f"teach the probe: {exc}", pytrace=False)


@dataclass
class Variant:
    name: str
    template: Template
    to_b: frozenset  # slots that get company B's value
    follow_b: bool  # objects that are not secrets of their own follow B too
    refs: tuple[Ref, ...]  # what goes into those slots

    @property
    def expected(self) -> set[int]:
        return REFUSED.union(*(ref.accepts for ref in self.refs))

    @property
    def compared_with_unknown(self) -> bool:
        return not any(ref.creates for ref in self.refs)

    def render(self, world: World, *, unknown: bool) -> tuple[Request, list]:
        sent: list = []

        def choose(ref: Ref, slot: tuple):
            if slot in self.to_b:
                value = ref.unknown(world.b) if unknown else ref.value(world.b)
                sent.append(value)
                return value
            if not ref.scoped and self.follow_b:
                return ref.value(world.b)
            return ref.value(world.a)

        return self.template.render(choose, world=world, company=world.a), sent


def variants(template: Template) -> list[Variant]:
    scoped = [(slot, ref) for slot, ref in template.slots() if ref.scoped]
    if not scoped:
        return []
    out = [Variant("all of B", template, frozenset(s for s, _ in scoped), True, tuple(r for _, r in scoped))]
    if len(scoped) > 1:
        for slot, ref in scoped:
            label = ".".join(str(p) for p in slot)
            out.append(Variant(f"only {label} of B", template, frozenset({slot}), False, (ref,)))
    return out


def _own(template: Template, world: World) -> Request:
    return template.render(lambda ref, slot: ref.value(world.a), world=world, company=world.a)


def _secret_pattern(secrets: set[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])")


_patterns: dict[int, re.Pattern] = {}


def leaked(world: World, response: Response, echoed: list) -> list[str]:
    """B's codes and names in an answer (JSON, text, a workbook or a PDF), apart from what the caller sent (an
    error may name it)."""
    text = response.readable_text()
    if text is None:
        return []
    pattern = _patterns.setdefault(id(world), _secret_pattern(world.b.secrets))
    if response.status >= 400:
        for value in sorted((str(v) for v in echoed), key=len, reverse=True):
            text = text.replace(value, "")
    return sorted(set(pattern.findall(text)))


def _normalised(response: Response, sent: list):
    """The body with the values the caller sent replaced by one placeholder, to compare B's refusal with the
    refusal of an unknown code."""
    values = sorted((str(v) for v in sent), key=len, reverse=True)

    def walk(node):
        if isinstance(node, str):
            for value in values:
                node = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", "<sent>", node)
            return node
        if isinstance(node, int) and not isinstance(node, bool) and str(node) in values:
            return "<sent>"
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        return node

    body = response.json()
    return walk(body if body is not None else response.text)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_own_company_request_is_accepted(op: Operation, http, world: World):
    template = _template(op)
    request = _own(template, world)
    allowed = CONTROL_REFUSALS.get(op.key, set())
    seen, problems = [], []
    for role in CONTROL_ROLES:
        response = request.send(http, world.auth(role))
        seen.append(f"{role}: {response.status} {response.excerpt(200)}")
        if response.status >= 500:
            problems.append(f"{role}: server error {response.status}: {response.excerpt()}")
        if leak := leaked(world, response, []):
            problems.append(f"{role}: company B's data in the answer: {leak[:10]}")
        if 200 <= response.status < 300 or response.status in allowed:
            break
    else:
        problems.append("no role of company A (nor the group admin) was served with A's own data")
    if problems:
        pytest.fail(
            f"{request.describe()}\n" + "\n".join(problems) + "\n--- answers:\n" + "\n".join(seen),
            pytrace=False,
        )


def _problems_as(role: str, template: Template, http, world: World) -> list[str]:
    headers = world.auth(role)
    problems = []
    cases = variants(template)
    if not cases:
        request = _own(template, world)
        response = request.send(http, headers)
        if response.status >= 500:
            problems.append(f"{request.describe()} → server error {response.status}: {response.excerpt()}")
        if leak := leaked(world, response, []):
            problems.append(f"{request.describe()} → {response.status}, company B's data shown: {leak[:10]}")
    for variant in cases:
        b_request, b_sent = variant.render(world, unknown=False)
        u_request, u_sent = variant.render(world, unknown=True)
        b, u = b_request.send(http, headers), u_request.send(http, headers)
        where = f"[{variant.name}] {b_request.describe()}"
        expected = variant.expected
        if b.status not in expected:
            problems.append(f"{where} → {b.status} (expected {sorted(expected)}): {b.excerpt()}")
        if leak := leaked(world, b, b_sent):
            problems.append(f"{where} → {b.status}, company B's data in the answer: {leak[:10]}")
        if u.status >= 500:
            problems.append(f"{u_request.describe()} → server error {u.status}: {u.excerpt()}")
        if (
            b.status in expected
            and variant.compared_with_unknown
            and (b.status, _normalised(b, b_sent)) != (u.status, _normalised(u, u_sent))
        ):
            problems.append(
                f"{where} → {b.status} {b.excerpt(200)}\n    but unknown values "
                f"({u_request.describe()}) → {u.status} {u.excerpt(200)}  (an existence oracle)"
            )
    return problems


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_company_b_is_out_of_reach(op: Operation, http, world: World):
    """Every role of company A in turn (one test per operation: a test per role and operation spent more time
    setting up and tearing down than calling)."""
    template = _template(op)
    report = []
    for role in A_ROLES:
        if problems := _problems_as(role, template, http, world):
            report.append(f"as {role} of company A:\n" + "\n".join(problems))
    if report:
        pytest.fail("\n".join(report), pytrace=False)
