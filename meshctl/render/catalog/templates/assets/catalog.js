// meshctl catalog: the index's search box. Plain JavaScript, no framework, nothing fetched.
// A product is shown when every word typed appears in its name, description, producer, owners
// or tags (the row's data-search text, written lowercased by meshctl).
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (!box) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("#products tr[data-search]"));
  var count = document.getElementById("search-count");
  var none = document.getElementById("no-match");
  function filter() {
    var words = box.value.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " products";
    none.hidden = shown !== 0;
  }
  box.addEventListener("input", filter);
  // A query in the address (index.html?q=sales) fills the box: a link can share a search.
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) { box.value = q; }
  filter();
})();
