"""Ranking: BM25F over the weighted text fields, with a mild preference for recent news.

Field weights (title > summary > body) are the schema's field boosts. Recency multiplies a news
article's score by up to ``1 + weight``, halving with every ``half_life_days`` of age, so a new
article edges ahead of an equally good old one without burying a better old one. Other types
(pages, case studies, documents) are not affected: their age says nothing about their value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from whoosh.scoring import BM25F

RECENCY_TYPES = frozenset({"news"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RecencySettings:
    weight: float = 0.15
    half_life_days: float = 365.0


class RankingWeighting(BM25F):
    """BM25F whose final score of a news article carries its recency bonus."""

    use_final = True

    def __init__(
        self,
        types: dict[int, tuple[str, ...]],
        dates: dict[int, datetime],
        recency: RecencySettings,
        today: Callable[[], date] = date.today,
    ) -> None:
        super().__init__()
        self.types = types
        self.dates = dates
        self.recency = recency
        self.today = today

    def final(self, searcher: object, docnum: int, score: float) -> float:
        if self.recency.weight <= 0 or not RECENCY_TYPES.intersection(self.types.get(docnum, ())):
            return score
        published = self.dates.get(docnum)
        if published is None:
            return score
        age_days = max(0, (self.today() - published.date()).days)
        return score * (1 + self.recency.weight * 0.5 ** (age_days / self.recency.half_life_days))
