// Loaded after require.js and before embed-amd.js (see nb_ipywidgets_js in book/_config.yml); widgets_js.sh copies
// it to _static/widgets/compat.js. It fixes two faults of @jupyter-widgets/html-manager 1.0.6 in pages that serve
// it themselves and load MathJax 3; tests/browser/test_book_pages.py fails without it.
(function () {
  "use strict";
  // 1. embed-amd.js fetches its fonts from the folder of its AMD module's URL, which require.js resolves against
  //    the page: /@jupyter-widgets/html-manager/dist/*.woff2, a 404 on every page with a widget. Resolve the
  //    @jupyter-widgets modules to this script's folder instead, where widgets_js.sh copied the fonts.
  var here = document.currentScript.src.replace(/\/[^\/]*$/, "");
  require.config({paths: {"@jupyter-widgets": here, "@jupyter-widgets/html-manager/dist": here}});
  // 2. Widget labels are typeset through MathJax 2's MathJax.Hub.Queue, which MathJax 3 (the book's) lacks: every
  //    label threw "Cannot read properties of undefined (reading 'Queue')". Give MathJax 3 that one entry point.
  //    MathJax is loaded with `defer`, so it exists at DOMContentLoaded, before the widgets render.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.startup) return;
    mathjax.Hub = {
      Queue: function (command) {   // command: ["Typeset", MathJax.Hub, element]
        var element = command[2];
        mathjax.startup.promise = mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise([element]);
        });
      }
    };
  });
})();
