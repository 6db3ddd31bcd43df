"""The website crawl through the admin API, end to end: a real website on 127.0.0.1
(``bench.website``), an index first built from it by the real ``blmk-index crawl``, a real
``blmk-serve`` configured to crawl it, staff accounts made with the real ``blmk-admin``; and
the crawl schedule, in this process, against a website of its own."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from bench.website import Resource, SampleSite, Website, sample_site
from indexer import AuditLog, IndexerSettings
from search_api.engine.service import SearchService
from search_api.http.app import create_app
from search_api.http.settings import Settings
from search_api.staff.jobs import IndexJobs
from search_api.staff.schedule import SCHEDULE_ACTOR, CrawlSchedule
from tests.conftest import BIN, CORPUS, get_json, html_page, serve
from tests.test_admin_api import wait_for
from tests.test_staff_api import new_account

pytestmark = pytest.mark.server

NEW_PAGE = "/news/2026-12-01-axolotl-pond-opens.html"
# Pages the index is first built with: the rest are new to the first crawl through the API.
FIRST_PAGES = "6"


@dataclass
class CrawledSite:
    base: str  # blmk-serve
    index: Path
    website: Website
    sample: SampleSite
    publisher: dict[str, str]
    editor: dict[str, str]

    @property
    def origin(self) -> str:
        return self.website.origin

    def post(
        self, path: str, body: Any, who: dict[str, str] | None = None, kind: str = "json"
    ) -> tuple[int, dict[str, Any], str | None]:
        """A POST with a JSON body (bytes are sent as they are); status, body, Location."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": f"application/{kind}"} | (self.publisher if who is None else who)
        request = urllib.request.Request(f"{self.base}{path}", data, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response), response.headers.get("Location")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error), None

    def run(self, path: str, body: Any) -> dict[str, Any]:
        """Starts a job, checks the answer is a 202 naming it, and waits for its end."""
        status, answer, location = self.post(path, body)
        assert status == 202, answer
        job = answer["job"]
        assert location == f"/admin/jobs/{job['id']}"
        finished = wait_for(self.base, job["id"], self.publisher)
        assert finished["state"] == "succeeded", finished["error"]
        return finished

    def search(self, q: str) -> dict[str, Any]:
        status, body = get_json(f"{self.base}/search?q={q.replace(' ', '+')}")
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledSite]:
    root = tmp_path_factory.mktemp("crawl-api")
    corpus, index, state = root / "corpus", root / "index", root / "state"
    corpus.mkdir()  # empty: everything searchable comes from the website
    with Website() as website:
        sample = sample_site(website, CORPUS, slow_seconds=2.0)
        env = {
            "BLMK_CRAWL_SITES": website.origin,
            "BLMK_CRAWL_TIMEOUT_SECONDS": "1",
            "BLMK_CRAWL_DELAY_SECONDS": "0",
            "BLMK_STATE_DIR": str(state),
            "BLMK_REFRESH_SECONDS": "0.1",
        }
        command = [BIN / "blmk-index", "crawl", website.origin, "--max-pages", FIRST_PAGES]
        command += ["--corpus", str(corpus), "--index", str(index), "--state", str(state)]
        first = subprocess.run(
            command,
            env=os.environ | env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert first.returncode == 0, first.stdout + first.stderr
        publisher = new_account(state, "pat.publisher", "publisher")
        editor = new_account(state, "eve.editor", "editor")
        # A schedule too slow to come round during the tests: blmk-serve says it is on.
        env["BLMK_CRAWL_EVERY_MINUTES"] = "90"
        printed: list[str] = []
        with serve(["--index", str(index), "--corpus", str(corpus)], env, printed) as base:
            yield CrawledSite(base, index, website, sample, publisher, editor)
        assert f"crawl schedule on: {website.origin} every 90 minutes" in printed[0]


def urls(answer: dict[str, Any]) -> list[str]:
    return [hit["url"] for hit in answer["results"]]


def audit(site: CrawledSite, action: str) -> list[dict[str, Any]]:
    status, body = get_json(
        f"{site.base}/admin/audit?per_page=200&action={action}", headers=site.editor
    )
    assert status == 200, body
    return body["entries"]


def test_a_publisher_crawls_the_site_and_its_pages_are_found(crawled: CrawledSite) -> None:
    article = crawled.origin + crawled.sample.duplicate_of  # not among the first pages
    assert article not in urls(crawled.search("talking therapies"))
    status, answer, _ = crawled.post("/admin/crawl", {})
    assert status == 202 and answer["job"]["kind"] == "crawl"
    # One job at a time: a second one while the crawl runs (the slow page alone takes a
    # second) is refused, with the usual code.
    status, refused, _ = crawled.post("/admin/urls", {"url": crawled.origin, "action": "index"})
    assert (status, refused["error"]["code"]) == (409, "build_in_progress")

    job = wait_for(crawled.base, answer["job"]["id"], crawled.publisher)
    assert job["state"] == "succeeded", job["error"]
    report = job["report"]
    assert report["published"] is True
    crawl = report["crawl"]
    assert crawl["site"] == crawled.origin and crawl["complete"] is True
    assert set(crawl["counts"]) == {"fetched", "unchanged", "skipped", "failed", "removed"}
    assert crawl["counts"]["fetched"] > 0 and crawl["counts"]["skipped"] > 0
    outcomes = {line["url"]: line["outcome"] for line in crawl["urls"]}
    assert outcomes[crawled.origin + crawled.sample.disallowed] == "skipped"
    assert outcomes[crawled.origin + crawled.sample.server_error] == "failed"
    assert [site["site"] for site in report["sites"]] == [crawled.origin]
    assert report["sites"][0]["counts"] == crawl["counts"]

    found = crawled.search("talking therapies")
    assert article in urls(found)
    assert all(hit["url"].startswith(crawled.origin + "/") for hit in found["results"])
    assert {hit["source"] for hit in found["results"]} == {"web"}
    status, last = get_json(f"{crawled.base}/admin/report", headers=crawled.editor)
    assert status == 200 and last["crawl"]["counts"] == crawl["counts"]
    started = audit(crawled, "index.crawl")[0]
    assert (started["account"], started["outcome"]) == ("pat.publisher", "done")
    assert started["details"]["job"] == job["id"]
    ended = [e for e in audit(crawled, "index.job") if e["target"] == job["id"]]
    assert ended[0]["details"]["kind"] == "crawl"
    assert ended[0]["details"]["crawl"][0]["fetched"] == crawl["counts"]["fetched"]


def test_only_publishers_may_crawl(crawled: CrawledSite) -> None:
    page = crawled.origin + "/pages/green-plan.html"
    for path, body in (("/admin/crawl", {}), ("/admin/urls", {"url": page, "action": "index"})):
        status, answer, _ = crawled.post(path, body, who=crawled.editor)
        assert (status, answer["error"]["code"]) == (403, "forbidden"), path
        assert "needs the publisher role" in answer["error"]["message"]
        status, answer, _ = crawled.post(path, body, who={})
        assert (status, answer["error"]["code"]) == (401, "unauthorized"), path
    refused = audit(crawled, "index.url")[0]
    assert (refused["account"], refused["target"], refused["outcome"]) == (
        "eve.editor",
        page,
        "refused",
    )


BAD_CRAWLS = [
    ({"url": "http://elsewhere.example/news/"}, 400, "site_not_configured", None),
    ({"url": "mailto:web@example.org"}, 400, "invalid_url", None),
    ({"url": "www.example.org/news/"}, 400, "invalid_url", None),
    ({"url": 3}, 400, "invalid_parameter", "url"),
    ({"full": "yes"}, 400, "invalid_parameter", "full"),
    ({"depth": 2}, 400, "invalid_parameter", "depth"),
    ([], 400, "invalid_parameter", "body"),
    (b"{not json", 400, "invalid_parameter", "body"),
]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    BAD_CRAWLS,
    ids=["other-host", "mailto", "no-scheme", "url-number", "full-text", "unknown", "list", "json"],
)
def test_a_crawl_asked_for_wrongly_is_refused_saying_why(
    crawled: CrawledSite, body: Any, status: int, code: str, field: str | None
) -> None:
    answered, answer, _ = crawled.post("/admin/crawl", body)
    assert (answered, answer["error"]["code"]) == (status, code)
    if field:
        assert answer["error"]["message"].startswith(f"{field}: ")


def bad_urls(origin: str) -> list[tuple[Any, str, str | None]]:
    page = origin + NEW_PAGE
    return [
        ({"url": page}, "invalid_parameter", "action"),
        ({"action": "index"}, "invalid_parameter", "url"),
        ({"url": "  ", "action": "index"}, "invalid_parameter", "url"),
        ({"url": page, "action": "delete"}, "invalid_parameter", "action"),
        ({"url": [page], "action": "index"}, "invalid_parameter", "url"),
        ({"url": page, "action": "index", "priority": 1}, "invalid_parameter", "priority"),
        ({"url": page, "acton": "index"}, "invalid_parameter", "acton"),
        ("index it", "invalid_parameter", "body"),
        (b"", "invalid_parameter", "body"),
        ({"url": "ftp://127.0.0.1/x.html", "action": "index"}, "invalid_url", None),
        (
            {"url": "https://elsewhere.example/a.html", "action": "remove"},
            "site_not_configured",
            None,
        ),
    ]


def test_a_url_asked_for_wrongly_is_refused_naming_the_field(crawled: CrawledSite) -> None:
    for body, code, field in bad_urls(crawled.origin):
        status, answer, _ = crawled.post("/admin/urls", body)
        assert (status, answer["error"]["code"]) == (400, code), body
        if field:
            assert answer["error"]["message"].startswith(f"{field}: "), answer
    status, answer, _ = crawled.post("/admin/urls", b"url=x", kind="x-www-form-urlencoded")
    assert (status, answer["error"]["code"]) == (415, "unsupported_media_type")


def test_a_cms_indexes_a_new_page_then_withdraws_it(crawled: CrawledSite) -> None:
    page = crawled.origin + NEW_PAGE
    text = "<p>" + "The axolotl pond at the Luton hub opens to visitors this winter. " * 6
    body = html_page("Axolotl pond opens", text + "</p>").encode()
    crawled.website.put(NEW_PAGE, Resource(body=body, content_type="text/html; charset=utf-8"))
    assert crawled.search("axolotl")["total"] == 0

    job = crawled.run("/admin/urls", {"url": page, "action": "index"})
    assert job["kind"] == "url"
    lines = job["report"]["crawl"]["urls"]
    assert [(line["url"], line["outcome"]) for line in lines] == [(page, "fetched")]
    (hit,) = crawled.search("axolotl")["results"]
    assert (hit["id"], hit["url"], hit["source"]) == (page, page, "web")
    status, document = get_json(f"{crawled.base}/documents/{page}")
    assert (status, document["id"], document["source"]) == (200, page, "web")
    assert crawled.search("talking therapies")["total"] > 0  # everything else is kept

    crawled.website.remove(NEW_PAGE)  # withdrawn: the site no longer has it
    job = crawled.run("/admin/urls", {"url": page, "action": "remove"})
    assert [line["outcome"] for line in job["report"]["crawl"]["urls"]] == ["removed"]
    assert crawled.search("axolotl")["total"] == 0
    assert crawled.search("talking therapies")["total"] > 0
    entries = [e for e in audit(crawled, "index.url") if e["account"] == "pat.publisher"]
    assert [(e["target"], e["details"]["operation"]) for e in entries[:2]] == [
        (page, "remove"),
        (page, "index"),
    ]


def test_a_crawl_of_every_site_needs_one_configured(crawled: CrawledSite, tmp_path: Path) -> None:
    settings = Settings(
        index_dir=crawled.index,
        admin_token="t0ken",
        corpus_dir=tmp_path / "corpus",
        state_dir=tmp_path / "state",
    )
    jobs = IndexJobs(IndexerSettings(index_dir=tmp_path / "index", crawl_sites=()))
    app = create_app(SearchService(crawled.index), settings, jobs=jobs)
    client = falcon.testing.TestClient(app, headers={"Authorization": "Bearer t0ken"})
    answer = client.simulate_post("/admin/crawl")
    assert (answer.status_code, answer.json["error"]["code"]) == (409, "no_sites_configured")
    assert "set BLMK_CRAWL_SITES" in answer.json["error"]["message"]
    answer = client.simulate_post("/admin/urls", json={"url": crawled.origin, "action": "index"})
    assert (answer.status_code, answer.json["error"]["code"]) == (400, "site_not_configured")
    assert jobs.running() is None


# --- the schedule ---------------------------------------------------------------------------


def test_the_schedule_crawls_every_interval_and_skips_a_turn_while_a_job_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Website() as website:
        text = "<p>" + "Opening times of the minor injuries unit in Bedford. " * 6 + "</p>"
        # Answers after half a second, so that turns come while its crawl runs.
        page = Resource(
            body=html_page("Minor injuries", text).encode(),
            content_type="text/html; charset=utf-8",
            delay_seconds=0.5,
        )
        website.put("/", page)
        (tmp_path / "corpus").mkdir()
        settings = IndexerSettings(
            corpus_dir=tmp_path / "corpus",
            index_dir=tmp_path / "index",
            state_dir=tmp_path / "state",
            checks_file=None,
            crawl_sites=(website.origin,),
            crawl_delay_seconds=0,
        )
        audit_log = AuditLog(settings.state_dir)
        jobs = IndexJobs(settings, audit_log)
        schedule = CrawlSchedule(jobs, every_seconds=0.2)
        with caplog.at_level(logging.INFO, logger="search_api.staff.schedule"):
            schedule.start()
            try:
                deadline = time.monotonic() + 30
                while not list(audit_log.entries(action="index.job")) or not _skipped(caplog):
                    assert time.monotonic() < deadline, caplog.text
                    time.sleep(0.05)
            finally:
                schedule.stop()
            while jobs.running() is not None:  # a crawl started just before the stop
                assert time.monotonic() < deadline
                time.sleep(0.05)
    (first, *_) = reversed(list(audit_log.entries(action="index.job")))
    assert (first["account"], first["role"]) == (SCHEDULE_ACTOR.account, "server")
    assert (first["outcome"], first["details"]["kind"]) == ("done", "crawl"), first
    assert "started as index job" in caplog.text
    with pytest.raises(ValueError, match="above 0 seconds"):
        CrawlSchedule(jobs, every_seconds=0)


def _skipped(caplog: pytest.LogCaptureFixture) -> bool:
    return any("skipped this turn" in record.getMessage() for record in caplog.records)


# --- the admin page -------------------------------------------------------------------------


@pytest.fixture
def tab() -> Iterator[Any]:
    """A page in headless Chromium that fails the test on a script error (skipped without
    Playwright or Chromium, as in tests/test_browser.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: `make test` installs it (apt package chromium)")
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        chromium.close()
    assert errors == []


def sign_in(page: Any, base: str, who: dict[str, str]) -> None:
    page.goto(f"{base}/admin")
    page.fill("#admin-token", who["Authorization"].removeprefix("Bearer "))
    page.click("#token-form button")
    page.wait_for_selector("#signed-in:not([hidden])")


@pytest.mark.browser
def test_a_publisher_crawls_from_the_admin_page_and_reads_the_report(
    tab: Any, crawled: CrawledSite
) -> None:
    from playwright.sync_api import expect

    from tests.test_browser import serious_violations

    sign_in(tab, crawled.base, crawled.editor)
    expect(tab.locator("#account-role")).to_have_text("editor")
    expect(tab.locator("#crawl")).to_be_hidden()
    tab.click("#sign-out")

    sign_in(tab, crawled.base, crawled.publisher)
    expect(tab.locator("#crawl")).to_be_visible()
    tab.click("#crawl")
    expect(tab.locator("#admin-message")).to_contain_text("The crawl is finished", timeout=30_000)
    expect(tab.locator("#crawl-report")).to_be_visible()
    expect(tab.locator("#crawl-summary")).to_contain_text(f"Crawl of {crawled.origin}:")
    rows = tab.locator("#crawl-urls tbody tr")
    rota = rows.filter(has_text=crawled.sample.disallowed)
    expect(rota).to_have_count(1)
    expect(rota).to_contain_text("skipped")
    expect(rota).to_contain_text("disallowed by robots.txt")
    notable = rows.count()
    assert tab.locator("#crawl-urls tbody tr", has_text="unchanged").count() == 0

    toggle = tab.locator("#crawl-urls-toggle")
    label = toggle.inner_text()
    assert label.startswith("Show all ") and label.endswith(" URLs")
    everything = int(label.split()[2])
    toggle.click()
    expect(rows).to_have_count(everything)
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert everything > notable
    assert serious_violations(tab) == []
    toggle.click()
    expect(rows).to_have_count(notable)
