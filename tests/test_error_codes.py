"""Every error code the API can answer with is registered once and documented."""

from __future__ import annotations

import re

import pytest

from indexer.errors import BuildInProgress, NothingToRollBack
from search_api import errors as service_errors
from search_api.http.errors import _STATUS_CODES, ERROR_CODES
from tests.conftest import REPO

API_DOCS = REPO / "docs" / "api.md"
USED = sorted(
    {
        code
        for path in (REPO / "search_api").rglob("*.py")
        for code in re.findall(r'http_error\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
)
SERVICE_ERRORS = [
    value
    for value in vars(service_errors).values()
    if isinstance(value, type) and issubclass(value, service_errors.ServiceError)
]


def test_the_scan_finds_the_codes_resources_raise() -> None:
    assert {"invalid_parameter", "document_not_found", "forbidden"} <= set(USED)


@pytest.mark.parametrize("code", USED)
def test_every_code_raised_is_registered(code: str) -> None:
    assert code in ERROR_CODES


@pytest.mark.parametrize(
    "error",
    [e for e in SERVICE_ERRORS if e is not service_errors.ServiceError]
    + [BuildInProgress, NothingToRollBack],
)
def test_every_domain_error_the_api_lets_out_has_a_registered_code(error: type) -> None:
    assert error.code in ERROR_CODES


@pytest.mark.parametrize("status, code", sorted(_STATUS_CODES.items()))
def test_falcons_own_errors_map_to_registered_codes(status: int, code: str) -> None:
    assert ERROR_CODES[code].status == status


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_code_is_documented_with_its_status(code: str) -> None:
    rows = re.findall(
        r"^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|", API_DOCS.read_text(encoding="utf-8"), re.M
    )
    assert (code, str(ERROR_CODES[code].status)) in rows, f"docs/api.md lists no row for {code}"
