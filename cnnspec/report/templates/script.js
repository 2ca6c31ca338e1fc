// Filter (failures / warnings / all) and search over the claim panels and table rows. Offline.
(function () {
  var body = document.body, q = document.getElementById("search"), shown = document.getElementById("shown");
  var items = Array.prototype.slice.call(document.querySelectorAll("article.panel, tr.claim"));
  var want = {failures: ["fail", "error"], warnings: ["warn"], all: null};
  function apply() {
    var f = want[body.getAttribute("data-filter") || "all"], text = (q.value || "").toLowerCase(), n = 0;
    items.forEach(function (el) {
      var ok = (!f || f.indexOf(el.getAttribute("data-status")) >= 0) &&
               (!text || el.textContent.toLowerCase().indexOf(text) >= 0);
      el.hidden = !ok;
      if (ok && el.tagName === "TR") { n += 1; }
    });
    shown.textContent = (f || text) ? n + " claims shown" : "";
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (b) {
    b.addEventListener("click", function () {
      body.setAttribute("data-filter", b.getAttribute("data-filter"));
      Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (o) {
        o.classList.toggle("on", o === b);
      });
      apply();
    });
  });
  q.addEventListener("input", apply);
})();
