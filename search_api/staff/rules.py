"""Editors' drafts of the relevance rules, and every published state of them as a numbered
revision that can be restored.

The rule files (synonyms, best bets, hide rules, the suggestion stoplist, and the quality
checks a publish must pass) stay where the servers read them, still editable by hand:
publishing writes them, and nothing else here is read by a search. What the book adds lives
under the state folder:

    rules/revisions/<number>.json   each published state of the files, never changed again
    rules/drafts/<account>.json     each account's unpublished draft (the name %-encoded)
    rules/rules.lock                flock held while the book is brought up to date or changed

The live files are the truth. Each time the book is read or changed it first compares them with
the newest revision, and records any difference as a revision of its own, published by
``SERVER_EDIT``: the first look records the files as first found (revision 1), and a hand edit
between two publishes is never lost. ``validate`` and ``firing`` say what a draft would do
before it is published; the HTTP layer calls them, refuses to publish errors and audits every
change.
"""

from __future__ import annotations

import difflib
import errno
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from indexer import FileLock, folded_words, utc_now, utc_stamp, write_atomically
from search_api.editorial.best_bets import pin_key, toml_tables
from search_api.editorial.checks import parse_checks
from search_api.editorial.rules import RULE_FILES, EditorialRules, RuleProblem, RuleTexts
from search_api.editorial.synonyms import Thesaurus, phrase_key
from search_api.engine.service import SearchService
from search_api.errors import InvalidRules, RuleRevisionNotFound, RulesChanged, StorageFull

# Who published a revision that was found in the files rather than published here.
SERVER_EDIT = "edited on the server"
RULES_FOLDER = "rules"
REVISIONS_FOLDER = "revisions"
DRAFTS_FOLDER = "drafts"
LOCK_FILE = "rules.lock"
FILE_FORMAT = 1
# A synonym group joining two entries each found in more than this share of the documents
# widens most searches for either: worth a warning.
COMMON_SHARE = 0.2

_REVISION_FILE = re.compile(r"^([1-9][0-9]*)\.json$")
_FULL = (errno.ENOSPC, errno.EDQUOT)
log = logging.getLogger(__name__)

Problem = dict[str, str]


@dataclass(frozen=True, slots=True)
class RuleRevision:
    number: int  # 1, 2, 3 ... (revision 1: the files as first found)
    texts: RuleTexts
    published_at: str
    published_by: str  # an account name, or SERVER_EDIT
    message: str
    restored_from: int | None

    def summary(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "published_at": self.published_at,
            "published_by": self.published_by,
            "message": self.message,
            "restored_from": self.restored_from,
        }

    def to_json(self) -> dict[str, Any]:
        return self.summary() | {"texts": self.texts.as_dict()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleRevision:
        restored = data.get("restored_from")
        return cls(
            number=int(data["number"]),
            texts=RuleTexts.from_dict(data["texts"]),
            published_at=str(data["published_at"]),
            published_by=str(data["published_by"]),
            message=str(data.get("message", "")),
            restored_from=None if restored is None else int(restored),
        )


@dataclass(frozen=True, slots=True)
class Draft:
    account: str
    base: int  # the revision it was made from
    texts: RuleTexts
    saved_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"texts": self.texts.as_dict()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Draft:
        return cls(
            account=str(data["account"]),
            base=int(data["base"]),
            texts=RuleTexts.from_dict(data["texts"]),
            saved_at=str(data["saved_at"]),
        )


class RuleBook:
    """The rule files with their drafts and revisions, shared by every server process.

    ``files`` says where each of ``RULE_FILES`` is read by the servers (None: switched off, a
    file that stays empty). ``clock`` gives the time revisions are stamped with.
    """

    def __init__(
        self,
        files: Mapping[str, Path | None],
        state_dir: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        unknown = set(files) - set(RULE_FILES)
        if unknown:
            raise ValueError(f"unknown rule files {sorted(unknown)}: choose from {RULE_FILES}")
        self.files = {name: files.get(name) for name in RULE_FILES}
        self.root = state_dir / RULES_FOLDER
        self._revisions = self.root / REVISIONS_FOLDER
        self._drafts = self.root / DRAFTS_FOLDER
        self._clock = clock
        # number -> (the file's (inode, mtime_ns, size), its revision): a listing reads no
        # revision twice, yet sees a state folder that was replaced.
        self._read: dict[int, tuple[tuple[int, int, int], RuleRevision]] = {}

    # -- reading ------------------------------------------------------------------------

    def current(self) -> RuleRevision:
        """The newest revision: what the servers read now."""
        with self._locked():
            return self._up_to_date()

    def revisions(self) -> list[RuleRevision]:
        """Newest first."""
        with self._locked():
            self._up_to_date()
            return [self._revision(number) for number in reversed(self._numbers())]

    def revision(self, number: int) -> RuleRevision:
        with self._locked():
            self._up_to_date()
            return self._revision(number)

    def diff(self, number: int) -> dict[str, str]:
        """What revision ``number`` changed: a unified diff per file against the revision
        before it ("" for a file it left as it was; revision 1 is compared with nothing)."""
        with self._locked():
            self._up_to_date()
            after = self._revision(number)
            before = self._revision(number - 1).texts if number > 1 else RuleTexts()
        return {
            name: _unified_diff(
                getattr(before, name), getattr(after.texts, name), name, number - 1, number
            )
            for name in RULE_FILES
        }

    def firing(self, texts: RuleTexts, searches: Iterable[tuple[str, int]]) -> list[dict]:
        """``firing`` for the rules of ``texts`` that the current revision does not have."""
        return firing(texts, searches, since=self.current().texts)

    # -- drafts -------------------------------------------------------------------------

    def draft(self, account: str) -> Draft | None:
        path = self._draft_path(account)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        try:
            return Draft.from_json(data)
        except (KeyError, TypeError, ValueError) as error:
            log.error("%s is not a draft this service wrote (%s); it is ignored", path, error)
            return None

    def save_draft(self, account: str, texts: RuleTexts, base: int) -> Draft:
        """Keeps ``texts`` as the account's draft, errors and all, in place of any before."""
        self.revision(base)  # a draft is made from a revision that exists
        draft = Draft(account, base, texts, utc_stamp(self._clock()))
        path = self._draft_path(account)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, json.dumps(draft.to_json(), indent=2) + "\n")
        return draft

    def discard_draft(self, account: str) -> None:
        self._draft_path(account).unlink(missing_ok=True)

    # -- publishing ---------------------------------------------------------------------

    def publish(self, account: str, base: int, texts: RuleTexts, message: str) -> RuleRevision:
        """Writes ``texts`` to the live files as the next revision, and drops the account's
        draft. ``base`` is the revision the texts were made from: when someone has published
        since, ``RulesChanged``, and nothing is written."""
        with self._locked():
            current = self._up_to_date()
            if base > current.number:
                raise RuleRevisionNotFound(
                    f"the rules have no revision {base}: the newest is {current.number}"
                )
            if base != current.number:
                raise RulesChanged(
                    f"Someone published revision {current.number} ({current.published_by}, "
                    f"{current.published_at}) since your draft was made from revision {base}. "
                    "Reload, compare your changes with it, and publish again."
                )
            revision = self._publish(current, texts, account, message, restored_from=None)
        self.discard_draft(account)
        return revision

    def restore(self, number: int, account: str) -> RuleRevision:
        """Publishes revision ``number``'s texts again, as a new revision (so a restore can be
        undone the same way). Drafts are left alone: they keep the base they were made from."""
        with self._locked():
            current = self._up_to_date()
            texts = self._revision(number).texts
            return self._publish(
                current, texts, account, f"Restored revision {number}", restored_from=number
            )

    def _publish(
        self,
        current: RuleRevision,
        texts: RuleTexts,
        account: str,
        message: str,
        restored_from: int | None,
    ) -> RuleRevision:
        """Writes the files that change, then records the revision (under the lock). Should
        either fail, the files already written get their old text back."""
        switched_off = _switched_off(texts, self.files)
        if switched_off:
            raise InvalidRules(
                "; ".join(problem["message"] for problem in switched_off), switched_off
            )
        written: list[tuple[Path, str]] = []
        try:
            for name in RULE_FILES:
                path = self.files[name]
                old, new = getattr(current.texts, name), getattr(texts, name)
                if path is not None and new != old:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _write(path, new)
                    written.append((path, old))
            return self._record(texts, account, message, restored_from)
        except BaseException as error:
            for path, old in reversed(written):
                try:
                    _write(path, old)
                except OSError as undo_error:  # the next look records what is there
                    log.error("could not put %s back as it was: %s", path, undo_error)
            if isinstance(error, OSError) and error.errno in _FULL:
                raise StorageFull(
                    "the disk is full: the rules were not published. Try again once space has "
                    "been freed"
                ) from error
            raise

    # -- the state folder ---------------------------------------------------------------

    def _locked(self) -> FileLock:
        return FileLock(self.root / LOCK_FILE)

    def _up_to_date(self) -> RuleRevision:
        """The newest revision, after recording the live files as one when they differ from
        it (under the lock)."""
        numbers = self._numbers()
        newest = self._revision(numbers[-1]) if numbers else None
        live = self._live_texts()
        if newest is not None and newest.texts == live:
            return newest
        message = (
            "The rules as first found on the server"
            if newest is None
            else "The files were changed on the server, outside the admin page"
        )
        return self._record(live, SERVER_EDIT, message, None)

    def _live_texts(self) -> RuleTexts:
        texts: dict[str, str] = {}
        for name, path in self.files.items():
            try:
                # Read as bytes, line endings and all, so what is written reads back the
                # same. An undecodable byte becomes U+FFFD: the servers cannot read such a
                # file either, and the book must still be able to record it.
                data = b"" if path is None else path.read_bytes()
                texts[name] = data.decode("utf-8", errors="replace")
            except FileNotFoundError:
                texts[name] = ""
        return RuleTexts.from_dict(texts)

    def _record(
        self, texts: RuleTexts, account: str, message: str, restored_from: int | None
    ) -> RuleRevision:
        numbers = self._numbers()
        revision = RuleRevision(
            number=(numbers[-1] + 1) if numbers else 1,
            texts=texts,
            published_at=utc_stamp(self._clock()),
            published_by=account,
            message=message,
            restored_from=restored_from,
        )
        self._revisions.mkdir(parents=True, exist_ok=True)
        document = {"format": FILE_FORMAT, **revision.to_json()}
        _write(self._revision_path(revision.number), json.dumps(document, indent=2) + "\n")
        return revision

    def _numbers(self) -> list[int]:
        try:
            names = os.listdir(self._revisions)
        except FileNotFoundError:
            return []
        return sorted(int(found[1]) for name in names if (found := _REVISION_FILE.match(name)))

    def _revision(self, number: int) -> RuleRevision:
        path = self._revision_path(number)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise RuleRevisionNotFound(f"the rules have no revision {number}") from None
        signature = (info.st_ino, info.st_mtime_ns, info.st_size)
        known = self._read.get(number)
        if known is not None and known[0] == signature:
            return known[1]
        revision = RuleRevision.from_json(json.loads(path.read_bytes()))
        self._read[number] = (signature, revision)
        return revision

    def _revision_path(self, number: int) -> Path:
        if number < 1:
            raise RuleRevisionNotFound(f"the rules have no revision {number}: they start at 1")
        return self._revisions / f"{number}.json"

    def _draft_path(self, account: str) -> Path:
        if not account:
            raise ValueError("a draft belongs to an account: the name is empty")
        # Any account name becomes one plain file name ("/" and the like are %-encoded).
        return self._drafts / f"{quote(account, safe='@')}.json"


def _write(path: Path, text: str) -> None:
    write_atomically(path, text, durable=True)


def _unified_diff(before: str, after: str, name: str, old: int, new: int) -> str:
    return "".join(
        difflib.unified_diff(
            _diff_lines(before),
            _diff_lines(after),
            fromfile=f"{name} (revision {old})" if old else f"{name} (none)",
            tofile=f"{name} (revision {new})",
        )
    )


def _diff_lines(text: str) -> list[str]:
    """Lines that each end with a newline, so the diff joins up; a last line without one says
    so, as diff does."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


# -- validation ---------------------------------------------------------------------------


def validate(
    texts: RuleTexts,
    service: SearchService,
    searches: Iterable[tuple[str, int]],
    since: RuleTexts | None = None,
) -> list[Problem]:
    """What is wrong with ``texts`` before it is published, each as ``{"file", "severity",
    "message"}``: errors stop a publish, warnings only ask the editor to think again.

    ``searches`` are the logged searches, (query, times searched), that a warning counts the
    reach of a rule in. With ``since`` (the rules published now), warnings are given only for
    synonym lines that are new or changed: the published ones were thought about already.
    """
    logged = _merged(searches)
    problems = _switched_off(texts, service.rule_files)
    for name in RULE_FILES:
        text = getattr(texts, name)
        try:
            EditorialRules.parse(RuleTexts.from_dict({name: text}))
        except RuleProblem as problem:
            problems.append(_problem(name, f"{problem.file}: {problem.message}"))
            continue
        if name == "synonyms":
            published = {line.text for line in _synonym_lines(since.synonyms)} if since else set()
            problems.extend(_synonym_problems(text, service, logged, published))
        elif name in _TOML_RULES:
            problems.extend(_listed_document_problems(name, text, service))
        elif name == "checks":
            problems.extend(_checked_document_problems(text, service))
    return problems


def _problem(file: str, message: str, severity: str = "error") -> Problem:
    return {"file": file, "severity": severity, "message": message}


def _switched_off(texts: RuleTexts, files: Mapping[str, Path | None]) -> list[Problem]:
    """Rules for a file the servers do not read: publishing them would change nothing."""
    return [
        _problem(
            name,
            f"{name}: this file is switched off in the server's settings, so it cannot hold "
            "rules; empty it, or set where the file is",
        )
        for name in RULE_FILES
        if getattr(texts, name) and files.get(name) is None
    ]


# The TOML files' tables of rules, and how a rule is named ("pin 2", "hide 1").
_TOML_RULES = {"best_bets": "pin", "hidden": "hide"}


def _listed_document_problems(name: str, text: str, service: SearchService) -> list[Problem]:
    """Documents that are not in the index, and periods that end before they start."""
    kind = _TOML_RULES[name]
    problems = []
    for number, entry in enumerate(toml_tables(text, kind), start=1):
        for doc_id in entry.get("documents", []):
            if not service.has_document(doc_id):
                problems.append(
                    _problem(
                        name, f"{name}: {kind} {number} names {doc_id}, which is not in the index"
                    )
                )
        starts, ends = entry.get("from"), entry.get("until")
        if isinstance(starts, date) and isinstance(ends, date) and ends < starts:
            problems.append(
                _problem(
                    name,
                    f"{name}: {kind} {number} ends ({ends}) before it starts "
                    f"({starts}), so it never applies",
                )
            )
    return problems


def _checked_document_problems(text: str, service: SearchService) -> list[Problem]:
    """Checks for documents the index does not have: they could never pass, so every publish
    and build would be held."""
    return [
        _problem(
            "checks",
            f"checks: check {number} names {check.document}, which is not in the index",
        )
        for number, check in enumerate(parse_checks(text), start=1)
        if not service.has_document(check.document)
    ]


@dataclass(frozen=True, slots=True)
class _SynonymLine:
    number: int
    text: str  # as written, spaces tidied
    one_way: bool
    typed: list[str]  # the entries a search may contain
    added: list[str]  # the entries found for them (a group: the same entries)


def _synonym_lines(text: str) -> Iterator[_SynonymLine]:
    for number, line in enumerate(text.splitlines(), start=1):
        line = " ".join(line.split())
        if not line or line.startswith("#"):
            continue
        left, one_way, right = line.partition("=>")
        typed = _entries(left)
        added = _entries(right) if one_way else typed
        yield _SynonymLine(number, line, bool(one_way), typed, added)


def _entries(text: str) -> list[str]:
    return [entry.strip() for entry in text.split(",") if entry.strip()]


def _synonym_problems(
    text: str,
    service: SearchService,
    searches: list[tuple[str, int]],
    published: AbstractSet[str] = frozenset(),
) -> list[Problem]:
    documents = int(service.health()["documents"])
    frequency: dict[tuple[str, ...], int] = {}

    def found_in(entry: str) -> int:  # documents, memoised
        key = phrase_key(entry)
        if key not in frequency:
            frequency[key] = service.document_frequency(entry)
        return frequency[key]

    problems = []
    for line in _synonym_lines(text):
        if line.text in published:
            continue
        typed_keys = {phrase_key(entry) for entry in line.typed}
        added_keys = {phrase_key(entry) for entry in line.added}
        if (not added_keys - typed_keys) if line.one_way else len(typed_keys) < 2:
            # Harmless, so only a warning (a group with no entries does not parse: an error).
            problems.append(
                _problem(
                    "synonyms",
                    f"synonyms: line {line.number}: {line.text!r} adds nothing: its entries "
                    "are the same words once word endings are ignored, which a search finds "
                    "anyway",
                    "warning",
                )
            )
            continue
        if not documents:
            continue
        common = sorted(
            (
                entry
                for entry in dict.fromkeys([*line.typed, *line.added])
                if found_in(entry) > COMMON_SHARE * documents
            ),
            key=found_in,
            reverse=True,
        )
        pair = next(
            (
                (one, other)
                for one in common
                if one in line.typed
                for other in common
                if other in line.added and phrase_key(other) != phrase_key(one)
            ),
            None,
        )
        if pair is None:
            continue
        thesaurus = Thesaurus.parse(line.text)
        fired = [(query, count) for query, count in searches if _fires(thesaurus, query)]
        one, other = (_commonness(entry, found_in(entry), documents) for entry in pair)
        problems.append(
            _problem(
                "synonyms",
                f"synonyms: line {line.number} joins {one} and {other}: words this common "
                f"widen most searches for either. It fires on "
                f"{sum(count for _, count in fired)} of the logged searches "
                f"({len(fired)} different queries).",
                "warning",
            )
        )
    return problems


def _commonness(entry: str, found: int, documents: int) -> str:
    return f"{entry!r} (in {100 * found / documents:.0f}% of the documents, {found} of {documents})"


# -- what rules fire on -------------------------------------------------------------------


def firing(
    texts: RuleTexts, searches: Iterable[tuple[str, int]], since: RuleTexts | None = None
) -> list[dict]:
    """The logged searches each rule of ``texts`` fires on, most searched first, for the
    rules ``since`` does not have (new or changed; by default every rule): ``{"file",
    "rule", "searches": [{"query", "count"}]}``, in the files' order.

    Rules match as the engine matches them: synonym entries found in the query's words, best
    bets and hide rules by the query's words with word endings ignored. A file that does not
    parse is left out (``validate`` says why), and so are the quality checks, which fire on
    no search.
    """
    logged = sorted(_merged(searches), key=lambda pair: (-pair[1], pair[0]))
    before = since or RuleTexts()
    found: list[dict] = []
    for name, rule, fires in _new_rules(texts, before):
        hits = [{"query": query, "count": count} for query, count in logged if fires(query)]
        found.append({"file": name, "rule": rule, "searches": hits})
    return found


def _new_rules(
    texts: RuleTexts, before: RuleTexts
) -> Iterator[tuple[str, str, Callable[[str], bool]]]:
    """(file, description, whether it fires on a query) for each rule not in ``before``."""
    if _parses("synonyms", texts.synonyms):
        known = {line.text for line in _synonym_lines(before.synonyms)}
        for line in _synonym_lines(texts.synonyms):
            if line.text not in known:
                thesaurus = Thesaurus.parse(line.text)
                yield "synonyms", line.text, partial(_fires, thesaurus)
    for name, kind in _TOML_RULES.items():
        text = getattr(texts, name)
        if not _parses(name, text):
            continue
        old = getattr(before, name)
        known_entries = toml_tables(old, kind) if _parses(name, old) else []
        for number, entry in enumerate(toml_tables(text, kind), start=1):
            if entry in known_entries:
                continue
            queries = entry.get("queries") or []
            keys = {pin_key(query) for query in queries}
            if kind == "pin":
                rule = f"pin {number}: {', '.join(queries)}"
            else:
                rule = f"hide {number}: {', '.join(entry.get('documents', []))}"
                rule += " (demoted)" if entry.get("demote") else ""
            yield name, rule, partial(_has_key, frozenset(keys))


def _parses(name: str, text: str) -> bool:
    try:
        EditorialRules.parse(RuleTexts.from_dict({name: text}))
    except RuleProblem:
        return False
    return True


def _fires(thesaurus: Thesaurus, query: str) -> bool:
    return bool(thesaurus.find(folded_words(query)))


def _has_key(keys: frozenset[str], query: str) -> bool:
    """Whether a rule for the searches ``keys`` (none: every search) applies to ``query``."""
    return not keys or pin_key(query) in keys


def _merged(searches: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The searches with each query once, its counts added up."""
    counts: Counter[str] = Counter()
    for query, count in searches:
        counts[query] += count
    return list(counts.items())
