// The case page's items panel: selection by keyboard and mouse, and the bulk bar's live count.
// Everything works without it: the checkboxes, the "all matching" choice and the form are plain HTML.
(function () {
  "use strict";

  function setup(form) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll(".lx-item-check"));
    var all = document.getElementById("select-all");
    var count = form.querySelector("[data-ticked-count]");
    var ticked = document.getElementById("scope-ticked");
    var matching = document.getElementById("scope-matching");
    var offer = document.getElementById("offer-matching");
    var last = null;

    function update() {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (count) { count.textContent = String(n); }
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
      // Every row of the page ticked while the filter matches more: offer them all, as a mail client does.
      if (offer) { offer.hidden = !(all && all.checked) || (matching && matching.checked); }
      form.querySelector(".lx-bulkbar").classList.toggle("lx-bulk-active", n > 0 || (matching && matching.checked));
    }

    function tick(box, value) {
      box.checked = value;
      if (value && ticked && matching && matching.checked) { ticked.checked = true; }
    }

    boxes.forEach(function (box, index) {
      box.addEventListener("click", function (e) {
        // Shift+click (or Shift+Space) ticks or clears the whole range from the previous box.
        if (e.shiftKey && last !== null && last !== index) {
          var from = Math.min(last, index), to = Math.max(last, index);
          for (var i = from; i <= to; i++) { tick(boxes[i], box.checked); }
        }
        last = index;
        if (box.checked && ticked) { ticked.checked = true; }
        update();
      });
      box.addEventListener("keydown", function (e) {
        // Up and down (or k and j) move between the rows' boxes; Home and End to the first and last.
        var next = null;
        if (e.key === "ArrowDown" || e.key === "j") { next = boxes[index + 1]; }
        else if (e.key === "ArrowUp" || e.key === "k") { next = boxes[index - 1]; }
        else if (e.key === "Home") { next = boxes[0]; }
        else if (e.key === "End") { next = boxes[boxes.length - 1]; }
        if (next) { e.preventDefault(); next.focus(); }
      });
    });

    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { tick(b, all.checked); });
        if (all.checked && ticked) { ticked.checked = true; }
        update();
      });
    }
    if (matching) { matching.addEventListener("change", update); }
    if (ticked) { ticked.addEventListener("change", update); }
    if (offer) {
      var button = offer.querySelector("button");
      if (button) {
        button.addEventListener("click", function () {
          if (matching) { matching.checked = true; matching.focus(); }
          update();
        });
      }
    }
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("decide-form");
    if (form) { setup(form); }
  });
})();
