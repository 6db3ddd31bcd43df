"""Two other engines on the same documents and queries, so every speed figure is also a ratio.

- tantivy (Rust, through its Python binding; the ``bench`` extra) with an English stemmer;
- SQLite FTS5 with the Porter tokenizer, from Python's standard library.

Each does what one search of ours does: the top 10 by BM25 with title, summary and body
weighted 3 : 1.5 : 1, the exact total, counts for three facets (type, year, topic) and a
highlighted snippet for each of the 10 hits. Words are all required (as in our first ranking
group); they never see the service, only these benchmarks do.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # the bench extra
    import tantivy
except ImportError:
    tantivy = None

NO_TANTIVY = "tantivy is not installed (pip install -e .[bench]): its column is left empty"
FIELD_WEIGHTS = {"title": 3.0, "summary": 1.5, "body": 1.0}
FACETS = ("type", "year", "topic")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Doc:
    """What the anchors index of one document: its text and its facet values."""

    title: str
    summary: str
    body: str
    type: str
    year: str
    topics: tuple[str, ...]


def words_of(query: str) -> list[str]:
    return _WORD.findall(query.lower())


class TantivyAnchor:
    name = "tantivy"

    def __init__(self, docs: Iterable[Doc], folder: Path) -> None:
        builder = tantivy.SchemaBuilder()
        for name in FIELD_WEIGHTS:
            builder.add_text_field(name, stored=True, tokenizer_name="en_stem")
        for name in FACETS:
            builder.add_text_field(name, stored=True, tokenizer_name="raw", fast=True)
        self.schema = builder.build()
        folder.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(folder))
        writer = self.index.writer(heap_size=200_000_000, num_threads=2)
        for doc in docs:
            writer.add_document(
                tantivy.Document(
                    title=doc.title,
                    summary=doc.summary,
                    body=doc.body,
                    type=doc.type,
                    year=doc.year,
                    topic=list(doc.topics) or [""],
                )
            )
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, query: str) -> tuple[int, int]:
        """(total, hits shown) for a full search: top 10, total, facets, snippets."""
        words = words_of(query)
        if not words:
            return 0, 0
        parsed, _errors = self.index.parse_query_lenient(
            " ".join(f"+{w}" for w in words), list(FIELD_WEIGHTS), field_boosts=FIELD_WEIGHTS
        )
        result = self.searcher.search(parsed, limit=10, count=True)
        aggregation = {name: {"terms": {"field": name, "size": 50}} for name in FACETS}
        self.searcher.aggregate(parsed, aggregation)
        snippets = tantivy.SnippetGenerator.create(self.searcher, parsed, self.schema, "body")
        for _score, address in result.hits:
            snippets.snippet_from_doc(self.searcher.doc(address)).to_html()
        return result.count, len(result.hits)


class Fts5Anchor:
    name = "SQLite FTS5"

    def __init__(self, docs: Iterable[Doc], path: Path) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.executescript(
            """
            CREATE VIRTUAL TABLE docs USING fts5(title, summary, body,
                tokenize = 'porter unicode61');
            CREATE TABLE facets (docid INTEGER, facet TEXT, value TEXT);
            """
        )
        facet_rows = []
        for rowid, doc in enumerate(docs, start=1):
            self.db.execute(
                "INSERT INTO docs (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
                (rowid, doc.title, doc.summary, doc.body),
            )
            facet_rows += [(rowid, "type", doc.type), (rowid, "year", doc.year)]
            facet_rows += [(rowid, "topic", topic) for topic in doc.topics]
        self.db.executemany("INSERT INTO facets VALUES (?, ?, ?)", facet_rows)
        self.db.execute("CREATE INDEX facets_by_doc ON facets (docid, facet)")
        self.db.commit()
        weights = ", ".join(str(w) for w in FIELD_WEIGHTS.values())
        self.top = (
            "SELECT rowid, title, snippet(docs, 2, '<mark>', '</mark>', ' … ', 24) FROM docs "
            f"WHERE docs MATCH ? ORDER BY bm25(docs, {weights}) LIMIT 10"
        )

    def search(self, query: str) -> tuple[int, int]:
        words = words_of(query)
        if not words:
            return 0, 0
        match = " AND ".join(f'"{w}"' for w in words)
        hits = self.db.execute(self.top, (match,)).fetchall()
        (total,) = self.db.execute(
            "SELECT count(*) FROM docs WHERE docs MATCH ?", (match,)
        ).fetchone()
        self.db.execute(
            "SELECT f.facet, f.value, count(*) FROM docs JOIN facets f ON f.docid = docs.rowid "
            "WHERE docs MATCH ? GROUP BY f.facet, f.value",
            (match,),
        ).fetchall()
        return total, len(hits)


def docs_from_stored(stored: Iterable[dict[str, Any]]) -> list[Doc]:
    """The anchors' documents from our index's stored fields: the same extracted text."""
    return [
        Doc(
            title=str(fields.get("title", "")),
            summary=str(fields.get("summary", "")),
            body=str(fields.get("body", "")),
            type=str(fields.get("type", "")),
            year=str(fields.get("year", "")),
            topics=tuple(t for t in str(fields.get("topic", "")).split(",") if t),
        )
        for fields in stored
    ]
