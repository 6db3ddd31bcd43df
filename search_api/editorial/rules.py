"""The editorial files taken together: their texts, and those texts parsed.

Editors change the files as one set (a draft, previewed and then published), so a set of
texts that is not on disk yet can be parsed here and searched with
(``SearchService.search(request, rules=...)``) before it replaces the live files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from search_api.editorial.best_bets import BestBets
from search_api.editorial.checks import Check, parse_checks
from search_api.editorial.hidden import HiddenRules
from search_api.editorial.stoplist import parse_stoplist
from search_api.editorial.synonyms import Thesaurus

# The editorial files by name, in the order they are shown.
RULE_FILES = ("synonyms", "best_bets", "hidden", "stoplist", "checks")
_PARSERS: dict[str, Callable[[str], Any]] = {
    "synonyms": Thesaurus.parse,
    "best_bets": BestBets.parse,
    "hidden": HiddenRules.parse,
    "stoplist": parse_stoplist,
    "checks": parse_checks,
}


class RuleProblem(ValueError):
    """A file of a set of rules cannot be read: ``file`` is its name in ``RULE_FILES``,
    ``message`` the parser's (which names the line, pin or rule)."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass(frozen=True, slots=True)
class RuleTexts:
    """The files' texts; "" for a file that is absent (which means none of its rules)."""

    synonyms: str = ""
    best_bets: str = ""
    hidden: str = ""
    stoplist: str = ""
    checks: str = ""

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in RULE_FILES}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> RuleTexts:
        """Texts by file name; a missing one is "". A name that is not a rule file, or a text
        that is not a string, is a ValueError (a misspelt name would drop that file's rules)."""
        unknown = sorted(set(data) - set(RULE_FILES))
        if unknown:
            raise ValueError(
                f"unknown rule file {unknown[0]!r} (the files are {', '.join(RULE_FILES)})"
            )
        for name, text in data.items():
            if not isinstance(text, str):
                raise ValueError(f"the text of {name!r} must be a string")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class EditorialRules:
    """A set of rule files, parsed: what a search is answered with, and the quality checks
    that must pass with it (``search_api.staff.checks``), which no search reads."""

    thesaurus: Thesaurus
    best_bets: BestBets
    hidden: HiddenRules
    stoplist: frozenset[str]
    checks: tuple[Check, ...] = ()

    @classmethod
    def parse(cls, texts: RuleTexts) -> EditorialRules:
        """Every file parsed; the first that cannot be is a ``RuleProblem`` naming it."""
        parsed: dict[str, Any] = {}
        for name in RULE_FILES:
            try:
                parsed[name] = _PARSERS[name](getattr(texts, name))
            except ValueError as error:
                raise RuleProblem(name, str(error)) from error
        return cls(
            thesaurus=parsed["synonyms"],
            best_bets=parsed["best_bets"],
            hidden=parsed["hidden"],
            stoplist=parsed["stoplist"],
            checks=parsed["checks"],
        )
