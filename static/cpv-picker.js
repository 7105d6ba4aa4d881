/* CPV picker: search-as-you-type over /api/v1/cpv?q=, no dependencies.
 *
 * Progressive enhancement of a plain text field holding comma-separated CPV codes:
 *
 *   <div class="cpv-picker" data-cpv-picker data-endpoint="/api/v1/cpv"
 *        data-labels='{"90911200": "Schoonmaakdiensten"}'>
 *     <input type="text" name="cpv" id="f-cpv" value="90911200">
 *   </div>
 *
 * Without JavaScript the officer types the codes. With it, the field is hidden and
 * replaced by chips (one per chosen code, with a remove button) and a search box with
 * a listbox of suggestions (arrow keys, Enter, Escape; ARIA combobox pattern).
 */
(function () {
  "use strict";

  function parseCodes(value) {
    return value.split(/[\s,;|]+/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s.length > 0; });
  }

  function itemsOf(payload) {
    // Accept a bare list or {items: [...]} / {results: [...]}; items {code, label|label_nl|label_en}.
    var list = Array.isArray(payload) ? payload : (payload.items || payload.results || payload.data || []);
    return list.map(function (it) {
      return {
        code: String(it.code || it.id || ""),
        label: String(it.label || it.label_nl || it.label_en || it.name || ""),
      };
    }).filter(function (it) { return it.code; });
  }

  function setup(root, n) {
    var field = root.querySelector("input[name], textarea[name]");
    if (!field) { return; }
    var endpoint = root.getAttribute("data-endpoint") || "/api/v1/cpv";
    var labels = {};
    try { labels = JSON.parse(root.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    var placeholder = root.getAttribute("data-placeholder") || "";
    var removeText = root.getAttribute("data-remove") || "remove";
    var emptyText = root.getAttribute("data-empty") || "";
    var unknownText = root.getAttribute("data-unknown") || "{code}?";

    field.type = "hidden";
    var codes = parseCodes(field.value);

    var chips = document.createElement("ul");
    chips.className = "cpv-chips";
    chips.setAttribute("aria-live", "polite");

    var wrap = document.createElement("div");
    wrap.className = "cpv-search";
    var input = document.createElement("input");
    input.type = "search";
    input.autocomplete = "off";
    input.id = (field.id || "cpv") + "-search";
    input.placeholder = placeholder;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    var listId = "cpv-list-" + n;
    input.setAttribute("aria-controls", listId);
    input.setAttribute("data-testid", "cpv-search");
    var list = document.createElement("ul");
    list.className = "cpv-options";
    list.id = listId;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var problem = document.createElement("p");
    problem.className = "error cpv-unknown";
    problem.id = (field.id || "cpv") + "-unknown";
    problem.setAttribute("role", "alert");
    problem.hidden = true;
    wrap.appendChild(input);
    wrap.appendChild(list);
    wrap.appendChild(problem);
    root.appendChild(chips);
    root.appendChild(wrap);

    // Point the field's <label for> at the search box so clicking the label focuses it.
    if (field.id) {
      var lab = document.querySelector('label[for="' + field.id + '"]');
      if (lab) { lab.setAttribute("for", input.id); }
    }

    var options = [];
    var active = -1;
    var timer = null;
    var seq = 0;

    function sync() { field.value = codes.join(", "); }

    function renderChips() {
      chips.innerHTML = "";
      codes.forEach(function (code) {
        var li = document.createElement("li");
        li.className = "cpv-chip";
        li.setAttribute("data-code", code);
        var text = document.createElement("span");
        text.textContent = code + (labels[code] ? " — " + labels[code] : "");
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "cpv-chip-remove";
        btn.setAttribute("aria-label", removeText + " " + code);
        btn.textContent = "×";
        btn.addEventListener("click", function () {
          codes = codes.filter(function (c) { return c !== code; });
          sync(); renderChips(); input.focus();
        });
        li.appendChild(text);
        li.appendChild(btn);
        chips.appendChild(li);
      });
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(i) {
      var nodes = list.querySelectorAll("[role=option]");
      nodes.forEach(function (node, j) { node.setAttribute("aria-selected", j === i ? "true" : "false"); });
      active = i;
      if (i >= 0 && nodes[i]) {
        input.setAttribute("aria-activedescendant", nodes[i].id);
        nodes[i].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(i) {
      var opt = options[i];
      if (!opt) { return; }
      if (codes.indexOf(opt.code) < 0) { codes.push(opt.code); }
      labels[opt.code] = opt.label;
      sync(); renderChips();
      input.value = "";
      close();
      input.focus();
    }

    function refuse(code) {
      problem.textContent = unknownText.replace("{code}", code);
      problem.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", problem.id);
    }

    function clearProblem() {
      problem.hidden = true;
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }

    function addTyped(code) {
      var url = endpoint + (endpoint.indexOf("?") < 0 ? "?" : "&") + "q=" + code + "&limit=1";
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (payload) {
          var hit = itemsOf(payload).filter(function (it) { return it.code === code; })[0];
          if (!hit) { refuse(code); return; }
          if (codes.indexOf(code) < 0) { codes.push(code); }
          labels[code] = hit.label;
          sync(); renderChips(); input.value = ""; close();
        })
        .catch(function () { refuse(code); });
    }

    function renderOptions() {
      list.innerHTML = "";
      if (!options.length) {
        if (emptyText && input.value.trim().length >= 2) {
          var none = document.createElement("li");
          none.className = "cpv-none";
          none.textContent = emptyText;
          list.appendChild(none);
          list.hidden = false;
        } else {
          close();
        }
        return;
      }
      options.forEach(function (opt, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("data-code", opt.code);
        li.setAttribute("aria-selected", "false");
        var code = document.createElement("strong");
        code.textContent = opt.code;
        li.appendChild(code);
        li.appendChild(document.createTextNode(" " + opt.label));
        if (codes.indexOf(opt.code) >= 0) { li.className = "chosen"; }
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(0);
    }

    function search() {
      var q = input.value.trim();
      if (q.length < 2) { options = []; close(); return; }
      var mine = ++seq;
      var url = endpoint + (endpoint.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q) + "&limit=12";
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (payload) {
          if (mine !== seq) { return; }  // a later keystroke won
          options = itemsOf(payload).slice(0, 12);
          renderOptions();
        })
        .catch(function () { options = []; close(); });
    }

    input.addEventListener("input", function () {
      clearProblem();
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") {
        ev.preventDefault();
        if (list.hidden) { search(); } else { highlight(Math.min(active + 1, options.length - 1)); }
      } else if (ev.key === "ArrowUp") {
        ev.preventDefault(); highlight(Math.max(active - 1, 0));
      } else if (ev.key === "Enter") {
        if (!list.hidden && active >= 0) { ev.preventDefault(); choose(active); }
        else if (/^\d{8}(-\d)?$/.test(input.value.trim())) {
          // A full code typed by hand becomes a chip only when the vocabulary knows it
          // (asked from the same endpoint); an unknown code is refused at once, with why.
          ev.preventDefault();
          addTyped(input.value.trim().slice(0, 8));
        }
      } else if (ev.key === "Escape") {
        close();
      } else if (ev.key === "Backspace" && input.value === "" && codes.length) {
        codes.pop(); sync(); renderChips();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });

    renderChips();
  }

  function init() {
    var roots = document.querySelectorAll("[data-cpv-picker]");
    for (var i = 0; i < roots.length; i++) { setup(roots[i], i); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
