"""Quality checks: searches that must find a given document in their first places
(``config/checks.toml``). Staff keep them for the searches that matter most, and every publish
of the rules and every index build is held while one fails (``search_api.staff.checks``)."""

from __future__ import annotations

from dataclasses import dataclass

from search_api.editorial.best_bets import toml_tables

# Where a check's document must be when the file does not say.
DEFAULT_TOP = 3
# The deepest a check may ask for: the places looked through (``staff.checks.DEPTH``).
MAX_TOP = 50


@dataclass(frozen=True, slots=True)
class Check:
    query: str
    document: str
    top: int = DEFAULT_TOP

    def to_json(self) -> dict[str, object]:
        return {"query": self.query, "document": self.document, "top": self.top}


def parse_checks(text: str) -> tuple[Check, ...]:
    """The ``[[check]]`` tables of the file, in order; a ValueError naming the first one that
    is wrong ("check 2: ...")."""
    checks = []
    for number, entry in enumerate(toml_tables(text, "check"), start=1):
        unknown = sorted(set(entry) - {"query", "document", "top"})
        if unknown:
            raise ValueError(f"check {number}: unknown key {unknown[0]!r}")
        query, document, top = entry.get("query"), entry.get("document"), entry.get("top")
        if not isinstance(query, str) or not query.strip():
            raise ValueError(f"check {number}: 'query' must be the search, as text")
        if not isinstance(document, str) or not document.strip():
            raise ValueError(f"check {number}: 'document' must be a document id, as text")
        if top is None:
            top = DEFAULT_TOP
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= MAX_TOP:
            raise ValueError(f"check {number}: 'top' must be a whole number from 1 to {MAX_TOP}")
        checks.append(Check(query=query.strip(), document=document.strip(), top=top))
    return tuple(checks)
