// Weir portal: a site's traffic charts, drawn as SVG from the dashboard JSON API and refreshed
// every 5 seconds. The page shows every number without this file.
(function () {
  "use strict";

  var root = document.getElementById("site-dashboard");
  if (!root) { return; }
  var api = root.getAttribute("data-api");
  var NS = "http://www.w3.org/2000/svg";
  var W = 560, H = 170, L = 52, R = 8, T = 8, B = 22;
  var CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];
  var STACK = [1, 2, 3, 4, 0]; // 2xx at the bottom, 1xx on top

  function node(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function fmtNum(n) {
    if (n >= 1e6) { return (n / 1e6).toFixed(1) + "M"; }
    if (n >= 1e4) { return (n / 1e3).toFixed(0) + "k"; }
    if (n >= 1e3) { return (n / 1e3).toFixed(1) + "k"; }
    // Half of a small axis (0.5 of 1) is shown as it is, not rounded up to the top's label.
    return String(n < 10 && n % 1 !== 0 ? n : Math.round(n));
  }

  function fmtUs(us) {
    if (us === null || us === undefined) { return "—"; }
    if (us < 1000) { return us + " µs"; }
    if (us < 1e6) { return (us / 1000).toFixed(1) + " ms"; }
    return (us / 1e6).toFixed(2) + " s";
  }

  function fmtBytes(n) {
    if (n < 1024) { return n + " B"; }
    if (n < 1048576) { return (n / 1024).toFixed(1) + " KiB"; }
    return (n / 1048576).toFixed(1) + " MiB";
  }

  function fmtTime(t, bucket) {
    var d = new Date(t * 1000);
    var hm = ("0" + d.getUTCHours()).slice(-2) + ":" + ("0" + d.getUTCMinutes()).slice(-2);
    if (bucket < 3600) { return hm; }
    return (d.getUTCMonth() + 1) + "/" + d.getUTCDate() + " " + hm;
  }

  // A round number at or above v (1, 2, 5 × 10^n).
  function ceiling(v) {
    if (v <= 0) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log(v) / Math.LN10));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * p >= v) { return steps[i] * p; }
    }
    return 10 * p;
  }

  // A fresh chart frame with grid lines and labels; returns the drawing helpers.
  function frame(figure, max, fmt, d, label) {
    var old = figure.querySelector("svg");
    if (old) { figure.removeChild(old); }
    var svg = node("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label });
    figure.appendChild(svg);
    var top = ceiling(max);
    var y = function (v) { return T + (H - T - B) * (1 - v / top); };
    [0, 0.5, 1].forEach(function (f) {
      node("line", { x1: L, x2: W - R, y1: y(top * f), y2: y(top * f), "class": "axis" }, svg);
      node("text", { x: L - 6, y: y(top * f) + 4, "text-anchor": "end", "class": "tick" }, svg)
        .textContent = fmt(top * f);
    });
    var n = d.series.length;
    var step = (W - L - R) / n;
    [0, Math.floor(n / 2), n - 1].forEach(function (i, k) {
      node("text", { x: L + step * i + (k === 2 ? step : 0), y: H - 6, "class": "tick",
        "text-anchor": ["start", "middle", "end"][k] }, svg)
        .textContent = fmtTime(d.series[i].t, d.bucket_s);
    });
    return { svg: svg, y: y, step: step, x: function (i) { return L + step * i; } };
  }

  function bars(figure, d, parts, label) {
    var max = 0;
    d.series.forEach(function (b) {
      max = Math.max(max, parts(b).reduce(function (s, p) { return s + p[1]; }, 0));
    });
    var f = frame(figure, max, fmtNum, d, label);
    d.series.forEach(function (b, i) {
      var base = 0;
      var tip = fmtTime(b.t, d.bucket_s);
      parts(b).forEach(function (p) {
        if (p[1] <= 0) { return; }
        var r = node("rect", { x: f.x(i) + 0.5, width: Math.max(f.step - 1, 1),
          y: f.y(base + p[1]), height: f.y(base) - f.y(base + p[1]), "class": p[0] }, f.svg);
        node("title", {}, r).textContent = tip + ": " + p[1] + " " + p[2];
        base += p[1];
      });
    });
  }

  function lines(figure, d, label) {
    var keys = [["p50_us", "l-p50"], ["p95_us", "l-p95"], ["p99_us", "l-p99"]];
    var max = 0;
    d.series.forEach(function (b) { keys.forEach(function (k) { max = Math.max(max, b[k[0]] || 0); }); });
    var f = frame(figure, max, fmtUs, d, label);
    keys.forEach(function (k) {
      var path = "";
      var pen = "M";
      d.series.forEach(function (b, i) {
        var v = b[k[0]];
        if (v === null || v === undefined) { pen = "M"; return; }
        path += pen + (f.x(i) + f.step / 2).toFixed(1) + " " + f.y(v).toFixed(1) + " ";
        pen = "L";
      });
      if (path) { node("path", { d: path, "class": k[1] }, f.svg); }
    });
  }

  function setText(key, text) {
    root.querySelectorAll('[data-k="' + key + '"]').forEach(function (e) { e.textContent = text; });
  }

  function rows(id, list, cells, empty, columns) {
    var body = document.querySelector("#" + id + " tbody");
    if (!body) { return; }
    body.textContent = "";
    if (!list.length) {
      var tr = body.insertRow();
      var td = tr.insertCell();
      td.colSpan = columns;
      td.className = "muted";
      td.textContent = empty;
      return;
    }
    list.forEach(function (item) {
      var tr = body.insertRow();
      cells(item).forEach(function (c, i) {
        var td = tr.insertCell();
        td.textContent = c;
        if (id === "slow-paths" && i === 0) { td.className = "mono"; }
      });
    });
  }

  function draw(d) {
    var t = d.totals;
    var total = t.requests.reduce(function (s, n) { return s + n; }, 0);
    var waf = Object.keys(t.waf_blocks).reduce(function (s, k) { return s + t.waf_blocks[k]; }, 0);
    setText("requests", String(total));
    setText("errors", String(t.errors));
    setText("error_pct", total ? (t.errors * 100 / total).toFixed(2) + " %" : "—");
    setText("p50", fmtUs(t.p50_us));
    setText("p95", fmtUs(t.p95_us));
    setText("p99", fmtUs(t.p99_us));
    setText("waf", String(waf));
    setText("bytes_in", fmtBytes(t.bytes_in));
    setText("bytes_out", fmtBytes(t.bytes_out));
    setText("plugin_failures", String(t.plugin_failures));
    var chart = function (name) { return root.querySelector('[data-chart="' + name + '"]'); };
    bars(chart("requests"), d, function (b) {
      return STACK.map(function (c) { return ["c-" + CLASSES[c], b.requests[c], CLASSES[c]]; });
    }, "Requests per bucket by status class");
    bars(chart("errors"), d, function (b) { return [["c-5xx", b.errors, "errors"]]; },
      "Errors (5xx) per bucket");
    lines(chart("latency"), d, "Latency percentiles per bucket");
    bars(chart("waf"), d, function (b) { return [["c-waf", b.waf_blocks, "WAF blocks"]]; },
      "WAF blocks per bucket");
    rows("countries", t.countries, function (c) { return [c.country, c.requests]; },
      "No country data (the nodes need a geo database).", 2);
    rows("waf", Object.keys(t.waf_blocks).map(function (k) { return [k, t.waf_blocks[k]]; }),
      function (p) { return p; }, "No blocks.", 2);
    rows("slow-paths", t.slow_paths, function (p) {
      return [p.path, p.count, fmtUs(p.avg_us), fmtUs(p.max_us), fmtUs(p.total_us)];
    }, "No requests in this range.", 5);
  }

  var live = document.getElementById("live-state");
  function refresh() {
    if (document.hidden) { return; }
    fetch(api, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (d) {
        draw(d);
        if (live) { live.textContent = "Live: refreshes every 5 seconds."; }
      })
      .catch(function (e) {
        if (live) { live.textContent = "Live refresh paused (" + e.message + "); retrying."; }
      });
  }
  refresh();
  window.setInterval(refresh, 5000);
})();
