// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // Forms marked data-once disable their submit button after the first submission.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
  // Confirmation for destructive buttons.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (e) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
});

// Evidence upload: drag and drop, one request per file with its own progress bar.
// Without JavaScript the form posts all files at once.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.lx-upload").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector(".lx-dropzone");
    var list = form.querySelector(".lx-upload-progress");
    if (!input || !window.FormData || !window.XMLHttpRequest) { return; }
    if (zone) {
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("lx-dragover"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("lx-dragover"); });
      });
      zone.addEventListener("drop", function (e) {
        if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
      });
    }
    form.addEventListener("submit", function (e) {
      if (!input.files.length) { return; }
      e.preventDefault();
      var files = Array.prototype.slice.call(input.files);
      var remaining = files.length;
      var failed = false;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      files.forEach(function (file) {
        var row = document.createElement("li");
        row.className = "mb-2";
        var label = document.createElement("div");
        label.className = "small";
        label.textContent = file.name;
        var bar = document.createElement("progress");
        bar.max = 100; bar.value = 0; bar.className = "w-100";
        bar.setAttribute("aria-label", file.name);
        var status = document.createElement("div");
        status.className = "small";
        row.appendChild(label); row.appendChild(bar); row.appendChild(status);
        list.appendChild(row);
        var data = new FormData(form);
        data.delete("files");
        data.append("files", file, file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", function (ev) {
          if (ev.lengthComputable) { bar.value = Math.round(ev.loaded * 100 / ev.total); }
        });
        xhr.addEventListener("loadend", function () {
          var message = "";
          var ok = false;
          try {
            var body = JSON.parse(xhr.responseText);
            ok = body.results.every(function (r) { return r.ok; });
            message = body.results.map(function (r) { return r.message; }).join(" ");
          } catch (err) { message = xhr.status ? ("HTTP " + xhr.status) : "Upload interrupted"; }
          bar.value = 100;
          status.textContent = message;
          status.className = ok ? "small text-success" : "small text-danger";
          if (!ok) { failed = true; }
          remaining -= 1;
          if (remaining === 0 && !failed) { window.location.reload(); }
          if (remaining === 0) {
            form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
          }
        });
        xhr.send(data);
      });
    });
  });
});

// The live thread refreshes only while nobody is editing inside it: its poll (data-refresh-when-idle) is called off
// while a form in it is open or focused. (An event listener, not an hx-trigger filter: filters need eval, which the
// Content-Security-Policy forbids.)
window.lxThreadIdle = function () {
  var thread = document.getElementById("thread");
  if (!thread) { return false; }
  if (thread.querySelector("details[open]")) { return false; }
  return !thread.contains(document.activeElement);
};
document.addEventListener("htmx:beforeRequest", function (e) {
  var elt = e.detail && e.detail.elt;
  if (elt && elt.id === "thread" && elt.hasAttribute("data-refresh-when-idle") && !window.lxThreadIdle()) {
    e.preventDefault();
  }
});

// Live countdowns for deadlines: "2 h 14 min 05 s", "overdue by …"; the server text is the fallback.
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // The units in the page's language, from <body data-unit-d="…" …>.
  function units() {
    var data = document.body ? document.body.dataset : {};
    return {d: data.unitD || "d", h: data.unitH || "h", min: data.unitMin || "min", s: data.unitS || "s"};
  }
  function render(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    if (isNaN(due)) { return; }
    var ms = due - Date.now();
    var late = ms < 0;
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var u = units();
    var text = (d ? d + " " + u.d + " " : "") + (d || h ? h + " " + u.h + " " : "") + pad(m) + " " + u.min + " " +
      pad(s % 60) + " " + u.s;
    el.textContent = late ? (el.getAttribute("data-overdue-label") || "overdue by") + " " + text : text;
    el.classList.toggle("text-danger", late);
  }
  function tick() { document.querySelectorAll(".lx-countdown[data-due]").forEach(render); }
  document.addEventListener("DOMContentLoaded", function () { tick(); window.setInterval(tick, 1000); });
})();
