// 附件2 intake: when a resident ID or credit code is already known, offer its details
// so the clerk reuses the applicant or enterprise instead of typing them again.
(function () {
  "use strict";
  const form = document.getElementById("intake-form");
  if (!form) return;
  const lookupUrl = form.dataset.lookupUrl;

  function fill(values) {
    Object.entries(values).forEach(([name, value]) => {
      const input = form.elements.namedItem(name);
      if (!input || value === null) return;
      if (input.type === "checkbox") {
        input.checked = Boolean(value);
      } else if (!input.value) {
        input.value = value;
      }
    });
  }

  function watch(fieldName, param, noteId) {
    const input = form.elements.namedItem(fieldName);
    const note = document.getElementById(noteId);
    if (!input || !note) return;
    input.addEventListener("change", async () => {
      note.textContent = "";
      if (!input.value.trim()) return;
      // POST: a resident ID must not travel in a URL (access logs keep URLs).
      const token = form.elements.namedItem("csrfmiddlewaretoken");
      const response = await fetch(lookupUrl, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
        body: new URLSearchParams({ [param]: input.value }),
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const data = await response.json();
      if (data.found && data.visible) {
        fill(data.values);
        note.textContent = "已找到登记信息并自动填入，可核对修改。";
      } else if (data.found) {
        note.textContent = data.message;
      }
    });
  }

  watch("id_number", "id_number", "applicant-lookup-note");
  watch("credit_code", "credit_code", "enterprise-lookup-note");
})();
