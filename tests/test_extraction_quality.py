"""Quality gate: main-content extraction on real news pages may never get worse than the
figures recorded here (``python -m bench.extraction`` prints them)."""

from __future__ import annotations

import pytest

from bench.extraction import indexer_extractor, load_pages, page_scores, score
from tests.conftest import shared_data

pytestmark = pytest.mark.slow

# Measured: precision 0.969, recall 0.973, F1 0.971 on the 88 pages.
FLOORS = {"precision": 0.965, "recall": 0.97, "f1": 0.965}


def test_extraction_scores_stay_above_their_floors() -> None:
    pages = load_pages(shared_data("article-extraction"))
    assert len(pages) == 88
    scores = score(indexer_extractor(), pages)
    measured = {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1}
    assert {name: round(value, 3) for name, value in measured.items() if value < FLOORS[name]} == {}


def test_the_scoring_rule() -> None:
    assert page_scores("", "") == (1.0, 1.0)
    assert page_scores("", "one two three four") == (0.0, 0.0)
    # "a b c d e" has shingles abcd, bcde; "a b c d x" has abcd, bcdx: one of two right.
    assert page_scores("a b c d x", "a b c d e") == (0.5, 0.5)
    # Five shingles predicted (abcd twice), one expected: precision 1/5, recall 1.
    assert page_scores("a b c d a b c d", "a b c d") == (0.2, 1.0)
