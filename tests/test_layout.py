"""The layout's rules that import-linter cannot see for itself."""

from __future__ import annotations

import configparser
import re

import pytest

from tests.conftest import REPO

SOURCES = sorted((REPO / "search_api").rglob("*.py")) + sorted((REPO / "indexer").rglob("*.py"))
# Attributes of Whoosh's block codec and matchers that are not its public API.
WHOOSH_PRIVATE = re.compile(
    r"(?<!self)\.(_read_ids|_read_weights|_read_values|_next_block|_goto|_baseoffset|_nextoffset"
    r"|_terms|_field_B|_ids|_weights|_values|_postfile|_blockcount)\b"
)
CODEC = REPO / "search_api" / "engine" / "codec.py"


def test_the_private_attribute_scan_finds_the_codec_reader() -> None:
    assert WHOOSH_PRIVATE.search(CODEC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [p for p in SOURCES if p != CODEC], ids=lambda p: p.name)
def test_whoosh_internals_are_read_in_the_codec_module_only(path) -> None:
    found = WHOOSH_PRIVATE.findall(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(REPO)} reads Whoosh internals: {sorted(set(found))}"


def test_the_indexer_surface_contract_names_every_indexer_module() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    forbidden = set(config["importlinter:contract:indexer-surface"]["forbidden_modules"].split())
    modules = {
        f"indexer.{p.stem}" for p in (REPO / "indexer").glob("*.py") if p.stem != "__init__"
    } | {f"indexer.{p.name}" for p in (REPO / "indexer").iterdir() if (p / "__init__.py").exists()}
    assert forbidden == modules
