"""The settings tables are the one place ``BLMK_`` variables are read, and
docs/configuration.md is what they render: the docs cannot drift from the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from indexer import INDEXER_ENVIRONMENT, IndexerSettings, Variable
from search_api.http.settings import (
    REGENERATE,
    SERVICE_ENVIRONMENT,
    Settings,
    configuration_markdown,
)
from tests.conftest import REPO

DOCS = REPO / "docs" / "configuration.md"
PACKAGES = [REPO / "indexer", REPO / "search_api"]
SETTINGS_MODULES = {REPO / "indexer" / "config.py", REPO / "search_api" / "http" / "settings.py"}
TABLES: list[tuple[tuple[Variable, ...], Any]] = [
    (INDEXER_ENVIRONMENT, IndexerSettings()),
    (SERVICE_ENVIRONMENT, Settings()),
]
ROWS = [(row, defaults) for table, defaults in TABLES for row in table]
ROW_IDS = [f"{type(defaults).__name__}-{row.name}" for row, defaults in ROWS]
TABLED = {row.name for row, _ in ROWS}
# Rows for a number: text that is not one must be refused.
NUMERIC = [
    (row, d)
    for row, d in ROWS
    if isinstance(row.default(d), int | float) and not isinstance(row.default(d), bool)
]


def attribute(settings: object, dotted: str) -> Any:
    for name in dotted.split("."):
        settings = getattr(settings, name)
    return settings


def from_env(defaults: object, environ: dict[str, str]) -> Any:
    return type(defaults).from_env(environ)  # type: ignore[attr-defined]


def source_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in package.rglob("*") if p.is_file())


def test_the_configuration_page_is_what_the_tables_render() -> None:
    documented = DOCS.read_text(encoding="utf-8") if DOCS.is_file() else ""
    assert documented == configuration_markdown(), (
        f"docs/configuration.md is out of date with the settings tables; regenerate it: "
        f"{REGENERATE}"
    )


def test_every_blmk_variable_named_in_the_code_is_in_a_table() -> None:
    named: dict[str, set[str]] = {}
    for path in source_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for name in re.findall(r"BLMK_[A-Z][A-Z_]*", text):
            named.setdefault(name, set()).add(path.relative_to(REPO).as_posix())
    assert {"BLMK_CORPUS", "BLMK_PORT", "BLMK_NEWS_RECENCY"} <= set(named)  # the scan works
    assert {name: files for name, files in named.items() if name not in TABLED} == {}


def test_no_name_is_in_a_table_twice() -> None:
    for table, _ in TABLES:
        names = [row.name for row in table]
        assert len(names) == len(set(names))


def _reads_the_environment(tree: ast.AST) -> bool:
    return any(
        (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"))
        or (isinstance(node, ast.Name) and node.id in ("environ", "getenv"))
        or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ("environ", "getenv") for alias in node.names)
        )
        for node in ast.walk(tree)
    )


def _strings(tree: ast.AST) -> list[str]:
    """The module's string constants, docstrings left out (they are prose)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_only_the_settings_modules_read_blmk_variables() -> None:
    """Elsewhere a variable's name may appear in prose (a ``--help`` text, a docstring), but
    never as a name of its own, and never in a module that reads the environment."""
    offenders = []
    for path in source_files():
        if path.suffix != ".py" or path in SETTINGS_MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        strings = _strings(tree)
        alone = [s for s in strings if s.startswith("BLMK_")]
        mentioned = [s for s in strings if "BLMK_" in s]
        if alone or (mentioned and _reads_the_environment(tree)):
            offenders.append(path.relative_to(REPO).as_posix())
    assert offenders == []


def test_the_settings_modules_are_the_ones_scanned_for() -> None:
    for path in SETTINGS_MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert _reads_the_environment(tree)
        assert any(s.startswith("BLMK_") for s in _strings(tree))


def test_an_empty_environment_gives_the_defaults() -> None:
    assert IndexerSettings.from_env({}) == IndexerSettings()
    assert Settings.from_env({}) == Settings()


def _documented_default(row: Variable, defaults: Any) -> str:
    """The default cell of the variable's row, in its package's section of the docs."""
    sections = DOCS.read_text(encoding="utf-8").split("\n## ")[1:]
    section = sections[[type(d) for _, d in TABLES].index(type(defaults))]
    (line,) = [line for line in section.splitlines() if line.startswith(f"| `{row.name}` |")]
    return line.split(" | ")[1]


@pytest.mark.parametrize(("row", "defaults"), ROWS, ids=ROW_IDS)
def test_the_default_the_docs_show_changes_nothing_when_set(row: Variable, defaults: Any) -> None:
    """Setting a variable to the default shown ("none": the empty string) changes nothing."""
    shown = _documented_default(row, defaults)
    text = "" if shown == "none" else shown.strip("`")
    default = attribute(defaults, row.attribute)
    if isinstance(default, Path) and default.is_absolute():
        text = str(REPO / text)  # a file shipped with the code, shown relative to the checkout
    settings = from_env(defaults, {row.name: text})
    assert attribute(settings, row.attribute) == default
    assert settings == defaults


@pytest.mark.parametrize(("row", "defaults"), NUMERIC, ids=[f"{r.name}" for r, _ in NUMERIC])
def test_a_number_that_is_not_one_is_refused_naming_the_variable(
    row: Variable, defaults: Any
) -> None:
    with pytest.raises(ValueError, match=rf"^{row.name}='twelve': not a (whole )?number$"):
        from_env(defaults, {row.name: "twelve"})


def test_a_switch_that_is_neither_on_nor_off_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match=r"^BLMK_ADMIN_API='maybe': not on or off$"):
        Settings.from_env({"BLMK_ADMIN_API": "maybe"})


def test_a_size_too_large_to_hold_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match=r"^BLMK_MAX_UPLOAD_MB='inf': cannot convert"):
        Settings.from_env({"BLMK_MAX_UPLOAD_MB": "inf"})


@pytest.mark.parametrize(
    ("environ", "attribute_name", "expected"),
    [
        ({"BLMK_MAX_FILE_MB": "1.5"}, "max_file_bytes", 1_572_864),
        ({"BLMK_MAX_PDF_PAGES": "0"}, "max_pdf_pages", 1),
        ({"BLMK_FILE_TIMEOUT_SECONDS": "0"}, "file_timeout_seconds", 0.01),
        ({"BLMK_EXTRACT_WORKERS": "-2"}, "extract_workers", 1),
        ({"BLMK_KEEP_VERSIONS": " 5 "}, "keep_versions", 5),
        ({"BLMK_BASE_URL": "https://example.org/"}, "base_url", "https://example.org"),
        ({"BLMK_SITE_PROFILE": ""}, "site_profile", None),
        ({"BLMK_SITE_PROFILE": "site.toml"}, "site_profile", Path("site.toml")),
    ],
    ids=[
        "megabytes",
        "pages-at-least-1",
        "timeout-floor",
        "workers",
        "spaces",
        "url",
        "empty",
        "profile",
    ],
)
def test_indexer_variables_are_read_converted_and_clamped(
    environ: dict[str, str], attribute_name: str, expected: Any
) -> None:
    assert attribute(IndexerSettings.from_env(environ), attribute_name) == expected


@pytest.mark.parametrize(
    ("environ", "attribute_name", "expected"),
    [
        ({"BLMK_MAX_UPLOAD_MB": "2"}, "max_upload_bytes", 2 * 1024 * 1024),
        ({"BLMK_SEARCH_BUDGET_MS": "100"}, "search_budget_seconds", 0.1),
        ({"BLMK_SYNONYMS": ""}, "synonyms_file", None),
        ({"BLMK_ANALYTICS_FILE": "  "}, "analytics_file", None),
        ({"BLMK_BEST_BETS": "pins.toml"}, "best_bets_file", Path("pins.toml")),
        ({"BLMK_ADMIN_TOKEN": ""}, "admin_token", None),
        ({"BLMK_ADMIN_TOKEN": "s3cret"}, "admin_token", "s3cret"),
        ({"BLMK_ADMIN_API": "Off"}, "admin_api", False),
        ({"BLMK_ADMIN_API": "yes"}, "admin_api", True),
        ({"BLMK_KEEP_DAYS": "-3"}, "keep_days", 0.0),
        ({"BLMK_STATE_DIR": "/srv/state"}, "state_dir", Path("/srv/state")),
        (
            {"BLMK_CORS_ORIGINS": "https://a.example/, ,https://b.example"},
            "cors_origins",
            frozenset({"https://a.example", "https://b.example"}),
        ),
        ({"BLMK_NEWS_RECENCY": "0.3"}, "ranking.recency.weight", 0.3),
        ({"BLMK_NEWS_HALF_LIFE_DAYS": "30"}, "ranking.recency.half_life_days", 30.0),
        ({"BLMK_PROXIMITY_BOOST": "-1"}, "ranking.proximity_boost", 0.0),
    ],
    ids=[
        "megabytes",
        "milliseconds",
        "empty-synonyms",
        "blank-analytics",
        "best-bets",
        "empty-token",
        "token",
        "admin-api-off",
        "admin-api-on",
        "keep-days-floor",
        "state-dir",
        "origins",
        "recency",
        "half-life",
        "weight-floor",
    ],
)
def test_service_variables_are_read_converted_and_clamped(
    environ: dict[str, str], attribute_name: str, expected: Any
) -> None:
    settings = Settings.from_env(environ)
    assert attribute(settings, attribute_name) == expected
    assert Settings().ranking.recency.weight == 0.15  # the defaults themselves are not changed
