"""Reading publication dates written the ways web pages and PDFs write them."""

from __future__ import annotations

import re
from datetime import date, datetime

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.I
)
_MONTH_DAY_YEAR = re.compile(
    rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I
)


# Pages and PDFs read by machine declare placeholder dates ("0001-01-01", the Unix epoch
# "1970-01-01", a PDF's "1601"): none is a publication date, and each would be a year in the
# facet and an "oldest first" result. The web, and everything this site publishes, is younger.
EARLIEST_PUBLICATION = date(1990, 1, 1)


def plausible(found: date | None) -> date | None:
    """``found``, unless it is earlier than anything the site can have published."""
    return found if found is not None and found >= EARLIEST_PUBLICATION else None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return plausible(date(year, month, day))
    except ValueError:
        return None


def parse_iso_date(value: str | None) -> date | None:
    """``2025-08-19`` or any ISO 8601 timestamp starting with one."""
    match = _ISO.search(value or "")
    if not match:
        return None
    return _safe_date(*(int(part) for part in match.groups()))


def find_written_date(text: str) -> date | None:
    """The first date written out in words: "22 August 2025", "Aug 22, 2025"."""
    if match := _DAY_MONTH_YEAR.search(text):
        day, month, year = match.groups()
        return _safe_date(int(year), _MONTHS[month.lower()], int(day))
    if match := _MONTH_DAY_YEAR.search(text):
        month, day, year = match.groups()
        return _safe_date(int(year), _MONTHS[month.lower()], int(day))
    return None


def as_date(value: object) -> date | None:
    """A metadata timestamp's day, when it is a plausible publication date."""
    if isinstance(value, datetime):
        return plausible(value.date())
    if isinstance(value, date):
        return plausible(value)
    return None
