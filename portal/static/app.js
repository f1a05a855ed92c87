// Weir portal: small progressive touches. Every page works without this file.
(function () {
  "use strict";

  // Buttons that only make sense with JavaScript.
  function reveal(root) {
    root.querySelectorAll(".js-only[hidden]").forEach(function (el) { el.hidden = false; });
  }

  // Ask before destructive forms (delete, revoke, rollback).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      e.preventDefault();
    }
  });

  // Repeated rows (backends, plugins): add from the <template>, remove in place.
  function nextIndex(group) {
    var max = -1;
    group.querySelectorAll("[data-row-list] [name]").forEach(function (el) {
      var m = /\[(\d+)\]/.exec(el.getAttribute("name"));
      if (m) { max = Math.max(max, parseInt(m[1], 10)); }
    });
    return max + 1;
  }

  document.addEventListener("click", function (e) {
    var add = e.target.closest("[data-add-row]");
    if (add) {
      var group = add.closest("[data-rows]");
      var tpl = group.querySelector("template[data-row-template]");
      var list = group.querySelector("[data-row-list]");
      var html = tpl.innerHTML.replace(/__i__/g, String(nextIndex(group)));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      reveal(row);
      list.appendChild(row);
      var first = row.querySelector("input, select, textarea");
      if (first) { first.focus(); }
      return;
    }
    var remove = e.target.closest("[data-remove-row]");
    if (remove) {
      var r = remove.closest("[data-row]");
      var g = remove.closest("[data-rows]");
      if (r) { r.remove(); }
      var addButton = g && g.querySelector("[data-add-row]");
      if (addButton) { addButton.focus(); }
      return;
    }
    var copy = e.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (!source) { return; }
      var done = function () {
        var label = copy.textContent;
        copy.textContent = "Copied";
        copy.classList.add("copied");
        setTimeout(function () { copy.textContent = label; copy.classList.remove("copied"); }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
      } else {
        source.select();
        try { document.execCommand("copy"); done(); } catch (err) { /* the text stays selected */ }
      }
    }
  });

  // Close the tenant switcher when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.switcher[open]").forEach(function (d) {
      if (!d.contains(e.target)) { d.open = false; }
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      document.querySelectorAll("details.switcher[open]").forEach(function (d) {
        d.open = false;
        d.querySelector("summary").focus();
      });
    }
  });

  // Move focus to the first field with an error, so keyboard and screen reader users land on it.
  function focusFirstError() {
    var bad = document.querySelector("[aria-invalid='true']");
    if (bad) { bad.focus(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { reveal(document); focusFirstError(); });
  } else {
    reveal(document);
    focusFirstError();
  }
})();
