// Enhances the server-rendered search page: suggestions as you type (the combobox of
// embed.js, loaded first), and
// results, filters, sorting and paging without a full page load, with the URL kept in step so
// back, forward and shared links work. Without this script the page works as plain HTML.
(function () {
  "use strict";

  function enhance() {
    var form = document.querySelector("form.search-form");
    var input = document.getElementById("search-q");
    if (!form || !input) { return; }
    setUpSuggestions(form, input);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      load("/?" + new URLSearchParams(new FormData(form)).toString(), true);
    });
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.matches("input[type=checkbox], select")) {
        var params = new URLSearchParams(new FormData(form));
        params.delete("page");
        load("/?" + params.toString(), true);
      }
    });
  }

  // Once: <main> stays while its content is replaced, so one listener serves every load.
  document.querySelector("main").addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (link && link.getAttribute("href") && link.getAttribute("href").indexOf("/?") === 0) {
      event.preventDefault();
      load(link.getAttribute("href"), true);
    }
  });

  var pending = null;
  function load(url, push) {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(url, { signal: pending.signal, headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var main = document.querySelector("main");
        main.replaceChildren.apply(main, Array.from(page.querySelector("main").childNodes));
        document.title = page.title;
        if (push) { history.pushState({}, "", url); }
        enhance();
        var count = document.querySelector(".result-count");
        if (count) { count.setAttribute("tabindex", "-1"); }
      })
      .catch(function (error) { if (error.name !== "AbortError") { window.location = url; } });
  }

  window.addEventListener("popstate", function () {
    load(window.location.pathname + window.location.search, false);
  });

  function setUpSuggestions(form, input) {
    window.BLMKSearchBox.attach(input, {
      listId: "search-suggestions",
      className: "suggestions",
      onChoose: function (text) {
        input.value = text;
        load("/?" + new URLSearchParams({ q: text }).toString(), true);
      }
    });
  }

  enhance();
}());
