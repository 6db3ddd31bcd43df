"""The search page in a real headless browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, serve

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPO / "var" / "screenshots"

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def base(corpus_build, corpus_settings) -> Iterator[str]:
    env = {"BLMK_SYNONYMS": str(REPO / "config" / "synonyms.txt")}
    with serve(["--index", str(corpus_settings.index_dir)], env) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: `make test` installs it (apt package chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


def serious_violations(page) -> list[str]:
    """The serious and critical accessibility rules axe finds broken on the page as it is."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    return [
        v["id"]
        for v in axe.run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def test_type_see_suggestions_choose_and_see_results(page, base: str) -> None:
    page.goto(f"{base}/")
    page.fill("#search-q", "gre")
    page.wait_for_selector("#search-suggestions li")
    assert page.get_attribute("#search-q", "aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#search-q", "aria-activedescendant") == "search-suggestions-0"
    page.keyboard.press("Escape")
    assert page.is_hidden("#search-suggestions")
    page.fill("#search-q", "green plan")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result-list")
    assert "q=green+plan" in page.url
    assert page.locator(".result mark").count() > 0


def test_a_facet_narrows_and_back_restores(page, base: str) -> None:
    page.goto(f"{base}/?q=green+plan")
    before = page.inner_text(".result-count")
    page.check("input[name=type][value=case-study]")
    page.wait_for_url("**type=case-study**")
    page.wait_for_function(
        "(before) => document.querySelector('.result-count').innerText !== before", arg=before
    )
    assert all(t.startswith("Case study") for t in page.locator(".result__meta").all_inner_texts())
    page.go_back()
    page.wait_for_function(
        "(before) => document.querySelector('.result-count').innerText === before", arg=before
    )


def test_did_you_mean_and_paging(page, base: str) -> None:
    page.goto(f"{base}/?q=mentle+health")
    page.click(".suggestion a")
    page.wait_for_url("**q=mental+health**")
    page.click("a[rel=next]")
    page.wait_for_url("**page=2**")
    assert "Page 2 of" in page.inner_text(".pagination")


def test_the_page_works_without_javascript(browser, base: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/")
    page.fill("#search-q", "waiting lists")
    page.click("button[type=submit]")
    page.wait_for_selector(".result-list")
    assert page.locator(".result").count() == 10
    context.close()


def test_screenshots_desktop_and_320px(browser, base: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, width in (("desktop", 1280), ("mobile-320", 320)):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/?q=green+plan")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
        page.screenshot(path=str(SCREENSHOTS / f"results-{name}.png"), full_page=True)
        context.close()


def test_no_serious_accessibility_violations(page, base: str) -> None:
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    for url in (f"{base}/", f"{base}/?q=green+plan", f"{base}/?q=qwzxqq"):
        page.goto(url)
        results = axe.run(page)
        serious = [
            (v["id"], v["impact"], len(v["nodes"]))
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], f"{url}: {serious}"


def test_the_keyboard_alone_searches_and_filters(page, base: str) -> None:
    page.goto(f"{base}/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "search-q":
            break
    assert page.evaluate("document.activeElement.id") == "search-q"
    page.keyboard.type("vaccination")
    page.wait_for_selector("#search-suggestions li")
    page.keyboard.press("Escape")  # closes the suggestions, keeps the words
    assert page.is_hidden("#search-suggestions") and page.input_value("#search-q") == "vaccination"
    page.keyboard.press("Enter")
    page.wait_for_selector(".result-list")
    page.focus("input[name=type][value=news]")
    page.keyboard.press("Space")
    page.wait_for_url("**type=news**")


def test_a_hostile_document_runs_no_script(browser, tmp_path: Path) -> None:
    from indexer.build import build_index
    from indexer.config import IndexerSettings
    from tests.conftest import write_corpus
    from tests.test_web import HOSTILE

    corpus = write_corpus(tmp_path / "corpus", {"news/hostile.html": HOSTILE})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    with serve(["--index", str(settings.index_dir)]) as url:
        context = browser.new_context()
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{url}/?q=clinic")
        page.goto(f"{url}/?q=%3Cscript%3Ealert(9)%3C/script%3Eclinic")
        page.wait_for_timeout(300)
        assert page.locator(".result").count() >= 1 or "No results" in page.content()
        context.close()
    assert dialogs == []


HOST_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Main website</title></head><body>
<form action="{service}/" method="get" role="search"><label for="site-q">Search</label>
<input id="site-q" name="q" data-blmk-search><button>Search</button></form>
<script src="{service}/static/embed.js" defer></script></body></html>"""


def test_the_embedded_box_suggests_on_another_site(browser, corpus_settings, tmp_path) -> None:
    import functools
    import http.server
    import threading

    from tests.conftest import free_port

    host_port = free_port()
    origin = f"http://127.0.0.1:{host_port}"
    env = {"BLMK_CORS_ORIGINS": origin}
    with serve(["--index", str(corpus_settings.index_dir)], env) as service:
        (tmp_path / "index.html").write_text(HOST_PAGE.format(service=service))
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
        handler.log_message = lambda *args: None
        site = http.server.ThreadingHTTPServer(("127.0.0.1", host_port), handler)
        threading.Thread(target=site.serve_forever, daemon=True).start()
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{origin}/index.html")
            page.fill("#site-q", "waiting")
            page.wait_for_selector("#blmk-suggestions-0 li")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{service}/?q=*")
            page.wait_for_selector(".result-list")
            context.close()
        finally:
            site.shutdown()
            site.server_close()


def test_the_admin_page_uploads_updates_and_rolls_back(browser, tmp_path: Path) -> None:
    from indexer.build import build_index
    from indexer.config import IndexerSettings
    from tests.conftest import get_json, html_page

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus" / "pages", corpus / "pages")
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    upload = tmp_path / "okapi.html"
    upload.write_text(html_page("Okapi clinic", "<p>" + "The okapi clinic opens in Bedford. " * 6))
    env = {"BLMK_ADMIN_TOKEN": "t0ken", "BLMK_REFRESH_SECONDS": "0.1"}
    with serve(["--index", str(settings.index_dir), "--corpus", str(corpus)], env) as url:
        context = browser.new_context()
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{url}/admin")
        page.fill("#admin-token", "t0ken")
        page.click("#token-form button")
        page.wait_for_selector("#documents tbody tr")
        assert "t0ken" not in page.url
        page.set_input_files("#upload-file", str(upload))
        page.select_option("#upload-folder", "news")
        page.click("#upload-form button")
        page.wait_for_selector("text=Uploaded news/okapi.html")
        page.click("#reindex")
        page.wait_for_selector("text=The index is updated.")
        assert page.get_attribute("#job-progress", "value") == "1"
        page.wait_for_timeout(300)
        assert get_json(f"{url}/search?q=okapi")[1]["total"] == 1
        assert serious_violations(page) == []
        page.click("#rollback")
        page.wait_for_selector("text=Now serving")
        page.wait_for_timeout(300)
        assert get_json(f"{url}/search?q=okapi")[1]["total"] == 0
        context.close()
    assert dialogs == []


def test_the_admin_page_shows_what_people_search_for(
    browser, corpus_build, corpus_settings, tmp_path: Path
) -> None:
    from tests.conftest import get_json

    env = {
        "BLMK_ADMIN_TOKEN": "t0ken",
        "BLMK_ANALYTICS_FILE": str(tmp_path / "analytics.json"),
        "BLMK_ANALYTICS_MIN_COUNT": "1",
    }
    with serve(["--index", str(corpus_settings.index_dir)], env) as url:
        context = browser.new_context()
        page = context.new_page()
        # One search on the page, then a filter, the next page and back: still one search.
        page.goto(f"{url}/")
        page.fill("#search-q", "waiting lists")
        page.keyboard.press("Enter")
        page.wait_for_selector(".result-list")
        page.check("input[name=type][value=news]")
        page.wait_for_url("**type=news**")
        page.uncheck("input[name=type][value=news]")
        page.wait_for_function("() => !location.search.includes('type=news')")
        page.click("a[rel=next]")
        page.wait_for_url("**page=2**")
        page.go_back()
        page.wait_for_function("() => !location.search.includes('page=2')")
        for _ in range(2):
            assert get_json(f"{url}/search?q=qwzxqq")[1]["total"] == 0

        page.goto(f"{url}/admin")
        page.fill("#admin-token", "t0ken")
        page.click("#token-form button")
        page.wait_for_selector("#analytics-top tbody tr")
        rows = page.locator("#analytics-top tbody tr").all_inner_texts()
        # The third cell holds the buttons that start a rule for the search.
        assert [row.split("\t")[:2] for row in rows] == [["qwzxqq", "2"], ["waiting lists", "1"]]
        zero = page.locator("#analytics-zero tbody tr").all_inner_texts()
        assert [row.split("\t")[:2] for row in zero] == [["qwzxqq", "2"]]
        assert page.inner_text("#analytics-summary") == "3 searches, 2 of them found nothing."
        assert page.inner_text("#analytics-min-count") == "1"
        # An earlier week, with nothing counted: said in words, no empty tables.
        options = page.locator("#analytics-week option")
        page.select_option("#analytics-week", options.nth(1).get_attribute("value"))
        assert "No searches have been counted" in page.inner_text("#analytics-summary")
        assert page.is_hidden("#analytics-top") and page.is_hidden("#analytics-zero")
        assert serious_violations(page) == []
        context.close()


# Staff accounts on the admin page: accounts made with the real blmk-admin, a real blmk-serve
# over a copy of the sample corpus sharing their state folder, the page driven as staff do.
DELETED = "pages/anchor-institutions.html"


@dataclass
class StaffSite:
    base: str
    corpus: Path
    state: Path
    tokens: dict[str, str]  # account name -> token

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture(scope="module")
def staff_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffSite]:
    from indexer.build import build_index
    from indexer.config import IndexerSettings
    from tests.conftest import CORPUS

    root = tmp_path_factory.mktemp("staff-page")
    corpus, state = root / "corpus", root / "state"
    shutil.copytree(CORPUS, corpus)
    settings = IndexerSettings(corpus_dir=corpus, index_dir=root / "index", state_dir=state)
    build_index(settings)
    tokens = {
        name: new_token(state, name, role)
        for name, role in (("pat.publisher", "publisher"), ("eve.editor", "editor"))
    }
    env = {"BLMK_STATE_DIR": str(state), "BLMK_REFRESH_SECONDS": "0.1"}
    with serve(["--index", str(settings.index_dir), "--corpus", str(corpus)], env) as url:
        yield StaffSite(url, corpus, state, tokens)


def new_token(state: Path, name: str, role: str) -> str:
    """A new account made with blmk-admin, as an admin makes one; its token."""
    from tests.test_staff_api import blmk_admin

    done = blmk_admin(state, "accounts", "add", name, "--role", role)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def staff_page(browser) -> Iterator[object]:
    """A fresh tab that fails the test on a script error. Refused requests (401, 403) are
    expected here, so Chromium's "Failed to load resource" console lines are not errors."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and errors.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def sign_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/admin")
    page.fill("#admin-token", token)
    page.click("#token-form button")
    page.wait_for_selector("#documents tbody tr")


def table_rows(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(row => Array.from(row.cells, cell => cell.textContent.trim()))",
    )


def test_a_publisher_deletes_restores_and_finds_the_document_again(
    staff_page, staff_site: StaffSite
) -> None:
    expect = playwright_api.expect
    page = staff_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    sign_in(page, staff_site.base, staff_site.tokens["pat.publisher"])
    expect(page.locator(".signed-in-as")).to_contain_text("Signed in as pat.publisher (publisher)")
    expect(page.locator("#reindex")).to_be_visible()
    expect(page.locator("#full-rebuild")).to_be_hidden()
    expect(page.locator("#rollback")).to_be_hidden()

    page.get_by_role("button", name=f"Delete {DELETED}", exact=True).click()
    expect(page.locator("#admin-message")).to_contain_text(f"Deleted {DELETED}")
    assert len(dialogs) == 1 and DELETED in dialogs[0]
    assert not (staff_site.corpus / DELETED).exists()
    expect(page.locator("#documents tbody tr", has_text=DELETED)).to_have_count(0)
    in_trash = page.locator("#trash tbody tr", has_text=DELETED)
    expect(in_trash).to_have_count(1)
    expect(in_trash).to_contain_text("pat.publisher")

    page.get_by_role("button", name=f"Restore {DELETED}", exact=True).click()
    expect(page.locator("#admin-message")).to_contain_text(f"Restored {DELETED}")
    expect(in_trash).to_have_count(0)
    expect(page.locator("#documents tbody tr", has_text=DELETED)).to_have_count(1)
    assert (staff_site.corpus / DELETED).is_file()

    page.click("#reindex")
    expect(page.locator("#admin-message")).to_have_text("The index is updated.", timeout=15_000)
    expect(page.locator("#report-summary")).to_contain_text("Update finished")
    page.wait_for_timeout(300)  # the server moves to a new version within its refresh time

    expect(page.locator("#audit tbody tr", has_text="trash.restore")).to_have_count(1)
    audited = [row[1:] for row in table_rows(page, "#audit")]
    assert ["pat.publisher", "document.delete", DELETED, "done"] in audited
    assert ["pat.publisher", "trash.restore", DELETED, "done"] in audited
    assert all(len(row[0]) == 19 and row[0][10] == " " for row in table_rows(page, "#audit"))
    assert serious_violations(page) == []

    page.goto(f"{staff_site.base}/?q=anchor+institutions")
    titles = page.locator(".result__title").all_inner_texts()
    assert "Anchor institutions" in titles


def test_an_editor_sees_no_changes_and_the_api_refuses_one(
    staff_page, staff_site: StaffSite
) -> None:
    from tests.conftest import get_json

    expect = playwright_api.expect
    page = staff_page
    # Something in the trash, so that a Restore button could show if the page offered one.
    in_trash = "pages/careers.html"
    status, body = get_json(
        f"{staff_site.base}/admin/documents/{in_trash}",
        "DELETE",
        b"",
        staff_site.bearer("pat.publisher"),
    )
    assert status == 200, body
    sign_in(page, staff_site.base, staff_site.tokens["eve.editor"])
    expect(page.locator(".signed-in-as")).to_contain_text("Signed in as eve.editor (editor)")
    expect(page.locator("#trash tbody tr", has_text=in_trash).first).to_be_visible()
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    assert page.locator("#documents tbody tr").count() > 10
    assert page.locator("#documents tbody button").count() == 0
    assert page.locator("#trash tbody button").count() == 0
    expect(page.locator("#upload-form")).to_be_hidden()
    expect(page.locator("#reindex")).to_be_hidden()

    status, body = get_json(
        f"{staff_site.base}/admin/documents/pages/green-plan.html",
        "DELETE",
        b"",
        staff_site.bearer("eve.editor"),
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "publisher role" in body["error"]["message"]
    assert (staff_site.corpus / "pages/green-plan.html").is_file()


def test_a_revoked_token_sends_the_page_back_to_sign_in(staff_page, staff_site: StaffSite) -> None:
    from tests.test_staff_api import blmk_admin

    expect = playwright_api.expect
    page = staff_page
    page.on("dialog", lambda dialog: dialog.accept())
    token = new_token(staff_site.state, "sam.leaver", "publisher")
    sign_in(page, staff_site.base, token)
    expect(page.locator(".signed-in-as")).to_contain_text("Signed in as sam.leaver (publisher)")
    done = blmk_admin(staff_site.state, "accounts", "revoke", "sam.leaver")
    assert done.returncode == 0, done.stderr
    page.wait_for_timeout(500)  # the server re-reads the accounts every 0.1 s here

    page.get_by_role("button", name="Delete pages/green-plan.html", exact=True).click()
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()
    page.wait_for_timeout(300)  # any request the failed delete set off has had its answer
    # The reason stays on the page, and nothing was deleted.
    expect(page.locator("#admin-message")).to_contain_text("this token is not valid")
    assert page.evaluate("sessionStorage.length") == 0
    assert (staff_site.corpus / "pages/green-plan.html").is_file()


# The editors' console for the search rules: a real server reading copies of the rule files
# (the checkout's config/ is never written), editors made with blmk-admin.
RULE_FILES = {
    "BLMK_SYNONYMS": "synonyms.txt",
    "BLMK_BEST_BETS": "best-bets.toml",
    "BLMK_HIDDEN": "hidden.toml",
    "BLMK_SUGGEST_STOPLIST": "suggest-stoplist.txt",
}


@dataclass
class RulesSite:
    base: str
    config: Path
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def rules_site(tmp_path_factory: pytest.TempPathFactory, corpus_build, corpus_settings):
    root = tmp_path_factory.mktemp("rules-console")
    config, state = root / "config", root / "state"
    config.mkdir()
    for name in RULE_FILES.values():
        shutil.copy(REPO / "config" / name, config / name)
    tokens = {name: new_token(state, name, "editor") for name in ("ed.itor", "edna.editor")}
    env = {
        "BLMK_STATE_DIR": str(state),
        "BLMK_REFRESH_SECONDS": "0.2",
        "BLMK_ANALYTICS_MIN_COUNT": "1",
    } | {variable: str(config / name) for variable, name in RULE_FILES.items()}
    with serve(["--index", str(corpus_settings.index_dir)], env) as url:
        yield RulesSite(url, config, tokens)


def open_rules(page, site: RulesSite, account: str) -> None:
    """Signed in, with the rules loaded (the published revision is listed)."""
    sign_in(page, site.base, site.tokens[account])
    page.wait_for_selector("#rules-revisions tbody tr", state="attached")


def public_titles(page, base: str, query: str) -> list[str]:
    page.goto(f"{base}/?q={query}")
    page.wait_for_selector(".result-list, .no-results")
    return page.locator(".result__title").all_inner_texts()


def test_an_editor_previews_publishes_and_restores_a_synonym(
    staff_page, rules_site: RulesSite
) -> None:
    from tests.conftest import get_json

    expect = playwright_api.expect
    page = staff_page
    page.on("dialog", lambda dialog: dialog.accept())
    synonyms = rules_site.config / "synonyms.txt"
    original = synonyms.read_text(encoding="utf-8")
    assert get_json(f"{rules_site.base}/search?q=quokka")[1]["total"] == 0  # logged, found nothing
    before = public_titles(page, rules_site.base, "quokka")

    open_rules(page, rules_site, "ed.itor")
    expect(page.locator("#rules-body")).to_be_hidden()
    # From the searches that found nothing: the rules open on the synonyms, line begun.
    zero = page.locator("#analytics-zero")
    zero.get_by_role("button", name="Add a synonym for quokka", exact=True).click()
    expect(page.locator("#rules-body")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "rules-synonyms"
    assert page.input_value("#rules-synonyms").endswith("\nquokka, ")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type(" => green plan")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#rules-draft-message")).to_have_text("Draft saved.")
    expect(page.locator("#rules-state")).to_contain_text("The boxes show your draft")

    page.fill("#rules-preview-q", "quokka")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#rules-preview")).to_be_visible()
    assert table_rows(page, "#rules-live") == [["No results."]]
    drafted = table_rows(page, "#rules-with-draft")
    green = [row for row in drafted if "pages/green-plan.html" in row[1]]
    assert green and green[0][2] == "New", drafted
    assert {row[2] for row in drafted} == {"New"}
    expect(page.locator("#rules-firing")).to_contain_text("Synonyms: quokka => green plan")
    # Searched twice above: once through the API, once on the search page.
    expect(page.locator("#rules-firing")).to_contain_text("“quokka” (2 searches)")
    assert public_titles(page.context.new_page(), rules_site.base, "quokka") == before

    page.fill("#rules-publish-note", "People say quokka for the green plan")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#rules-publish-message")).to_contain_text("Published revision")
    published = page.locator("#rules-revisions tbody tr").first
    expect(published).to_contain_text("People say quokka for the green plan")
    expect(published).to_contain_text("ed.itor")
    expect(page.locator("#rules-state")).to_contain_text("You have no draft")
    assert "quokka => green plan" in synonyms.read_text(encoding="utf-8")
    number = int(table_rows(page, "#rules-revisions")[0][0].split()[0])
    page.get_by_role("button", name=f"Show the changes of revision {number}").click()
    expect(page.locator("#rules-diff")).to_contain_text("+quokka => green plan")
    assert page.evaluate("document.activeElement.id") == "rules-diff"

    public = page.context.new_page()
    public.wait_for_timeout(500)  # the server re-reads the rule files every 0.2 s here
    assert "Our Green Plan" in public_titles(public, rules_site.base, "quokka")

    page.get_by_role("button", name=f"Restore revision {number - 1}", exact=True).click()
    expect(page.locator("#rules-publish-message")).to_contain_text(
        f"Restored revision {number - 1} as revision {number + 1}"
    )
    expect(page.locator("#rules-revisions tbody tr").first).to_contain_text(
        f"restores {number - 1}"
    )
    assert synonyms.read_text(encoding="utf-8") == original
    public.wait_for_timeout(500)
    assert public_titles(public, rules_site.base, "quokka") == before
    assert "quokka" not in (REPO / "config" / "synonyms.txt").read_text(encoding="utf-8")


def test_the_rules_console_flags_best_bets_problems_and_conflicts_in_words(
    staff_page, rules_site: RulesSite
) -> None:
    import json
    from datetime import date, timedelta

    from tests.conftest import get_json

    expect = playwright_api.expect
    page = staff_page
    page.on("dialog", lambda dialog: dialog.accept())
    ends = date.today() + timedelta(days=7)
    open_rules(page, rules_site, "edna.editor")
    # The sample's flu campaign ended in 2024: flagged in words, even with the rules closed.
    alert = page.locator("#rules-bets-alert")
    expect(alert).to_have_text("Best bets to check: 1 best bet expired.")
    expect(page.locator("#rules-body")).to_be_hidden()
    page.focus("#rules-toggle")
    page.keyboard.press("Enter")
    expect(page.locator("#rules-body")).to_be_visible()
    assert page.get_attribute("#rules-toggle", "aria-expanded") == "true"
    expired = page.locator("#rules-bets tbody tr", has_text="flu jab")
    expect(expired).to_contain_text("Expired: no longer shown")

    page.locator("#rules-best-bets").press("Control+End")
    page.keyboard.type(
        f'\n\n[[pin]]\nqueries = ["walking group"]\ndocuments = ["pages/green-plan.html"]\n'
        f"until = {ends.isoformat()}\n"
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#rules-draft-message")).to_have_text("Draft saved.")
    expect(page.locator("#rules-bets-caption")).to_have_text("Best bets in your draft")
    ending = page.locator("#rules-bets tbody tr", has_text="walking group")
    expect(ending).to_contain_text("Ending soon")
    expect(ending).to_contain_text(ends.isoformat())
    expect(alert).to_have_text("Best bets to check: 1 best bet ending soon, 1 best bet expired.")

    # A mistake is listed as an error in words, the draft kept, publishing refused.
    page.locator("#rules-hidden").fill('[[hide]]\ndocuments = ["news/none.html"]\n')
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#rules-draft-message")).to_contain_text("with 1 error to fix")
    problem = page.locator("#rules-problems li", has_text="news/none.html")
    expect(problem).to_contain_text("Error in Hide rules:")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#rules-publish-message")).to_contain_text("problem(s) to fix first")

    # Someone else publishes meanwhile: the draft's revision is out of date (409), said so.
    page.locator("#rules-hidden").fill("")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#rules-draft-message")).to_have_text("Draft saved.")
    other = {"Authorization": f"Bearer {rules_site.tokens['ed.itor']}"}
    current = get_json(f"{rules_site.base}/admin/rules", headers=other)[1]
    texts, base = current["current"]["texts"], current["current"]["number"]
    body = json.dumps({"base": base, "texts": texts | {"stoplist": texts["stoplist"] + "zzz\n"}})
    json_body = other | {"Content-Type": "application/json"}
    assert (
        get_json(f"{rules_site.base}/admin/rules/draft", "PUT", body.encode(), json_body)[0] == 200
    )
    published = get_json(
        f"{rules_site.base}/admin/rules/publish", "POST", b'{"base": %d}' % base, json_body
    )
    assert published[0] == 201, published
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#rules-publish-message")).to_contain_text(
        f"Someone published revision {base + 1}"
    )
    rebase = page.get_by_role("button", name=f"Base my draft on revision {base + 1}")
    expect(rebase).to_be_visible()
    rebase.click()
    expect(page.locator("#rules-draft-message")).to_have_text(
        f"Your draft is now based on revision {base + 1}."
    )
    expect(page.locator("#rules-state")).not_to_contain_text("Someone has published")

    page.fill("#rules-preview-q", "walking group")
    page.keyboard.press("Enter")
    expect(page.locator("#rules-preview")).to_be_visible()
    page.locator("#rules-revisions tbody tr").first.get_by_role("button").first.click()
    expect(page.locator("#rules-diff-box")).to_be_visible()
    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "rules-console.png"), full_page=True)

    page.get_by_role("button", name="Discard draft").click()
    expect(page.locator("#rules-draft-message")).to_have_text("Draft discarded.")
    expect(page.locator("#rules-bets tbody tr", has_text="walking group")).to_have_count(0)
    assert "walking group" not in (rules_site.config / "best-bets.toml").read_text()


# The quality checks on the staff page: a server of its own with copies of the rule files and
# a checks file of one check, which a hide rule in a draft breaks.
CHECKED_QUERY = "crisis cafe"
CHECKED_DOCUMENT = "news/2019-10-10-mental-health-crisis-cafe-opens-in-bedford.html"
BREAKING_RULE = f'[[hide]]\nqueries = ["{CHECKED_QUERY}"]\ndocuments = ["{CHECKED_DOCUMENT}"]\n'


@pytest.fixture(scope="module")
def checked_rules_site(tmp_path_factory: pytest.TempPathFactory, corpus_build, corpus_settings):
    root = tmp_path_factory.mktemp("rules-checks")
    config, state = root / "config", root / "state"
    config.mkdir()
    for name in RULE_FILES.values():
        shutil.copy(REPO / "config" / name, config / name)
    (config / "checks.toml").write_text(
        f'[[check]]\nquery = "{CHECKED_QUERY}"\ndocument = "{CHECKED_DOCUMENT}"\ntop = 3\n',
        encoding="utf-8",
    )
    tokens = {
        "cy.editor": new_token(state, "cy.editor", "editor"),
        "ada.admin": new_token(state, "ada.admin", "admin"),
    }
    env = {
        "BLMK_STATE_DIR": str(state),
        "BLMK_REFRESH_SECONDS": "0.2",
        "BLMK_CHECKS": str(config / "checks.toml"),
    } | {variable: str(config / name) for variable, name in RULE_FILES.items()}
    with serve(["--index", str(corpus_settings.index_dir)], env) as url:
        yield RulesSite(url, config, tokens)


def draft_breaking_rule(page) -> None:
    """The rules opened, the hide rule typed in, and the draft published (or tried)."""
    page.click("#rules-toggle")
    page.locator("#rules-hidden").fill(BREAKING_RULE)
    page.get_by_role("button", name="Publish", exact=True).click()


def test_failing_checks_hold_an_editors_publish_and_an_admin_publishes_anyway(
    staff_page, checked_rules_site: RulesSite
) -> None:
    expect = playwright_api.expect
    page = staff_page
    site = checked_rules_site
    hidden = site.config / "hidden.toml"
    original = hidden.read_text(encoding="utf-8")

    open_rules(page, site, "cy.editor")
    summary = page.locator("#checks-summary")
    expect(summary).to_have_text("1 check has not run yet.")
    expect(page.locator("#checks-results")).to_be_hidden()
    page.get_by_role("button", name="Run the checks now").click()
    expect(page.locator("#checks-message")).to_have_text("The checks passed.")
    expect(summary).to_contain_text("from this page")
    expect(summary).to_contain_text("passed, all 1 check.")
    [row] = table_rows(page, "#checks-results")
    assert row[:3] == [CHECKED_QUERY, CHECKED_DOCUMENT, "3"] and row[4] == "Passed", row
    assert int(row[3]) <= 3

    # The editor's draft hides the document from its search: the publish is refused, said so.
    draft_breaking_rule(page)
    checks_text = (site.config / "checks.toml").read_text(encoding="utf-8")
    expect(page.locator("#rules-checks")).to_have_value(checks_text)  # edited like the rules
    message = page.locator("#rules-publish-message")
    expect(message).to_contain_text("1 of 1 quality checks failed")
    expect(message).to_contain_text(CHECKED_DOCUMENT)
    expect(summary).to_contain_text("before publishing the search rules")
    expect(summary).to_contain_text("1 of 1 check failed.")
    assert table_rows(page, "#checks-results") == [
        [CHECKED_QUERY, CHECKED_DOCUMENT, "3", "not in the first 50", "Failed"]
    ]
    expect(page.locator("#rules-force-form")).to_be_hidden()
    assert hidden.read_text(encoding="utf-8") == original

    # An admin's draft is refused too, then published anyway with a reason.
    page.click("#sign-out")
    open_rules(page, site, "ada.admin")
    draft_breaking_rule(page)
    expect(message).to_contain_text("1 of 1 quality checks failed")
    force = page.locator("#rules-force-form")
    expect(force).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "rules-force-reason"
    assert hidden.read_text(encoding="utf-8") == original
    assert serious_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#checks").screenshot(path=str(SCREENSHOTS / "rules-checks-failed.png"))
    reason = "The cafe has closed; its page stays until the trust replaces it"
    page.fill("#rules-force-reason", reason)
    force.get_by_role("button", name="Publish anyway").click()
    expect(message).to_contain_text("although it fails the quality checks")
    expect(force).to_be_hidden()
    expect(summary).to_contain_text(
        f"Published anyway by ada.admin, who gave the reason “{reason}”."
    )
    assert CHECKED_DOCUMENT in hidden.read_text(encoding="utf-8")
    # Newest first: the admin's publish, the admin's refused one, the editor's refused one.
    expect(page.locator("#audit tbody tr", has_text="rules.publish")).to_have_count(3)
    publishes = [row[1:] for row in table_rows(page, "#audit") if row[2] == "rules.publish"]
    assert publishes[0] == ["ada.admin", "rules.publish", "rules", "done"], publishes
    assert [row[0] for row in publishes[1:]] == ["ada.admin", "cy.editor"], publishes
    assert all(row[3].startswith("refused") for row in publishes[1:]), publishes
