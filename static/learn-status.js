// Weights page: poll the learning job's progress (GET /api/v1/weights/learn) while it runs.
(function () {
  "use strict";
  function poll(box) {
    var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
    fetch(box.getAttribute("data-url"), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {state: "none"}; })
      .then(function (job) {
        if (job.state === "none") return;
        var step = labels[job.step] || job.step;
        var text = step + (job.total > 1 ? " " + job.done + "/" + job.total : "");
        if (job.state === "done") text = labels.done + ": " + (job.result.message || "");
        if (job.state === "failed") text = labels.failed + ": " + job.error;
        box.textContent = text;
        if (job.state === "running") setTimeout(function () { poll(box); }, 1000);
        else if (box.getAttribute("data-running") === "1") window.location.reload();
      }).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("learn-status");
    if (box) poll(box);
  });
})();
