"""How a match is scored: BM25F per typed word, the words' scores added up.

A document's score for a query is worked out in four steps (``docs/search-quality.md`` gives
the figures that chose each parameter, and ``python -m bench.relevance`` reproduces them):

1. **Each typed word (a clause) is scored with BM25F.** The word's occurrences in the title,
   summary and body are first normalised by each field's length (its own ``b``), weighted by
   field and added up, and only then saturated by ``k1``: a word in a short title counts for
   a lot, and forty occurrences in a long body cannot outweigh it, since the saturation
   applies once to the sum, not to each field apart (as summing per-field BM25 would).
2. **Alternatives count less than what was typed.** A clause may also match a synonym, a
   spelling correction or a word a ``prefix*`` stands for: each scores at its own weight
   (below 1), and the clause takes the best of them. Typed words that make a multi-word
   synonym entry ("waiting lists") count in full on a page holding them all, and at a
   lower weight on a page holding only some: a part of the entry is not a tier.
3. **Coverage is graded, not a tier.** The clauses' scores are added up: missing a rare,
   telling word ("pharmacy") costs that word's large score, missing a word most documents
   contain ("services") almost nothing. An explicit factor, ``coverage ** exponent`` with
   coverage the share of the clauses' idf a document matches, can be switched on; on every
   collection measured it did worse than the plain sum, so it is off.
4. **Bonuses.** The typed words close together (phrases with some slack) add a proximity
   bonus to the documents that can make the page shown, and dated news gets a mild recency
   multiplier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from search_api.engine.facets import UNDATED, FacetColumns, day_number

RECENCY_TYPES = ("news",)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecencySettings:
    # Largest multiplier bonus, for a news article published today (0: off).
    weight: float = 0.15
    half_life_days: float = 365.0


def _default_field_weights() -> dict[str, float]:
    return {"title": 3.0, "summary": 1.5, "body": 1.0}


def _default_field_b() -> dict[str, float]:
    return {"title": 0.75, "summary": 0.75, "body": 0.9}


@dataclass(frozen=True, slots=True, kw_only=True)
class RankingSettings:
    """Every parameter of the score; the defaults were chosen on real collections (see the
    module docstring). A weight of 0 switches its component off."""

    # BM25F term-frequency saturation: how quickly further occurrences stop counting.
    k1: float = 3.0
    # Per field: how much a match counts, and how strongly the field's length discounts it.
    field_weights: dict[str, float] = field(default_factory=_default_field_weights)
    field_b: dict[str, float] = field(default_factory=_default_field_b)
    # The score is multiplied by coverage ** this (0: coverage does not count).
    coverage_exponent: float = 0.0
    # What a synonym, a spelling correction and a word a prefix stands for count for, against
    # 1 for the word as typed.
    synonym_weight: float = 0.5
    correction_weight: float = 0.8
    expansion_weight: float = 0.5
    # The typed words of a multi-word synonym entry ("waiting lists") on a page holding only
    # some of them: those words' scores, times this (0: the entry's words are all required).
    partial_entry_weight: float = 0.3
    # The typed words found close together: the bonus is this many times their own score.
    proximity_boost: float = 0.5
    recency: RecencySettings = field(default_factory=RecencySettings)


def idf(documents: int, matching: int) -> float:
    """BM25's inverse document frequency (never negative): what a match tells."""
    return math.log(1 + (documents - matching + 0.5) / (matching + 0.5))


def bm25f(
    idf_value: float,
    weighted_tf: np.ndarray,
    k1: float,
) -> np.ndarray:
    """BM25F's saturation of a word's length-normalised, field-weighted frequency."""
    return idf_value * weighted_tf * (k1 + 1) / (weighted_tf + k1)


def normalised_tf(
    tf: np.ndarray, lengths: np.ndarray, average: float, b: float, weight: float
) -> np.ndarray:
    """One field's share of BM25F's combined frequency."""
    return weight * tf / ((1 - b) + b * lengths / (average or 1))


def coverage_factor(covered: np.ndarray, total: float, exponent: float) -> np.ndarray:
    """The score multiplier for matching ``covered`` of the query's ``total`` information."""
    if exponent == 0 or total <= 0:
        return np.ones(len(covered))
    return np.power(np.clip(covered / total, 0, 1), exponent)


def recency_factors(facets: FacetColumns, settings: RecencySettings, today: date) -> np.ndarray:
    """Each document's score multiplier on ``today``: 1 for all but dated news."""
    factors = np.ones(len(facets.days))
    if settings.weight <= 0:
        return factors
    applies = np.zeros(len(facets.days), bool)
    for name in RECENCY_TYPES:
        applies |= facets.has_value("type", name)
    applies &= facets.days != UNDATED
    age_days = np.maximum(0, day_number(today) - facets.days[applies].astype(np.int64))
    factors[applies] = 1 + settings.weight * 0.5 ** (age_days / settings.half_life_days)
    return factors
