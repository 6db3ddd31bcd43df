"""Best bets: editors pin documents to the top for chosen searches, for a period if they wish
(``config/best-bets.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeGuard

from search_api.editorial.synonyms import phrase_key


def pin_key(query: str) -> str:
    """What a search is matched to a rule by: its words lower-cased and stemmed, stop words
    kept, so a bet for "flu jabs" also answers "Flu Jab!" (and "a and e" stays three words)."""
    return " ".join(phrase_key(query))


def toml_tables(text: str, name: str) -> list[dict[str, Any]]:
    """The ``[[name]]`` tables of a TOML file; a ValueError when ``name`` is something else
    (``pin = "x"`` would otherwise fail later, and not as a mistake in the file)."""
    tables = tomllib.loads(text).get(name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{name!r} must be a list of [[{name}]] tables")
    return tables


def strings(value: object) -> TypeGuard[list[str]]:
    """Whether ``value`` is a list of non-empty strings (not one string, read letter by letter)."""
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


# A pin ending within this many days is flagged to the editors.
ENDING_SOON_DAYS = 14


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    documents: tuple[str, ...]
    # The searches it answers, as written (``BestBets.pins`` holds it under each one's key).
    queries: tuple[str, ...] = ()
    starts: date | None = None
    ends: date | None = None

    def active(self, today: date) -> bool:
        return (self.starts is None or self.starts <= today) and (
            self.ends is None or today <= self.ends
        )

    def status(self, today: date) -> str:
        """What the editors' console says of it: ``scheduled`` (not started), ``active``,
        ``ending soon`` (within ``ENDING_SOON_DAYS``) or ``expired``."""
        if self.ends is not None and self.ends < today:
            return "expired"
        if self.starts is not None and today < self.starts:
            return "scheduled"
        if self.ends is not None and (self.ends - today).days <= ENDING_SOON_DAYS:
            return "ending soon"
        return "active"

    def to_json(self, today: date) -> dict[str, object]:
        return {
            "queries": list(self.queries),
            "documents": list(self.documents),
            "from": self.starts.isoformat() if self.starts else None,
            "until": self.ends.isoformat() if self.ends else None,
            "status": self.status(today),
        }


@dataclass(slots=True)
class BestBets:
    pins: dict[str, list[Pin]]

    def every_pin(self) -> list[Pin]:
        """Each pin once, in the file's order."""
        return list(dict.fromkeys(pin for found in self.pins.values() for pin in found))

    @classmethod
    def parse(cls, text: str) -> BestBets:
        pins: dict[str, list[Pin]] = {}
        for number, entry in enumerate(toml_tables(text, "pin"), start=1):
            queries, documents = entry.get("queries"), entry.get("documents")
            if not queries or not strings(queries):
                raise ValueError(f"pin {number}: 'queries' must be a list of strings")
            if not documents or not strings(documents):
                raise ValueError(f"pin {number}: 'documents' must be a list of strings")
            starts, ends = entry.get("from"), entry.get("until")
            for key, value in (("from", starts), ("until", ends)):
                if value is not None and type(value) is not date:
                    raise ValueError(f"pin {number}: {key!r} must be a date such as 2025-09-01")
            pin = Pin(documents=tuple(documents), queries=tuple(queries), starts=starts, ends=ends)
            for query in queries:
                pins.setdefault(pin_key(query), []).append(pin)
        return cls(pins)

    def pinned(self, query: str, today: date) -> list[str]:
        """Document ids pinned for ``query`` today, in order, without repeats."""
        found = [
            doc_id
            for pin in self.pins.get(pin_key(query), [])
            if pin.active(today)
            for doc_id in pin.documents
        ]
        return list(dict.fromkeys(found))
