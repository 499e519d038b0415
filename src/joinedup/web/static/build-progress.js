// Live progress on a running build's page (progressive enhancement: without JavaScript
// the page has a "Check progress again" link). Reads the page's JSON twin every few
// seconds, updates the progress line (an aria-live region) and the stage tags, and
// reloads the page once the build has ended so its result is shown.
(function () {
  "use strict";
  var script = document.getElementById("build-progress-script");
  if (!script || !window.fetch) { return; }
  var url = script.getAttribute("data-status-url");
  var seconds = parseInt(script.getAttribute("data-seconds"), 10) || 2;
  var progress = document.getElementById("build-progress");
  var tags = {
    done: ["govuk-tag--green", "Done"],
    running: ["govuk-tag--blue", "Running"],
    stopped: ["govuk-tag--red", "Stopped"],
    waiting: ["govuk-tag--grey", "Waiting"]
  };
  function show(build) {
    if (progress) {
      var text = build.stage_label || "Starting";
      if (build.total > 1) { text += ": " + build.done + " of " + build.total; }
      progress.textContent = text;
    }
    (build.stages || []).forEach(function (s) {
      var row = document.querySelector('#build-stages tr[data-stage="' + s.stage + '"] td');
      var tag = tags[s.status] || tags.waiting;
      if (row) {
        row.innerHTML = "";
        var strong = document.createElement("strong");
        strong.className = "govuk-tag " + tag[0];
        strong.textContent = tag[1];
        row.appendChild(strong);
      }
    });
  }
  function check() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.build) { return; }
        if (data.build.state !== "running") { window.location.reload(); return; }
        show(data.build);
        window.setTimeout(check, seconds * 1000);
      })
      .catch(function () { window.setTimeout(check, seconds * 2000); });
  }
  window.setTimeout(check, seconds * 1000);
})();
