// Agreements pages, progressive enhancement: "only changed fields" on the diff, and
// "go to line" from a refused draft's problem to that line of the editor. Pages work without it.
(function () {
  "use strict";
  document.querySelectorAll("input[data-only-changes]").forEach(function (box) {
    var table = document.getElementById(box.getAttribute("data-only-changes"));
    function apply() { table.classList.toggle("only-changes", box.checked); }
    box.addEventListener("change", apply);
    apply();
  });
  var editor = document.getElementById("draft-text");
  if (!editor) { return; }
  function goTo(line) {
    var lines = editor.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    editor.focus();
    editor.setSelectionRange(start, end);
    var lineHeight = editor.scrollHeight / Math.max(lines.length, 1);
    editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }
  document.querySelectorAll("button.goto").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { goTo(parseInt(button.getAttribute("data-line"), 10)); });
  });
})();
