"""What people type, read into the queries that search runs.

The query language: plain words (any may match; see ``ranking.py`` for how matching more of
them counts), ``"exact phrases"``,
``-excluded`` words, ``OR``, ``title:word``, ``prefix*``. Typing is never an error: a query
whose syntax is broken (an unbalanced quote or bracket, a stray operator, ``field:`` with
nothing after it) is searched as its plain words.

Plain words are read with the help of two things the index and the editors provide:
synonyms (``kids jabs`` also finds "children" and "vaccination") and the index vocabulary
(``mentle`` is not a word any document uses, so it also matches "mental", and the response
can suggest the corrected query).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from whoosh.qparser import AndGroup, MultifieldParser, PlusMinusPlugin
from whoosh.query import (
    And,
    AndNot,
    DisjunctionMax,
    Every,
    Not,
    NullQuery,
    Or,
    Phrase,
    Query,
    Term,
)

from indexer import MINOR_WORDS, SCHEMA, TEXT_FIELDS
from search_api.editorial.synonyms import Thesaurus
from search_api.engine.ranking import RankingSettings
from search_api.engine.spelling import Candidate, SpellingVocabulary

# Fields people may name in a query ("title:plan").
QUERY_FIELDS = frozenset(TEXT_FIELDS)
OPERATORS = frozenset({"AND", "OR", "NOT"})
# How close the typed words must be to earn the proximity bonus.
PROXIMITY_SLOP = {"title": 2, "summary": 3, "body": 4}
# Spelling alternatives searched for one unknown word.
MAX_CORRECTIONS = 3
# A wildcard needs this many letters before it (``he*``, not ``h*``), and a query may hold this
# many: each expands to hundreds of terms. Others are read as the plain word without ``*``.
MIN_WILDCARD_PREFIX = 2
MAX_WILDCARDS = 3

_LEXEME = re.compile(
    r'(?P<phrase>"[^"]*"(?:~\d+)?)'
    r"|(?P<open>\()|(?P<close>\))"
    r'|(?P<field>[A-Za-z_]+:(?:"[^"]*"|[^\s()"]+))'
    r"|(?P<empty_field>[A-Za-z_]+:)"
    r'|(?P<word>[^\s()"]+)'
)
# What a plain word may contain; anything else would be query syntax.
_WORD_CHARS = re.compile(r"[^\w&/'’.\-]")
_WILDCARD = re.compile(r"[*?]")
# A word as ``_term`` writes it for the parser: letters and digits, or one quoted token.
_PLAIN_WORD = re.compile(r'\w+|"[^"\s]+"')

_strict_parser = MultifieldParser(list(TEXT_FIELDS), SCHEMA, group=AndGroup)
_strict_parser.add_plugin(PlusMinusPlugin())  # -word excludes
_ANALYZER = SCHEMA["body"].analyzer
# The index terms of the minor words (a clause of these alone finds nothing by itself).
_MINOR_TERMS = frozenset(t.text for w in MINOR_WORDS for t in _ANALYZER(w, mode="query"))


class MalformedQuery(ValueError):
    """The query's syntax cannot be read as written. Raised and caught in this module only
    (the query is then read as plain words), so it is not part of ``search_api.errors``."""


@dataclass(slots=True)
class UserQuery:
    """A typed query, ready to run."""

    # Every plain word (or one of its synonyms or corrections) matching: the clauses ANDed.
    strict: Query | None
    # Scores extra when the typed words occur close together; never decides a match.
    proximity: Query | None = None
    # Typed words the index does not know, each with the word it most likely meant.
    corrections: dict[str, str] = field(default_factory=dict)
    typed: str = ""

    @property
    def lists_everything(self) -> bool:
        return isinstance(self.strict, Every)

    # The parts a document may match: each typed word (with its alternatives), phrase or
    # bracketed group; a document matching any of them is a match, and the clauses it matches
    # add up to its score (``ranking.py``). Read from ``strict``.
    clauses: list[Query] = field(init=False)
    # What a match must not contain (``-word``).
    excluded: list[Query] = field(init=False)
    # For each clause, whether it is only a minor word ("the", "how", "my"): it adds to the
    # score of what the other clauses find, and finds nothing by itself.
    minor: list[bool] = field(init=False)

    def __post_init__(self) -> None:
        self.clauses, self.excluded = _clauses(self.strict)
        self.minor = [is_minor(clause) for clause in self.clauses]

    @property
    def telling(self) -> list[Query]:
        """The clauses that are not minor words (all of them when every one is): what the
        results are highlighted for."""
        kept = [c for c, minor in zip(self.clauses, self.minor, strict=True) if not minor]
        return kept or self.clauses

    def suggestion(self) -> str | None:
        """The typed query with each unknown word replaced by its correction."""
        if not self.corrections:
            return None
        suggested = self.typed
        for typed, corrected in self.corrections.items():
            suggested = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", corrected, suggested)
        return suggested


class QueryReader:
    """Reads typed queries against one index version's vocabulary and the current synonyms.

    ``count`` answers how many documents a query matches; it lets a correction be chosen by
    what the other typed words occur with ("mentle health" → "mental", not "gentle").
    """

    def __init__(
        self,
        vocabulary: SpellingVocabulary,
        thesaurus: Thesaurus,
        count: Callable[[Query], int],
        ranking: RankingSettings | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.thesaurus = thesaurus
        self.count = count
        self.ranking = ranking or RankingSettings()

    def read(self, typed: str) -> UserQuery:
        typed = typed.strip()
        if not typed or all(ch in "*? " for ch in typed):
            return UserQuery(strict=Every(), typed=typed)  # "" or "*" lists everything
        try:
            lexemes = lex(typed)
        except MalformedQuery:
            lexemes = [("word", word) for word in words_without_syntax(typed)]
            typed = " ".join(words_without_syntax(typed))
        rewrite = _Rewrite()
        text, runs = self._rewrite(_bounded_wildcards(lexemes), rewrite)
        strict = rewrite.parse(_strict_parser, text)
        if strict is None:
            return UserQuery(strict=None, typed=typed)
        return UserQuery(
            strict=strict,
            proximity=_proximity(
                [word for run in runs for word in run], self.ranking.proximity_boost
            ),
            corrections=rewrite.corrections,
            typed=typed,
        )

    def _rewrite(
        self, lexemes: list[tuple[str, str]], rewrite: _Rewrite
    ) -> tuple[str, list[list[str]]]:
        """The query string for Whoosh's parser, with a placeholder for each run of plain
        words that has synonyms or corrections, and the runs of plain words found."""
        parts: list[str] = []
        runs: list[list[str]] = []
        run: list[str] = []

        def close_run() -> None:
            if run:
                parts.append(self._expand_run(run, rewrite))
                runs.append(run.copy())
                run.clear()

        for kind, text in lexemes:
            if kind == "word" and _is_plain(text) and (word := _WORD_CHARS.sub("", text)):
                run.append(word)
                continue
            close_run()
            parts.append(text)
        close_run()
        return " ".join(parts), runs

    def _expand_run(self, words: list[str], rewrite: _Rewrite) -> str:
        pieces: list[str] = []
        position = 0
        for start, end, alternatives in self.thesaurus.find(words):
            pieces.extend(self._expand_word(w, words, rewrite) for w in words[position:start])
            own = " ".join(_term(word) for word in words[start:end])
            added = {_quoted(alt): self.ranking.synonym_weight for alt in alternatives}
            added.pop(own, None)
            partial = self.ranking.partial_entry_weight if end - start > 1 else 0.0
            pieces.append(rewrite.group({own: 1.0} | added, partial))
            position = end
        pieces.extend(self._expand_word(w, words, rewrite) for w in words[position:])
        return " ".join(pieces)

    def _expand_word(self, word: str, context: list[str], rewrite: _Rewrite) -> str:
        if not self.vocabulary.unknown(word):
            return _term(word)
        chosen = self._corrections(word, [w for w in context if w != word])
        if not chosen:
            return _term(word)
        rewrite.corrections[word] = chosen[0]
        # The likeliest correction counts at the correction weight, the others at half of it.
        weight = self.ranking.correction_weight
        weights = [weight] + [weight / 2] * (len(chosen) - 1)
        return rewrite.group({_term(word): 1.0} | dict(zip(chosen, weights, strict=True)))

    def _corrections(self, word: str, others: list[str]) -> list[str]:
        """The likeliest meant words: those that occur with the other typed words first, then
        the nearest, then the commonest."""
        candidates = self.vocabulary.candidates(word)
        if not candidates:
            return []
        known = [w for w in others if not self.vocabulary.unknown(w)]

        def together(candidate: Candidate) -> int:
            if not known:
                return 0
            words = " ".join(_term(w) for w in [candidate.word, *known])
            return self.count(_Rewrite().parse(_strict_parser, words))

        scored = sorted(
            ((together(c), c) for c in candidates),
            key=lambda pair: (pair[0] == 0, pair[1].edits, -pair[0], -pair[1].documents),
        )
        best_edits = scored[0][1].edits
        chosen = [c.word for hits, c in scored if c.edits == best_edits and (hits or not known)]
        return chosen[:MAX_CORRECTIONS] or [scored[0][1].word]


class _Rewrite:
    """Alternatives (synonyms, corrections) stand in the query string as placeholder words,
    so that Whoosh's parser, which flattens nested ORs, cannot merge them; each placeholder
    is then replaced by a disjunction-max of its alternatives, parsed one by one. A page
    saying both "A&E" and "emergency department" is not twice as relevant to "a and e", and
    every alternative but the first (what was typed) counts at its weight. When what was
    typed is several words, a page holding only some of them scores for those at the group's
    partial weight (``RankingSettings.partial_entry_weight``)."""

    def __init__(self) -> None:
        # Each placeholder's alternatives, in order, with their weights: the first one is
        # what was typed, at 1.
        self.groups: dict[str, dict[str, float]] = {}
        self.partial_weights: dict[str, float] = {}
        self.corrections: dict[str, str] = {}

    def group(self, weighted: dict[str, float], partial_weight: float = 0.0) -> str:
        placeholder = f"qqalt{len(self.groups)}qq"
        self.groups[placeholder] = weighted
        self.partial_weights[placeholder] = partial_weight
        return placeholder

    def parse(self, parser: MultifieldParser, text: str) -> Query | None:
        query = _parse_words(parser, text)
        if query is None or not self.groups:
            return query
        return self._substitute(parser, query).normalize()

    def _substitute(self, parser: MultifieldParser, query: Query) -> Query:
        """Top down, so a placeholder's whole per-field disjunction is replaced at once."""
        placeholder = _placeholder_of(query)
        if placeholder not in self.groups:
            if query.is_leaf():
                return query
            return query.apply(lambda child: self._substitute(parser, child))
        options = [
            q if weight == 1.0 else q.with_boost(q.boost * weight)
            for alternative, weight in self.groups[placeholder].items()
            if weight > 0 and (q := _parse(parser, alternative)) is not None
        ]
        if not options:
            return NullQuery
        if (part := _any_word_of(options[0], self.partial_weights[placeholder])) is not None:
            options.insert(1, part)
        return options[0] if len(options) == 1 else DisjunctionMax(options)


def _any_word_of(typed: Query, weight: float) -> Query | None:
    """The typed words of a multi-word entry, any of them, at ``weight``: the entry matches
    a page holding all its words in full, and one holding only some of them for those, as
    plain typed words would ("waiting lists" on a page about "waits"). Minor words are left
    out ("a and e" on a page saying "and")."""
    if weight <= 0 or not isinstance(typed, And):
        return None
    telling = [word for word in typed.subqueries if not is_minor(word)]
    if not telling:
        return None
    return Or(telling, boost=typed.boost * weight)


def _placeholder_of(query: Query) -> str | None:
    """The placeholder a (per-field) query stands for, if it is one."""
    leaves = list(query.leaves()) if not query.is_leaf() else [query]
    texts = {getattr(leaf, "text", None) for leaf in leaves}
    if len(texts) == 1 and isinstance(text := texts.pop(), str) and text.startswith("qqalt"):
        return text
    return None


def lex(typed: str) -> list[tuple[str, str]]:
    """Splits a query into (kind, text) pieces; raises ``MalformedQuery`` on broken syntax."""
    if typed.count('"') % 2:
        raise MalformedQuery("unbalanced quote")
    lexemes: list[tuple[str, str]] = []
    depth = 0
    for match in _LEXEME.finditer(typed):
        kind, text = match.lastgroup or "word", match.group()
        if kind == "empty_field":
            raise MalformedQuery(f"{text} has nothing after it")
        if kind == "field" and text.split(":", 1)[0] not in QUERY_FIELDS:
            kind, text = "word", text.replace(":", " ")  # "foo:bar" is just words
        if kind == "word" and text.strip("-+") == "":
            raise MalformedQuery("a stray + or -")
        depth += {"open": 1, "close": -1}.get(kind, 0)
        if depth < 0:
            raise MalformedQuery("unbalanced bracket")
        lexemes.append(("operator" if kind == "word" and text in OPERATORS else kind, text))
    if depth:
        raise MalformedQuery("unbalanced bracket")
    _check_operators(lexemes)
    return lexemes


def _check_operators(lexemes: list[tuple[str, str]]) -> None:
    previous = "open"
    for kind, _ in [*lexemes, ("close", ")")]:
        if kind == "operator" and previous in ("operator", "open"):
            raise MalformedQuery("an operator with nothing before it")
        if kind == "close" and previous == "operator":
            raise MalformedQuery("an operator with nothing after it")
        previous = kind


def words_without_syntax(typed: str) -> list[str]:
    """The words of a query with all syntax taken out; operators become ordinary words."""
    words = re.findall(r"[\w&/'’.\-]+", typed)
    cleaned = [w.strip("-.'’/&") for w in words]
    return [w.lower() if w in OPERATORS else w for w in cleaned if w]


def _bounded_wildcards(lexemes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The lexemes with each wildcard that would expand too far (too short a prefix, or past
    ``MAX_WILDCARDS``) read as its plain word instead; one with no letters at all is dropped."""
    bounded: list[tuple[str, str]] = []
    wildcards = 0
    for kind, text in lexemes:
        if kind in ("word", "field") and _WILDCARD.search(text):
            field_name, _, value = text.rpartition(":") if kind == "field" else ("", "", text)
            wildcards += 1
            prefix = _WILDCARD.split(value.lstrip("+-"), maxsplit=1)[0]
            if wildcards > MAX_WILDCARDS or len(re.findall(r"\w", prefix)) < MIN_WILDCARD_PREFIX:
                value = _WILDCARD.sub("", value)
                if not re.search(r"\w", value):
                    continue
                text = f"{field_name}:{value}" if field_name else value
        bounded.append((kind, text))
    return bounded


def _is_plain(text: str) -> bool:
    return not text.startswith(("-", "+")) and not _WILDCARD.search(text)


def _term(word: str) -> str:
    """A typed word as query syntax: quoted when it holds more than letters and digits, as
    the parser would read the "-" of "covid-19" as "not" and the "." of "3.5" as a break."""
    return word if re.fullmatch(r"\w+", word) else f'"{word}"'


def _quoted(alternative: str) -> str:
    words = _WORD_CHARS.sub(" ", alternative).split()
    return _term(words[0]) if len(words) == 1 else f'"{" ".join(words)}"'


def every_word(text: str) -> Query | None:
    """What a document matches when it contains each word of ``text`` in some text field,
    the words read (stemmed) as searches read them; no synonyms, no corrections, no syntax.
    None when ``text`` has no words."""
    words = words_without_syntax(text)
    return _parse_words(_strict_parser, " ".join(_term(word) for word in words)) if words else None


def _parse_words(parser: MultifieldParser, text: str) -> Query | None:
    """``_parse``, a word at a time when the text is only words: each word's parse is cached
    (words recur across queries far more than whole queries do) and the parser's group joins
    them, as it would have."""
    words = text.split(" ")
    if len(words) < 2 or not all(_PLAIN_WORD.fullmatch(w) for w in words) or OPERATORS & {*words}:
        return _parse(parser, text)
    parts = [query for word in words if (query := _parse(parser, word)) is not None]
    if not parts:
        return None
    query = (And if parser.group is AndGroup else Or)(parts).normalize()
    return None if query is NullQuery else query


@lru_cache(maxsize=16_384)
def _parse(parser: MultifieldParser, text: str) -> Query | None:
    """Parsed and normalised; cached, as the same words and synonyms recur in many queries
    (callers never change a query in place: Whoosh's query methods return copies)."""
    try:
        query = parser.parse(text)
    except Exception:  # whoosh's parser raises assorted errors on odd input
        query = parser.parse(" ".join(words_without_syntax(text)))
    query = query.normalize()
    return None if query is NullQuery else query


def _proximity(words: list[str], boost: float) -> Query | None:
    """Phrase matches, with some slack, of the typed words in each text field."""
    terms = [t.text for word in words for t in _ANALYZER(word, mode="query")]
    if len(terms) < 2 or boost <= 0:
        return None
    phrases = [Phrase(name, terms, slop=PROXIMITY_SLOP[name], boost=boost) for name in TEXT_FIELDS]
    return Or(phrases)


def is_minor(clause: Query) -> bool:
    """Whether a clause searches only minor words (``indexer.analysis.MINOR_WORDS``)."""
    leaves = [clause] if clause.is_leaf() else list(clause.leaves())
    return bool(leaves) and all(
        isinstance(leaf, Term) and leaf.text in _MINOR_TERMS for leaf in leaves
    )


def _clauses(strict: Query | None) -> tuple[list[Query], list[Query]]:
    """The ANDed parts of the strict query, and the parts it excludes."""
    if strict is None or isinstance(strict, Every):
        return [], []
    excluded: list[Query] = []
    query = strict
    while isinstance(query, AndNot):
        excluded.append(query.b)
        query = query.a
    if isinstance(query, And):
        parts = [q for q in query.subqueries if not isinstance(q, Not)]
        excluded.extend(q.query for q in query.subqueries if isinstance(q, Not))
        if query.boost != 1.0:
            parts = [q.with_boost(q.boost * query.boost) for q in parts]
        return parts, excluded
    if isinstance(query, Not):
        return [], [*excluded, query.query]
    return [query], excluded
