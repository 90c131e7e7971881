// Ingest page enhancement: drop bill files on the drop zone (they go into the plain
// <input type=file multiple>, which is what the multipart form posts, with its CSRF field),
// list the chosen files, and say "Uploading…" while the post runs. Without JavaScript the
// file input and the submit button do the same.
(function () {
  "use strict";
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("files");
  var list = document.getElementById("chosen");
  var form = document.getElementById("upload-form");
  var button = document.getElementById("upload-button");
  if (!zone || !input || !list || !form) { return; }

  function size(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1048576) { return Math.round(bytes / 1024) + " KiB"; }
    return Math.round(bytes / 1048576) + " MiB";
  }
  function show() {
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (f) {
      var item = document.createElement("li");
      item.textContent = f.name + " (" + size(f.size) + ")";
      list.appendChild(item);
    });
  }
  function stop(e) { e.preventDefault(); e.stopPropagation(); }

  zone.classList.add("enhanced");
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (e) { stop(e); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (e) { stop(e); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    if (!e.dataTransfer || !e.dataTransfer.files.length) { return; }
    input.files = e.dataTransfer.files;
    show();
  });
  input.addEventListener("change", show);
  form.addEventListener("submit", function () {
    if (button) {
      button.disabled = true;
      button.textContent = "Uploading…";
    }
  });
}());
