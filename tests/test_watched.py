"""Editable files are read again when they change, fall back to "none" when deleted, and keep
their last good reading when an edit cannot be parsed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from search_api.editorial.watched import WatchedFile

NO_WORDS: tuple[str, ...] = ()


def words(text: str) -> tuple[str, ...]:
    if "!" in text:
        raise ValueError("no ! allowed")
    return tuple(text.split())


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "words.txt"


def test_a_missing_file_is_the_empty_value(path: Path) -> None:
    watched = WatchedFile(path, words, NO_WORDS)
    assert watched.get() == ()
    assert WatchedFile(None, words, NO_WORDS).get() == ()


def test_a_deleted_file_is_empty_again_and_read_again_when_it_returns(path: Path) -> None:
    path.write_text("alpha beta")
    watched = WatchedFile(path, words, NO_WORDS)
    assert watched.get() == ("alpha", "beta")
    read = watched.generation

    path.unlink()
    assert watched.get() == ()
    deleted = watched.generation
    assert deleted != read  # answers cached while the file was there are not reused
    assert watched.get() == ()
    assert watched.generation == deleted  # nothing changed: nothing to recompute

    path.write_text("gamma")
    assert watched.get() == ("gamma",)
    assert watched.generation not in (read, deleted)


def test_an_unparsable_edit_keeps_the_last_good_reading(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.write_text("alpha beta")
    watched = WatchedFile(path, words, NO_WORDS)
    assert watched.get() == ("alpha", "beta")

    path.write_text("alpha beta gamma !")
    with caplog.at_level(logging.ERROR, logger="search_api.editorial.watched"):
        assert watched.get() == ("alpha", "beta")
    assert "no ! allowed" in caplog.text

    path.write_text("delta")
    assert watched.get() == ("delta",)


def test_a_file_that_is_not_text_keeps_the_last_good_reading(path: Path) -> None:
    path.write_text("alpha")
    watched = WatchedFile(path, words, NO_WORDS)
    assert watched.get() == ("alpha",)
    path.write_bytes(b"\xff\xfe\xfa not utf-8")
    assert watched.get() == ("alpha",)


def test_the_value_and_its_generation_are_read_together(path: Path) -> None:
    path.write_text("alpha")
    watched = WatchedFile(path, words, NO_WORDS)
    first, first_generation = watched.with_generation()
    path.write_text("alpha beta gamma")  # a different size: seen as changed at once
    second, second_generation = watched.with_generation()
    assert (first, second) == (("alpha",), ("alpha", "beta", "gamma"))
    assert second_generation > first_generation
    assert watched.with_generation() == (second, second_generation)  # unchanged: same pair
