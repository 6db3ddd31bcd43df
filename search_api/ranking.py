"""Ranking: BM25F over the weighted text fields, with a mild preference for recent news.

Field weights (title > summary > body) are the schema's field boosts. Recency multiplies a news
article's score by up to ``1 + weight``, halving with every ``half_life_days`` of age, so a new
article edges ahead of an equally good old one without burying a better old one. Other types
(pages, case studies, documents) are not affected: their age says nothing about their value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from search_api.facets import UNDATED, FacetColumns, day_number

RECENCY_TYPES = ("news",)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecencySettings:
    weight: float = 0.15
    half_life_days: float = 365.0


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
