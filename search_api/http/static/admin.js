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
        if (!response.ok) { throw new Error(data.error ? data.error.message : response.statusText); }
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
    }).catch(function (error) { say(error.message); });
  }

  function documentPath(id) { return id.split("/").map(encodeURIComponent).join("/"); }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function refresh() {
    // Signed out, or sent back to sign in by a 401: asking again with no token would only
    // replace the reason shown (say, a revoked token) with "this route needs a staff token".
    if (!token()) { return; }
    api("GET", "/admin/versions").then(function (data) {
      document.getElementById("current-version").textContent = data.current || "none";
    }).catch(function (error) { say(error.message); });
    api("GET", "/admin/report").then(showReport).catch(function () {
      document.getElementById("report-summary").textContent = "No build has run yet.";
    });
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
      body.appendChild(row);
    });
    table.hidden = rows.length === 0;
    return rows.length > 0;
  }

  function showReport(report) {
    var summary = document.getElementById("report-summary");
    if (!report.ok) {
      summary.textContent = "The last build failed at " + report.finished_at + ": " + report.error;
      return;
    }
    summary.textContent = (report.mode === "full" ? "Full build" : "Update") + " finished " +
      report.finished_at + ": " + report.indexed + " documents; " + report.added + " added, " +
      report.changed + " changed, " + report.removed + " removed; " + report.skipped.length +
      " skipped.";
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

  function watch(job) {
    var box = document.getElementById("job");
    var bar = document.getElementById("job-progress");
    var state = document.getElementById("job-state");
    box.hidden = false;
    function poll() {
      api("GET", "/admin/jobs/" + job.id).then(function (data) {
        var current = data.job;
        bar.max = Math.max(1, current.progress.total);
        bar.value = current.progress.done;
        state.textContent = current.state + ": " + current.progress.done + " of " +
          current.progress.total + " files read";
        if (current.state === "succeeded" || current.state === "failed") {
          say(current.state === "succeeded" ? "The index is updated." : "The update failed: " + current.error);
          refresh();
        } else {
          setTimeout(poll, 500);
        }
      }).catch(function (error) { say(error.message); });
    }
    poll();
  }

  function reindex(full) {
    api("POST", "/admin/reindex" + (full ? "?full=true" : ""))
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
  document.getElementById("rollback").addEventListener("click", function () {
    api("POST", "/admin/rollback")
      .then(function (data) { say("Now serving " + data.current + "."); refresh(); })
      .catch(function (error) { say(error.message); });
  });
  document.getElementById("analytics-week").addEventListener("change", showWeek);
  document.getElementById("upload-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    api("POST", "/admin/documents", new FormData(form))
      .then(function (data) { say("Uploaded " + data.path + ". Update the index to make it searchable."); form.reset(); refresh(); })
      .catch(function (error) { say(error.message); });
  });

  if (token()) { showSignedIn(); } else { showSignIn(); }
}());
