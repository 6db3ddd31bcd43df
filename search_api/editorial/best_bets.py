"""Best bets: editors pin documents to the top for chosen searches, for a period if they wish
(``config/best-bets.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date

from indexer import folded_words


def pin_key(query: str) -> str:
    return " ".join(folded_words(query))


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    documents: tuple[str, ...]
    starts: date | None = None
    ends: date | None = None

    def active(self, today: date) -> bool:
        return (self.starts is None or self.starts <= today) and (
            self.ends is None or today <= self.ends
        )


@dataclass(slots=True)
class BestBets:
    pins: dict[str, list[Pin]]

    @classmethod
    def parse(cls, text: str) -> BestBets:
        data = tomllib.loads(text)
        pins: dict[str, list[Pin]] = {}
        for number, entry in enumerate(data.get("pin", []), start=1):
            queries, documents = entry.get("queries"), entry.get("documents")
            for key, value in (("queries", queries), ("documents", documents)):
                if not value or not all(isinstance(item, str) and item for item in value):
                    raise ValueError(f"pin {number}: {key!r} must be a list of strings")
            starts, ends = entry.get("from"), entry.get("until")
            for key, value in (("from", starts), ("until", ends)):
                if value is not None and type(value) is not date:
                    raise ValueError(f"pin {number}: {key!r} must be a date such as 2025-09-01")
            pin = Pin(documents=tuple(documents), starts=starts, ends=ends)
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
