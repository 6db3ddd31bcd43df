"""Documents editors keep out of searches, or push to the end of them (``config/hidden.toml``).

    [[hide]]
    documents = ["news/2019-old-page.html"]
    queries = ["flu jab"]        # optional: absent or empty means every search
    demote = true                # optional: false (the default) hides; true demotes

A hidden document is left out of the results and out of every count (the total and the
facets), as if it did not match; a demoted one still matches and is counted, but comes after
every document that is not demoted. Searches are matched as best bets match them
(``best_bets.pin_key``: case, punctuation and word endings ignored), and a best bet wins over
both: an editor who pins a document wants it seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search_api.editorial.best_bets import pin_key, strings, toml_tables

KNOWN_KEYS = ("documents", "queries", "demote")
NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class HideRule:
    documents: tuple[str, ...]
    # The searches it applies to, as written; none means every search.
    queries: tuple[str, ...] = ()
    demote: bool = False
    keys: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(pin_key(query) for query in self.queries))

    def applies_to(self, key: str) -> bool:
        """Whether the rule applies to a search whose ``pin_key`` is ``key``."""
        return not self.queries or key in self.keys


@dataclass(frozen=True, slots=True)
class HiddenRules:
    """The rules in file order. What applies to each search is worked out once, when the
    file is read: a search then costs one dictionary look-up."""

    rules: tuple[HideRule, ...] = ()
    _everywhere: tuple[frozenset[str], frozenset[str]] = field(
        init=False, repr=False, compare=False
    )
    _by_key: dict[str, tuple[frozenset[str], frozenset[str]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        everywhere = [rule for rule in self.rules if not rule.queries]
        object.__setattr__(self, "_everywhere", _split(everywhere))
        keys = {key for rule in self.rules for key in rule.keys}
        by_key = {key: _split([r for r in self.rules if r.applies_to(key)]) for key in keys}
        object.__setattr__(self, "_by_key", by_key)

    @classmethod
    def parse(cls, text: str) -> HiddenRules:
        rules = []
        for number, entry in enumerate(toml_tables(text, "hide"), start=1):
            unknown = sorted(set(entry) - set(KNOWN_KEYS))
            if unknown:
                # A misspelt "demote" would otherwise hide what was meant to be demoted.
                raise ValueError(
                    f"hide {number}: unknown key {unknown[0]!r} (a rule has "
                    f"{', '.join(KNOWN_KEYS)})"
                )
            documents, queries = entry.get("documents"), entry.get("queries", [])
            demote = entry.get("demote", False)
            if not documents or not strings(documents):
                raise ValueError(f"hide {number}: 'documents' must be a list of strings")
            if not strings(queries):
                raise ValueError(f"hide {number}: 'queries' must be a list of strings")
            for query in queries:
                if not pin_key(query):
                    raise ValueError(f"hide {number}: the query {query!r} has no words")
            if not isinstance(demote, bool):
                raise ValueError(f"hide {number}: 'demote' must be true or false")
            rules.append(
                HideRule(documents=tuple(documents), queries=tuple(queries), demote=demote)
            )
        return cls(tuple(rules))

    def applying(self, query: str) -> tuple[frozenset[str], frozenset[str]]:
        """The document ids hidden from the search ``query``, and those demoted in it (a
        document both hidden and demoted by different rules is hidden)."""
        if not self.rules:
            return NOTHING, NOTHING
        return self._by_key.get(pin_key(query), self._everywhere)


def _split(rules: list[HideRule]) -> tuple[frozenset[str], frozenset[str]]:
    hidden = frozenset(d for rule in rules if not rule.demote for d in rule.documents)
    demoted = frozenset(d for rule in rules if rule.demote for d in rule.documents) - hidden
    return hidden, demoted
