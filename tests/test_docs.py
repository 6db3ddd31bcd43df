"""The documentation keeps up with the code: every route, search parameter and command is
documented where its readers look for it, the README stays short, and every link leads to a
file that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexer.cli import _parser as index_parser
from indexer.schema import FACET_FIELDS
from search_api.engine.service import SORTS
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
API = (DOCS / "api.md").read_text(encoding="utf-8")
STAFF_GUIDE = (DOCS / "staff-guide.md").read_text(encoding="utf-8")
ROUTES = re.findall(
    r'add_route\(\s*"([^"]+)"', (REPO / "search_api" / "http" / "app.py").read_text()
)
OPENAPI = json.loads((REPO / "search_api" / "http" / "openapi.json").read_text(encoding="utf-8"))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DESCRIBED = sorted(
    (method.upper(), path)
    for path, operations in OPENAPI["paths"].items()
    for method in operations
    if method.upper() in METHODS
)
# Written by another tool from the settings tables; a link to it is fine before it exists.
GENERATED = {DOCS / "configuration.md"}
DOCUMENTS = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 200


def documented_path(path: str) -> str:
    """A route as the docs write it: every path parameter is ``{id}``
    (``/documents/{doc_id:path}`` is ``/documents/{id}``)."""
    return re.sub(r"\{[^}]*\}", "{id}", path)


def test_readme_starts_with_the_two_commands() -> None:
    opening = README.split("## ", 1)[0]
    assert "make run" in opening and "make test" in opening


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_is_documented(route: str) -> None:
    documented = documented_path(route)
    assert any(f"`{method} {documented}`" in API for method in METHODS)


@pytest.mark.parametrize(
    "parameter", ["q", "sort", "page", "per_page", "from", "to", *FACET_FIELDS, *SORTS]
)
def test_every_search_parameter_and_sort_is_documented(parameter: str) -> None:
    assert f"`{parameter}`" in API


@pytest.mark.parametrize("command", ["build", "update", "status", "rollback", "extract"])
def test_every_index_command_is_documented(command: str) -> None:
    assert command in index_parser()._subparsers._group_actions[0].choices
    assert f"`blmk-index {command}`" in STAFF_GUIDE


def test_the_readme_is_short() -> None:
    lines = README.count("\n") + (not README.endswith("\n"))
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


@pytest.mark.parametrize(("method", "path"), DESCRIBED, ids=[f"{m} {p}" for m, p in DESCRIBED])
def test_every_described_operation_is_in_the_api_reference(method: str, path: str) -> None:
    assert f"`{method} {documented_path(path)}`" in API


def routes_named_in(markdown: str) -> list[tuple[str, str]]:
    """Every ``METHOD /path`` written in backticks."""
    return sorted(set(re.findall(rf"`({'|'.join(METHODS)}) (/[^`\s]*)`", markdown)))


NAMED = routes_named_in(API)


def test_the_route_scan_finds_routes_in_backticks_only() -> None:
    text = "`GET /search` and `DELETE /admin/documents/{id}`, not GET /health or `GET`"
    assert routes_named_in(text) == [("DELETE", "/admin/documents/{id}"), ("GET", "/search")]


@pytest.mark.parametrize(("method", "path"), NAMED, ids=[f"{m} {p}" for m, p in NAMED])
def test_every_route_the_api_reference_names_exists(method: str, path: str) -> None:
    described = {(m, documented_path(p)) for m, p in DESCRIBED}
    served = {documented_path(route) for route in ROUTES}
    assert (method, path) in described or path in served


def relative_links(markdown: str) -> list[str]:
    """The targets of a Markdown text's links, without web addresses and in-page anchors;
    links shown inside code are not links."""
    text = re.sub(r"^(```|~~~).*?^\1", "", markdown, flags=re.M | re.S)
    text = re.sub(r"(`+).+?\1", "", text, flags=re.S)
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    return [
        target.split("#", 1)[0]
        for target in targets
        if not re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) and not target.startswith("#")
    ]


def test_the_link_scan_finds_links_and_skips_the_rest() -> None:
    text = "[a](docs/api.md#errors) [b](https://x.org) [c](#top) `[d](no.md)`\n```\n[e](no.md)\n```"
    assert relative_links(text) == ["docs/api.md"]


@pytest.mark.parametrize(
    "document", DOCUMENTS, ids=[d.relative_to(REPO).as_posix() for d in DOCUMENTS]
)
def test_every_relative_link_leads_to_a_file(document: Path) -> None:
    broken = [
        target
        for target in relative_links(document.read_text(encoding="utf-8"))
        if not (document.parent / target).exists()
        and (document.parent / target).resolve() not in {g.resolve() for g in GENERATED}
    ]
    assert broken == [], f"{document.relative_to(REPO)} links to missing files"
