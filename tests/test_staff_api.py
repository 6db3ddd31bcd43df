"""Staff accounts, roles, the audit log, revisions and the trash, end to end: accounts made
with the real ``blmk-admin``, a real ``blmk-serve`` sharing their state folder, real HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.config import IndexerSettings
from tests.conftest import BIN, CORPUS, get_json, html_page, serve
from tests.test_admin_api import multipart, wait_for

pytestmark = pytest.mark.server

BREAK_GLASS = "br3ak-glass-token"
PAGE = "news/otter-survey.html"


def page(text: str) -> bytes:
    return html_page("Otter survey", "<p>" + f"{text} " * 12 + "</p>").encode()


def blmk_admin(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "blmk-admin", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def new_account(state: Path, name: str, role: str) -> dict[str, str]:
    done = blmk_admin(state, "accounts", "add", name, "--role", role)
    assert done.returncode == 0, done.stderr
    return {"Authorization": f"Bearer {done.stdout.strip().splitlines()[-1]}"}


@dataclass
class Site:
    base: str
    corpus: Path
    state: Path
    editor: dict[str, str]
    publisher: dict[str, str]
    admin: dict[str, str]

    def upload(
        self, data: bytes, name: str = "otter-survey.html", headers: dict[str, str] | None = None
    ) -> tuple[int, dict]:
        body, form = multipart({"folder": "news"}, name, data)
        form.pop("Authorization")
        return get_json(
            f"{self.base}/admin/documents", "POST", body, form | (headers or self.publisher)
        )

    def call(
        self, method: str, path: str, who: dict[str, str], extra: dict[str, str] | None = None
    ) -> tuple[int, dict]:
        data = b"" if method in ("POST", "DELETE") else None
        return get_json(f"{self.base}{path}", method, data, who | (extra or {}))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("staff")
    corpus, state = root / "corpus", root / "state"
    shutil.copytree(CORPUS, corpus)
    settings = IndexerSettings(corpus_dir=corpus, index_dir=root / "index", state_dir=state)
    build_index(settings)
    accounts = {role: new_account(state, f"{role}.one", role) for role in ("editor", "publisher")}
    accounts["admin"] = new_account(state, "admin.one", "admin")
    env = {
        "BLMK_STATE_DIR": str(state),
        "BLMK_ADMIN_TOKEN": BREAK_GLASS,
        "BLMK_REFRESH_SECONDS": "0.1",
    }
    with serve(["--index", str(settings.index_dir), "--corpus", str(corpus)], env) as base:
        yield Site(
            base, corpus, state, accounts["editor"], accounts["publisher"], accounts["admin"]
        )


def audit(site: Site, **filters: str) -> list[dict]:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    status, body = site.call("GET", f"/admin/audit?per_page=200&{query}", site.admin)
    assert status == 200, body
    return body["entries"]


def test_each_role_does_what_it_may_and_is_told_what_it_needs(site: Site) -> None:
    status, me = site.call("GET", "/admin/me", site.editor)
    assert status == 200 and me["account"]["name"] == "editor.one"
    assert me["account"]["role"] == "editor" and me["keep_days"] == 90
    assert me["can"]["analytics"] and not me["can"]["documents.change"]
    for path in ("/admin/documents", "/admin/versions", "/admin/trash", "/admin/audit"):
        assert site.call("GET", path, site.editor)[0] == 200, path

    refused = [
        ("DELETE", "/admin/documents/pages/green-plan.html", site.editor, "publisher"),
        ("POST", "/admin/reindex", site.editor, "publisher"),
        ("POST", "/admin/reindex?full=true", site.publisher, "admin"),
        ("POST", "/admin/rollback", site.publisher, "admin"),
        ("GET", "/admin/accounts", site.publisher, "admin"),
    ]
    for method, path, who, needed in refused:
        status, body = site.call(method, path, who)
        assert (status, body["error"]["code"]) == (403, "forbidden"), (method, path)
        assert f"needs the {needed} role" in body["error"]["message"]
    assert (site.corpus / "pages/green-plan.html").is_file()

    status, body = site.call("GET", "/admin/accounts", site.admin)
    assert status == 200
    assert {a["name"]: a["role"] for a in body["accounts"]} == {
        "admin.one": "admin",
        "editor.one": "editor",
        "publisher.one": "publisher",
    }
    assert "token" not in json.dumps(body).lower()
    refusals = audit(site, account="publisher.one", action="index")
    assert {(e["action"], e["outcome"]) for e in refusals} >= {
        ("index.rebuild", "refused"),
        ("index.rollback", "refused"),
    }
    assert all("needs the admin role" in e["reason"] for e in refusals)
    # Refused before the route ran, the entry still names what it would have changed.
    assert {e["target"] for e in refusals} == {str((site.corpus.parent / "index").resolve())}
    deletion = audit(site, account="editor.one", action="document.delete")[0]
    assert (deletion["target"], deletion["outcome"]) == ("pages/green-plan.html", "refused")


def test_the_break_glass_token_is_an_admin_named_as_such(site: Site) -> None:
    glass = {"Authorization": f"Bearer {BREAK_GLASS}"}
    status, me = site.call("GET", "/admin/me", glass)
    assert status == 200 and me["account"]["role"] == "admin"
    assert "BLMK_ADMIN_TOKEN" in me["account"]["name"]


def test_a_revoked_or_rotated_token_stops_within_a_refresh(site: Site) -> None:
    temporary = new_account(site.state, "temp.editor", "editor")
    assert site.call("GET", "/admin/me", temporary)[0] == 200
    done = blmk_admin(site.state, "accounts", "rotate", "temp.editor")
    assert done.returncode == 0, done.stderr
    rotated = {"Authorization": f"Bearer {done.stdout.strip().splitlines()[-1]}"}
    time.sleep(0.5)  # the refresh interval is 0.1 s
    status, body = site.call("GET", "/admin/me", temporary)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert site.call("GET", "/admin/me", rotated)[0] == 200
    assert blmk_admin(site.state, "accounts", "revoke", "temp.editor").returncode == 0
    time.sleep(0.5)
    assert site.call("GET", "/admin/me", rotated)[0] == 401


def test_delete_goes_to_the_trash_and_comes_back(site: Site) -> None:
    assert site.upload(page("otters in the Ouse"))[0] == 201
    sidecar = site.corpus / f"{PAGE}.json"
    sidecar.write_text('{"topics": ["Wildlife"]}', encoding="utf-8")
    status, body = site.call("DELETE", f"/admin/documents/{PAGE}", site.publisher)
    assert status == 200, body
    entry = body["trash"]
    assert entry["document"] == PAGE and entry["deleted_by"] == "publisher.one"
    assert not (site.corpus / PAGE).exists() and not sidecar.exists()
    status, trash = site.call("GET", "/admin/trash", site.editor)
    assert status == 200 and trash["trash"][0]["id"] == entry["id"]

    status, body = site.call("POST", f"/admin/trash/{entry['id']}/restore", site.publisher)
    assert status == 200 and body["restored"] == PAGE
    assert (site.corpus / PAGE).read_bytes() == page("otters in the Ouse")
    assert json.loads(sidecar.read_text(encoding="utf-8")) == {"topics": ["Wildlife"]}
    assert entry["id"] not in {
        e["id"] for e in site.call("GET", "/admin/trash", site.editor)[1]["trash"]
    }
    status, body = site.call("POST", f"/admin/trash/{entry['id']}/restore", site.publisher)
    assert (status, body["error"]["code"]) == (404, "trash_entry_not_found")

    # Deleted again, a new file of the same name arrives: the old one is not put over it.
    entry = site.call("DELETE", f"/admin/documents/{PAGE}", site.publisher)[1]["trash"]
    assert site.upload(page("a newer otter count"))[0] == 201
    status, body = site.call("POST", f"/admin/trash/{entry['id']}/restore", site.publisher)
    assert (status, body["error"]["code"]) == (409, "document_exists")
    assert "delete or rename" in body["error"]["message"]
    assert (site.corpus / PAGE).read_bytes() == page("a newer otter count")
    actions = [(e["action"], e["outcome"]) for e in audit(site, account="publisher.one")]
    assert ("document.delete", "done") in actions and ("trash.restore", "done") in actions
    assert ("trash.restore", "refused") in actions


def test_a_replaced_file_is_kept_as_a_revision_and_can_be_put_back(site: Site) -> None:
    name = "news/heron-count.html"
    first, second = page("herons on the lake"), page("more herons this year")
    assert site.upload(first, "heron-count.html")[0] == 201
    status, body = site.upload(second, "heron-count.html")
    assert status == 200 and body["replaced"] and body["revision"]
    status, listed = site.call("GET", f"/admin/documents/{name}/revisions", site.editor)
    assert status == 200 and listed["revisions"][0]["id"] == body["revision"]
    assert listed["revisions"][0]["saved_by"] == "publisher.one"

    path = f"/admin/documents/{name}/revisions/{body['revision']}/restore"
    status, restored = site.call("POST", path, site.publisher)
    assert status == 200, restored
    assert (site.corpus / name).read_bytes() == first
    listed = site.call("GET", f"/admin/documents/{name}/revisions", site.editor)[1]
    assert len(listed["revisions"]) == 2  # what the restore replaced is a revision too

    status, body = site.call(
        "POST", f"/admin/documents/{name}/revisions/nope/restore", site.publisher
    )
    assert (status, body["error"]["code"]) == (404, "revision_not_found")
    status, body = site.call("GET", "/admin/documents/news/never-was.html/revisions", site.editor)
    assert (status, body["error"]["code"]) == (404, "document_not_found")
    entries = audit(site, action="document")
    replaced = next(e for e in entries if e["action"] == "document.replace")
    assert replaced["target"] == name and replaced["account"] == "publisher.one"
    assert replaced["details"]["previous_sha256"] != replaced["details"]["sha256"]


def test_if_match_refuses_a_change_to_what_someone_else_changed(site: Site) -> None:
    name = "news/kingfisher.html"
    assert site.upload(page("a kingfisher seen"), "kingfisher.html")[0] == 201
    status, document = site.call("GET", f"/admin/documents/{name}", site.editor)
    assert status == 200 and document["revisions"] == 0
    seen = f'"{document["sha256"]}"'
    assert site.upload(page("two kingfishers seen"), "kingfisher.html")[0] == 200  # a colleague

    status, body = site.call(
        "DELETE", f"/admin/documents/{name}", site.publisher, {"If-Match": seen}
    )
    assert (status, body["error"]["code"]) == (412, "document_changed")
    status, body = site.upload(
        page("my kingfisher"), "kingfisher.html", site.publisher | {"If-Match": seen}
    )
    assert (status, body["error"]["code"]) == (412, "document_changed")
    assert (site.corpus / name).read_bytes() == page("two kingfishers seen")

    status, current = site.call("GET", f"/admin/documents/{name}", site.editor)
    status, body = site.call(
        "DELETE", f"/admin/documents/{name}", site.publisher, {"If-Match": f'"{current["sha256"]}"'}
    )
    assert status == 200 and not (site.corpus / name).exists()


def test_unknown_things_are_404s(site: Site) -> None:
    for method, path, code in (
        ("GET", "/admin/documents/news/none.html", "document_not_found"),
        ("DELETE", "/admin/documents/news/none.html", "document_not_found"),
        ("POST", "/admin/trash/20260101T000000000000Z-000000/restore", "trash_entry_not_found"),
        ("GET", "/admin/jobs/nope", "job_not_found"),
    ):
        status, body = site.call(method, path, site.admin)
        assert (status, body["error"]["code"]) == (404, code), path


def found(site: Site, query: str) -> list[str]:
    return [hit["id"] for hit in get_json(f"{site.base}/search?q={query}")[1]["results"]]


def test_a_publisher_undoes_a_deletion_and_finds_the_page_again(site: Site) -> None:
    assert site.upload(page("a water vole colony"), "water-vole.html")[0] == 201
    job = site.call("POST", "/admin/reindex", site.publisher)[1]["job"]
    assert wait_for(site.base, job["id"], site.publisher)["state"] == "succeeded"
    assert found(site, "vole") == ["news/water-vole.html"]
    entry = site.call("DELETE", "/admin/documents/news/water-vole.html", site.publisher)[1]
    job = site.call("POST", "/admin/reindex", site.publisher)[1]["job"]
    wait_for(site.base, job["id"], site.publisher)
    assert "news/water-vole.html" not in found(site, "vole")
    site.call("POST", f"/admin/trash/{entry['trash']['id']}/restore", site.publisher)
    job = site.call("POST", "/admin/reindex", site.publisher)[1]["job"]
    wait_for(site.base, job["id"], site.publisher)
    assert found(site, "vole") == ["news/water-vole.html"]
    finished = [e for e in audit(site, action="index.job") if e["target"] == job["id"]]
    assert finished and finished[0]["outcome"] == "done"
    assert finished[0]["account"] == "publisher.one"


def test_the_audit_log_pages_filters_and_holds_no_token(site: Site) -> None:
    status, first = site.call("GET", "/admin/audit?per_page=2&page=1", site.editor)
    assert status == 200 and len(first["entries"]) == 2 and first["total"] >= 2
    second = site.call("GET", "/admin/audit?per_page=2&page=2", site.editor)[1]
    assert (
        first["entries"][0]["time"] >= first["entries"][1]["time"] >= second["entries"][0]["time"]
    )
    for bad in ("page=0", "per_page=201", "page=x"):
        status, body = site.call("GET", f"/admin/audit?{bad}", site.editor)
        assert (status, body["error"]["code"]) == (400, "invalid_parameter"), bad
    text = "".join(p.read_text(encoding="utf-8") for p in (site.state / "audit").glob("*.jsonl"))
    for token in (site.editor, site.publisher, site.admin):
        assert token["Authorization"].split()[1] not in text
    assert BREAK_GLASS not in text


def test_a_server_with_the_admin_api_off_serves_no_admin_route(tmp_path: Path) -> None:
    settings = IndexerSettings(corpus_dir=CORPUS, index_dir=tmp_path / "index")
    build_index(settings)
    env = {"BLMK_ADMIN_API": "off", "BLMK_ADMIN_TOKEN": BREAK_GLASS}
    with serve(["--index", str(settings.index_dir)], env) as base:
        glass = {"Authorization": f"Bearer {BREAK_GLASS}"}
        for method, path in (("GET", "/admin"), ("GET", "/admin/me"), ("POST", "/admin/reindex")):
            data = b"" if method == "POST" else None
            status, body = get_json(f"{base}{path}", method, data, glass)
            assert (status, body["error"]["code"]) == (404, "not_found"), path
        assert get_json(f"{base}/search?q=green+plan")[0] == 200
