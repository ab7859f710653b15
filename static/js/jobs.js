// Job pages (export and import): poll the job's status while it runs, moving the progress
// bar; when it ends show the download link or the error (export), or reload the page to show
// the result (import: data-reload). No inline script, no CDN.
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box) return;
  var url = box.dataset.statusUrl;
  var running = (box.dataset.running || "pending running").split(" ");
  function part(name) {
    return box.querySelector('[data-job="' + name + '"]');
  }
  var bar = part("progress");
  var label = part("status");
  var rows = part("rows");
  var link = part("download");
  var ready = part("ready");
  var failed = part("failed");
  var error = part("error");
  var delay = 500;
  var failures = 0; // in a row: a signed-out session or a server away; give up after 12

  function isRunning(status) {
    return running.indexOf(status) !== -1;
  }

  function show(state) {
    box.dataset.status = state.status;
    if (!isRunning(state.status) && box.dataset.reload) {
      window.location.reload();
      return;
    }
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    label.textContent = state.status_display;
    if (rows && state.rows_total !== null) {
      rows.textContent = state.rows_done + " / " + state.rows_total + " 行";
    }
    if (link && state.download_url) {
      link.href = state.download_url;
      ready.hidden = false;
    }
    if (error && state.error) {
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
        failures = 0;
        show(state);
        if (isRunning(state.status)) {
          delay = Math.min(delay * 1.5, 5000);
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        failures += 1;
        if (failures < 12) window.setTimeout(poll, 5000);
      });
  }

  if (isRunning(box.dataset.status)) poll();
})();
