// The embeddable search box: the main website adds this script beside its own search form,
// and the form's text box gets suggestions from this service; the form submits to the
// service's results page. Usage (see the README):
//   <form action="https://SEARCH-HOST/" method="get" role="search">
//     <label for="site-q">Search</label> <input id="site-q" name="q" data-blmk-search>
//     <button>Search</button></form>
//   <script src="https://SEARCH-HOST/static/embed.js" defer></script>
// The search page uses the same combobox through window.BLMKSearchBox.attach.
(function () {
  "use strict";
  var script = document.currentScript;
  var service = new URL(script.src).origin;
  var DEBOUNCE_MS = 150;  // wait for a pause in typing before asking

  function go(text) {
    window.location.href = service + "/?" + new URLSearchParams({ q: text }).toString();
  }

  // Suggestions for one text box: options.listId names the list, options.onChoose gets the
  // chosen text, options.className styles the list (inline styles are used without one).
  function attach(input, options) {
    var onChoose = options.onChoose || go;
    var list = document.createElement("ul");
    list.id = options.listId;
    if (options.className) { list.className = options.className; }
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Search suggestions");
    list.hidden = true;
    if (!options.className) {
      list.style.cssText = "list-style:none;margin:0;padding:0;border:1px solid #425563;" +
        "background:#fff;position:absolute;z-index:1000;min-width:16rem";
    }
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("autocomplete", "off");
    var timer = null, request = null, active = -1;

    function close() {
      list.hidden = true; list.replaceChildren(); active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function choose(text) { close(); onChoose(text); }
    function mark(index) {
      var items = list.querySelectorAll("li");
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", String(i === index));
        if (!options.className) {
          item.style.background = i === index ? "#005eb8" : "";
          item.style.color = i === index ? "#fff" : "";
        }
      });
      active = index;
      if (index >= 0) { input.setAttribute("aria-activedescendant", items[index].id); }
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      if (request) { request.abort(); }
      var typed = input.value.trim();
      if (typed.length < 2) { close(); return; }
      timer = setTimeout(function () {
        request = new AbortController();
        fetch(service + "/suggest?" + new URLSearchParams({ q: typed }).toString(),
              { signal: request.signal, mode: "cors" })
          .then(function (response) { return response.json(); })
          .then(function (body) {
            list.replaceChildren();
            (body.suggestions || []).forEach(function (text, i) {
              var item = document.createElement("li");
              item.id = list.id + "-" + i;
              item.setAttribute("role", "option");
              item.setAttribute("aria-selected", "false");
              if (!options.className) { item.style.cssText = "padding:6px 10px;cursor:pointer"; }
              item.textContent = text;
              item.addEventListener("mousedown", function (event) {
                event.preventDefault(); choose(text);
              });
              list.appendChild(item);
            });
            list.hidden = list.children.length === 0;
            input.setAttribute("aria-expanded", String(!list.hidden));
            active = -1;
          })
          .catch(function () {});
      }, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (event) {
      var count = list.children.length;
      if (event.key === "ArrowDown" && count) { event.preventDefault(); mark((active + 1) % count); }
      else if (event.key === "ArrowUp" && count) {
        event.preventDefault(); mark((active - 1 + count) % count);
      } else if (event.key === "Escape" && !list.hidden) { event.preventDefault(); close(); }
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault(); choose(list.children[active].textContent);
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  window.BLMKSearchBox = { attach: attach };
  document.querySelectorAll("input[data-blmk-search]").forEach(function (input, n) {
    attach(input, { listId: "blmk-suggestions-" + n });
  });
}());
