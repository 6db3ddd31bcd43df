"""The public search page, rendered on the server so it works with JavaScript off.

Every value from documents and queries is escaped by the template engine (autoescape on);
only snippets, which the search service builds with everything but its ``<mark>`` tags escaped,
are inserted as HTML. Links to documents are used only when they are http(s) URLs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from indexer import FACET_FIELDS
from search_api.engine import SearchRequest

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
FACET_LABELS = {"type": "Type", "year": "Year", "topic": "Topic", "scope": "Scope"}
TYPE_LABELS = {"news": "News", "page": "Page", "case-study": "Case study", "document": "Document"}
POPULAR_SEARCHES = ("green plan", "waiting lists", "vaccination", "mental health", "pharmacy")

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def safe_url(url: str | None) -> str:
    """The URL if it is a web address, else "#": a document cannot plant a javascript: link."""
    return url if url and url.startswith(("https://", "http://")) else "#"


def _trusted_snippet(snippet: str) -> Markup:
    return Markup(snippet)  # built by snippets.Highlighter: escaped text and <mark> tags only


_environment.filters["safe_url"] = safe_url
_environment.filters["snippet"] = _trusted_snippet


def page_link(request: SearchRequest, **changes: Any) -> str:
    """The page's own URL with some parameters changed (for paging and sorting links)."""
    params: list[tuple[str, str]] = []
    values = {"q": request.q, "sort": request.sort, "page": request.page} | changes
    if values["q"]:
        params.append(("q", str(values["q"])))
    for name in FACET_FIELDS:
        params.extend((name, value) for value in request.filters.get(name, ()))
    if values["sort"] != "relevance":
        params.append(("sort", str(values["sort"])))
    if values["page"] != 1:
        params.append(("page", str(values["page"])))
    return "/?" + urlencode(params) if params else "/"


def render_search_page(
    request: SearchRequest, response: dict[str, Any] | None, error: str | None = None
) -> str:
    total = response["total"] if response else 0
    last_page = max(1, -(-total // request.per_page))
    return _environment.get_template("search.html").render(
        request=request,
        response=response,
        error=error,
        facet_labels=FACET_LABELS,
        type_labels=TYPE_LABELS,
        popular=POPULAR_SEARCHES,
        last_page=last_page,
        page_link=lambda **changes: page_link(request, **changes),
        suggestion_link=(
            page_link(request, q=response["suggestion"], page=1)
            if response and response.get("suggestion")
            else None
        ),
    )


def render_admin_page() -> str:
    return _environment.get_template("admin.html").render()
