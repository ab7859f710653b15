// Export job page: poll the job's status until it is done or failed, moving the progress
// bar, then show the download link (or the error). No inline script, no CDN.
(function () {
  "use strict";
  var box = document.getElementById("export-job");
  if (!box) return;
  var url = box.dataset.statusUrl;
  var bar = document.getElementById("export-progress");
  var label = document.getElementById("export-status");
  var rows = document.getElementById("export-rows");
  var link = document.getElementById("export-download");
  var ready = document.getElementById("export-ready");
  var failed = document.getElementById("export-failed");
  var error = document.getElementById("export-error");
  var delay = 500;

  function show(state) {
    box.dataset.status = state.status;
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    label.textContent = state.status_display;
    if (state.rows_total !== null) {
      rows.textContent = state.rows_done + " / " + state.rows_total + " 行";
    }
    if (state.download_url) {
      link.href = state.download_url;
      ready.hidden = false;
    }
    if (state.error) {
      error.textContent = state.error;
      failed.hidden = false;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.status === "pending" || state.status === "running") {
          delay = Math.min(delay * 1.5, 5000);
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  if (box.dataset.status === "pending" || box.dataset.status === "running") poll();
})();
