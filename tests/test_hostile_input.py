"""Whatever bytes arrive in a public route's parameters, the answer is a 200 or a 4xx with the
one JSON error shape (HTML for the search page): never a 5xx, never a stack trace.

Requests go to a real ``blmk-serve`` over a raw socket connection, so invalid percent-encoding,
invalid UTF-8, NUL and control characters reach the server exactly as written.
"""

from __future__ import annotations

import http.client
import json
import string
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.server

PARAMETERS = ("q", "page", "per_page", "sort", "type", "year", "topic", "scope", "from", "to")
SEARCH_KEYS = {"query", "total", "page", "per_page", "suggestion", "results", "facets"}
SEARCH_KEYS |= {"took_ms", "partial"}
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server(corpus_server: str) -> tuple[str, int]:
    address = urlsplit(corpus_server)
    return address.hostname or "127.0.0.1", address.port or 80


def raw_get(server: tuple[str, int], target: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET whose request target is sent byte for byte."""
    connection = http.client.HTTPConnection(*server, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


_AS_IS = frozenset(string.ascii_letters + string.digits)


def percent_encoded(data: bytes) -> str:
    """Any bytes as a query-string value: letters as they are, everything else escaped."""
    return "".join(chr(b) if chr(b) in _AS_IS else f"%{b:02X}" for b in data)


# Values: arbitrary bytes, arbitrary text, long runs, and escapes that are not escapes at all.
values = st.one_of(
    st.binary(max_size=64).map(percent_encoded),
    st.text(max_size=40).map(lambda text: percent_encoded(text.encode("utf-8", "surrogatepass"))),
    st.sampled_from(["%", "%Z", "%ZZ", "%C3%28", "%FF%FE", "%00", "%0A%0D", "+", "*", "a*", "-"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=200, max_value=5000).map(lambda n: "x" * n),
)
query_strings = st.lists(
    st.tuples(st.sampled_from(PARAMETERS) | st.text("abcxyz_", max_size=8), values), max_size=6
).map(lambda pairs: "&".join(f"{name}={value}" for name, value in pairs))


def assert_json_answer(status: int, content_type: str, body: bytes) -> dict:
    assert status < 500, body[:300]
    assert content_type.startswith("application/json"), (status, content_type)
    data = json.loads(body)
    if status >= 400:
        assert set(data) == {"error"} and set(data["error"]) == {"code", "message"}
        assert "Traceback" not in data["error"]["message"]
    return data


@EXAMPLES
@given(query=query_strings)
@example(query="q=%00%01%1F&q=second&page=1&page=2")
@example(query="q=%C3%28%ZZ%&sort=%FF")
@example(query="q=" + "%E2%80%8B" * 80)
def test_search_answers_any_parameters(server: tuple[str, int], query: str) -> None:
    status, content_type, body = raw_get(server, f"/search?{query}")
    data = assert_json_answer(status, content_type, body)
    if status == 200:
        assert set(data) == SEARCH_KEYS
        assert isinstance(data["results"], list) and isinstance(data["total"], int)
    else:
        assert status == 400 and data["error"]["code"] == "invalid_parameter"


@EXAMPLES
@given(query=query_strings)
def test_suggestions_answer_any_parameters(server: tuple[str, int], query: str) -> None:
    status, content_type, body = raw_get(server, f"/suggest?{query}")
    data = assert_json_answer(status, content_type, body)
    if status == 200:
        assert set(data) == {"query", "suggestions"} and isinstance(data["suggestions"], list)


@EXAMPLES
@given(doc_id=values)
@example(doc_id="..%2F..%2F..%2Fetc%2Fpasswd")
@example(doc_id="%2E%2E/%2E%2E/setup.cfg")
def test_documents_answer_any_id(server: tuple[str, int], doc_id: str) -> None:
    status, content_type, body = raw_get(server, f"/documents/{doc_id}")
    data = assert_json_answer(status, content_type, body)
    assert status in (200, 404, 400), data
    if status == 200:
        assert {"id", "title", "url"} <= set(data)


@EXAMPLES
@given(query=query_strings)
def test_the_search_page_answers_any_parameters(server: tuple[str, int], query: str) -> None:
    status, content_type, body = raw_get(server, f"/?{query}")
    assert status in (200, 400), body[:300]
    assert content_type.startswith("text/html")
    assert b"Traceback" not in body


def test_path_traversal_through_static_files_finds_nothing(server: tuple[str, int]) -> None:
    for target in ("/static/..%2F..%2Fsetup.cfg", "/static/../../setup.cfg", "/static/%00"):
        status, _, body = raw_get(server, target)
        assert status in (400, 404), (target, status)
        assert b"[metadata]" not in body


def test_the_health_route_ignores_parameters(server: tuple[str, int]) -> None:
    status, _, body = raw_get(server, "/health?%ZZ=%00&x=" + "y" * 4000)
    assert status == 200 and json.loads(body)["status"]
