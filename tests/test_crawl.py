"""The crawler against a real website on 127.0.0.1 (``bench.website``): robots.txt, sitemaps,
redirects, noindex, canonicals, errors, removal and incremental recrawls, each outcome checked
in the report, in the index and in the requests the site received."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from whoosh.index import open_dir

from bench.website import Request, Resource, SampleSite, Website, sample_site
from indexer import BuildError, IndexerSettings, IndexStore, crawl_index, crawl_plan
from search_api.engine.service import SearchRequest, SearchService
from tests.conftest import BIN, CORPUS, html_page, write_corpus

pytestmark = pytest.mark.server

CRAWL_DELAY = 0.05
# A corpus file beside the crawled site: one index holds both.
UPLOAD = "uploads/parking-at-hospitals.html"


@dataclass(slots=True)
class Crawled:
    """The site, the index, and what two crawls of it printed and sent."""

    website: Website
    site: SampleSite
    index: Path
    env: dict[str, str]
    first: subprocess.CompletedProcess[str]
    first_requests: list[Request]
    second: subprocess.CompletedProcess[str]
    second_requests: list[Request]
    version_after_first: str

    def url(self, path: str) -> str:
        return self.website.origin + path

    def lines(self) -> dict[str, dict[str, str]]:
        """The first crawl's report line for each URL."""
        info = IndexStore(self.index).build_info(IndexStore(self.index).published()[0])
        return {line["url"]: line for line in info["crawl"]["urls"]}


def paragraphs(sentence: str) -> str:
    """Enough text for a page to have main content worth indexing."""
    return "".join(f"<p>{sentence}, as the local NHS said on day {n}.</p>" for n in range(8))


def indexed_ids(index: Path) -> set[str]:
    """The ids of the published version's documents, read from the index itself."""
    version = IndexStore(index).current()
    assert version is not None
    whoosh_index = open_dir(str(version))
    try:
        with whoosh_index.searcher() as searcher:
            return {fields["id"] for fields in searcher.all_stored_fields()}
    finally:
        whoosh_index.close()


def crawl_command(
    crawled_env: dict[str, str], origin: str, index: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "blmk-index", "crawl", f"{origin}/", "--index", index, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=crawled_env,
        check=False,
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    root = tmp_path_factory.mktemp("crawl")
    corpus = write_corpus(
        root / "corpus",
        {UPLOAD: html_page("Parking at hospitals", paragraphs("Blue badge parking is free"))},
    )
    env = os.environ | {
        "BLMK_CORPUS": str(corpus),
        "BLMK_CRAWL_TIMEOUT_SECONDS": "1",
        "BLMK_MAX_FILE_MB": "2",
    }
    with Website(crawl_delay=CRAWL_DELAY) as website:
        site = sample_site(website, CORPUS, slow_seconds=2.0)
        index = root / "index"
        first = crawl_command(env, website.origin, index)
        assert first.returncode == 0, first.stderr
        first_requests = website.requests
        version = IndexStore(index).current().name
        website.clear_requests()
        second = crawl_command(env, website.origin, index)
        assert second.returncode == 0, second.stderr
        yield Crawled(
            website=website,
            site=site,
            index=index,
            env=env,
            first=first,
            first_requests=first_requests,
            second=second,
            second_requests=website.requests,
            version_after_first=version,
        )


def test_each_special_page_has_its_outcome_in_the_report(crawled: Crawled) -> None:
    site, lines = crawled.site, crawled.lines()
    expected = {
        site.disallowed: ("skipped", "robots"),
        site.redirect: ("unchanged", "redirect"),
        site.redirect_target: ("fetched", "new"),
        site.redirect_loop: ("failed", "redirect_loop"),
        site.server_error: ("failed", "http_500"),
        site.slow: ("failed", "timeout"),
        site.too_large: ("skipped", "too_large"),
        site.noindex: ("skipped", "noindex"),
        site.noindex_header: ("skipped", "noindex"),
        site.duplicate: ("fetched", "new"),
        site.pdf_as_html: ("fetched", "new"),
        site.pdf_only_linked: ("fetched", "new"),
        site.not_a_page: ("skipped", "not_a_page"),
        site.foreign_canonical: ("fetched", "new"),
    }
    found = {
        path: (lines[crawled.url(path)]["outcome"], lines[crawled.url(path)]["code"])
        for path in expected
    }
    assert found == expected
    assert lines[site.other_host]["outcome"] == "skipped"
    assert lines[site.other_host]["code"] == "other_host"
    assert crawled.url(site.duplicate_of) in lines[crawled.url(site.duplicate)]["message"]
    assert "ignored" in lines[crawled.url(site.foreign_canonical)]["message"]
    # The command prints the lines staff must act on.
    for path in (site.disallowed, site.server_error, site.slow, site.redirect_loop):
        assert crawled.url(path) in crawled.first.stdout


def test_the_index_holds_the_crawled_pages_under_their_canonical_urls_and_the_corpus(
    crawled: Crawled,
) -> None:
    ids = indexed_ids(crawled.index)
    assert ids == {crawled.url(path) for path in crawled.site.pages} | {UPLOAD}


def test_results_carry_the_site_canonical_urls_and_their_source(crawled: Crawled) -> None:
    service = SearchService(crawled.index)
    talking = service.search(SearchRequest(q="talking therapies self refer"))["results"][0]
    assert talking["url"].startswith(crawled.website.origin + "/news/")
    assert talking["source"] == "web"
    parking = service.search(SearchRequest(q="blue badge parking"))["results"][0]
    assert (parking["id"], parking["source"]) == (UPLOAD, "corpus")
    slides = service.search(SearchRequest(q="seminar slides"))["results"]
    as_html = next(r for r in slides if r["id"] == crawled.url(crawled.site.pdf_as_html))
    assert as_html["type"] == "document" and as_html["pages"]  # read as the PDF it is


def test_the_crawler_is_polite(crawled: Crawled) -> None:
    requests = sorted(crawled.first_requests, key=lambda request: request.started)
    assert all(r.headers["user-agent"].startswith("blmk-search/") for r in requests)
    assert not any(r.path.startswith("/private/") for r in requests)
    gaps = [later.started - earlier.started for earlier, later in pairwise(requests)]
    assert min(gaps) >= CRAWL_DELAY * 0.8  # robots.txt's Crawl-delay between request starts
    in_flight = max(
        sum(1 for other in requests if other.started <= r.started < other.finished)
        for r in requests
    )
    assert in_flight <= 2


def test_a_recrawl_with_nothing_changed_asks_only_conditionally_and_publishes_nothing(
    crawled: Crawled,
) -> None:
    answered = {r.path for r in crawled.first_requests if r.status == 200}
    again = [r for r in crawled.second_requests if r.path in answered]
    assert again, "robots.txt and the sitemaps are asked for again"
    unconditional = [
        r.path for r in again if not {"if-none-match", "if-modified-since"} & r.headers.keys()
    ]
    assert unconditional == []
    assert all(r.status == 304 for r in again)
    # The file over the size limit was never read, yet it is remembered: not asked for again
    # (its sitemap date is older than the first crawl), or asked "changed?".
    too_large = [r for r in crawled.second_requests if r.path == crawled.site.too_large]
    assert all("if-none-match" in r.headers for r in too_large)
    assert crawled.lines()[crawled.url(crawled.site.too_large)]["code"] == "too_large"
    assert "nothing changed" in crawled.second.stdout
    assert IndexStore(crawled.index).current().name == crawled.version_after_first


def test_status_lists_every_url_of_the_last_crawl(crawled: Crawled) -> None:
    status = subprocess.run(
        [BIN / "blmk-index", "status", "--index", crawled.index, "--urls"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"unchanged {crawled.url(crawled.site.removable)}" in status.stdout
    assert f"skipped {crawled.url(crawled.site.disallowed)}" in status.stdout


def test_a_full_crawl_asks_for_everything_without_validators(crawled: Crawled) -> None:
    crawled.website.clear_requests()
    full = crawl_command(crawled.env, crawled.website.origin, crawled.index, "--full")
    assert full.returncode == 0, full.stderr
    requests = crawled.website.requests
    assert len(requests) > len(crawled.site.pages)
    assert not any({"if-none-match", "if-modified-since"} & r.headers.keys() for r in requests)
    assert "nothing changed" in full.stdout  # the same content: nothing to publish


# --- removal, "index this URL now" and the shrink guard, on a site of the test's own --------


CAMPAIGN = "/pages/winter-campaign.html"


def campaign_page(in_sitemap: bool = True) -> Resource:
    page = html_page("Winter campaign", paragraphs("Keep warm and get your flu jab this winter"))
    return Resource(body=page.encode(), content_type="text/html", in_sitemap=in_sitemap)


@pytest.fixture()
def small_site(tmp_path: Path) -> Iterator[tuple[Website, SampleSite, IndexerSettings]]:
    settings = IndexerSettings(
        corpus_dir=tmp_path / "no-corpus",  # a web-only index: no corpus folder at all
        index_dir=tmp_path / "index",
        state_dir=tmp_path / "state",
        checks_file=None,
        crawl_timeout_seconds=1.0,
        crawl_delay_seconds=0.0,
        max_file_bytes=2 * 1024 * 1024,
    )
    with Website() as website:
        site = sample_site(website, CORPUS, slow_seconds=1.5)
        website.put(CAMPAIGN, campaign_page())
        yield website, site, settings


def doc_ids(settings: IndexerSettings) -> set[str]:
    return indexed_ids(settings.index_dir)


def crawl(website: Website, settings: IndexerSettings, **options: object) -> dict:
    report = crawl_index(settings, crawl_plan(settings, website.origin, **options))
    assert report.crawl is not None
    return {line["url"]: line for line in report.crawl["urls"]}


def test_pages_gone_from_the_site_leave_the_index(small_site) -> None:
    website, site, settings = small_site
    crawl(website, settings)
    removable, campaign = website.origin + site.removable, website.origin + CAMPAIGN
    assert {removable, campaign} <= doc_ids(settings)

    website.remove(site.removable)  # now 404
    website.put(CAMPAIGN, campaign_page(in_sitemap=False))  # still there, but unlisted
    lines = crawl(website, settings)
    assert (lines[removable]["outcome"], lines[removable]["code"]) == ("removed", "gone")
    assert (lines[campaign]["outcome"], lines[campaign]["code"]) == ("unchanged", "missing")
    assert removable not in doc_ids(settings) and campaign in doc_ids(settings)

    lines = crawl(website, settings)  # missing from a second crawl in a row
    assert (lines[campaign]["outcome"], lines[campaign]["code"]) == ("removed", "missing")
    assert campaign not in doc_ids(settings)


def test_one_url_can_be_indexed_or_removed_at_once(small_site) -> None:
    website, _, settings = small_site
    crawl(website, settings)
    website.clear_requests()
    new = "/news/new-minor-injuries-unit.html"
    page = html_page("New minor injuries unit", paragraphs("A minor injuries unit opens"))
    website.put(new, Resource(body=page.encode(), content_type="text/html"))
    lines = crawl(website, settings, only=[website.origin + new])
    assert lines[website.origin + new]["outcome"] == "fetched"
    assert {r.path for r in website.requests} == {"/robots.txt", new}
    assert website.origin + new in doc_ids(settings)
    before = len(doc_ids(settings))

    lines = crawl(website, settings, remove=[website.origin + new])
    assert lines[website.origin + new]["outcome"] == "removed"
    assert website.origin + new not in doc_ids(settings)
    assert len(doc_ids(settings)) == before - 1


def test_a_crawl_that_would_drop_most_documents_is_refused(small_site) -> None:
    website, site, settings = small_site
    crawl(website, settings)
    published = IndexStore(settings.index_dir).current()
    for path in site.pages[: len(site.pages) * 2 // 3]:
        if path != "/":
            website.remove(path)
    with pytest.raises(BuildError, match="--force"):
        crawl(website, settings)
    assert IndexStore(settings.index_dir).current() == published


def test_a_robots_txt_that_cannot_be_read_stops_the_crawl(small_site) -> None:
    website, _, settings = small_site
    website.put("/robots.txt", Resource(body=b"busy", content_type="text/plain", status=503))
    with pytest.raises(BuildError, match=r"robots\.txt could not be read"):
        crawl(website, settings)
    assert IndexStore(settings.index_dir).current() is None


def test_builds_of_the_corpus_keep_the_web_documents(crawled: Crawled) -> None:
    """An update carries them over; a full build reads them again from their saved copies,
    without a request to the site."""
    before = indexed_ids(crawled.index)
    crawled.website.clear_requests()
    for command in ("update", "build"):
        done = subprocess.run(
            [BIN / "blmk-index", command, "--index", crawled.index],
            capture_output=True,
            text=True,
            timeout=120,
            env=crawled.env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert indexed_ids(crawled.index) == before
    assert crawled.website.requests == []


def test_indexing_an_unchanged_url_now_publishes_nothing(small_site) -> None:
    website, site, settings = small_site
    crawl(website, settings)
    published = IndexStore(settings.index_dir).current()
    report = crawl_index(
        settings, crawl_plan(settings, website.origin, only=[website.origin + site.removable])
    )
    assert report.published is False
    assert IndexStore(settings.index_dir).current() == published


def test_a_saved_copy_gone_from_the_version_is_reported_and_nothing_published(small_site) -> None:
    website, _, settings = small_site
    crawl(website, settings)
    published = IndexStore(settings.index_dir).current()
    assert published is not None
    for copy in (published / "web").iterdir():
        copy.unlink()  # a version folder damaged by hand
    website.put(CAMPAIGN, campaign_page(in_sitemap=False))  # a change: a version to publish
    with pytest.raises(BuildError, match="crawl again with --full"):
        crawl(website, settings)
    assert IndexStore(settings.index_dir).current() == published
