"""Facet counting: the same counts whichever way they are added up (a few matching documents
gather their rows; many take one matrix product), and as a plain count would give them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from random import Random

import numpy as np
import pytest

from search_api.engine.facets import DENSE_SHARE, FacetColumns, facet_values

TOPICS = ["Mental health", "Vaccinations", "Green plan", "Pharmacy", "Children"]
TYPES = ["news", "page", "case-study", "document"]


def stored_fields(count: int) -> list[dict]:
    rng = Random(7)
    documents = []
    for _ in range(count):
        fields: dict = {"type": rng.choice(TYPES), "scope": rng.choice(["", "Luton", "BLMK"])}
        if rng.random() < 0.8:
            fields["year"] = str(rng.randint(2019, 2026))
            fields["date"] = datetime(int(fields["year"]), 5, 1)
        fields["topic"] = ",".join(rng.sample(TOPICS, rng.randint(0, 3)))
        documents.append(fields)
    return documents


def plain_counts(documents: list[dict], docs: list[int], name: str) -> dict[str, int]:
    return dict(Counter(v for d in docs for v in facet_values(documents[d], name)))


@pytest.mark.parametrize("share", [0.01, DENSE_SHARE / 2, DENSE_SHARE * 2, 0.9, 1.0])
def test_counts_agree_with_a_plain_count_on_both_paths(share: float) -> None:
    documents = stored_fields(2000)
    columns = FacetColumns(len(documents), enumerate(documents))
    rng = np.random.default_rng(3)
    matched = np.sort(rng.choice(len(documents), int(share * len(documents)), replace=False))
    allowed, facets = columns.count(matched.astype(np.int32), {})
    assert allowed.tolist() == matched.tolist()
    for name, values in facets.items():
        counted = {v["value"]: v["count"] for v in values}
        assert counted == plain_counts(documents, matched.tolist(), name), name


def test_a_facet_counts_under_the_other_facets_filters_only() -> None:
    documents = stored_fields(2000)
    columns = FacetColumns(len(documents), enumerate(documents))
    everything = np.arange(len(documents), dtype=np.int32)
    allowed, facets = columns.count(everything, {"type": ("news",), "topic": ("Pharmacy",)})
    news_pharmacy = [
        d
        for d, f in enumerate(documents)
        if f["type"] == "news" and "Pharmacy" in facet_values(f, "topic")
    ]
    assert allowed.tolist() == news_pharmacy
    pharmacy = [d for d, f in enumerate(documents) if "Pharmacy" in facet_values(f, "topic")]
    type_counts = {v["value"]: v["count"] for v in facets["type"]}
    assert type_counts == plain_counts(documents, pharmacy, "type")
    assert {v["value"] for v in facets["type"] if v["selected"]} == {"news"}
