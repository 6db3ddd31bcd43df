"""Postings read from the ``whoosh3`` codec's storage format and through Whoosh's public API
give the same answers; and the codec reader is used only under the Whoosh it was written
against."""

from __future__ import annotations

import configparser
import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
from whoosh.index import create_in
from whoosh.query import Phrase
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from indexer import SCHEMA, TEXT_FIELDS
from indexer.build import BuildReport
from indexer.config import IndexerSettings
from search_api.engine import proximity
from search_api.engine.codec import (
    CODEC,
    CODEC_DISTRIBUTION,
    CODEC_READER,
    CODEC_VERSION,
    PUBLIC_READER,
    PublicPostings,
    fallback_reason,
    installed_whoosh,
    open_term_postings,
)
from search_api.engine.postings import PostingArrays
from search_api.engine.query import QueryReader
from search_api.engine.service import SearchRequest, SearchService
from search_api.http.resources import OPENAPI
from tests.conftest import REPO

QUERIES = [q["query"] for q in json.loads((REPO / "tests/relevance/queries.json").read_text())]
# Besides the judged queries: a phrase, a prefix, an exclusion, and both in one.
SYNTAX = ['"green plan"', "pharm*", "nurse -bedford", '"mental health" -covid vacc*']
PINNED = fallback_reason(*installed_whoosh(), CODEC) is None


def service_over(index_dir: Path, public_postings: bool) -> SearchService:
    """The service as ``make run`` configures it, with time enough that no answer is partial
    (so that both readers' answers hold every step)."""
    return SearchService(
        index_dir,
        synonyms_file=REPO / "config" / "synonyms.txt",
        best_bets_file=REPO / "config" / "best-bets.toml",
        suggest_stoplist_file=REPO / "config" / "suggest-stoplist.txt",
        cache_responses=False,
        budget_seconds=60.0,
        public_postings=public_postings,
    )


@pytest.fixture(scope="module")
def services(
    corpus_settings: IndexerSettings, corpus_build: BuildReport
) -> tuple[SearchService, SearchService]:
    """The sample corpus's index served twice: postings read by whichever reader the check
    chooses (the codec reader, under the pinned Whoosh), and through the public API."""
    chosen = service_over(corpus_settings.index_dir, public_postings=False)
    public = service_over(corpus_settings.index_dir, public_postings=True)
    return chosen, public


def test_the_pinned_whoosh_is_read_through_the_codec_and_health_says_so(
    services: tuple[SearchService, SearchService],
) -> None:
    if not PINNED:
        pytest.skip(f"Whoosh installed is {installed_whoosh()}, not the pinned one")
    chosen, public = services
    assert chosen.current().postings.reader_name == CODEC_READER
    assert public.current().postings.reader_name == PUBLIC_READER
    assert chosen.health()["postings_reader"] == CODEC_READER
    assert public.health()["postings_reader"] == PUBLIC_READER


@pytest.mark.parametrize("typed", QUERIES + SYNTAX)
def test_both_readers_answer_the_same(
    services: tuple[SearchService, SearchService], typed: str
) -> None:
    request = SearchRequest(q=typed, per_page=50)
    answers = [service.search(request) for service in services]
    for answer in answers:
        assert not answer["partial"]
        del answer["took_ms"]
    fast, slow = answers
    assert slow["total"] == fast["total"] > 0
    assert [hit["id"] for hit in slow["results"]] == [hit["id"] for hit in fast["results"]]
    assert slow["facets"] == fast["facets"]
    assert slow == fast  # snippets, pages and the suggestion too
    # Every match's score, before rounding for the response.
    queries = [
        QueryReader(
            service.current().vocabulary,
            service.synonyms.get(),
            service.current().count,
            service.ranking,
        ).read(typed)
        for service in services
    ]
    found = [
        service.current().postings.covering(query.clauses, query.excluded, query.minor)
        for service, query in zip(services, queries, strict=True)
    ]
    assert found[1].docs.tolist() == found[0].docs.tolist()
    np.testing.assert_allclose(found[1].scores, found[0].scores, rtol=0, atol=1e-9)


def every_text_term(postings: PostingArrays) -> list[tuple[str, bytes]]:
    return [(field, text) for field, text in postings.reader.all_terms() if field in TEXT_FIELDS]


def assert_same_postings(
    codec: PostingArrays, public: PostingArrays, phrases: list[tuple[str, ...]]
) -> None:
    """Every text term's documents, BM25F scores and positions alike, and ``phrases`` (which
    occur somewhere) found in the same documents with the same bonus."""
    terms = every_text_term(codec)
    assert terms
    for field, text in terms:
        ours, theirs = codec.term(field, text.decode()), public.term(field, text.decode())
        assert theirs.docs.tolist() == ours.docs.tolist(), (field, text)
        np.testing.assert_allclose(theirs.scores, ours.scores, rtol=0, atol=1e-9)
        positions = public.term_postings.positions(field, text, theirs.docs)
        assert positions == codec.term_postings.positions(field, text, ours.docs), (field, text)
        assert len(positions) == len(theirs)
    everyone = codec.all_docs
    for field in TEXT_FIELDS:
        for words in phrases:
            phrase = Phrase(field, list(words))
            bonus = proximity.bonus(codec, phrase, everyone)
            from_public = proximity.bonus(public, phrase, everyone)
            np.testing.assert_allclose(from_public, bonus, rtol=0, atol=1e-9)
            if field == "body":
                assert np.count_nonzero(bonus) > 0, words  # found: the check can fail


@pytest.mark.slow
def test_every_term_of_the_sample_index_reads_the_same(
    services: tuple[SearchService, SearchService],
) -> None:
    chosen, public = (service.current().postings for service in services)
    assert_same_postings(chosen, public, [("green", "plan"), ("mental", "health")])


def test_deleted_documents_and_several_segments_read_the_same(tmp_path: Path) -> None:
    """The codec reader reads deleted documents' postings too (the arrays drop them); the
    public API leaves them out. Documents live in three segments here, one with deletions."""
    index = create_in(str(tmp_path), SCHEMA)
    pages = [
        ("a", "Flu vaccination clinics", "Walk-in flu vaccination clinics open in Luton."),
        ("b", "Mental health support", "Mental health crisis cafe in Bedford, open evenings."),
        ("c", "Flu jabs for children", "Children can have the flu vaccination at school."),
        ("d", "Green plan", "The green plan for Bedford, Luton and Milton Keynes."),
        ("e", "Pharmacy opening", "Pharmacy opening hours over the bank holiday, flu too."),
        ("f", "Mental health week", "Events for mental health awareness week in Luton."),
    ]
    for batch in (pages[:3], pages[3:5], pages[5:]):
        writer = index.writer()
        for doc_id, title, body in batch:
            writer.add_document(id=doc_id, title=title, summary=title, body=body)
        writer.commit(merge=False)
    writer = index.writer()
    writer.delete_by_term("id", "c")
    writer.delete_by_term("id", "e")
    writer.commit(merge=False)
    reader = index.reader()
    assert reader.has_deletions() and len(reader.leaf_readers()) == 3
    searcher = Searcher(reader, weighting=BM25F(), fromindex=index)
    try:
        chosen = open_term_postings(reader)
        if PINNED:
            assert chosen.name == CODEC_READER
        codec = PostingArrays(searcher, term_postings=chosen)
        public = PostingArrays(searcher, term_postings=PublicPostings(reader))
        assert_same_postings(codec, public, [("mental", "health"), ("flu", "vaccin")])
        flu = public.term("body", "flu")
        assert len(flu) == 1  # of "a", "c" and "e", only "a" is live
    finally:
        searcher.close()


@pytest.mark.parametrize(
    ("distribution", "version", "codec", "refused"),
    [
        (CODEC_DISTRIBUTION, CODEC_VERSION, CODEC, None),
        ("Whoosh3", CODEC_VERSION, CODEC, None),
        (CODEC_DISTRIBUTION, "3.54.1", CODEC, "whoosh3 3.54.1"),
        (CODEC_DISTRIBUTION, "3.53.0", CODEC, "whoosh3 3.53.0"),
        ("Whoosh", "2.7.4", CODEC, "Whoosh 2.7.4"),
        ("whoosh-reloaded", "2.7.5", CODEC, "whoosh-reloaded 2.7.5"),
        ("Whoosh", "3.54.0", CODEC, "Whoosh 3.54.0"),
        (
            CODEC_DISTRIBUTION,
            CODEC_VERSION,
            "whoosh.codec.whoosh2.W2Codec",
            "whoosh.codec.whoosh2.W2Codec",
        ),
    ],
    ids=[
        "pinned",
        "pinned, spelt otherwise",
        "later release",
        "earlier release",
        "whoosh 2.7",
        "whoosh-reloaded",
        "another distribution at the same number",
        "another codec",
    ],
)
def test_the_codec_reader_only_under_the_whoosh_it_was_written_against(
    distribution: str, version: str, codec: str, refused: str | None
) -> None:
    reason = fallback_reason(distribution, version, codec)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_the_version_checked_is_the_one_setup_cfg_pins() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    requirements = config["options"]["install_requires"].split()
    assert f"{CODEC_DISTRIBUTION}=={CODEC_VERSION}" in requirements


def test_the_installed_whoosh_is_found() -> None:
    distribution, version = installed_whoosh()
    assert importlib.metadata.version(distribution) == version


def test_the_health_description_names_both_readers() -> None:
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    health = spec["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]
    named = health["schema"]["properties"]["postings_reader"]["enum"]
    assert set(named) == {CODEC_READER, PUBLIC_READER}


def test_another_whoosh_gets_the_public_reader_and_one_warning_for_every_version_opened(
    services: tuple[SearchService, SearchService], caplog: pytest.LogCaptureFixture
) -> None:
    reader = services[0].current().searcher.reader()
    with caplog.at_level("WARNING", logger="search_api.engine.codec"):
        first = open_term_postings(reader, installed=("whoosh-reloaded", "2.7.5"))
        again = open_term_postings(reader, installed=("whoosh-reloaded", "2.7.5"))
    assert isinstance(first, PublicPostings) and isinstance(again, PublicPostings)
    assert first.reason is not None and "whoosh-reloaded 2.7.5" in first.reason
    warnings = [r for r in caplog.records if "whoosh-reloaded 2.7.5" in r.getMessage()]
    assert len(warnings) == 1  # a build opens a new version each time: said once
    if PINNED:
        pinned = open_term_postings(reader, installed=(CODEC_DISTRIBUTION, CODEC_VERSION))
        assert pinned.name == CODEC_READER
