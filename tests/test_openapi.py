"""The OpenAPI description at /openapi.json is kept true: it lists exactly the routes the app
serves, and schemathesis, generating requests from it against a running server, finds no
answer that breaks it (no 5xx, statuses and bodies as described)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import schemathesis
from falcon.routing import CompiledRouter
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from indexer.build import BuildReport
from indexer.config import IndexerSettings
from search_api.engine.service import SearchService
from search_api.http.app import create_app
from search_api.http.resources import OPENAPI
from search_api.http.settings import Settings
from tests.conftest import get_json

SPEC = json.loads(OPENAPI.read_text(encoding="utf-8"))


def served_routes(router: CompiledRouter) -> set[str]:
    """Every route template the router knows, with converters taken out
    (``/documents/{doc_id:path}`` is ``/documents/{doc_id}``)."""
    templates: set[str] = set()
    nodes = list(router._roots)
    while nodes:
        node = nodes.pop()
        if node.resource is not None:
            templates.add(re.sub(r"\{(\w+):\w+\}", r"{\1}", node.uri_template))
        nodes.extend(node.children)
    return templates


def test_the_description_lists_every_route_and_no_other(
    corpus_settings: IndexerSettings, corpus_build: BuildReport, tmp_path: Path
) -> None:
    settings = Settings(
        index_dir=corpus_settings.index_dir,
        admin_token="secret",
        corpus_dir=tmp_path / "corpus",
        state_dir=tmp_path / "state",
    )
    app = create_app(SearchService(corpus_settings.index_dir), settings)
    # A document's revisions are described as paths of their own, though one route, whose
    # last part takes slashes, serves them with the document (``x-served-by``).
    described = {path for path, item in SPEC["paths"].items() if "x-served-by" not in item}
    assert served_routes(app._router) == described
    for item in SPEC["paths"].values():
        assert item.get("x-served-by", "/admin") in SPEC["paths"]


@pytest.fixture(scope="module")
def base_url(corpus_server: str) -> str:
    return corpus_server


@pytest.mark.server
def test_the_server_serves_its_description(base_url: str) -> None:
    status, served = get_json(f"{base_url}/openapi.json")
    assert status == 200 and served == SPEC


# The public operations: what anyone on the internet can send.
PUBLIC = [
    (path, method.upper())
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
    if not method.startswith("x-") and "search" in operation["tags"]
]


@pytest.mark.server
# Not checked: that every request the description allows is accepted. Two rules span several
# parameters, which OpenAPI 3.0 cannot say (page × per_page at most 1,000; ``to`` not before
# ``from``); they are in the descriptions, and breaking them is a 400 with a message.
@pytest.mark.parametrize(("path", "method"), PUBLIC, ids=[f"{m} {p}" for p, m in PUBLIC])
def test_the_public_api_answers_as_described(base_url: str, path: str, method: str) -> None:
    operation = schemathesis.openapi.from_dict(SPEC)[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_described(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, excluded_checks=[positive_data_acceptance])

    answers_as_described()
