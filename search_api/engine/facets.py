"""Facet values and dates of every document, as columns read once per index version.

Counting facets and applying filters are then array operations over the matching documents,
for all facets together, instead of one pass over stored fields per facet and per search.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import numpy as np

from indexer import FACET_FIELDS

# A day number for documents without a date: before any real one.
UNDATED = np.iinfo(np.int32).min
# Facet counts for more than this share of all documents are one product of a 0/1 vector and
# the whole matrix (a BLAS call, about 5 ns a document at 100,000); for fewer, the matched
# rows are gathered and added up (about 40 ns a row).
DENSE_SHARE = 1 / 8
_EPOCH = date(1970, 1, 1)


def facet_values(fields: dict[str, Any], name: str) -> tuple[str, ...]:
    """A document's values for one facet, from its stored fields."""
    value = fields.get(name)
    if not value:
        return ()
    if name == "topic":
        return tuple(v for v in str(value).split(",") if v)
    return (str(value),)


def day_number(day: date) -> int:
    return (day - _EPOCH).days


class FacetColumns:
    """Which documents carry which facet value: one 0/1 matrix, documents by the values of
    every facet side by side (float32, so that counting is a matrix product; a document may
    have several topics); and each document's publication day."""

    def __init__(self, doc_count: int, stored: Iterable[tuple[int, dict[str, Any]]]) -> None:
        labels: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
        pairs: dict[str, list[tuple[int, int]]] = {name: [] for name in FACET_FIELDS}
        self.days = np.full(doc_count, UNDATED, np.int32)
        for docnum, fields in stored:
            for name in FACET_FIELDS:
                for value in facet_values(fields, name):
                    column = labels[name].setdefault(value, len(labels[name]))
                    pairs[name].append((docnum, column))
            if isinstance(fields.get("date"), datetime):
                self.days[docnum] = day_number(fields["date"].date())
        self.labels = {name: list(values) for name, values in labels.items()}
        # Each facet's columns in the matrix, and each value's column.
        self.spans: dict[str, slice] = {}
        self.columns: dict[str, dict[str, int]] = {}
        start = 0
        for name in FACET_FIELDS:
            self.spans[name] = slice(start, start + len(labels[name]))
            self.columns[name] = {value: start + i for value, i in labels[name].items()}
            start += len(labels[name])
        self.matrix = np.zeros((doc_count, start), np.float32)
        for name in FACET_FIELDS:
            if pairs[name]:
                rows, cols = np.asarray(pairs[name]).T
                self.matrix[rows, cols + self.spans[name].start] = 1

    def has_value(self, name: str, value: str) -> np.ndarray:
        """A boolean per document: does it carry ``value`` for facet ``name``?"""
        column = self.columns[name].get(value)
        if column is None:
            return np.zeros(len(self.days), bool)
        return self.matrix[:, column] > 0

    def in_date_range(self, docs: np.ndarray, start: date | None, end: date | None) -> np.ndarray:
        """The documents published within the range; either bound leaves out undated ones."""
        if start is None and end is None:
            return docs
        days = self.days[docs]
        keep = days != UNDATED
        if start is not None:
            keep &= days >= day_number(start)
        if end is not None:
            keep &= days <= day_number(end)
        kept: np.ndarray = docs[keep]
        return kept

    def by_date(self, docs: np.ndarray, newest_first: bool) -> np.ndarray:
        """Dated documents in date order, then undated ones, whichever way dates run; ties in
        document order (reversed when newest first)."""
        days = self.days[docs]
        dated, undated = docs[days != UNDATED], np.sort(docs[days == UNDATED])
        order = np.lexsort((dated, self.days[dated]))
        dated = dated[order]
        if newest_first:
            dated = dated[::-1]
        return np.concatenate([dated, undated])

    def count(
        self, matched: np.ndarray, filters: dict[str, tuple[str, ...]]
    ) -> tuple[np.ndarray, dict[str, list[dict[str, Any]]]]:
        """The documents passing every filter, and for each facet its value counts.

        A facet's counts apply the filters of the *other* facets only, so choosing "news"
        still shows how many case studies there are to switch to.
        """
        passes = {
            name: self._passes(matched, name, wanted)
            for name, wanted in filters.items()
            if wanted and name in self.spans
        }
        everything = np.ones(len(matched), bool)
        allowed = matched[_all(passes.values(), everything)]
        # Counts for every column under each set of filters needed (one set, unfiltered).
        counted: dict[frozenset[str], np.ndarray] = {}
        facets = {}
        for name in FACET_FIELDS:
            applied = frozenset(passes) - {name}
            if applied not in counted:
                others = _all((passes[other] for other in applied), everything)
                counted[applied] = self._counts(matched[others])
            counts = counted[applied][self.spans[name]]
            totals = dict(zip(self.labels[name], counts.tolist(), strict=True))
            facets[name] = _facet_list(name, totals, filters.get(name, ()))
        return allowed, facets

    def _counts(self, docs: np.ndarray) -> np.ndarray:
        """How many of ``docs`` carry each value (every facet's columns)."""
        if len(docs) > DENSE_SHARE * len(self.matrix):
            chosen = np.zeros(len(self.matrix), np.float32)
            chosen[docs] = 1
            counts = chosen @ self.matrix  # whole numbers below 2**24: exact in float32
        else:
            counts = self.matrix[docs].sum(axis=0)
        return np.asarray(counts, np.int64)

    def _passes(self, docs: np.ndarray, name: str, wanted: tuple[str, ...]) -> np.ndarray:
        columns = [self.columns[name][v] for v in wanted if v in self.columns[name]]
        if not columns:
            return np.zeros(len(docs), bool)
        chosen = self.matrix[np.ix_(docs, np.asarray(columns, np.intp))]
        return np.asarray(chosen.any(axis=1), bool)


def _all(masks: Iterable[np.ndarray], everything: np.ndarray) -> np.ndarray:
    result = everything
    for mask in masks:
        result = result & mask
    return result


def _facet_list(name: str, counts: dict[str, int], selected: tuple[str, ...]) -> list[dict]:
    counts = {value: count for value, count in counts.items() if count}
    for value in selected:
        counts.setdefault(value, 0)
    if name == "year":
        order = sorted(counts, reverse=True)
    else:
        order = sorted(counts, key=lambda value: (-counts[value], value.lower()))
    return [{"value": v, "count": counts[v], "selected": v in selected} for v in order]
