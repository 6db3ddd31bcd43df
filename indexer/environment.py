"""Settings overridden by ``BLMK_`` environment variables, declared as a table.

Each package lists its variables as ``Variable`` rows (``ENVIRONMENT`` in ``indexer/config.py``
and in ``search_api/http/settings.py``): the name, the settings attribute it sets, how its text
is read, its unit, and what it means. No row holds a default: the default is the settings
dataclass's own, so ``from_env``, the code that builds settings by hand (tests do) and
``docs/configuration.md``, rendered from the rows, cannot disagree.

A variable that is unset keeps the default; one that is set is read by its row's reader (the
optional files: set but empty means none). Text that cannot be read stops with a
``ValueError`` naming the variable, rather than a traceback from deep inside ``int()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

Record = TypeVar("Record")
Reader = Callable[[str], Any]

# Paths inside the checkout (the shipped site profile) are shown relative to it in the docs.
_CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Unit:
    """A variable given in other units than its attribute holds: the attribute is the number
    read times ``times`` divided by ``per``, rounded down when it holds a whole number."""

    times: int = 1
    per: int = 1
    whole: bool = False

    def to_attribute(self, number: float) -> float:
        value = number * self.times / self.per
        return int(value) if self.whole else value

    def from_attribute(self, value: float) -> float:
        return value * self.per / self.times


MEGABYTES = Unit(times=1024 * 1024, whole=True)  # the attribute holds bytes
MILLISECONDS = Unit(per=1000)  # the attribute holds seconds


@dataclass(frozen=True, slots=True)
class Variable:
    """One row of a settings table. ``attribute`` may be dotted (``ranking.recency.weight``)
    to reach into a nested settings record."""

    name: str
    attribute: str
    read: Reader
    meaning: str
    unit: Unit | None = None

    def value(self, text: str) -> Any:
        """The attribute's value for the variable's text; ValueError naming it when unreadable."""
        try:
            value = self.read(text)
            return self.unit.to_attribute(value) if self.unit else value
        except (ValueError, OverflowError) as error:
            raise ValueError(f"{self.name}={text!r}: {error}") from None

    def default(self, defaults: object) -> Any:
        """The default as the variable would be written (in its own unit)."""
        value = _attribute(defaults, self.attribute)
        return self.unit.from_attribute(value) if self.unit else value


def read_environment(
    defaults: Record, table: Iterable[Variable], environ: Mapping[str, str]
) -> Record:
    """``defaults`` with every variable of ``table`` that is set in ``environ`` applied."""
    values = {row.attribute: row.value(environ[row.name]) for row in table if row.name in environ}
    return _replaced(defaults, values)


def markdown_table(table: Iterable[Variable], defaults: object) -> str:
    """The table as Markdown rows: variable, default, meaning."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for row in table:
        cells = (f"`{row.name}`", _shown(row.default(defaults)), row.meaning)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


# Readers: text -> value, ValueError (with the reason) when the text is not one.


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("not a whole number") from None


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("not a number") from None


_SWITCH = {
    "on": True,
    "true": True,
    "yes": True,
    "1": True,
    "off": False,
    "false": False,
    "no": False,
    "0": False,
}


def switch(text: str) -> bool:
    """``on``/``off`` (or true/false, yes/no, 1/0), in any case."""
    try:
        return _SWITCH[text.strip().lower()]
    except KeyError:
        raise ValueError("not on or off") from None


def at_least(minimum: float, read: Reader) -> Reader:
    """``read``, with a value below ``minimum`` raised to it."""

    def read_at_least(text: str) -> Any:
        return max(minimum, read(text))

    return read_at_least


def optional_path(text: str) -> Path | None:
    """Set but empty means none (the feature the file serves is off)."""
    return Path(text) if text.strip() else None


def optional_text(text: str) -> str | None:
    """Set but empty means none."""
    return text or None


def _attribute(record: object, dotted: str) -> Any:
    for name in dotted.split("."):
        record = getattr(record, name)
    return record


def _replaced(record: Record, values: Mapping[str, Any]) -> Record:
    """``record`` with the dotted attributes set, nested records copied, never changed."""
    own: dict[str, Any] = {}
    inner: dict[str, dict[str, Any]] = {}
    for dotted, value in values.items():
        head, _, rest = dotted.partition(".")
        if rest:
            inner.setdefault(head, {})[rest] = value
        else:
            own[head] = value
    for head, nested in inner.items():
        own[head] = _replaced(getattr(record, head), nested)
    return dataclasses.replace(record, **own) if own else record  # type: ignore[type-var]


def _shown(value: Any) -> str:
    if value is None or value == "" or value in (frozenset(), ()):
        return "none"
    if isinstance(value, Path):
        if value.is_absolute() and value.is_relative_to(_CHECKOUT):
            value = value.relative_to(_CHECKOUT)
        return f"`{value.as_posix()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, frozenset | tuple):
        return ", ".join(f"`{item}`" for item in sorted(value))
    return f"`{value}`"
