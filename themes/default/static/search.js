/* Starts Pagefind's search UI on the search page, from this site's own /pagefind/ bundle. */
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var box = document.querySelector("[data-hubgen-search]");
  if (!box || typeof window.PagefindUI !== "function") { return; }
  new window.PagefindUI({
    element: box,
    bundlePath: box.getAttribute("data-bundle"),
    baseUrl: box.getAttribute("data-base"),
    showSubResults: true,
    showImages: false,
    resetStyles: false
  });
  var input = box.querySelector("input[type=text], input.pagefind-ui__search-input");
  if (input) {
    input.setAttribute("aria-label", box.getAttribute("data-label"));
    if (!window.location.hash) { input.focus(); }
  }
});
