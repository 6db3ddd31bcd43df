"""Editors' drafts and revisions of the rule files, and the checks run before a publish: real
files in a temporary folder, and a real index for the checks."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from indexer import IndexerSettings
from search_api.editorial.rules import RULE_FILES, RuleTexts
from search_api.engine.service import SearchService
from search_api.errors import InvalidRules, NotFound, RuleRevisionNotFound, RulesChanged
from search_api.staff.rules import SERVER_EDIT, RuleBook, firing, validate

SYNONYMS = "# synonyms\njab, vaccination\n"
BEST_BETS = '[[pin]]\nqueries = ["green plan"]\ndocuments = ["pages/green-plan.html"]\n'
STOPLIST = "# never suggested\nrude word\n"
FILE_NAMES = {
    "synonyms": "synonyms.txt",
    "best_bets": "best-bets.toml",
    "hidden": "hidden.toml",
    "stoplist": "suggest-stoplist.txt",
    "checks": "checks.toml",
}
# A document of the sample corpus, for rules that must name one the index has.
KNOWN = "pages/green-plan.html"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path | None]:
    """The rule files as a server reads them; hide rules not written yet (no file)."""
    config = tmp_path / "config"
    config.mkdir()
    (config / FILE_NAMES["synonyms"]).write_text(SYNONYMS, encoding="utf-8")
    (config / FILE_NAMES["best_bets"]).write_text(BEST_BETS, encoding="utf-8")
    (config / FILE_NAMES["stoplist"]).write_text(STOPLIST, encoding="utf-8")
    return {name: config / file_name for name, file_name in FILE_NAMES.items()}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def book(files: dict[str, Path | None], state: Path) -> RuleBook:
    return RuleBook(files, state)


def on_disk(files: dict[str, Path | None]) -> RuleTexts:
    return RuleTexts.from_dict(
        {
            name: path.read_text(encoding="utf-8") if path and path.exists() else ""
            for name, path in files.items()
        }
    )


def with_line(texts: RuleTexts, line: str) -> RuleTexts:
    return RuleTexts.from_dict(texts.as_dict() | {"synonyms": texts.synonyms + line + "\n"})


# -- revisions ------------------------------------------------------------------------------


def test_the_first_look_records_the_files_as_revision_1(
    book: RuleBook, files: dict[str, Path | None], state: Path
) -> None:
    first = book.current()
    assert (first.number, first.published_by, first.restored_from) == (1, SERVER_EDIT, None)
    assert first.texts == RuleTexts(synonyms=SYNONYMS, best_bets=BEST_BETS, stoplist=STOPLIST)
    stored = json.loads((state / "rules" / "revisions" / "1.json").read_text(encoding="utf-8"))
    assert stored["texts"]["best_bets"] == BEST_BETS
    assert [revision.number for revision in book.revisions()] == [1]  # looking adds nothing
    assert first.summary().keys() == {
        "number",
        "published_at",
        "published_by",
        "message",
        "restored_from",
    }
    assert first.to_json()["texts"] == first.texts.as_dict()


def test_a_draft_belongs_to_its_account_until_it_is_discarded(
    book: RuleBook, files: dict[str, Path | None], state: Path
) -> None:
    texts = with_line(book.current().texts, "kids => children")
    saved = book.save_draft("ann", texts, base=1)
    assert book.draft("ann") == saved
    assert book.draft("bob") is None
    assert RuleBook(files, state).draft("ann") == saved  # kept on disk, for every process
    assert saved.to_json() == {
        "account": "ann",
        "base": 1,
        "texts": texts.as_dict(),
        "saved_at": saved.saved_at,
    }
    assert on_disk(files) == book.current().texts  # a draft changes no live file
    book.discard_draft("ann")
    assert book.draft("ann") is None
    book.discard_draft("ann")  # discarding nothing is fine


def test_any_account_name_keeps_its_draft_inside_the_drafts_folder(
    book: RuleBook, state: Path
) -> None:
    names = ["../../escape", "break-glass (BLMK_ADMIN_TOKEN)", ".", "ann@example.org"]
    for name in names:
        book.save_draft(name, RuleTexts(synonyms=name), base=1)
    for name in names:
        draft = book.draft(name)
        assert draft is not None and draft.texts.synonyms == name
    drafts = state / "rules" / "drafts"
    assert len(list(drafts.iterdir())) == len(names)
    assert sorted(p.name for p in state.iterdir()) == ["rules"]


def test_a_draft_is_made_from_a_revision_that_exists(book: RuleBook) -> None:
    with pytest.raises(RuleRevisionNotFound):
        book.save_draft("ann", RuleTexts(), base=2)


def test_publishing_writes_only_the_files_that_changed_and_records_the_diff(
    book: RuleBook, files: dict[str, Path | None]
) -> None:
    before = book.current()
    untouched = {name: files[name].stat().st_ino for name in ("best_bets", "stoplist")}
    texts = with_line(before.texts, "kids => children")
    book.save_draft("ann", texts, base=1)
    revision = book.publish("ann", 1, texts, "Kids find children")
    assert (revision.number, revision.published_by, revision.message) == (
        2,
        "ann",
        "Kids find children",
    )
    assert on_disk(files) == texts
    assert {name: files[name].stat().st_ino for name in untouched} == untouched
    assert not files["hidden"].exists()  # still none: nothing was written to it
    assert book.draft("ann") is None  # published, so the draft is done with
    assert book.current() == revision
    diff = book.diff(2)
    assert diff.keys() == set(RULE_FILES)
    assert "+kids => children\n" in diff["synonyms"]
    assert "--- synonyms (revision 1)" in diff["synonyms"]
    assert diff["best_bets"] == diff["hidden"] == diff["stoplist"] == ""
    leftovers = [p.name for p in files["synonyms"].parent.iterdir()]
    assert sorted(leftovers) == sorted(
        FILE_NAMES[name] for name in ("synonyms", "best_bets", "stoplist")
    )


def test_revision_1_is_diffed_against_nothing(book: RuleBook) -> None:
    diff = book.diff(1)
    assert "+jab, vaccination\n" in diff["synonyms"]
    assert diff["hidden"] == ""


def test_a_last_line_without_a_newline_shows_in_the_diff(book: RuleBook) -> None:
    texts = RuleTexts.from_dict(book.current().texts.as_dict() | {"stoplist": "rude word"})
    book.publish("ann", 1, texts, "")
    assert "\\ No newline at end of file" in book.diff(2)["stoplist"]


def test_a_hand_edit_between_publishes_becomes_a_revision_of_its_own(
    book: RuleBook, files: dict[str, Path | None]
) -> None:
    published = book.publish("ann", 1, with_line(book.current().texts, "gp, doctor"), "GPs")
    hand_edited = BEST_BETS.replace("green plan", "green plan, net zero")
    files["best_bets"].write_text(hand_edited, encoding="utf-8")
    revisions = book.revisions()
    assert [r.number for r in revisions] == [3, 2, 1]
    assert (revisions[0].published_by, revisions[0].texts.best_bets) == (SERVER_EDIT, hand_edited)
    assert book.revision(2) == published  # nothing was lost
    assert "+documents" not in book.diff(3)["best_bets"]
    later = book.publish("bob", 3, with_line(revisions[0].texts, "mk, milton keynes"), "MK")
    assert later.number == 4
    assert on_disk(files).best_bets == hand_edited  # the hand edit stays


def test_line_endings_read_back_as_written(book: RuleBook, files: dict[str, Path | None]) -> None:
    files["synonyms"].write_bytes(b"jab, vaccination\r\ngp, doctor\r\n")
    assert book.current().texts.synonyms == "jab, vaccination\r\ngp, doctor\r\n"
    texts = RuleTexts.from_dict(book.current().texts.as_dict() | {"stoplist": "a\r\nb\r\n"})
    book.publish("ann", 1, texts, "")
    assert [r.number for r in book.revisions()] == [2, 1]  # no edit "found" on the server


def test_publishing_from_a_stale_revision_is_refused_and_writes_nothing(
    book: RuleBook, files: dict[str, Path | None]
) -> None:
    start = book.current().texts
    book.save_draft("bob", with_line(start, "mk, milton keynes"), base=1)
    book.publish("ann", 1, with_line(start, "gp, doctor"), "GPs")
    published = on_disk(files)
    with pytest.raises(RulesChanged) as refused:
        book.publish("bob", 1, with_line(start, "mk, milton keynes"), "MK")
    assert refused.value.code == "rules_changed"
    message = refused.value.message
    assert "revision 2 (ann" in message and "from revision 1" in message and "Reload" in message
    assert on_disk(files) == published
    assert [r.number for r in book.revisions()] == [2, 1]
    assert book.draft("bob") is not None  # kept, to be compared and published again


def test_a_hand_edit_makes_a_draft_stale_too(book: RuleBook, files: dict[str, Path | None]) -> None:
    start = book.current().texts
    files["stoplist"].write_text(STOPLIST + "another\n", encoding="utf-8")
    with pytest.raises(RulesChanged, match=f"revision 2 \\({SERVER_EDIT}"):
        book.publish("ann", 1, with_line(start, "gp, doctor"), "GPs")
    assert on_disk(files).synonyms == SYNONYMS


def test_publishing_from_a_revision_that_does_not_exist_is_not_found(book: RuleBook) -> None:
    with pytest.raises(RuleRevisionNotFound):
        book.publish("ann", 7, RuleTexts(), "")


def test_restoring_a_revision_publishes_its_texts_again(
    book: RuleBook, files: dict[str, Path | None]
) -> None:
    first = book.current().texts
    book.publish("ann", 1, with_line(first, "gp, doctor"), "GPs")
    hidden = f'[[hide]]\ndocuments = ["{KNOWN}"]\n'
    book.publish("bob", 2, RuleTexts(synonyms="mk, milton keynes\n", hidden=hidden), "Clear out")
    assert on_disk(files).hidden == hidden
    restored = book.restore(1, "carol")
    assert (restored.number, restored.restored_from, restored.published_by) == (4, 1, "carol")
    assert "revision 1" in restored.message
    assert on_disk(files) == first
    assert files["hidden"].read_text(encoding="utf-8") == ""  # emptied: no rules, as before
    assert "-mk, milton keynes\n" in book.diff(4)["synonyms"]
    assert book.revision(3).texts.hidden == hidden  # what was replaced can be restored too


@pytest.mark.parametrize("number", [0, 2, -1], ids=["zero", "not yet", "negative"])
def test_a_revision_that_does_not_exist_is_not_found(book: RuleBook, number: int) -> None:
    for call in (book.revision, book.diff, lambda n: book.restore(n, "ann")):
        with pytest.raises(RuleRevisionNotFound) as missing:
            call(number)
        assert isinstance(missing.value, NotFound)
        assert missing.value.code == "rule_revision_not_found"


def test_a_switched_off_file_cannot_be_published_to(
    files: dict[str, Path | None], state: Path
) -> None:
    book = RuleBook(files | {"hidden": None}, state)
    start = book.current().texts
    rules = RuleTexts.from_dict(start.as_dict() | {"hidden": f'[[hide]]\ndocuments = ["{KNOWN}"]'})
    with pytest.raises(InvalidRules) as refused:
        book.publish("ann", 1, rules, "Hide it")
    assert refused.value.code == "invalid_rules"
    assert [p["file"] for p in refused.value.problems] == ["hidden"]
    assert "switched off" in refused.value.message
    assert [r.number for r in book.revisions()] == [1]
    assert on_disk(files) == start
    assert book.publish("ann", 1, with_line(start, "gp, doctor"), "").number == 2


def test_two_books_on_one_state_folder_share_their_revisions(
    files: dict[str, Path | None], state: Path
) -> None:
    here, there = RuleBook(files, state), RuleBook(files, state)
    start = here.current().texts
    here.publish("ann", 1, with_line(start, "gp, doctor"), "GPs")
    assert (there.current().number, there.current().published_by) == (2, "ann")
    there.publish("bob", 2, with_line(there.current().texts, "mk, milton keynes"), "MK")
    assert [(r.number, r.published_by) for r in here.revisions()] == [
        (3, "bob"),
        (2, "ann"),
        (1, SERVER_EDIT),
    ]
    assert on_disk(files) == here.current().texts


def test_concurrent_publishes_never_lose_or_repeat_a_revision(
    files: dict[str, Path | None], state: Path
) -> None:
    editors = [f"editor{n}" for n in range(8)]
    failures: list[BaseException] = []

    def publish(name: str) -> None:
        book = RuleBook(files, state)  # each as its own process would hold it
        try:
            while True:
                current = book.current()
                try:
                    book.publish(name, current.number, with_line(current.texts, name), name)
                    return
                except RulesChanged:
                    continue  # reload and try again, as an editor would
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=publish, args=(name,)) for name in editors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    revisions = RuleBook(files, state).revisions()
    assert [r.number for r in revisions] == list(range(len(editors) + 1, 0, -1))
    assert sorted(r.published_by for r in revisions[:-1]) == editors
    newest = revisions[0].texts.synonyms
    assert all(f"\n{name}\n" in newest for name in editors)  # each built on the one before
    assert on_disk(files) == revisions[0].texts


# -- validation -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checker(
    corpus_settings: IndexerSettings, corpus_build: object, tmp_path_factory: pytest.TempPathFactory
) -> SearchService:
    """The sample corpus's index, served with every rule file switched on."""
    config = tmp_path_factory.mktemp("checked-config")
    return SearchService(
        corpus_settings.index_dir,
        synonyms_file=config / FILE_NAMES["synonyms"],
        best_bets_file=config / FILE_NAMES["best_bets"],
        hidden_file=config / FILE_NAMES["hidden"],
        suggest_stoplist_file=config / FILE_NAMES["stoplist"],
        checks_file=config / FILE_NAMES["checks"],
    )


def errors(problems: list[dict[str, str]]) -> list[str]:
    return [p["message"] for p in problems if p["severity"] == "error"]


def test_the_shipped_rules_have_no_errors(checker: SearchService) -> None:
    config = Path(__file__).resolve().parent.parent / "config"
    shipped = RuleTexts(
        synonyms=(config / "synonyms.txt").read_text(encoding="utf-8"),
        best_bets=(config / "best-bets.toml").read_text(encoding="utf-8"),
        stoplist=(config / "suggest-stoplist.txt").read_text(encoding="utf-8"),
    )
    assert errors(validate(shipped, checker, [])) == []


def test_every_file_that_does_not_parse_is_an_error(checker: SearchService) -> None:
    texts = RuleTexts(
        synonyms="a => b => c\n",
        best_bets=f'[[pin]]\nqueries = ["x"]\ndocuments = ["{KNOWN}"]\nuntil = "soon"\n',
    )
    problems = validate(texts, checker, [])
    assert problems == [
        {
            "file": "synonyms",
            "severity": "error",
            "message": "synonyms: line 1: a one-way line has one =>",
        },
        {
            "file": "best_bets",
            "severity": "error",
            "message": "best_bets: pin 1: 'until' must be a date such as 2025-09-01",
        },
    ]


@pytest.mark.parametrize(
    ("texts", "file", "message"),
    [
        (
            RuleTexts(
                best_bets=f'[[pin]]\nqueries = ["a"]\ndocuments = ["{KNOWN}"]\n'
                '[[pin]]\nqueries = ["b"]\ndocuments = ["news/x.html"]\n'
            ),
            "best_bets",
            "best_bets: pin 2 names news/x.html, which is not in the index",
        ),
        (
            RuleTexts(hidden='[[hide]]\ndocuments = ["news/gone.html"]\n'),
            "hidden",
            "hidden: hide 1 names news/gone.html, which is not in the index",
        ),
        (
            RuleTexts(
                best_bets=f'[[pin]]\nqueries = ["a"]\ndocuments = ["{KNOWN}"]\n'
                "from = 2025-09-01\nuntil = 2025-08-01\n"
            ),
            "best_bets",
            "best_bets: pin 1 ends (2025-08-01) before it starts (2025-09-01), so it never applies",
        ),
        (
            RuleTexts(synonyms="# groups\n\n , ,\n"),
            "synonyms",
            "synonyms: line 3: a group needs at least two entries",
        ),
        (
            RuleTexts(
                checks=f'[[check]]\nquery = "green plan"\ndocument = "{KNOWN}"\n'
                '[[check]]\nquery = "x"\ndocument = "news/gone.html"\ntop = 5\n'
            ),
            "checks",
            "checks: check 2 names news/gone.html, which is not in the index",
        ),
    ],
    ids=[
        "bet for a missing document",
        "hide rule for a missing document",
        "until before from",
        "empty group",
        "check for a missing document",
    ],
)
def test_rules_that_cannot_work_are_errors(
    checker: SearchService, texts: RuleTexts, file: str, message: str
) -> None:
    problems = validate(texts, checker, [])
    assert [(p["file"], p["severity"]) for p in problems] == [(file, "error")]
    assert problems[0]["message"].startswith(message)


def test_rules_for_a_switched_off_file_are_an_error(
    corpus_settings: IndexerSettings, corpus_build: object
) -> None:
    bare = SearchService(corpus_settings.index_dir)  # every rule file switched off
    texts = RuleTexts(hidden=f'[[hide]]\ndocuments = ["{KNOWN}"]\n')
    problems = validate(texts, bare, [])
    assert [(p["file"], p["severity"]) for p in problems] == [("hidden", "error")]
    assert problems[0]["message"].startswith("hidden: this file is switched off")


def test_a_group_of_two_common_words_is_a_warning_with_its_reach(checker: SearchService) -> None:
    documents = checker.health()["documents"]
    care, health = checker.document_frequency("care"), checker.document_frequency("health")
    assert care > health > 0.2 * documents  # what makes the group worth a warning
    searches = [("health visitor", 5), ("care home", 3), ("bins", 9), ("health visitor", 1)]
    problems = validate(RuleTexts(synonyms="jab, vaccination\nhealth, care\n"), checker, searches)
    assert [(p["file"], p["severity"]) for p in problems] == [("synonyms", "warning")]
    message = problems[0]["message"]
    assert message.startswith("synonyms: line 2 joins 'care' (in ")
    assert f"{round(100 * care / documents)}% of the documents, {care} of {documents})" in message
    assert f"'health' (in {round(100 * health / documents)}%" in message
    assert f"{health} of {documents}" in message
    assert "fires on 9 of the logged searches (2 different queries)" in message


@pytest.mark.parametrize(
    ("synonyms", "line"),
    [("# groups\n\nflu jab, flu jabs\n", 3), ("kids => kid\n", 1)],
    ids=["group", "one way"],
)
def test_a_group_of_the_same_words_is_a_warning(
    checker: SearchService, synonyms: str, line: int
) -> None:
    problems = validate(RuleTexts(synonyms=synonyms), checker, [])
    assert [(p["file"], p["severity"]) for p in problems] == [("synonyms", "warning")]
    written = synonyms.strip().splitlines()[-1]
    assert problems[0]["message"].startswith(f"synonyms: line {line}: {written!r} adds nothing")


def test_a_group_with_one_common_word_is_no_warning(checker: SearchService) -> None:
    documents = checker.health()["documents"]
    assert checker.document_frequency("jab") <= 0.2 * documents
    assert checker.document_frequency("care") > 0.2 * documents
    assert validate(RuleTexts(synonyms="jab => care\n"), checker, []) == []


# -- what rules fire on ---------------------------------------------------------------------

SEARCHES = [
    ("kids", 3),
    ("children", 50),
    ("kids activities", 10),
    ("school kid", 1),
    ("Flu Jab!", 7),
    ("flu jabs", 20),
    ("green plan", 4),
]


def test_firing_lists_the_searches_new_rules_fire_on_most_searched_first(
    book: RuleBook,
) -> None:
    current = book.current().texts
    draft = RuleTexts(
        synonyms=current.synonyms + "kids => children\n",
        best_bets=current.best_bets
        + f'[[pin]]\nqueries = ["flu jab", "flu jabs"]\ndocuments = ["{KNOWN}"]\n',
        hidden=f'[[hide]]\ndocuments = ["{KNOWN}"]\nqueries = ["green plan"]\ndemote = true\n',
        stoplist=current.stoplist,
    )
    assert book.firing(draft, SEARCHES) == [
        {
            "file": "synonyms",
            "rule": "kids => children",
            "searches": [
                {"query": "kids activities", "count": 10},
                {"query": "kids", "count": 3},
                {"query": "school kid", "count": 1},
            ],
        },
        {
            "file": "best_bets",
            "rule": "pin 2: flu jab, flu jabs",
            "searches": [{"query": "flu jabs", "count": 20}, {"query": "Flu Jab!", "count": 7}],
        },
        {
            "file": "hidden",
            "rule": f"hide 1: {KNOWN} (demoted)",
            "searches": [{"query": "green plan", "count": 4}],
        },
    ]


def test_firing_leaves_out_unchanged_rules_and_counts_a_changed_one(book: RuleBook) -> None:
    current = book.current().texts
    changed = RuleTexts.from_dict(
        current.as_dict() | {"best_bets": current.best_bets.replace('"green plan"', '"net zero"')}
    )
    assert book.firing(current, SEARCHES) == []
    assert firing(changed, SEARCHES, since=current) == [
        {"file": "best_bets", "rule": "pin 1: net zero", "searches": []}
    ]


def test_a_hide_rule_for_every_search_fires_on_every_search() -> None:
    found = firing(RuleTexts(hidden=f'[[hide]]\ndocuments = ["{KNOWN}"]\n'), SEARCHES)
    assert [hit["query"] for hit in found[0]["searches"]][:2] == ["children", "flu jabs"]
    assert len(found[0]["searches"]) == len(SEARCHES)


def test_a_file_that_does_not_parse_fires_nothing() -> None:
    assert firing(RuleTexts(synonyms="a => b => c\n", best_bets="pin = 3"), SEARCHES) == []
