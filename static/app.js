// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
  // Facet checkboxes and selects marked data-autosubmit submit their form at once.
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      var page = el.form.querySelector("input[name=page]");
      if (page) page.value = "1";
      el.form.submit();
    }
  });
  document.addEventListener("focusin", function (ev) {
    if (ev.target.hasAttribute && ev.target.hasAttribute("data-select-on-focus")) ev.target.select();
  });
  // CPV search-as-you-type: <input data-cpv-suggest> gets a <datalist> from /api/v1/cpv.
  function debounce(fn, ms) {
    var h; return function () { var a = arguments, s = this; clearTimeout(h); h = setTimeout(function () { fn.apply(s, a); }, ms); };
  }
  function attachCpv(input) {
    var list = document.createElement("datalist");
    list.id = (input.id || input.name) + "-cpv-list";
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    input.parentNode.appendChild(list);
    var lang = document.documentElement.lang || "nl";
    input.addEventListener("input", debounce(function () {
      var q = input.value.trim();
      if (q.length < 2) return;
      fetch("/api/v1/cpv?lang=" + lang + "&q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {items: []}; })
        .then(function (data) {
          list.innerHTML = "";
          (data.items || []).forEach(function (it) {
            var o = document.createElement("option");
            o.value = it.code;
            o.label = it.code + " " + it.label;
            o.textContent = it.code + " " + it.label;
            list.appendChild(o);
          });
        }).catch(function () {});
    }, 150));
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-cpv-suggest]"), attachCpv);
  });
  // Printing shows each chart's numbers: open their tables for the print, close them after.
  var openedForPrint = [];
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details.chart-table:not([open])"),
      function (d) { d.open = true; openedForPrint.push(d); });
  });
  window.addEventListener("afterprint", function () {
    openedForPrint.forEach(function (d) { d.open = false; });
    openedForPrint = [];
  });
  // A form came back with errors: put the focus on the first wrong field, so a screen
  // reader reads its label and, through aria-describedby, its error (WCAG 3.3.1); with no
  // field to blame, on the error message itself. On "load", not DOMContentLoaded: the
  // browser's scroll to the URL's #fragment would move the focus back to the page.
  window.addEventListener("load", function () {
    var invalid = document.querySelector("main [aria-invalid=true]");
    var alert = document.querySelector("main .flash-error, main .error[role=alert]");
    if (invalid) {
      invalid.focus();
    } else if (alert) {
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    }
  });
})();
