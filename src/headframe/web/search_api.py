"""GET /api/v1/search?q=: the top bar's search for API clients, scoped the same way (headframe.web.search)."""

from __future__ import annotations

from ninja import Field, Query, Router, Schema

from headframe.web.search import search

router = Router(tags=["search"])


class SearchQuery(Schema):
    q: str = Field(
        "", description="words to find; case and Vietnamese accents do not matter (≤ 100 characters)"
    )


class HitOut(Schema):
    label: str
    detail: str
    url: str


class GroupOut(Schema):
    kind: str = Field(description="units, sensors, people, directives or findings")
    total: int = Field(description="matches of this kind the user may see")
    hits: list[HitOut] = Field(description="the best matches, at most 8")


class SearchOut(Schema):
    query: str
    groups: list[GroupOut]


@router.get("", response=SearchOut, summary="Search units, sensors, people, directives and findings")
def search_get(request, params: Query[SearchQuery]):
    result = search(request.user, params.q)
    return {
        "query": result.query,
        "groups": [
            {
                "kind": g.kind,
                "total": g.total,
                "hits": [{"label": h.label, "detail": h.detail, "url": h.url} for h in g.hits],
            }
            for g in result.groups
        ],
    }
