// The staff page: every action calls the admin API with the staff token typed in, which is
// kept in sessionStorage (this tab only) and sent as an Authorization header, never in a URL.
// What the account's role cannot do is hidden (elements marked data-needs, from GET
// /admin/me); the server refuses it anyway. Deletions send the content hash the page last saw
// (If-Match), so a file someone else changed meanwhile is not deleted unseen. All text from
// the server is inserted with textContent, so nothing in a file name can run.
(function () {
  "use strict";
  var KEY = "blmk-admin-token";
  var message = document.getElementById("admin-message");

  function token() { return sessionStorage.getItem(KEY) || ""; }
  function say(text) { message.textContent = text; }

  function api(method, path, body, headers) {
    var options = { method: method, headers: { "Authorization": "Bearer " + token() } };
    Object.keys(headers || {}).forEach(function (name) { options.headers[name] = headers[name]; });
    if (body !== undefined) { options.body = body; }
    return fetch(path, options).then(function (response) {
      return response.json().then(function (data) {
        if (response.status === 401) {
          sessionStorage.removeItem(KEY);
          showSignIn();
        }
        if (!response.ok) {
          // The error's code goes with its message: some refusals offer a next step.
          var error = new Error(data.error ? data.error.message : response.statusText);
          error.code = data.error ? data.error.code : "";
          throw error;
        }
        return data;
      });
    });
  }

  function showSignIn() {
    var wasSignedIn = !document.getElementById("signed-in").hidden;
    document.getElementById("sign-in").hidden = false;
    document.getElementById("signed-in").hidden = true;
    // Sent back here from the signed-in page (token revoked, or signed out): the keyboard
    // and screen readers land where the next step is.
    if (wasSignedIn) { document.getElementById("admin-token").focus(); }
  }

  var can = {};
  function showSignedIn() {
    api("GET", "/admin/me").then(function (data) {
      can = data.can;
      document.getElementById("account-name").textContent = data.account.name;
      document.getElementById("account-role").textContent = data.account.role;
      document.getElementById("keep-days").textContent = data.keep_days;
      document.querySelectorAll("[data-needs]").forEach(function (element) {
        element.hidden = !can[element.getAttribute("data-needs")];
      });
      document.getElementById("sign-in").hidden = true;
      document.getElementById("signed-in").hidden = false;
      refresh();
      hideForce();  // offered to whoever signed in before, perhaps an admin
      if (can.rules) { loadRules(); loadChecks(); }
    }).catch(function (error) { say(error.message); });
  }

  function documentPath(id) { return id.split("/").map(encodeURIComponent).join("/"); }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  // A job's own report (which has each site of a crawl) is shown as it is, when given;
  // otherwise the last build's, from the server.
  function refresh(report) {
    // Signed out, or sent back to sign in by a 401: asking again with no token would only
    // replace the reason shown (say, a revoked token) with "this route needs a staff token".
    if (!token()) { return; }
    api("GET", "/admin/versions").then(function (data) {
      document.getElementById("current-version").textContent = data.current || "none";
    }).catch(function (error) { say(error.message); });
    if (report) {
      showReport(report);
    } else {
      api("GET", "/admin/report").then(showReport).catch(function () {
        document.getElementById("report-summary").textContent = "No build has run yet.";
        showCrawl(null);
      });
    }
    api("GET", "/admin/documents").then(function (data) {
      var body = document.querySelector("#documents tbody");
      body.replaceChildren();
      data.documents.forEach(function (doc) {
        var row = document.createElement("tr");
        cell(row, doc.id);
        cell(row, Math.max(1, Math.round(doc.bytes / 1024)) + " KB");
        cell(row, doc.modified.slice(0, 10));
        var actions = cell(row, "");
        if (can["documents.change"]) {
          actions.appendChild(button("Delete", "Delete " + doc.id, function () {
            if (!window.confirm("Delete " + doc.id + "? It goes to the trash and leaves search at the next update.")) { return; }
            api("DELETE", "/admin/documents/" + documentPath(doc.id), undefined, { "If-Match": '"' + doc.sha256 + '"' })
              .then(function () { say("Deleted " + doc.id + " (it is in the trash). Update the index to remove it from search."); refresh(); })
              .catch(function (error) { say(error.message); refresh(); });
          }));
        }
        body.appendChild(row);
      });
    }).catch(function (error) { say(error.message); });
    loadTrash();
    loadAudit();
    loadAnalytics();
  }

  function button(text, label, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "button button--secondary";
    element.textContent = text;
    element.setAttribute("aria-label", label);
    element.addEventListener("click", onClick);
    return element;
  }

  function loadTrash() {
    api("GET", "/admin/trash").then(function (data) {
      var table = document.getElementById("trash");
      var body = table.querySelector("tbody");
      body.replaceChildren();
      data.trash.forEach(function (entry) {
        var row = document.createElement("tr");
        cell(row, entry.document);
        cell(row, entry.deleted_at.replace("T", " ").slice(0, 16));
        cell(row, entry.deleted_by);
        var actions = cell(row, "");
        if (can["documents.change"]) {
          actions.appendChild(button("Restore", "Restore " + entry.document, function () {
            api("POST", "/admin/trash/" + encodeURIComponent(entry.id) + "/restore")
              .then(function () { say("Restored " + entry.document + ". Update the index to make it searchable again."); refresh(); })
              .catch(function (error) { say(error.message); });
          }));
        }
        body.appendChild(row);
      });
      table.hidden = data.trash.length === 0;
      document.getElementById("trash-empty").hidden = data.trash.length > 0;
    }).catch(function (error) { say(error.message); });
  }

  function loadAudit() {
    api("GET", "/admin/audit?per_page=50").then(function (data) {
      var body = document.querySelector("#audit tbody");
      body.replaceChildren();
      data.entries.forEach(function (entry) {
        var row = document.createElement("tr");
        cell(row, entry.time.replace("T", " ").slice(0, 19));
        cell(row, entry.account);
        cell(row, entry.action);
        cell(row, entry.target);
        cell(row, entry.outcome + (entry.reason ? ": " + entry.reason : ""));
        body.appendChild(row);
      });
    }).catch(function (error) { say(error.message); });
  }

  // What people search for: the last 12 weeks (or fewer, as many as the server keeps), one
  // shown at a time, chosen in the week list.
  var analytics = null;
  function loadAnalytics() {
    api("GET", "/admin/analytics?weeks=12&limit=50").then(function (data) {
      analytics = data;
      document.getElementById("analytics-min-count").textContent = data.min_count;
      var select = document.getElementById("analytics-week");
      var chosen = select.value;
      select.replaceChildren();
      data.weeks.forEach(function (week) {
        var option = document.createElement("option");
        option.value = week.week;
        option.textContent = "Week starting " + week.starts + " (" + week.week + "): " +
          week.searches + (week.searches === 1 ? " search" : " searches");
        select.appendChild(option);
      });
      if (chosen && data.weeks.some(function (week) { return week.week === chosen; })) {
        select.value = chosen;
      }
      showWeek();
    }).catch(function (error) { say(error.message); });
  }

  function showWeek() {
    var summary = document.getElementById("analytics-summary");
    var label = document.getElementById("analytics-week").value;
    var week = analytics && analytics.weeks.filter(function (w) { return w.week === label; })[0];
    if (!week || week.searches === 0) {
      summary.textContent = "No searches have been counted in this week yet.";
      fillQueries("analytics-top", []);
      fillQueries("analytics-zero", []);
      document.getElementById("analytics-top-none").hidden = true;
      document.getElementById("analytics-zero-none").hidden = true;
      return;
    }
    summary.textContent = week.searches + (week.searches === 1 ? " search, " : " searches, ") +
      week.zero_result_searches + " of them found nothing.";
    document.getElementById("analytics-top-none").hidden = fillQueries("analytics-top", week.top);
    document.getElementById("analytics-zero-none").hidden = fillQueries("analytics-zero", week.zero_results);
  }

  // Fills a table of queries and their counts, hidden when empty; whether it has rows.
  function fillQueries(id, rows) {
    var table = document.getElementById(id);
    var body = table.querySelector("tbody");
    body.replaceChildren();
    rows.forEach(function (item) {
      var row = document.createElement("tr");
      cell(row, item.query);
      cell(row, String(item.count));
      if (can.rules) {
        var actions = cell(row, "");
        actions.className = "table__actions";
        actions.appendChild(button("Add a synonym", "Add a synonym for " + item.query, function () {
          addRuleLine("rules-synonyms", synonymTemplate(item.query));
        }));
        actions.appendChild(button("Add a best bet", "Add a best bet for " + item.query, function () {
          addRuleLine("rules-best-bets", bestBetTemplate(item.query));
        }));
      }
      body.appendChild(row);
    });
    table.hidden = rows.length === 0;
    return rows.length > 0;
  }

  // Search rules: the four rule files as the signed-in editor's draft (or, without one, the
  // published revision), saved, previewed against a search, published as a revision, and any
  // revision restored (/admin/rules). Unsaved typing is never overwritten when the page asks
  // the server again (after a restore, say); Preview and Publish save it as the draft first,
  // since the server previews and publishes the saved draft.
  var RULE_FIELDS = {
    synonyms: "rules-synonyms", best_bets: "rules-best-bets",
    hidden: "rules-hidden", stoplist: "rules-stoplist", checks: "rules-checks"
  };
  var RULE_NAMES = {
    synonyms: "Synonyms", best_bets: "Best bets", hidden: "Hide rules",
    stoplist: "Suggestion deny-list", checks: "Quality checks"
  };
  var BET_STATUS = {
    "scheduled": "Scheduled: not started yet",
    "active": "Active",
    "ending soon": "Ending soon: renew it or let it end",
    "expired": "Expired: no longer shown"
  };
  // The analytics' placeholder for searches that held personal data: no rule is wanted for it.
  var PERSONAL_DATA = "[personal data removed]";
  var JSON_BODY = { "Content-Type": "application/json" };
  var rules = { base: null, current: null, shown: null, ready: null };

  function byId(id) { return document.getElementById(id); }
  function sayIn(id, text) { byId(id).textContent = text; }
  function when(iso) { return iso ? iso.replace("T", " ").slice(0, 16) : ""; }

  function ruleTexts() {
    var texts = {};
    Object.keys(RULE_FIELDS).forEach(function (name) { texts[name] = byId(RULE_FIELDS[name]).value; });
    return texts;
  }

  // Whether the boxes hold something not saved (nor published) yet.
  function edited() {
    if (!rules.shown) { return false; }
    var now = ruleTexts();
    return Object.keys(RULE_FIELDS).some(function (name) { return now[name] !== rules.shown[name]; });
  }

  function loadRules(refill) {
    rules.ready = api("GET", "/admin/rules").then(function (data) { showRules(data, refill); })
      .catch(function (error) { sayIn("rules-draft-message", error.message); });
    return rules.ready;
  }

  function showRules(data, refill) {
    var draft = data.draft;
    var current = data.current;
    if (refill || !edited()) {
      var texts = (draft || current).texts;
      Object.keys(RULE_FIELDS).forEach(function (name) { byId(RULE_FIELDS[name]).value = texts[name] || ""; });
      rules.shown = ruleTexts();
      rules.base = draft ? draft.base : current.number;
    }
    rules.current = current.number;
    showRulesState(draft, current);
    showProblems(data.problems);
    showBets(data.best_bets, Boolean(draft), data.problems);
    loadRevisions();
  }

  function showRulesState(draft, current) {
    var state = byId("rules-state");
    var published = "revision " + current.number + ", published by " + current.published_by +
      " at " + when(current.published_at) + " (UTC)";
    state.replaceChildren();
    if (!draft) {
      state.textContent = "You have no draft: the boxes show the rules in use, " + published + ".";
      return;
    }
    state.textContent = "The boxes show your draft, made from revision " + draft.base +
      " and saved at " + when(draft.saved_at) + " (UTC). In use now: " + published + ".";
    if (draft.base !== current.number) {
      var warning = document.createElement("strong");
      warning.textContent = " Someone has published since your draft was made: compare it with" +
        " the revisions below, then base it on revision " + current.number + " to publish it.";
      state.appendChild(warning);
      state.appendChild(button("Base my draft on revision " + current.number,
        "Base my draft on revision " + current.number, function () {
          rules.base = current.number;
          saveDraft().then(function () {
            sayIn("rules-draft-message", "Your draft is now based on revision " + current.number + ".");
          }).catch(function (error) { sayIn("rules-draft-message", error.message); });
        }));
    }
  }

  function showProblems(problems) {
    var list = byId("rules-problems");
    list.replaceChildren();
    var errors = problems.filter(function (p) { return p.severity === "error"; }).length;
    var warnings = problems.length - errors;
    sayIn("rules-problems-summary", problems.length === 0 ? "No problems found." :
      plural(errors, "error") + " (to fix before publishing) and " + plural(warnings, "warning") + ".");
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.className = "problem problem--" + (problem.severity === "error" ? "error" : "warning");
      var kind = document.createElement("strong");
      kind.textContent = problem.severity === "error" ? "Error" : "Warning";
      item.appendChild(kind);
      // The messages start with the file's name, which is said here in the editors' words.
      var text = problem.message.indexOf(problem.file + ": ") === 0 ?
        problem.message.slice(problem.file.length + 2) : problem.message;
      item.appendChild(document.createTextNode(" in " + (RULE_NAMES[problem.file] || problem.file) +
        ": " + text));
      list.appendChild(item);
    });
    list.hidden = problems.length === 0;
  }

  function plural(count, word, words) { return count + " " + (count === 1 ? word : words || word + "s"); }

  function showBets(bets, fromDraft, problems) {
    var table = byId("rules-bets");
    var body = table.querySelector("tbody");
    body.replaceChildren();
    sayIn("rules-bets-caption", fromDraft ? "Best bets in your draft" : "Best bets in use now");
    bets.forEach(function (bet) {
      var row = document.createElement("tr");
      cell(row, bet.queries.join(", "));
      cell(row, bet.documents.join(", "));
      cell(row, bet.from || "any day");
      cell(row, bet.until || "no end");
      var status = cell(row, "");
      var tag = document.createElement("span");
      tag.className = "status status--" + bet.status.replace(" ", "-");
      tag.textContent = BET_STATUS[bet.status] || bet.status;
      status.appendChild(tag);
      body.appendChild(row);
    });
    table.hidden = bets.length === 0;
    var unreadable = problems.some(function (p) { return p.file === "best_bets" && p.severity === "error"; });
    var none = byId("rules-bets-none");
    none.hidden = bets.length > 0;
    none.textContent = unreadable ? "The best bets cannot be listed until their problems are fixed." : "There are no best bets.";
    // Said outside the rules too (the section may be closed): campaigns about to end or over.
    var ending = bets.filter(function (bet) { return bet.status === "ending soon"; }).length;
    var expired = bets.filter(function (bet) { return bet.status === "expired"; }).length;
    var alert = byId("rules-bets-alert");
    alert.hidden = ending + expired === 0;
    alert.textContent = "Best bets to check: " + [
      ending ? plural(ending, "best bet") + " ending soon" : "",
      expired ? plural(expired, "best bet") + " expired" : ""
    ].filter(Boolean).join(", ") + ".";
  }

  function saveDraft() {
    var texts = ruleTexts();
    return api("PUT", "/admin/rules/draft", JSON.stringify({ base: rules.base, texts: texts }), JSON_BODY)
      .then(function (data) {
        rules.shown = texts;
        return loadRules().then(function () { return data; });
      });
  }

  function loadRevisions() {
    api("GET", "/admin/rules/revisions").then(function (data) {
      var body = document.querySelector("#rules-revisions tbody");
      body.replaceChildren();
      data.revisions.forEach(function (revision) {
        var row = document.createElement("tr");
        var number = String(revision.number);
        if (revision.number === rules.current) { number += " (in use)"; }
        if (revision.restored_from) { number += " (restores " + revision.restored_from + ")"; }
        cell(row, number);
        cell(row, when(revision.published_at));
        cell(row, revision.published_by);
        cell(row, revision.message);
        var actions = cell(row, "");
        actions.className = "table__actions";
        actions.appendChild(button("Show changes", "Show the changes of revision " + revision.number,
          function () { showChanges(revision.number); }));
        if (revision.number !== rules.current) {
          actions.appendChild(button("Restore", "Restore revision " + revision.number,
            function () { restore(revision.number); }));
        }
        body.appendChild(row);
      });
    }).catch(function (error) { sayIn("rules-publish-message", error.message); });
  }

  function showChanges(number) {
    api("GET", "/admin/rules/revisions/" + number).then(function (data) {
      var changed = Object.keys(RULE_FIELDS).map(function (name) { return data.diff[name]; })
        .filter(Boolean);
      sayIn("rules-diff-title", "Changes in revision " + number +
        (data.restored_from ? " (revision " + data.restored_from + " restored)" : ""));
      var pre = byId("rules-diff");
      pre.textContent = changed.length ? changed.join("\n") : "This revision changed no file.";
      byId("rules-diff-box").hidden = false;
      pre.focus();
    }).catch(function (error) { sayIn("rules-publish-message", error.message); });
  }

  // A restore or publish with ``force`` ({reason}) is one an admin sends again after the
  // quality checks refused it.
  function restore(number, force) {
    if (!force && !window.confirm("Publish the rules of revision " + number + " again? Every search uses them within seconds.")) { return; }
    sayIn("rules-publish-message", "");
    hideForce();
    var body = force ? JSON.stringify({ force: true, reason: force.reason }) : undefined;
    api("POST", "/admin/rules/revisions/" + number + "/restore", body, force ? JSON_BODY : undefined).then(function (data) {
      sayIn("rules-publish-message", "Restored revision " + number + " as revision " +
        data.revision.number + (force ? ", although it fails the quality checks" : "") +
        ". Searches use it within seconds.");
      loadRules();
      afterPublishing();
    }).catch(function (error) {
      sayIn("rules-publish-message", error.message);
      if (error.code === "checks_failed") {
        offerForce("revision " + number, function (again) { restore(number, again); });
      }
      afterPublishing();
    });
  }

  function publish(force) {
    var note = byId("rules-publish-note");
    sayIn("rules-publish-message", "");
    hideForce();
    (edited() ? saveDraft() : Promise.resolve()).then(function () {
      var body = { base: rules.base, message: note.value };
      if (force) { body.force = true; body.reason = force.reason; }
      return api("POST", "/admin/rules/publish", JSON.stringify(body), JSON_BODY);
    }).then(function (data) {
      note.value = "";
      sayIn("rules-publish-message", "Published revision " + data.revision.number +
        (force ? ", although it fails the quality checks" : "") +
        ". Searches use it within seconds.");
      loadRules(true);
      afterPublishing();
    }).catch(function (error) {
      sayIn("rules-publish-message", error.message);
      if (error.code === "checks_failed") { offerForce("your draft", publish); }
      loadRules();  // someone may have published meanwhile (409): the state line says so
      afterPublishing();
    });
  }

  // A publish or restore, done or refused, has run the checks and made an audit entry.
  function afterPublishing() {
    loadChecks();
    loadAudit();
  }

  // Refused by the quality checks (409 checks_failed): an admin may send it again with a
  // reason; an editor sees only the message. ``again`` is called with {reason}.
  var forceAgain = null;
  function offerForce(what, again) {
    if (!can["index.rebuild"]) { return; }
    forceAgain = again;
    sayIn("rules-force-what", what);
    byId("rules-force-form").hidden = false;
    byId("rules-force-reason").focus();
  }

  function hideForce() {
    forceAgain = null;
    byId("rules-force-form").hidden = true;
    byId("rules-force-reason").value = "";
  }

  // Quality checks (GET /admin/checks): the last run, whatever started it, and its results.
  // How deep the server looks for a check's document (staff.checks.DEPTH).
  var CHECK_DEPTH = 50;
  var CHECK_TRIGGERS = {
    "rules.publish": "before publishing the search rules",
    "rules.restore": "before restoring a revision of the search rules",
    "index.update": "before publishing an index update",
    "index.full": "before publishing a full rebuild of the index",
    "blmk-index": "before publishing a build made on the command line",
    "manual": "from this page"
  };

  function loadChecks() {
    return api("GET", "/admin/checks").then(showChecks)
      .catch(function (error) { sayIn("checks-message", error.message); });
  }

  function showChecks(data) {
    var run = data.last_run;
    var words = [];
    if (data.problem) { words.push("The checks file cannot be read: " + data.problem + "."); }
    if (!run) {
      words.push(data.checks.length === 0 ? "There are no quality checks." :
        plural(data.checks.length, "check") + (data.checks.length === 1 ? " has" : " have") +
        " not run yet.");
    } else {
      var failed = run.results.filter(function (result) { return !result.passed; }).length;
      words.push("Last run " + when(run.ran_at) + " (UTC), " +
        (CHECK_TRIGGERS[run.trigger] || "by " + run.trigger) + ", on index version " +
        (run.version || "none") + ": " + (run.passed ?
          (run.results.length === 0 ? "passed (there were no checks)." :
            "passed, all " + plural(run.results.length, "check") + ".") :
          failed + " of " + plural(run.results.length, "check") + " failed."));
      if (run.forced_by) {
        words.push("Published anyway by " + run.forced_by + ", who gave the reason “" + run.reason + "”.");
      }
    }
    sayIn("checks-summary", words.join(" "));
    var results = run ? run.results.slice() : [];
    // Failures first, each group in the file's order.
    results = results.filter(function (r) { return !r.passed; })
      .concat(results.filter(function (r) { return r.passed; }));
    var table = byId("checks-results");
    var body = table.querySelector("tbody");
    body.replaceChildren();
    results.forEach(function (result) {
      var row = document.createElement("tr");
      cell(row, result.query);
      cell(row, result.document);
      cell(row, String(result.top));
      cell(row, result.place ? String(result.place) : "not in the first " + CHECK_DEPTH);
      var verdict = cell(row, "");
      var tag = document.createElement("span");
      tag.className = "status status--" + (result.passed ? "passed" : "failed");
      tag.textContent = result.passed ? "Passed" : "Failed";
      verdict.appendChild(tag);
      body.appendChild(row);
    });
    table.hidden = results.length === 0;
  }

  function runChecks() {
    var start = byId("checks-run");
    start.disabled = true;
    sayIn("checks-message", "Running the checks…");
    api("POST", "/admin/checks/run").then(function (data) {
      var failed = data.run.results.filter(function (result) { return !result.passed; }).length;
      sayIn("checks-message", data.run.passed ? "The checks passed." :
        plural(failed, "check") + " failed.");
      loadAudit();
      return loadChecks();
    }).catch(function (error) {
      sayIn("checks-message", error.message);
    }).then(function () { start.disabled = false; });
  }

  function preview(q) {
    sayIn("rules-preview-message", "");
    (edited() ? saveDraft() : Promise.resolve()).then(function () {
      return api("GET", "/admin/rules/preview?q=" + encodeURIComponent(q));
    }).then(showPreview).catch(function (error) {
      byId("rules-preview").hidden = true;
      sayIn("rules-preview-message", error.message);
    });
  }

  function resultCell(row, hit) {
    var td = cell(row, hit.title || hit.id);
    if (hit.pinned) { td.appendChild(document.createTextNode(" (best bet)")); }
    var id = document.createElement("span");
    id.className = "result-id";
    id.textContent = hit.id;
    td.appendChild(id);
  }

  function showPreview(data) {
    var moved = {};
    data.changes.draft.forEach(function (change) { moved[change.id] = change; });
    var live = byId("rules-live").querySelector("tbody");
    live.replaceChildren();
    data.live.forEach(function (hit, index) {
      var row = document.createElement("tr");
      cell(row, String(index + 1));
      resultCell(row, hit);
      var change = moved[hit.id];
      cell(row, !change ? "Leaves" : change.change === "same" ? "Same place" :
        (change.change === "up" ? "Up to " : "Down to ") + change.place);
      live.appendChild(row);
    });
    var drafted = byId("rules-with-draft").querySelector("tbody");
    drafted.replaceChildren();
    var differ = 0;
    data.with_draft.forEach(function (hit, index) {
      var change = data.changes.draft[index];
      var row = document.createElement("tr");
      cell(row, String(index + 1));
      resultCell(row, hit);
      var words = { same: "Same", up: "Up from " + change.was, down: "Down from " + change.was, entered: "New" };
      var td = cell(row, words[change.change] || change.change);
      td.className = "change change--" + change.change;
      if (change.change !== "same") { differ += 1; }
      drafted.appendChild(row);
    });
    var titles = {};
    data.live.forEach(function (hit) { titles[hit.id] = hit.title || hit.id; });
    var left = byId("rules-left");
    left.replaceChildren();
    data.changes.left.forEach(function (gone) {
      var item = document.createElement("li");
      item.textContent = titles[gone.id] + " (" + gone.id + "), was " + gone.was;
      left.appendChild(item);
    });
    byId("rules-left-none").hidden = data.changes.left.length > 0;
    var firing = byId("rules-firing");
    firing.replaceChildren();
    data.firing.forEach(function (rule) {
      var item = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = (RULE_NAMES[rule.file] || rule.file) + ": " + rule.rule;
      item.appendChild(name);
      item.appendChild(document.createTextNode(rule.searches.length === 0 ?
        " fires on none of the logged searches." :
        " fires on " + rule.searches.map(function (s) {
          return "“" + s.query + "” (" + plural(s.count, "search", "searches") + ")";
        }).join(", ") + "."));
      firing.appendChild(item);
    });
    byId("rules-firing-none").hidden = data.firing.length > 0;
    [live, drafted].forEach(function (body) {
      if (body.children.length) { return; }
      var row = document.createElement("tr");
      cell(row, "No results.").colSpan = 3;
      body.appendChild(row);
    });
    byId("rules-preview").hidden = false;
    var gone = data.changes.left.length;
    sayIn("rules-preview-message", "Previewed “" + data.query + "”: " +
      (differ + gone === 0 ? "your draft changes nothing on the first page." :
        "with your draft, " + plural(differ, "result") + " of the first page " +
        (differ === 1 ? "is new or moves" : "are new or move") + " and " +
        plural(gone, "result") + " " + (gone === 1 ? "leaves" : "leave") + "."));
  }

  function openRules() {
    byId("rules-toggle").setAttribute("aria-expanded", "true");
    byId("rules-body").hidden = false;
  }

  function synonymTemplate(query) {
    var text = query.replace(/,/g, " ") + ", ";
    return { text: text, caret: text.length };
  }

  function bestBetTemplate(query) {
    // JSON's string escapes are valid in a TOML basic string.
    var head = "[[pin]]\nqueries = [" + JSON.stringify(query) + "]\ndocuments = [";
    return { text: head + "]\n", caret: head.length };
  }

  // From the analytics: a line for the search appended to a rule box, opened and focused with
  // the caret where the rest is to be typed.
  function addRuleLine(id, template) {
    openRules();
    (rules.ready || loadRules()).then(function () {
      var area = byId(id);
      var before = area.value;
      if (before && before.slice(-1) !== "\n") { before += "\n"; }
      if (id === "rules-best-bets" && before) { before += "\n"; }
      area.value = before + template.text;
      area.focus();
      area.setSelectionRange(before.length + template.caret, before.length + template.caret);
      sayIn("rules-draft-message", "Added a line to " + byId(id).labels[0].textContent +
        ": finish it, then save your draft.");
    });
  }

  function showReport(report) {
    var summary = document.getElementById("report-summary");
    if (!report.ok) {
      summary.textContent = "The last build failed at " + report.finished_at + ": " + report.error;
      document.getElementById("report-problems").hidden = true;
      showCrawl(null);
      return;
    }
    var kind = report.crawl ? "Crawl" : report.mode === "full" ? "Full build" : "Update";
    summary.textContent = kind + " finished " + report.finished_at + ": " +
      (report.published === false ? "nothing had changed, so the index stays as it was; " : "") +
      report.indexed + " documents; " + report.added + " added, " + report.changed +
      " changed, " + report.removed + " removed; " + report.skipped.length + " skipped.";
    showCrawl(report);
    var table = document.getElementById("report-problems");
    var body = table.querySelector("tbody");
    body.replaceChildren();
    report.skipped.forEach(function (item) {
      var row = document.createElement("tr");
      cell(row, item.path);
      cell(row, item.code + ": " + item.message);
      body.appendChild(row);
    });
    report.flagged.forEach(function (item) {
      var row = document.createElement("tr");
      cell(row, item.path);
      cell(row, item.notes.join("; "));
      body.appendChild(row);
    });
    table.hidden = body.children.length === 0;
  }

  // A crawl's figures and its web addresses: those skipped, failed or removed, or (with the
  // toggle) every one, each with its outcome and the reason.
  var OUTCOMES = ["fetched", "unchanged", "skipped", "failed", "removed"];
  var NOTABLE = ["skipped", "failed", "removed"];
  var crawlLines = [];
  var allCrawlLines = false;

  function crawlCounts(counts) {
    return OUTCOMES.map(function (outcome) { return (counts[outcome] || 0) + " " + outcome; }).join(", ");
  }

  function showCrawl(report) {
    var box = byId("crawl-report");
    var crawl = report && report.crawl;
    box.hidden = !crawl;
    if (!crawl) { crawlLines = []; return; }
    var text = "Crawl of " + crawl.site + ": " + crawlCounts(crawl.counts) + "; " +
      plural(crawl.requests, "request") + " (" + crawl.conditional + " conditional) in " +
      crawl.seconds.toFixed(1) + " s." +
      (crawl.complete ? "" : " It read only part of the site, so no page counted as missing.");
    if (report.sites && report.sites.length > 1) {
      report.sites.forEach(function (site) {
        text += " " + site.site + ": " + (site.error ? "failed: " + site.error : crawlCounts(site.counts)) + ".";
      });
    }
    sayIn("crawl-summary", text);
    crawlLines = crawl.urls;
    allCrawlLines = false;
    showCrawlLines();
  }

  function showCrawlLines() {
    var notable = crawlLines.filter(function (line) { return NOTABLE.indexOf(line.outcome) >= 0; });
    var shown = allCrawlLines ? crawlLines : notable;
    var rows = shown.map(function (line) {
      var row = document.createElement("tr");
      [line.url, line.outcome, line.message].forEach(function (text) { cell(row, text); });
      return row;
    });
    var table = byId("crawl-urls");
    var body = table.querySelector("tbody");
    body.replaceChildren.apply(body, rows);
    table.hidden = shown.length === 0;
    byId("crawl-urls-none").hidden = shown.length > 0;
    sayIn("crawl-urls-caption", allCrawlLines ? "Every web address the crawl met" :
      "Web addresses skipped, failed or removed");
    var toggle = byId("crawl-urls-toggle");
    toggle.hidden = crawlLines.length === notable.length;
    toggle.setAttribute("aria-expanded", String(allCrawlLines));
    toggle.textContent = allCrawlLines ? "Show only the skipped, failed and removed URLs" :
      "Show all " + crawlLines.length + " URLs";
  }

  var JOB_NAMES = { update: "update", full: "rebuild", crawl: "crawl", url: "crawl" };

  function watch(job) {
    var box = document.getElementById("job");
    var bar = document.getElementById("job-progress");
    var state = document.getElementById("job-state");
    var crawling = job.kind === "crawl" || job.kind === "url";
    box.hidden = false;
    function poll() {
      api("GET", "/admin/jobs/" + job.id).then(function (data) {
        var current = data.job;
        bar.max = Math.max(1, current.progress.total);
        bar.value = current.progress.done;
        state.textContent = current.state + ": " + current.progress.done + " of " +
          current.progress.total + (crawling ? " web addresses and pages" : " files read");
        if (current.state === "succeeded" || current.state === "failed") {
          var done = current.state === "succeeded";
          if (done) {
            say(!crawling ? "The index is updated." : current.report.published ?
              "The crawl is finished and the index is updated." :
              "The crawl is finished: nothing had changed, so the index stays as it was.");
          } else {
            say("The " + JOB_NAMES[current.kind] + " failed: " + current.error);
          }
          refresh(done && current.report ?
            Object.assign({ ok: true, finished_at: current.finished_at }, current.report) : undefined);
        } else {
          setTimeout(poll, 500);
        }
      }).catch(function (error) { say(error.message); });
    }
    poll();
  }

  function reindex(full) {
    startJob("/admin/reindex" + (full ? "?full=true" : ""));
  }

  function startJob(path) {
    api("POST", path)
      .then(function (data) { say("Started."); watch(data.job); })
      .catch(function (error) { say(error.message); });
  }

  document.getElementById("sign-out").addEventListener("click", function () {
    sessionStorage.removeItem(KEY);
    say("Signed out.");
    showSignIn();
  });
  document.getElementById("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = document.getElementById("admin-token");
    sessionStorage.setItem(KEY, field.value);
    field.value = "";
    showSignedIn();
  });
  document.getElementById("reindex").addEventListener("click", function () { reindex(false); });
  document.getElementById("full-rebuild").addEventListener("click", function () { reindex(true); });
  document.getElementById("crawl").addEventListener("click", function () { startJob("/admin/crawl"); });
  document.getElementById("crawl-urls-toggle").addEventListener("click", function () {
    allCrawlLines = !allCrawlLines;
    showCrawlLines();
  });
  document.getElementById("rollback").addEventListener("click", function () {
    api("POST", "/admin/rollback")
      .then(function (data) { say("Now serving " + data.current + "."); refresh(); })
      .catch(function (error) { say(error.message); });
  });
  document.getElementById("analytics-week").addEventListener("change", showWeek);
  document.getElementById("rules-toggle").addEventListener("click", function () {
    var open = this.getAttribute("aria-expanded") !== "true";
    this.setAttribute("aria-expanded", String(open));
    document.getElementById("rules-body").hidden = !open;
  });
  document.getElementById("rules-form").addEventListener("submit", function (event) {
    event.preventDefault();
    saveDraft().then(function (data) {
      var errors = data.problems.filter(function (p) { return p.severity === "error"; }).length;
      sayIn("rules-draft-message", "Draft saved" + (errors ? ", with " + plural(errors, "error") +
        " to fix before publishing." : "."));
    }).catch(function (error) { sayIn("rules-draft-message", error.message); });
  });
  document.getElementById("rules-discard").addEventListener("click", function () {
    if (!window.confirm("Discard your draft? The boxes go back to the rules in use.")) { return; }
    api("DELETE", "/admin/rules/draft").then(function () {
      sayIn("rules-draft-message", "Draft discarded.");
      loadRules(true);
    }).catch(function (error) { sayIn("rules-draft-message", error.message); });
  });
  document.getElementById("rules-preview-form").addEventListener("submit", function (event) {
    event.preventDefault();
    preview(document.getElementById("rules-preview-q").value.trim());
  });
  document.getElementById("rules-publish-form").addEventListener("submit", function (event) {
    event.preventDefault();
    publish();
  });
  document.getElementById("rules-force-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = document.getElementById("rules-force-reason");
    var reason = field.value.trim();
    if (!reason) {
      sayIn("rules-publish-message", "Say why you publish although the checks fail.");
      field.focus();
      return;
    }
    if (forceAgain) { forceAgain({ reason: reason }); }
  });
  document.getElementById("rules-force-cancel").addEventListener("click", function () {
    hideForce();
    document.getElementById("rules-publish-note").focus();
  });
  document.getElementById("checks-run").addEventListener("click", runChecks);
  document.getElementById("upload-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    api("POST", "/admin/documents", new FormData(form))
      .then(function (data) { say("Uploaded " + data.path + ". Update the index to make it searchable."); form.reset(); refresh(); })
      .catch(function (error) { say(error.message); });
  });

  if (token()) { showSignedIn(); } else { showSignIn(); }
}());
