"""The Whoosh schema: the contract between the indexer and the search service.

Field names here are used by both packages; changing one means rebuilding the index.
Only API that Whoosh 2.7 also has is used, so any of the ``whoosh`` distributions can read it.
"""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from indexer.analysis import spelling_analyzer, text_analyzer

TITLE_BOOST = 3.0
SUMMARY_BOOST = 1.5

# Fields a searcher can narrow by; their stored values feed the facet counts.
FACET_FIELDS: tuple[str, ...] = ("type", "year", "topic", "scope")
# Full-text fields a query is matched against.
TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "body")
# Every word of the text fields as written (unstemmed): the vocabulary typos are corrected to.
SPELLING_FIELD = "words"


def build_schema() -> Schema:
    analyzer = text_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        url=STORED(),
        path=STORED(),
        type=ID(stored=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST),
        summary=TEXT(analyzer=analyzer, stored=True, field_boost=SUMMARY_BOOST),
        body=TEXT(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        year=ID(stored=True),
        # Topic labels contain spaces ("Mental health"), so values are comma-separated.
        topic=KEYWORD(stored=True, commas=True, scorable=False, lowercase=False),
        scope=ID(stored=True),
        page_count=NUMERIC(stored=True),
        content_hash=STORED(),
        words=TEXT(analyzer=spelling_analyzer(), phrase=False),
    )


SCHEMA = build_schema()
