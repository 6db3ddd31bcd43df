"""The Whoosh schema: the contract between the indexer and the search service.

Field names here are used by both packages; changing one means rebuilding the index.
The field types and arguments used (``ID(stored=, unique=)``, ``STORED()``,
``TEXT(analyzer=, stored=, field_boost=)``, ``KEYWORD(stored=, commas=, scorable=,
lowercase=)``) are all in Whoosh 2.7's public field API as well, and the analyser is built of
Whoosh 2.7's analysis classes: so the schema builds, and an index the pinned ``whoosh3`` wrote
opens and reads, under Whoosh 2.7 too (a claim about the schema and the index files, not
about the rest of the code, which is written for the pinned ``whoosh3``).
"""

from __future__ import annotations

from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from indexer.analysis import text_analyzer

TITLE_BOOST = 3.0
SUMMARY_BOOST = 1.5

# Fields a searcher can narrow by; their stored values feed the facet counts.
FACET_FIELDS: tuple[str, ...] = ("type", "year", "topic", "scope")
# Full-text fields a query is matched against.
TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "body")


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
        # Dates and page counts are read from stored fields (``search_api.engine.facets``), never
        # searched through the index, so they cost no postings.
        date=STORED(),
        year=ID(stored=True),
        # Topic labels contain spaces ("Mental health"), so values are comma-separated.
        topic=KEYWORD(stored=True, commas=True, scorable=False, lowercase=False),
        scope=ID(stored=True),
        page_count=STORED(),
        content_hash=STORED(),
        # "corpus" or "web": which source fed the document (``Document.source``).
        source=STORED(),
    )


SCHEMA = build_schema()
