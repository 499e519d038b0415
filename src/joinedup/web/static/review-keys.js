// Keyboard-first review (issue 16): on a pair's page, M records a match, N not a match
// and S skips to the next pair. Progressive enhancement: without JavaScript the buttons
// and the link do the same. Single-key shortcuts can be turned off (WCAG 2.1.4): the
// choice is kept in this browser (localStorage), and keys typed into a field never act.
(function () {
  "use strict";
  var KEY = "joinedup-review-shortcuts";
  var setting = document.getElementById("shortcuts-setting");
  var box = document.getElementById("shortcuts");
  if (!setting || !box) { return; }
  var on = true;
  try { on = window.localStorage.getItem(KEY) !== "off"; } catch (e) { on = true; }
  box.checked = on;
  setting.hidden = false;
  box.addEventListener("change", function () {
    on = box.checked;
    try { window.localStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  });
  document.addEventListener("keydown", function (event) {
    if (!on || event.altKey || event.ctrlKey || event.metaKey || event.repeat) { return; }
    var t = event.target;
    var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) {
      return;
    }
    var key = (event.key || "").toLowerCase();
    var target = null;
    if (key === "m") { target = document.getElementById("decide-match"); }
    else if (key === "n") { target = document.getElementById("decide-non-match"); }
    else if (key === "s") { target = document.getElementById("skip-link"); }
    if (!target) { return; }
    event.preventDefault();
    target.click();
  });
}());
