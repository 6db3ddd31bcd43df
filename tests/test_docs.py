"""The README keeps up with the code: every route, parameter, command and setting is in it."""

from __future__ import annotations

import re

import pytest

from indexer.cli import _parser as index_parser
from indexer.schema import FACET_FIELDS
from search_api.engine.service import SORTS
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SOURCES = [REPO / "indexer" / "config.py", REPO / "search_api" / "http" / "settings.py"]
ROUTES = re.findall(r'add_route\("([^"]+)"', (REPO / "search_api" / "http" / "app.py").read_text())


def test_readme_starts_with_the_two_commands() -> None:
    opening = README.split("## ", 1)[0]
    assert "make run" in opening and "make test" in opening


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_is_documented(route: str) -> None:
    documented = route.replace("{doc_id:path}", "{id}").replace("{job_id}", "{id}")
    assert any(f"`{method} {documented}`" in README for method in ("GET", "POST", "DELETE"))


@pytest.mark.parametrize(
    "parameter", ["q", "sort", "page", "per_page", "from", "to", *FACET_FIELDS, *SORTS]
)
def test_every_search_parameter_and_sort_is_documented(parameter: str) -> None:
    assert f"`{parameter}`" in README


@pytest.mark.parametrize(
    "variable",
    sorted({v for path in SOURCES for v in re.findall(r"BLMK_[A-Z_]+", path.read_text())}),
)
def test_every_setting_is_documented(variable: str) -> None:
    assert f"`{variable}`" in README


@pytest.mark.parametrize("command", ["build", "update", "status", "rollback", "extract"])
def test_every_index_command_is_documented(command: str) -> None:
    assert command in index_parser()._subparsers._group_actions[0].choices
    assert f"blmk-index {command}" in README
