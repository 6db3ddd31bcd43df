"""The editors' relevance controls over HTTP, against real servers: a draft, its preview, a
publish that every server process answers with, a restore, and the refusals."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.config import IndexerSettings
from tests.conftest import CORPUS, REPO, get_json, serve
from tests.test_staff_api import new_account

pytestmark = pytest.mark.server

CONFIG_FILES = {
    "BLMK_SYNONYMS": "synonyms.txt",
    "BLMK_BEST_BETS": "best-bets.toml",
    "BLMK_HIDDEN": "hidden.toml",
    "BLMK_SUGGEST_STOPLIST": "suggest-stoplist.txt",
}


@dataclass
class Servers:
    bases: list[str]
    config: Path
    editor: dict[str, str]
    publisher: dict[str, str]

    def call(
        self, method: str, path: str, body: object = None, who: dict[str, str] | None = None
    ) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        headers = (who or self.editor) | {"Content-Type": "application/json"}
        if method in ("POST", "PUT", "DELETE") and data is None:
            data = b""
        return get_json(f"{self.bases[0]}{path}", method, data, headers)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Two server processes sharing one corpus, index, state folder and set of rule files."""
    root = tmp_path_factory.mktemp("rules")
    config, state = root / "config", root / "state"
    config.mkdir()
    for name in CONFIG_FILES.values():
        shutil.copy(REPO / "config" / name, config / name)
    settings = IndexerSettings(corpus_dir=CORPUS, index_dir=root / "index", state_dir=state)
    build_index(settings)
    editor = new_account(state, "ed.itor", "editor")
    publisher = new_account(state, "pub.lisher", "publisher")
    env = {"BLMK_STATE_DIR": str(state), "BLMK_REFRESH_SECONDS": "0.2"} | {
        variable: str(config / name) for variable, name in CONFIG_FILES.items()
    }
    with ExitStack() as stack:
        bases = [
            stack.enter_context(
                serve(["--index", str(settings.index_dir), "--corpus", str(CORPUS)], env)
            )
            for _ in range(2)
        ]
        yield Servers(bases, config, editor, publisher)


def ids(base: str, query: str) -> list[str]:
    return [hit["id"] for hit in get_json(f"{base}/search?q={query}")[1]["results"]]


def synonyms_with(servers: Servers, line: str) -> dict[str, str]:
    status, rules = servers.call("GET", "/admin/rules")
    assert status == 200, rules
    texts = rules["current"]["texts"]
    return texts | {"synonyms": texts["synonyms"] + f"\n{line}\n"}


def test_a_one_way_synonym_is_previewed_published_and_restored(servers: Servers) -> None:
    before = ids(servers.bases[0], "quokka")
    status, rules = servers.call("GET", "/admin/rules")
    base = rules["current"]["number"]
    # Five files; the quality checks are switched off here (BLMK_CHECKS="" in the tests).
    assert rules["current"]["texts"].keys() == {
        "synonyms",
        "best_bets",
        "hidden",
        "stoplist",
        "checks",
    }
    assert rules["current"]["texts"]["checks"] == ""
    texts = synonyms_with(servers, "quokka => green plan")
    status, saved = servers.call("PUT", "/admin/rules/draft", {"base": base, "texts": texts})
    assert status == 200 and saved["draft"]["base"] == base, saved
    assert not [p for p in saved["problems"] if p["severity"] == "error"]

    status, preview = servers.call("GET", "/admin/rules/preview?q=quokka")
    assert status == 200, preview
    assert [hit["id"] for hit in preview["live"]] == before[:10]
    assert "pages/green-plan.html" in [hit["id"] for hit in preview["with_draft"]]
    assert {row["change"] for row in preview["changes"]["draft"]} == {"entered"}
    assert ids(servers.bases[0], "quokka") == before  # a preview publishes nothing

    status, published = servers.call(
        "POST", "/admin/rules/publish", {"base": base, "message": "quokka"}
    )
    assert status == 201, published
    number = published["revision"]["number"]
    assert "+quokka => green plan" in published["diff"]["synonyms"]
    time.sleep(0.6)  # both processes re-read the files within their refresh interval
    for base_url in servers.bases:
        assert "pages/green-plan.html" in ids(base_url, "quokka")

    status, restored = servers.call("POST", f"/admin/rules/revisions/{base}/restore")
    assert status == 201 and restored["revision"]["restored_from"] == base
    assert restored["revision"]["number"] == number + 1
    time.sleep(0.6)
    for base_url in servers.bases:
        assert ids(base_url, "quokka") == before
    status, listed = servers.call("GET", "/admin/rules/revisions")
    assert [r["number"] for r in listed["revisions"]][:3] == [number + 1, number, base]
    status, shown = servers.call("GET", f"/admin/rules/revisions/{number}")
    assert status == 200 and "quokka => green plan" in shown["texts"]["synonyms"]

    status, audit = servers.call("GET", "/admin/audit?action=rules&per_page=10")
    actions = [(e["action"], e["account"]) for e in audit["entries"]]
    assert ("rules.publish", "ed.itor") in actions and ("rules.restore", "ed.itor") in actions


def test_a_draft_from_an_old_revision_is_refused_with_409(servers: Servers) -> None:
    status, rules = servers.call("GET", "/admin/rules")
    stale = rules["current"]["number"]
    texts = synonyms_with(servers, "wombat => vaccination")
    servers.call("PUT", "/admin/rules/draft", {"base": stale, "texts": texts}, servers.publisher)
    # Meanwhile the editor publishes.
    mine = synonyms_with(servers, "numbat => pharmacy")
    servers.call("PUT", "/admin/rules/draft", {"base": stale, "texts": mine})
    assert servers.call("POST", "/admin/rules/publish", {"base": stale})[0] == 201
    status, body = servers.call("POST", "/admin/rules/publish", {"base": stale}, servers.publisher)
    assert (status, body["error"]["code"]) == (409, "rules_changed")
    assert "since" in body["error"]["message"]
    assert "wombat" not in (servers.config / "synonyms.txt").read_text(encoding="utf-8")


def test_a_rule_naming_a_document_not_in_the_index_cannot_be_published(servers: Servers) -> None:
    status, rules = servers.call("GET", "/admin/rules")
    base, texts = rules["current"]["number"], rules["current"]["texts"]
    texts = texts | {
        "best_bets": texts["best_bets"]
        + '\n[[pin]]\nqueries = ["emu"]\ndocuments = ["news/none.html"]\n'
    }
    status, saved = servers.call("PUT", "/admin/rules/draft", {"base": base, "texts": texts})
    assert status == 200  # a draft may hold mistakes
    assert any("news/none.html" in p["message"] for p in saved["problems"])
    status, body = servers.call("POST", "/admin/rules/publish", {"base": base})
    assert (status, body["error"]["code"]) == (400, "invalid_rules")
    assert "news/none.html" in body["error"]["message"]
    assert "emu" not in (servers.config / "best-bets.toml").read_text(encoding="utf-8")
    assert servers.call("DELETE", "/admin/rules/draft")[0] == 200
    status, body = servers.call("GET", "/admin/rules/preview?q=emu")
    assert (status, body["error"]["code"]) == (404, "no_draft")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PUT", "/admin/rules/draft", {"base": 0, "texts": {}}, 400, "invalid_parameter"),
        (
            "PUT",
            "/admin/rules/draft",
            {"base": 1, "texts": {"rules": "x"}},
            400,
            "invalid_parameter",
        ),
        ("PUT", "/admin/rules/draft", [1, 2], 400, "invalid_parameter"),
        ("GET", "/admin/rules/preview", None, 400, "invalid_parameter"),
        ("GET", "/admin/rules/revisions/9999", None, 404, "rule_revision_not_found"),
        ("POST", "/admin/rules/revisions/9999/restore", None, 404, "rule_revision_not_found"),
    ],
)
def test_bad_requests_are_4xx_json_errors(
    servers: Servers, method: str, path: str, body: object, status: int, code: str
) -> None:
    got, answer = servers.call(method, path, body)
    assert (got, answer["error"]["code"]) == (status, code), answer


def test_the_best_bets_are_listed_with_their_status(servers: Servers) -> None:
    status, rules = servers.call("GET", "/admin/rules")
    assert status == 200
    statuses = {tuple(bet["queries"]): bet["status"] for bet in rules["best_bets"]}
    assert statuses[("green plan", "net zero", "sustainability")] == "active"
    assert statuses[("flu jab", "flu vaccine", "winter vaccinations", "covid booster")] == "expired"


def test_the_rule_routes_need_a_staff_token(servers: Servers) -> None:
    status, body = get_json(f"{servers.bases[0]}/admin/rules")
    assert (status, body["error"]["code"]) == (401, "unauthorized")
