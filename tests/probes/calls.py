"""Requests built from the OpenAPI document and the rules of fields.py, sent in-process through WSGI.

A `Template` is one operation's inputs with the company objects left open (`Ref`); `Template.render` fills
them with company A's, company B's or unknown values and gives the request to send.
"""

from __future__ import annotations

import copy
import html
import io
import itertools
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

from django.core.handlers.wsgi import WSGIHandler
from django.db import transaction
from werkzeug import Client

from tests.probes.fields import (
    CODE_LIKE,
    FIELDS,
    OPERATIONS,
    SKIP,
    Day,
    File,
    Fresh,
    Lit,
    Ref,
    Skip,
    TeachTheProbe,
    op_key,
)
from tests.probes.world import Company, World

API_PREFIX = "/api/v1"
METHODS = ("get", "put", "post", "patch", "delete")


@cache
def openapi_document() -> dict:
    """The document the API serves, fetched as a client would (at collection time: no database needed)."""
    response = Client(WSGIHandler()).get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as in the document, with the /api/v1 prefix
    spec: dict = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        return op_key(self.method, self.path)

    def __str__(self) -> str:
        return self.key


def operations() -> list[Operation]:
    doc = openapi_document()
    return [
        Operation(method, path, spec)
        for path, item in doc["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]


def _resolve(schema: dict) -> dict:
    """$ref followed; Optional[X] (anyOf X, null) as X."""
    doc = openapi_document()
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    options = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if options:
        return _resolve(options[0])
    return schema


def _auto(schema: dict, name: str):
    """A valid value of a non-code field from its schema alone."""
    schema = _resolve(schema)
    if "enum" in schema:
        return next((v for v in schema["enum"] if v not in ("", None)), schema["enum"][0])
    if "default" in schema and schema["default"] not in (None, ""):
        return Lit(schema["default"])
    kind = schema.get("type")
    fmt = schema.get("format", "")
    if kind == "string":
        if fmt in ("date", "date-time"):
            return Day(0).lit(fmt)
        if fmt == "binary":
            raise TeachTheProbe(f"file field {name!r}: give it a File rule")
        return Lit(f"Probe {name}")
    if kind == "integer":
        return Lit(max(int(schema.get("minimum", 1)), 1))
    if kind == "number":
        return Lit(1)
    if kind == "boolean":
        return Lit(False)
    if kind == "array":
        return [_auto(schema.get("items", {}), name)] if schema.get("minItems") else Lit([])
    if kind == "object":
        return Lit({})
    raise TeachTheProbe(f"field {name!r}: no rule and no type to go by ({schema})")


def _rule(op_rules: dict, dotted: str):
    if dotted in op_rules:
        return op_rules[dotted]
    return FIELDS.get(dotted.rsplit(".", 1)[-1])


def _fill_object(schema: dict, op_rules: dict, prefix: str) -> dict:
    schema = _resolve(schema)
    required = set(schema.get("required", ()))
    out = {}
    for name, sub in schema.get("properties", {}).items():
        value = _fill(sub, op_rules, f"{prefix}{name}", name in required)
        if value is not SKIP:
            out[name] = value
    return out


def _fill(schema: dict, op_rules: dict, dotted: str, required: bool):
    name = dotted.rsplit(".", 1)[-1]
    rule = _rule(op_rules, dotted)
    if isinstance(rule, Skip):
        if required:
            raise TeachTheProbe(f"{dotted!r} is required but its rule says to leave it out")
        return SKIP
    resolved = _resolve(schema)
    if isinstance(rule, Day):
        return rule.lit(resolved.get("format", ""))
    if rule is not None:
        return rule
    if resolved.get("type") == "object" and resolved.get("properties"):
        if not required:
            return SKIP
        return _fill_object(resolved, op_rules, f"{dotted}.")
    if resolved.get("type") == "array" and _resolve(resolved.get("items", {})).get("properties"):
        if not required:
            return SKIP
        return [_fill_object(resolved["items"], op_rules, f"{dotted}.")]
    if CODE_LIKE.search(name):
        raise TeachTheProbe(f"{dotted!r} names an object: say which kind (a Ref) in tests/probes/fields.py")
    if not required:
        return SKIP
    return _auto(schema, dotted)


@dataclass
class Template:
    op: Operation
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any  # JSON structure, or None
    form: dict[str, Any] | None  # multipart fields (File rules for files)

    @classmethod
    def of(cls, op: Operation) -> Template:
        """The operation's inputs, every required one and every code-like one filled (or TeachTheProbe)."""
        op_rules = {k: v for k, v in OPERATIONS.get(op.key, {}).items() if not k.startswith("{")}
        path_rules = {k.strip("{}"): v for k, v in OPERATIONS.get(op.key, {}).items() if k.startswith("{")}
        path, query = {}, {}
        for param in op.spec.get("parameters", ()):
            name, where = param["name"], param["in"]
            if where == "path":
                rule = path_rules.get(name, FIELDS.get(name))
                if rule is None or isinstance(rule, Skip):
                    raise TeachTheProbe(
                        f"{op}: path parameter {{{name}}} has no rule in tests/probes/fields.py"
                    )
                path[name] = rule
            elif where == "query":
                value = _fill(param.get("schema", {}), op_rules, name, param.get("required", False))
                if value is not SKIP:
                    query[name] = value
            else:
                raise TeachTheProbe(f"{op}: {where} parameter {name!r} is new to the probes")
        body = form = None
        content = op.spec.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = _fill_object(content["application/json"]["schema"], op_rules, "")
        elif "multipart/form-data" in content:
            form = _fill_object(content["multipart/form-data"]["schema"], op_rules, "")
        elif content:
            raise TeachTheProbe(f"{op}: request body {sorted(content)} is new to the probes")
        return cls(op, path, query, body, form)

    def slots(self) -> list[tuple[tuple, Ref]]:
        """Every place a company's object goes, in a stable order."""
        found: list[tuple[tuple, Ref]] = []

        def choose(ref: Ref, slot: tuple):
            found.append((slot, ref))
            return "x"

        self.render(choose, world=None, company=None)
        return found

    def render(self, choose: Callable[[Ref, tuple], Any], *, world: World | None, company: Company | None):
        def walk(node, slot: tuple):
            if isinstance(node, Ref):
                return choose(node, slot)
            if isinstance(node, Day):
                node = node.lit("date")
            if isinstance(node, Lit):
                return node.resolve(world, company) if world is not None else None
            if isinstance(node, Fresh):
                return f"{node.prefix}{next(_fresh)}"
            if isinstance(node, File):
                values = {name: choose(ref, (*slot, name)) for name, ref in node.refs}
                return (node.build(values) if world is not None else b"", node.name, node.content_type)
            if isinstance(node, dict):
                return {
                    walk(k, (*slot, "key", i)): walk(v, (*slot, k if isinstance(k, str) else i))
                    for i, (k, v) in enumerate(node.items())
                }
            if isinstance(node, list):
                return [walk(v, (*slot, i)) for i, v in enumerate(node)]
            return node

        return Request(
            self.op,
            walk(self.path, ("path",)),
            walk(self.query, ("query",)),
            walk(self.body, ("body",)) if self.body is not None else None,
            walk(self.form, ("form",)) if self.form is not None else None,
        )


_fresh = itertools.count(1)


@dataclass
class Request:
    op: Operation
    path: dict
    query: dict
    body: Any
    form: dict | None

    @property
    def url(self) -> str:
        return self.op.path.format(**{k: quote(str(v), safe="") for k, v in self.path.items()})

    def describe(self) -> str:
        parts = [f"{self.op.method.upper()} {self.url}"]
        if self.query:
            parts.append("?" + "&".join(f"{k}={quote(str(v), safe=':+,')}" for k, v in self.query.items()))
        if self.body is not None:
            parts.append(" " + json.dumps(self.body, ensure_ascii=False))
        if self.form is not None:
            shown = {
                k: (v[0].decode(errors="replace")[:200] if isinstance(v, tuple) else v)
                for k, v in self.form.items()
            }
            parts.append(" multipart " + json.dumps(shown, ensure_ascii=False))
        return "".join(parts)

    def send(self, client: Client, headers: dict) -> Response:
        """One call, in a savepoint rolled back afterwards: every call sees the same world, whatever the
        previous one did (and a call that breaks the transaction cannot break the next)."""
        kwargs: dict[str, Any] = {"headers": headers, "query_string": self.query}
        if self.body is not None:
            kwargs["data"] = json.dumps(self.body)
            kwargs["content_type"] = "application/json"
        elif self.form is not None:
            kwargs["data"] = {
                k: (io.BytesIO(v[0]), v[1], v[2]) if isinstance(v, tuple) else str(v)
                for k, v in self.form.items()
            }
        sid = transaction.savepoint()
        try:
            raw = client.open(self.url, method=self.op.method.upper(), **kwargs)
            return Response(raw.status_code, raw.headers.get("Content-Type", ""), raw.get_data())
        finally:
            transaction.savepoint_rollback(sid)
            forget_caches(self.op.method, self.op.path)


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def readable_text(self) -> str | None:
        """What a person reading the answer sees: the body of JSON and text answers, the cells of a workbook,
        the text of a PDF (with poppler's pdftotext, when installed); None for other content."""
        kind = self.content_type
        if any(t in kind for t in ("json", "text", "csv")):
            return self.text
        if "spreadsheetml" in kind:
            with zipfile.ZipFile(io.BytesIO(self.body)) as book:
                parts = [n for n in book.namelist() if n.endswith(".xml")]
                return html.unescape(" ".join(book.read(n).decode("utf-8", errors="replace") for n in parts))
        if "pdf" in kind and shutil.which("pdftotext"):
            done = subprocess.run(["pdftotext", "-", "-"], input=self.body, capture_output=True, check=False)
            return done.stdout.decode("utf-8", errors="replace")
        return None

    def excerpt(self, n: int = 300) -> str:
        text = (
            self.text
            if "json" in self.content_type or "text" in self.content_type
            else f"<{self.content_type}>"
        )
        return text[:n]


#: Writes under these paths can change what the in-process telemetry caches hold (the sensor registry, units).
CACHED_PATHS = (f"{API_PREFIX}/telemetry/", f"{API_PREFIX}/units")


def forget_caches(method: str, path: str) -> None:
    """After a rolled-back write: drop the in-process caches it may have filled with what no longer exists
    (only where it can have: reloading the sensor directory after every call would double the probes' time)."""
    if method.upper() == "GET" or not path.startswith(CACHED_PATHS):
        return
    from headframe.telemetry.directory import directory
    from headframe.telemetry.services import rise_windows

    directory.invalidate()
    rise_windows.clear()


# --- edge values -------------------------------------------------------------------------------------------

#: Values at the edges of what each JSON schema type admits, the kinds that made 5xx before (issue 11): numbers
#: past what a decimal or a float column holds, ids past a bigint, dates a calendar or a time zone cannot shift,
#: NUL (PostgreSQL refuses it in text), null where a PATCH allows it.
EDGE_VALUES: dict[str, list] = {
    "integer": [2**63, -(2**63) - 1],
    "number": [1e308, -1e308],
    "number|string": ["1e400", "NaN", "9" * 40],
    "string": ["\x00"],
    "date": ["0001-01-01", "9999-12-31"],
    "date-time": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"],
}


def _edge_kinds(schema: dict) -> list[str]:
    options = schema.get("anyOf") or [schema]
    doc = openapi_document()
    kinds, nullable = [], False
    for option in options:
        while "$ref" in option:
            option = doc["components"]["schemas"][option["$ref"].rsplit("/", 1)[-1]]
        kind, fmt = option.get("type"), option.get("format", "")
        if kind == "null":
            nullable = True
        elif kind == "string" and fmt in ("date", "date-time"):
            kinds.append(fmt)
        elif kind in ("integer", "number", "string") and fmt != "binary" and "enum" not in option:
            kinds.append(kind)
    if "number" in kinds and "string" in kinds:
        kinds.append("number|string")
    return kinds + (["null"] if nullable else [])


def edge_values(schema: dict) -> list:
    out: list = []
    for kind in _edge_kinds(schema):
        out.extend([None] if kind == "null" else EDGE_VALUES[kind])
    return out


def edge_requests(op: Operation, base: Request) -> list[Request]:
    """`base` with one input at a time set to an edge value: each path and query parameter, each property of
    a JSON body and each property of the first item of its lists of objects (present in `base` or not)."""
    out: list[Request] = []
    for param in op.spec.get("parameters", ()):
        where, name = param["in"], param["name"]
        for value in edge_values(param.get("schema", {})):
            if value is None:
                continue
            if where == "path":
                out.append(Request(op, {**base.path, name: value}, base.query, base.body, base.form))
            elif where == "query":
                out.append(Request(op, base.path, {**base.query, name: value}, base.body, base.form))
    content = op.spec.get("requestBody", {}).get("content", {})
    if "application/json" not in content or not isinstance(base.body, dict):
        return out
    schema = _resolve(content["application/json"]["schema"])
    for name, sub in schema.get("properties", {}).items():
        for value in edge_values(sub):
            body = copy.deepcopy(base.body)
            body[name] = value
            out.append(Request(op, base.path, base.query, body, None))
        items = _resolve(_resolve(sub).get("items", {})) if _resolve(sub).get("type") == "array" else {}
        if items.get("properties") and isinstance(base.body.get(name), list) and base.body[name]:
            for inner, inner_schema in items["properties"].items():
                for value in edge_values(inner_schema):
                    body = copy.deepcopy(base.body)
                    body[name][0][inner] = value
                    out.append(Request(op, base.path, base.query, body, None))
    return out
