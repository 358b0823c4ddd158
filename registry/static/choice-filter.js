// Filter a long list of checkboxes as one types (accents and case ignored). Without
// JavaScript the list is still complete and usable; the filter box only appears with it.
(function () {
  "use strict";
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }
  document.querySelectorAll("[data-filterable]").forEach(function (list) {
    var box = list.querySelector(".choice-filter");
    var labels = Array.prototype.slice.call(list.querySelectorAll(".choices label"));
    if (!box) { return; }
    box.hidden = false;
    box.addEventListener("input", function () {
      var wanted = fold(box.value);
      labels.forEach(function (label) {
        var checked = label.querySelector("input").checked;
        label.hidden = wanted !== "" && !checked && fold(label.textContent).indexOf(wanted) === -1;
      });
    });
  });
})();
