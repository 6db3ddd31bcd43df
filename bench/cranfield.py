"""The Cranfield collection, searched by this project and by a reference BM25.

``cran.all.1400`` (1,400 aeronautics abstracts), ``cran.qry`` (225 questions) and ``cranqrel``
(graded judgements) are described in ``../shared/data/README.md``. The project's side goes
through its own code: each abstract becomes an ``indexer.document.Document``, is written with
``indexer.build.index_fields`` into a version made and published by ``IndexStore``, and is found
by ``SearchService.search``. The reference is SQLite FTS5 with the porter tokenizer and its
``bm25()`` ranking over the same titles and texts.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from whoosh.index import create_in

from indexer.build import index_fields
from indexer.document import Document
from indexer.schema import SCHEMA
from indexer.store import IndexStore
from search_api.engine.ranking import RankingSettings
from search_api.engine.service import SearchRequest, SearchService
from search_api.http.params import MAX_PER_PAGE

# Ranked document ids for a question, at most ``depth`` of them.
SearchFn = Callable[[str, int], list[str]]

# Cleverdon's codes 1 to 4 (complete answer ... minimal interest) as graded gains; -1, "judged,
# of no interest", gains nothing.
CODE_GAINS = {1: 4, 2: 3, 3: 2, 4: 1}
_MARKER = re.compile(r"^\.([A-Z])(?:\s+(\S+))?\s*$")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Abstract:
    number: int
    title: str
    text: str

    @property
    def doc_id(self) -> str:
        return f"cran-{self.number}"


@dataclass(frozen=True, slots=True)
class Cranfield:
    abstracts: list[Abstract]
    # Numbered by their order in cran.qry, from 1, as the judgements number them.
    questions: dict[int, str]
    # For each question, the gain of every document judged useful to it.
    gains: dict[int, dict[str, int]]


def read_records(path: Path) -> list[dict[str, str]]:
    """Records of a SMART-format file: ``.I`` starts one, ``.T``, ``.W``... start its fields."""
    records: list[dict[str, str]] = []
    field, lines = "", []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        marker = _MARKER.match(line)
        if marker is None:
            lines.append(line.strip())
            continue
        if field and records:
            records[-1][field] = " ".join(filter(None, lines))
        field, lines = marker.group(1), []
        if field == "I":
            records.append({"I": marker.group(2) or ""})
            field = ""
    if field and records:
        records[-1][field] = " ".join(filter(None, lines))
    return records


def read_gains(path: Path) -> dict[int, dict[str, int]]:
    gains: dict[int, dict[str, int]] = {}
    for row in path.read_text(encoding="utf-8").splitlines():
        if not row.strip():
            continue
        question, document, code = row.split()
        gain = CODE_GAINS.get(int(code), 0)
        if gain:
            gains.setdefault(int(question), {})[f"cran-{int(document)}"] = gain
    return gains


def load_collection(folder: Path) -> Cranfield:
    abstracts = [
        Abstract(number=int(record["I"]), title=record.get("T", ""), text=record.get("W", ""))
        for record in read_records(folder / "cran.all.1400")
    ]
    questions = {
        number: record.get("W", "")
        for number, record in enumerate(read_records(folder / "cran.qry"), start=1)
    }
    gains = read_gains(folder / "cranqrel")
    return Cranfield(abstracts=abstracts, questions=questions, gains=gains)


def lowercase_words_only(question: str) -> str:
    """The question's words, lowercased, with everything else dropped.

    Cranfield questions are natural language with ``?``, ``(``, ``-``, ``*`` and ``/`` in them,
    which are query syntax to both engines. Only the words are kept, so the whole question is
    searched as plain words; lowercase leaves no ``AND``/``OR``/``NOT`` operators behind.
    """
    return " ".join(_WORD.findall(question.lower()))


def as_document(abstract: Abstract) -> Document:
    return Document(
        id=abstract.doc_id,
        path=f"cranfield/{abstract.number}",
        url=f"https://example.org/cranfield/{abstract.number}",
        type="document",
        title=abstract.title,
        body=abstract.text,
    )


def build_project_index(abstracts: list[Abstract], index_dir: Path) -> None:
    """Writes and publishes an index version of the abstracts, as ``build_index`` writes one."""
    store = IndexStore(index_dir)
    version = store.new_version()
    index = create_in(str(version), SCHEMA)
    writer = index.writer()
    try:
        for abstract in abstracts:
            writer.add_document(**index_fields(as_document(abstract)))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    index.close()
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    store.publish(
        version, {"built_at": built_at, "documents": len(abstracts), "corpus": "Cranfield"}
    )


# The editable files the service ships with, as ``make run`` serves them.
CONFIG = Path(__file__).resolve().parent.parent / "config"


def shipped_service(index_dir: Path, ranking: RankingSettings | None = None) -> SearchService:
    """The search service configured as deployed: shipped synonyms and best bets (and
    ``ranking``'s parameters, the defaults unless given); no response cache, so that every
    query is worked out."""
    return SearchService(
        index_dir,
        synonyms_file=CONFIG / "synonyms.txt",
        best_bets_file=CONFIG / "best-bets.toml",
        ranking=ranking,
        cache_responses=False,
        budget_seconds=60.0,
    )


def project_search(service: SearchService) -> SearchFn:
    """The project's ranking, read page by page (at most ``MAX_PER_PAGE`` a page) as a client of
    the API would read it."""

    def search(question: str, depth: int) -> list[str]:
        words = lowercase_words_only(question)
        if not words:
            return []  # an empty query would list every document, newest first
        per_page = min(depth, MAX_PER_PAGE)
        ranked: list[str] = []
        page = 1
        while len(ranked) < depth:
            request = SearchRequest(q=words, page=page, per_page=per_page)
            results = service.search(request)["results"]
            ranked.extend(hit["id"] for hit in results)
            if len(results) < per_page:
                break
            page += 1
        return ranked[:depth]

    return search


def project_engine(abstracts: list[Abstract], index_dir: Path) -> SearchFn:
    """The abstracts indexed in ``index_dir`` and searched by the project's own service."""
    build_project_index(abstracts, index_dir)
    return project_search(shipped_service(index_dir))


class TextRecord(Protocol):
    """A document as the reference engine reads it: clean title and text."""

    @property
    def doc_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...


class Fts5Reference:
    """SQLite FTS5, porter tokenizer, ``bm25()`` ranking with the title weighted 2: a plain,
    widely known BM25."""

    def __init__(self, records: Sequence[TextRecord]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE abstracts USING fts5(id UNINDEXED, title, body, "
            "tokenize='porter unicode61')"
        )
        self.db.executemany(
            "INSERT INTO abstracts (id, title, body) VALUES (?, ?, ?)",
            [(r.doc_id, r.title, r.text) for r in records],
        )

    def search(self, question: str, depth: int) -> list[str]:
        """Any of the question's words (each quoted, so none is read as FTS5 syntax)."""
        words = lowercase_words_only(question).split()
        if not words:
            return []
        match = " OR ".join(f'"{word}"' for word in words)
        rows = self.db.execute(
            "SELECT id FROM abstracts WHERE abstracts MATCH ? "
            "ORDER BY bm25(abstracts, 2.0, 1.0) LIMIT ?",
            (match, depth),
        )
        return [doc_id for (doc_id,) in rows]

    def close(self) -> None:
        self.db.close()
