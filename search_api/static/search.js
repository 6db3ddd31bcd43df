// Enhances the server-rendered search page: suggestions as you type (an ARIA combobox), and
// results, filters, sorting and paging without a full page load, with the URL kept in step so
// back, forward and shared links work. Without this script the page works as plain HTML.
(function () {
  "use strict";
  var DEBOUNCE_MS = 150;

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
    var list = document.createElement("ul");
    list.id = "search-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    input.parentNode.insertBefore(list, input.nextSibling);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    var timer = null, request = null, active = -1;

    function close() {
      list.hidden = true;
      list.replaceChildren();
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function choose(text) {
      input.value = text;
      close();
      load("/?" + new URLSearchParams({ q: text }).toString(), true);
    }
    function highlight(index) {
      var items = list.querySelectorAll("li");
      items.forEach(function (item, i) { item.setAttribute("aria-selected", String(i === index)); });
      active = index;
      if (index >= 0) { input.setAttribute("aria-activedescendant", items[index].id); }
    }
    function show(suggestions) {
      list.replaceChildren();
      suggestions.forEach(function (text, i) {
        var item = document.createElement("li");
        item.id = "suggestion-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = text;
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(text); });
        list.appendChild(item);
      });
      list.hidden = suggestions.length === 0;
      input.setAttribute("aria-expanded", String(suggestions.length > 0));
      active = -1;
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      if (request) { request.abort(); }
      var typed = input.value.trim();
      if (typed.length < 2) { close(); return; }
      timer = setTimeout(function () {
        request = new AbortController();
        fetch("/suggest?" + new URLSearchParams({ q: typed }).toString(), { signal: request.signal })
          .then(function (response) { return response.json(); })
          .then(function (body) { show(body.suggestions || []); })
          .catch(function () {});
      }, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (event) {
      var count = list.querySelectorAll("li").length;
      if (event.key === "ArrowDown" && count) {
        event.preventDefault(); highlight((active + 1) % count);
      } else if (event.key === "ArrowUp" && count) {
        event.preventDefault(); highlight((active - 1 + count) % count);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();  // close the list; keep what was typed
        close();
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault(); choose(list.querySelectorAll("li")[active].textContent);
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  enhance();
}());
