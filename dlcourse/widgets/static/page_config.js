// Loaded on the book's widget pages between require.js and the widget manager (embed-amd.js);
// `make assets` copies it into book/_vendor/anywidget/ beside anywidget's loader.
//  * require.js finds the anywidget loader served with the site (from file:// or any server),
//    not on a CDN: the path is relative to this script's own address.
//  * FontAwesome (loaded by the theme) nests its SVG inside <i> elements instead of replacing
//    them, which would break the controls of ipywidgets' Play widget.
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  window.require.config({ paths: { anywidget: here + "index" } });
  window.FontAwesomeConfig = Object.assign(window.FontAwesomeConfig || {}, { autoReplaceSvg: "nest" });
})();
