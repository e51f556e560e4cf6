"""The report page's inline style and script, and the Content-Security-Policy that lets only this script run: no
network, no other script (an escaping slip in a value could still not run code)."""

from __future__ import annotations

import base64
import hashlib

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;
color:#1d232a;background:#fafbfc}
h1{margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #d8dee4;padding-bottom:.2rem}
.sub{color:#57606a;margin:0;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:.5rem .9rem;min-width:7rem}
.card b{display:block;font-size:1.5rem}.card span{color:#57606a}
.bad b{color:#cf222e}.warn b{color:#9a6700}.good b{color:#1a7f37}
table{border-collapse:collapse;width:100%;background:#fff;margin:.4rem 0}
th,td{border:1px solid #d8dee4;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.msg,td.loc,td.path{word-break:break-word;white-space:pre-wrap}
code,td.loc,td.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
.error{color:#cf222e}.warning{color:#9a6700}.ok{color:#1a7f37}
details.code{margin:.5rem 0}details.code summary{cursor:pointer;font-weight:600}
.tools{display:flex;gap:.6rem;align-items:center;margin:.6rem 0}
#filter{flex:1;max-width:28rem;padding:.3rem .5rem}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
svg.chart{background:#fff;border:1px solid #d8dee4;border-radius:6px}
svg.chart rect{fill:#0969da}svg.chart rect:hover{fill:#54aeff}
svg.chart text{font-size:11px;text-anchor:middle;fill:#1d232a}svg.chart .s{text-anchor:start}
svg.chart .e{text-anchor:end}svg.chart .t{font-weight:600;font-size:12px}
svg.chart .n{fill:#57606a}svg.chart .axis{stroke:#57606a}
svg.chart .limit{stroke:#cf222e;stroke-dasharray:4 3;stroke-width:2}
footer{margin-top:2rem;color:#57606a;font-size:12px}
"""

JS = """
(function () {
  "use strict";
  var box = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.examples tbody tr"));
  function filter() {
    var q = box.value.toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var hit = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
      r.hidden = !hit;
      if (hit) { n += 1; if (q) { r.closest("details").open = true; } }
    });
    shown.textContent = n + " of " + rows.length + " listed problems shown";
  }
  if (box && shown) { box.addEventListener("input", filter); filter(); }
  var toggle = document.getElementById("expand");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("data-open") !== "1";
      document.querySelectorAll("details.code").forEach(function (d) { d.open = open; });
      toggle.setAttribute("data-open", open ? "1" : "0");
      toggle.textContent = open ? "Collapse all" : "Expand all";
    });
  }
  document.documentElement.setAttribute("data-ready", "1");
})();
"""


def policy() -> str:
    """The page's Content-Security-Policy: nothing from anywhere, the inline style, and only the script above (by
    its hash: an inline handler such as onerror= never runs)."""
    digest = base64.b64encode(hashlib.sha256(JS.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:"
