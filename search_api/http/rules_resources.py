"""The editors' relevance controls over HTTP: a draft of the rule files, a preview of what it
would change, publishing it as a numbered revision, and restoring an earlier one.

Thin resources over ``search_api.staff.rules``; every route needs the editor role, and each
change (saving or discarding a draft, publishing, restoring) is audited by ``AuditTrail``.

A publish or restore first runs staff's quality checks (``search_api.staff.checks``) with the
rules about to be published: while one fails nothing is published (409 ``checks_failed``),
unless an admin forces it with ``"force": true`` and a ``"reason"``, which the audit entry
keeps with the failing checks. ``/admin/checks`` shows the checks and their last run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import falcon

from search_api.editorial.best_bets import BestBets
from search_api.editorial.rules import EditorialRules, RuleProblem, RuleTexts
from search_api.engine import SearchService
from search_api.engine.service import SearchRequest
from search_api.errors import ChecksFailed, InvalidRules
from search_api.http.errors import http_error, invalid_parameter
from search_api.http.staff_access import AdminResource, note_change, require_role, signed_in
from search_api.staff.analytics import QueryLog
from search_api.staff.checks import CheckRun, QualityChecks
from search_api.staff.rules import RuleBook, validate

# Logged searches a preview and the checks of a draft look through: the most searched of the
# last weeks kept.
SEARCHES_WEEKS = 12
SEARCHES_LIMIT = 100
PREVIEW_SIZE = 10


def logged_searches(queries: QueryLog) -> list[tuple[str, int]]:
    """The query analytics' most searched queries, summed over the weeks kept."""
    totals: dict[str, int] = {}
    for week in queries.report(SEARCHES_WEEKS, SEARCHES_LIMIT)["weeks"]:
        for item in week["top"]:
            totals[item["query"]] = totals.get(item["query"], 0) + item["count"]
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def compare_results(live: list[str], draft: list[str]) -> dict[str, Any]:
    """Where each document of the draft's results was in the live ones: the same place,
    moved up or down (by how many), or new; and the live ones that left."""
    before = {doc_id: place for place, doc_id in enumerate(live, start=1)}
    rows = []
    for place, doc_id in enumerate(draft, start=1):
        was = before.get(doc_id)
        change = (
            "entered"
            if was is None
            else "same"
            if was == place
            else ("up" if was > place else "down")
        )
        rows.append({"id": doc_id, "place": place, "was": was, "change": change})
    left = [{"id": doc_id, "was": place} for doc_id, place in before.items() if doc_id not in draft]
    return {"draft": rows, "left": left}


class RulesResource(AdminResource):
    roles: ClassVar[Mapping[str, str]] = {
        "GET": "editor",
        "POST": "editor",
        "PUT": "editor",
        "DELETE": "editor",
    }

    def __init__(
        self,
        book: RuleBook,
        service: SearchService,
        queries: QueryLog,
        checks: QualityChecks | None = None,
    ) -> None:
        self.book = book
        self.service = service
        self.queries = queries
        self.checks = checks

    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        return "rules"

    def problems(self, texts: RuleTexts, since: RuleTexts | None = None) -> list[dict[str, Any]]:
        """Errors in all of ``texts``; warnings only for what differs from ``since``, the
        rules published now (read from the book when the caller has not read them)."""
        published = since if since is not None else self.book.current().texts
        return validate(texts, self.service, logged_searches(self.queries), since=published)

    def checked(
        self, req: falcon.Request, body: Mapping[str, Any], texts: RuleTexts, trigger: str
    ) -> CheckRun | None:
        """The quality checks run with ``texts`` on the version served now. A failing run is
        recorded and refused (409) unless an admin forces it with a reason; the run to record
        once the rules are published is returned (None: there are no checks)."""
        if self.checks is None:
            return None
        try:
            run = self.checks.run(self.service, trigger, EditorialRules.parse(texts))
        except ValueError as error:  # the checks file cannot be read (the rules could)
            raise InvalidRules(f"the quality checks cannot be run: {error}") from error
        if not run.results:
            return None
        if run.passed:
            return run
        if body.get("force") is not True:
            self.checks.record.record(run)
            raise ChecksFailed(
                f"{run.failure_message()}; nothing published (an admin may publish anyway with"
                ' "force": true and a "reason")'
            )
        require_role(req, "admin", "publishing rules that fail the quality checks")
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise invalid_parameter("reason", "say why the rules are published despite the checks")
        run = run.forced(signed_in(req).name, reason.strip())
        failing = [result.describe() for result in run.failures()]
        note_change(req, "rules", forced=True, reason=run.reason, failing=failing)
        return run

    def record(self, run: CheckRun | None) -> None:
        if self.checks is not None and run is not None:
            self.checks.record.record(run)


class AdminRules(RulesResource):
    """GET /admin/rules: the published rules, the signed-in editor's draft, and the problems
    of what they would publish."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        current = self.book.current()
        draft = self.book.draft(signed_in(req).name)
        texts = draft.texts if draft else current.texts
        resp.media = {
            "current": current.to_json(),
            "draft": draft.to_json() if draft else None,
            "problems": self.problems(texts, current.texts),
            "best_bets": self.bets(texts),
        }

    def bets(self, texts: RuleTexts) -> list[dict[str, Any]]:
        """The best bets of these texts with their status today (expired, ending soon...);
        none while the file does not parse (the problems say why)."""
        try:
            bets = BestBets.parse(texts.best_bets)
        except ValueError:
            return []
        today = self.service.today()
        return [pin.to_json(today) for pin in bets.every_pin()]


class AdminRulesDraft(RulesResource):
    actions: ClassVar[Mapping[str, str]] = {
        "PUT": "rules.draft.save",
        "DELETE": "rules.draft.discard",
    }

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _json_body(req)
        texts = _texts(body.get("texts"))
        base = _whole_number(body.get("base"), "base")
        draft = self.book.save_draft(signed_in(req).name, texts, base)
        note_change(req, "rules", base=base)
        resp.media = {"draft": draft.to_json(), "problems": self.problems(texts)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.book.discard_draft(signed_in(req).name)
        resp.media = {"draft": None}


class AdminRulesPreview(RulesResource):
    """GET /admin/rules/preview?q=: the first page of results now and with the editor's
    draft, side by side, and the logged searches each changed rule fires on."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q = (req.get_param("q") or "").strip()
        if not q:
            raise invalid_parameter("q", "give the search to preview")
        draft = self.book.draft(signed_in(req).name)
        if draft is None:
            raise http_error("no_draft", "there is no draft to preview: save one first")
        try:
            rules = EditorialRules.parse(draft.texts)
        except RuleProblem as problem:
            raise InvalidRules(f"the draft cannot be read: {problem}") from problem
        request = SearchRequest(q=q, per_page=PREVIEW_SIZE)
        live = self.service.search(request)
        drafted = self.service.search(request, rules=rules)
        resp.media = {
            "query": q,
            "live": _hits(live),
            "with_draft": _hits(drafted),
            "changes": compare_results(
                [hit["id"] for hit in live["results"]], [hit["id"] for hit in drafted["results"]]
            ),
            "firing": self.book.firing(draft.texts, logged_searches(self.queries)),
        }


class AdminRulesPublish(RulesResource):
    actions: ClassVar[Mapping[str, str]] = {"POST": "rules.publish"}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _json_body(req)
        base = _whole_number(body.get("base"), "base")
        message = body.get("message") or ""
        if not isinstance(message, str):
            raise invalid_parameter("message", "must be text")
        account = signed_in(req).name
        draft = self.book.draft(account)
        if draft is None:
            raise http_error("no_draft", "there is no draft to publish: save one first")
        _refuse_errors(self.problems(draft.texts))
        run = self.checked(req, body, draft.texts, "rules.publish")
        revision = self.book.publish(account, base, draft.texts, message)
        self.record(run)
        note_change(req, "rules", revision=revision.number)
        resp.status = falcon.HTTP_201
        resp.media = {"revision": revision.summary(), "diff": self.book.diff(revision.number)}


class AdminRuleRevisions(RulesResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"revisions": [revision.summary() for revision in self.book.revisions()]}


class AdminRuleRevision(RulesResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, number: int) -> None:
        revision = self.book.revision(number)
        resp.media = revision.to_json() | {"diff": self.book.diff(number)}


class AdminRuleRestore(RulesResource):
    actions: ClassVar[Mapping[str, str]] = {"POST": "rules.restore"}

    def on_post(self, req: falcon.Request, resp: falcon.Response, number: int) -> None:
        earlier = self.book.revision(number)
        _refuse_errors(self.problems(earlier.texts))
        body = _json_body(req) if req.content_length else {}
        run = self.checked(req, body, earlier.texts, "rules.restore")
        revision = self.book.restore(number, signed_in(req).name)
        self.record(run)
        note_change(req, "rules", revision=revision.number, restored_from=number)
        resp.status = falcon.HTTP_201
        resp.media = {"revision": revision.summary(), "diff": self.book.diff(revision.number)}


class ChecksResource(RulesResource):
    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        return "checks"

    def quality_checks(self) -> QualityChecks:
        if self.checks is None:  # the app always gives them; a resource made without is a bug
            raise RuntimeError("the checks resources need the quality checks")
        return self.checks


class AdminChecks(ChecksResource):
    """GET /admin/checks: the checks as the file says now, and their last run (and the last
    one that failed, which may be the same)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = self.quality_checks()
        problem = None
        try:
            listed = [check.to_json() for check in checks.checks()]
        except ValueError as error:
            listed, problem = [], str(error)
        last, failing = checks.record.last_run(), checks.record.last_failing()
        resp.media = {
            "checks": listed,
            "problem": problem,
            "last_run": last.to_json() if last else None,
            "last_failing": failing.to_json() if failing else None,
        }


class AdminChecksRun(ChecksResource):
    """POST /admin/checks/run: every check now, on the live version and rules; recorded."""

    actions: ClassVar[Mapping[str, str]] = {"POST": "checks.run"}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = self.quality_checks()
        try:
            run = checks.run(self.service, "manual")
        except ValueError as error:
            raise InvalidRules(f"the quality checks cannot be run: {error}") from error
        checks.record.record(run)
        note_change(req, "checks", passed=run.passed, failing=len(run.failures()))
        resp.media = {"run": run.to_json()}


def _hits(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": hit["id"], "title": hit["title"], "pinned": hit.get("pinned", False)}
        for hit in answer["results"]
    ]


def _refuse_errors(problems: list[dict[str, Any]]) -> None:
    errors = [problem for problem in problems if problem["severity"] == "error"]
    if errors:
        listed = "; ".join(problem["message"] for problem in errors)
        raise InvalidRules(f"{len(errors)} problem(s) to fix first: {listed}", errors)


def _json_body(req: falcon.Request) -> dict[str, Any]:
    if not (req.content_type or "").startswith("application/json"):
        raise http_error("unsupported_media_type", "send the body as application/json")
    body = req.get_media(default_when_empty=None)
    if not isinstance(body, dict):
        raise invalid_parameter("body", "must be a JSON object")
    return body


def _texts(value: Any) -> RuleTexts:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid_parameter("texts", "must be an object of file texts")
    try:
        return RuleTexts.from_dict(value)
    except ValueError as error:
        raise invalid_parameter("texts", str(error)) from error


def _whole_number(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid_parameter(name, "must be a revision number (1 or more)")
    return value
