"""How text becomes index terms: the same steps for documents and for what people type.

    tokens  words, and codes kept whole: "A&E", "COVID-19", "2025/26", "3.5"
    → lower case → possessives dropped ("GP's" → "gp") → accents folded ("café" → "cafe")
    → codes also indexed as their parts, stacked at the code's position, so "covid" finds
      "COVID-19" and a phrase around the code still matches
    → UK and US spellings made one ("organization" → "organisation", "paediatric" →
      "pediatric") → English (Porter) stemming

Stop words are indexed like any other word: a page titled "Have your say" matches all three
words, in order, and BM25's idf already makes a word found on most pages count for little.
``MINOR_WORDS`` lists the words that, in a query with other words, add to a match's score but
never find a document by themselves (``search_api.engine.postings.PostingArrays.covering``).

The spelling analyser stops before the spelling variants and stemming: its terms are real
words, the vocabulary that typo correction chooses from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from whoosh.analysis import (
    STOP_WORDS,
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    Token,
)
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

# English function words and the question words people type ("what", "how", "my"): indexed,
# but no match on their own (see the module docstring).
_QUESTION_AND_FUNCTION_WORDS = """
    i me my mine our ours he she him her his its they them their there here was were been being
    has had having am do does did doing what which who whom whose where why how than then so
    but all any about into onto over under very just also
"""
MINOR_WORDS: frozenset[str] = STOP_WORDS | frozenset(_QUESTION_AND_FUNCTION_WORDS.split())
# A word, or a code joined by &, /, - or (between digits) a decimal point.
TOKEN_PATTERN = r"\w+(?:['’]\w+)*(?:(?:[&/\-]|(?<=\d)\.(?=\d))\w+(?:['’]\w+)*)*"
_CODE_JOINERS = re.compile(r"[&/\-]|(?<=\d)\.(?=\d)")
_POSSESSIVE = re.compile(r"['’]s$")
_APOSTROPHES = re.compile(r"['’]")


class PossessiveFilter(Filter):
    """Drops a possessive 's and any other apostrophe: "GP's" → "gp", "o'brien" → "obrien"."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            if "'" in token.text or "’" in token.text:
                token.text = _APOSTROPHES.sub("", _POSSESSIVE.sub("", token.text))
            if token.text:
                yield token


class CodePartsFilter(Filter):
    """At index time, a code ("covid-19", "a&e", "2025/26") is kept whole and its parts are
    added at the same position; at query time the code is searched whole."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            yield token
            if token.mode == "query" or not _CODE_JOINERS.search(token.text):
                continue
            whole, offset = token.text, 0
            start = getattr(token, "startchar", None)
            for part in _CODE_JOINERS.split(whole):
                offset = whole.index(part, offset)
                if len(part) > 1 and part not in STOP_WORDS:
                    extra = token.copy()
                    extra.text = part
                    if start is not None:
                        extra.startchar = start + offset
                        extra.endchar = start + offset + len(part)
                    yield extra
                offset += len(part)


# UK and US spellings of the same word, made one before stemming. Whole-word endings are
# listed only where a rule would also catch unrelated words ("four", "hour", "size").
_SPELLING_PREFIXES: tuple[tuple[str, str], ...] = (
    ("orthopaed", "orthoped"),
    ("paediatr", "pediatr"),
    ("paed", "ped"),
    ("anaesth", "anesth"),
    ("anaem", "anem"),
    ("haem", "hem"),
    ("gynaec", "gynec"),
    ("leukaem", "leukem"),
    ("oesophag", "esophag"),
    ("oestr", "estr"),
    ("oedema", "edema"),
    ("foet", "fet"),
    ("diarrhoe", "diarrhe"),
    ("dyspnoe", "dyspne"),
    ("behaviour", "behavior"),
    ("colour", "color"),
    ("favour", "favor"),
    ("flavour", "flavor"),
    ("honour", "honor"),
    ("humour", "humor"),
    ("labour", "labor"),
    ("neighbour", "neighbor"),
    ("rumour", "rumor"),
    ("tumour", "tumor"),
    ("vapour", "vapor"),
    ("odour", "odor"),
    ("harbour", "harbor"),
    ("endeavour", "endeavor"),
)
_SPELLING_WORDS: dict[str, str] = {
    "centre": "center",
    "centres": "centers",
    "centred": "centered",
    "litre": "liter",
    "litres": "liters",
    "metre": "meter",
    "metres": "meters",
    "theatre": "theater",
    "theatres": "theaters",
    "fibre": "fiber",
    "programme": "program",
    "programmes": "programs",
    "licence": "license",
    "licences": "licenses",
    "defence": "defense",
    "practise": "practice",
    "practised": "practiced",
    "practising": "practicing",
    "catalogue": "catalog",
    "dialogue": "dialog",
    "ageing": "aging",
    "enrolment": "enrollment",
    "fulfil": "fulfill",
    "travelled": "traveled",
    "travelling": "traveling",
    "cancelled": "canceled",
    "cancelling": "canceling",
    "aluminium": "aluminum",
    "grey": "gray",
    "tyre": "tire",
    "tyres": "tires",
    "mum": "mom",
    "mums": "moms",
}
# organise/organize, analyse/analyze: -ise- and -yse- become -ize- and -yze- after a stem of
# at least three letters, so "size", "prize" and "seize" are left alone.
_SPELLING_PREFIX = re.compile("^(" + "|".join(uk for uk, _ in _SPELLING_PREFIXES) + ")")
_SPELLING_PREFIX_TARGETS = dict(_SPELLING_PREFIXES)
_ISE = re.compile(r"^(\w{3,})is(e|es|ed|ing|ation|ations|er|ers)$")
_YSE = re.compile(r"^(\w{3,})ys(e|es|ed|ing|er|ers)$")


def canonical_spelling(word: str) -> str:
    """One spelling for words the UK and the US spell differently (the US one, arbitrarily:
    what matters is that both sides of a search agree)."""
    if replaced := _SPELLING_WORDS.get(word):
        return replaced
    if match := _SPELLING_PREFIX.match(word):
        return _SPELLING_PREFIX_TARGETS[match[1]] + word[match.end() :]
    if match := _ISE.match(word):
        return f"{match[1]}iz{match[2]}"
    if match := _YSE.match(word):
        return f"{match[1]}yz{match[2]}"
    return word


class SpellingVariantFilter(Filter):
    is_morph = True

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = canonical_spelling(token.text)
            yield token


def stem_word(word: str) -> str:
    """Porter stemming for words; a code is kept as it is ("a&e" is not "a&")."""
    return word if _CODE_JOINERS.search(word) else stem(word)


# Distinct words whose index terms each analyser remembers (a few MB at most).
WORD_CACHE_SIZE = 200_000
# The keyword arguments the index writer passes; any other call takes the general path.
_INDEXING_ARGUMENTS = frozenset({"positions", "boosts", "mode"})


class IndexingAnalyzer(CompositeAnalyzer):
    """The same steps as its chain, with indexing made one cached lookup per distinct word.

    Indexing runs every word of every document through the whole chain of filters, and most of
    a build's analysis time goes there; yet a word always becomes the same terms, at the
    word's own position. Queries, highlighting and anything else asking for more (characters,
    for instance) take the chain itself, so their tokens are exactly as before.
    """

    def __init__(self, *composables: Any) -> None:
        super().__init__(*composables)
        if not isinstance(self.items[0], RegexTokenizer) or self.items[0].gaps:
            raise TypeError("IndexingAnalyzer needs a RegexTokenizer that matches words")
        self._terms = lru_cache(maxsize=WORD_CACHE_SIZE)(self._word_terms)

    def __getstate__(self) -> dict[str, Any]:
        # The schema is pickled into the index; the cache is rebuilt when it is loaded.
        return {"items": self.items}

    def __setstate__(self, state: dict[str, Any]) -> None:
        IndexingAnalyzer.__init__(self, *state["items"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompositeAnalyzer) and self.items == other.items

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, value: str, no_morph: bool = False, **kwargs: Any) -> Iterator[Token]:
        if no_morph or kwargs.get("mode") != "index" or not _INDEXING_ARGUMENTS.issuperset(kwargs):
            tokens: Iterator[Token] = super().__call__(value, no_morph=no_morph, **kwargs)
            return tokens
        return self._indexed(value, **kwargs)

    def distinct_terms(self, value: str) -> set[str]:
        """Every term ``value`` is indexed as, once each (for counting documents per term)."""
        terms_of = self._terms
        words = {match.group() for match in self.items[0].expression.finditer(value)}
        return {term for word in words for term in terms_of(word)}

    def _word_terms(self, word: str) -> tuple[str, ...]:
        """What the filters make of one word when indexing: () when it is dropped."""
        token = Token(positions=True, mode="index")
        token.text, token.pos, token.boost, token.stopped = word, 0, 1.0, False
        stream: Iterator[Token] = iter([token])
        for item in self.items[1:]:
            stream = item(stream)
        return tuple(token.text for token in stream)

    def _indexed(self, value: str, positions: bool = False, **kwargs: Any) -> Iterator[Token]:
        token = Token(positions=positions, **kwargs)
        token.boost, token.stopped = 1.0, False
        terms_of = self._terms
        for index, match in enumerate(self.items[0].expression.finditer(value)):
            terms = terms_of(match.group())
            if positions:
                token.pos = index  # a code's parts share its position
            for text in terms:
                token.text = text
                yield token


def _words_only() -> Analyzer:
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | PossessiveFilter()
        | CharsetFilter(accent_map)
    )


def _words() -> Analyzer:
    return _words_only() | CodePartsFilter()


def text_analyzer() -> Analyzer:
    """For the searchable text fields: matches across forms, spellings and word endings."""
    return IndexingAnalyzer(_words(), SpellingVariantFilter(), StemFilter(stemfn=stem_word))


def spelling_analyzer() -> Analyzer:
    """For the vocabulary typo correction picks from: real words, as written."""
    return IndexingAnalyzer(_words())


_FOLDED_WORDS = _words_only()


def folded_words(text: str) -> list[str]:
    """The words of ``text`` as the analysers first see them: lower case, possessives and
    apostrophes dropped, accents folded; no stop words removed, nothing stemmed."""
    return [token.text for token in _FOLDED_WORDS(text)]
