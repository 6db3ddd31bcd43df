"""What people type, turned into a Whoosh query over the text fields.

The query language is Whoosh's (words, "phrases", -exclusions, OR, title:word, prefix*). Typing
is never an error: if the syntax cannot be parsed, the plain words are searched instead.
"""

from __future__ import annotations

import re

from whoosh.qparser import AndGroup, MultifieldParser, PlusMinusPlugin
from whoosh.query import Every, NullQuery, Query

from indexer.schema import SCHEMA, TEXT_FIELDS

_WORDS = re.compile(r"\w+")
_OPERATOR_WORDS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})

_parser = MultifieldParser(list(TEXT_FIELDS), SCHEMA, group=AndGroup)
_parser.add_plugin(PlusMinusPlugin())  # -word excludes


def parse_user_query(text: str) -> Query | None:
    """The query for ``text``; None when it holds nothing searchable (only stop words)."""
    try:
        query = _parser.parse(text)
    except Exception:  # whoosh's parser raises assorted errors on odd input
        query = _parser.parse(plain_words(text))
    query = query.normalize()
    if query is NullQuery:
        return None
    if all(isinstance(leaf, Every) for leaf in query.leaves()):
        return Every()  # "*" alone lists everything, like an empty query
    return query


def plain_words(text: str) -> str:
    """The words of ``text`` with every operator and bracket taken out."""
    words = _WORDS.findall(text)
    return " ".join(w.lower() if w in _OPERATOR_WORDS else w for w in words)
