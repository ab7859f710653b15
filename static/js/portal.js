// Small behaviours of every page, bound here rather than in inline on* attributes, which the
// Content Security Policy (script-src 'self') does not run:
//   <button data-print>                         prints the page
//   <input type="checkbox" data-select-all="ids">  ticks every input[name=ids] with it
//   <select data-autosubmit>                    submits its form on change
//   <form data-confirm="question">              asks before submitting
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      var name = target.getAttribute("data-select-all");
      document.querySelectorAll('input[name="' + name + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
    } else if (target.matches("select[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
