"""Reading the query string of ``GET /search`` into a ``SearchRequest``, or a 400."""

from __future__ import annotations

import re
from datetime import date

import falcon

from indexer import DOC_TYPES, FACET_FIELDS, SCOPES
from search_api.engine import SORTS, SearchRequest
from search_api.http.errors import invalid_parameter

MAX_PER_PAGE = 50
# Bounds on the work one request can ask for: a pasted essay is refused with a clear message
# rather than searched word by word, and results are listed only so deep.
MAX_QUERY_CHARS = 256
MAX_QUERY_WORDS = 32
MAX_RESULT_DEPTH = 1000
MAX_FILTER_CHARS = 100
# Allowed values of a filter, where the set is known in advance.
FILTER_CHOICES: dict[str, tuple[str, ...]] = {"type": DOC_TYPES, "scope": SCOPES}
FILTER_PATTERNS: dict[str, re.Pattern[str]] = {"year": re.compile(r"^\d{4}$")}


def int_param(req: falcon.Request, name: str, default: int, low: int, high: int | None) -> int:
    """A whole-number parameter within bounds, or a 400 that says which bound it broke."""
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[+-]?\d{1,9}", raw.strip()):
        raise invalid_parameter(name, f"must be a whole number, not {raw[:20]!r}")
    value = int(raw)
    if value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise invalid_parameter(name, f"must be {limit}, not {value}")
    return value


def _filter_values(req: falcon.Request, name: str) -> tuple[str, ...]:
    values = []
    for raw in req.get_param_as_list(name) or []:
        value = raw.strip()
        if not value:
            continue
        if len(value) > MAX_FILTER_CHARS:
            raise invalid_parameter(name, f"a value may be at most {MAX_FILTER_CHARS} characters")
        if name in FILTER_CHOICES and value not in FILTER_CHOICES[name]:
            allowed = ", ".join(FILTER_CHOICES[name])
            raise invalid_parameter(name, f"{value!r} is not one of: {allowed}")
        if name in FILTER_PATTERNS and not FILTER_PATTERNS[name].match(value):
            raise invalid_parameter(name, f"{value!r} is not a four-digit year")
        values.append(value)
    return tuple(dict.fromkeys(values))


def _date_param(req: falcon.Request, name: str) -> date | None:
    raw = (req.get_param(name) or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise invalid_parameter(name, f"must be a date written YYYY-MM-DD, not {raw[:20]!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid_parameter(name, f"{raw!r} is not a real date") from None


def parse_search_request(req: falcon.Request) -> SearchRequest:
    q = req.get_param("q") or ""
    if len(q) > MAX_QUERY_CHARS:
        raise invalid_parameter("q", f"a query may be at most {MAX_QUERY_CHARS} characters")
    if len(q.split()) > MAX_QUERY_WORDS:
        raise invalid_parameter("q", f"a query may have at most {MAX_QUERY_WORDS} words")
    sort = req.get_param("sort") or "relevance"
    if sort not in SORTS:
        raise invalid_parameter("sort", f"{sort[:20]!r} is not one of: {', '.join(SORTS)}")
    date_from, date_to = _date_param(req, "from"), _date_param(req, "to")
    if date_from and date_to and date_from > date_to:
        raise invalid_parameter("to", f"{date_to} is before from={date_from}")
    per_page = int_param(req, "per_page", 10, low=1, high=MAX_PER_PAGE)
    page = int_param(req, "page", 1, low=1, high=None)
    if page * per_page > MAX_RESULT_DEPTH:
        raise invalid_parameter(
            "page",
            f"results are listed up to the {MAX_RESULT_DEPTH:,}th; narrow the search with "
            "more words or a filter to reach the ones after it",
        )
    return SearchRequest(
        q=q.strip(),
        date_from=date_from,
        date_to=date_to,
        filters={name: _filter_values(req, name) for name in FACET_FIELDS},
        sort=sort,
        page=page,
        per_page=per_page,
    )
