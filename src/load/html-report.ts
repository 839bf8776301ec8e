import type { FortioRunResult } from './fortio-json.js';

/** What the report reads of a result: the fields HTTP and gRPC runs share, and the target of either. */
export type ReportResult = Pick<FortioRunResult, 'RunType' | 'Labels' | 'StartTime' | 'ActualQPS' | 'RequestedQPS' | 'DurationHistogram' | 'RetCodes'> & {
  /** HTTP runs. */
  URL?: string;
  /** gRPC runs (RunType "GRPC Health for ''", "GRPC Ping ..."; RetCodes SERVING, ERROR...). */
  Destination?: string;
};

/** One run as the report shows it: a legend name and the Fortio result. */
export interface ReportRun {
  name: string;
  result: ReportResult;
}

/**
 * What a file must hold to be drawn; anything else is refused with the file and field. Go's
 * encoding of a run without calls is accepted: Data null and no Percentiles.
 */
export function validateRun(file: string, data: unknown): ReportResult {
  const r = data as Partial<ReportResult> | null;
  const need = (cond: boolean, field: string): void => {
    if (!cond) throw new Error(`${file}: not a load result (field ${field} is missing or wrong)`);
  };
  need(r !== null && typeof r === 'object', '(root)');
  need(typeof r!.ActualQPS === 'number', 'ActualQPS');
  need(typeof r!.DurationHistogram === 'object' && r!.DurationHistogram !== null, 'DurationHistogram');
  const h = r!.DurationHistogram!;
  need(Array.isArray(h.Data) || h.Data === null, 'DurationHistogram.Data');
  need(Array.isArray(h.Percentiles) || h.Percentiles === undefined, 'DurationHistogram.Percentiles');
  need(typeof r!.RetCodes === 'object', 'RetCodes');
  return { ...r, DurationHistogram: { ...h, Data: h.Data ?? [], Percentiles: h.Percentiles ?? [] }, RetCodes: r!.RetCodes ?? {} } as ReportResult;
}

/** A self-contained HTML page (inline data, script and styles; nothing fetched) comparing runs. */
export function renderReport(runs: ReportRun[], title = 'Bulwark load report'): string {
  const data = runs.map((r) => ({
    name: r.name,
    labels: r.result.Labels,
    type: r.result.RunType ?? '',
    target: r.result.URL ?? r.result.Destination ?? '',
    start: r.result.StartTime,
    qps: r.result.ActualQPS,
    requested: r.result.RequestedQPS,
    count: r.result.DurationHistogram.Count,
    percentiles: r.result.DurationHistogram.Percentiles.map((p) => [p.Percentile, p.Value * 1000]),
    avg: r.result.DurationHistogram.Avg * 1000,
    max: r.result.DurationHistogram.Max * 1000,
    histogram: r.result.DurationHistogram.Data.map((d) => [d.Start * 1000, d.End * 1000, d.Count]),
    codes: r.result.RetCodes,
  }));
  // "<" is escaped so no value can close the script element.
  const json = JSON.stringify(data).replaceAll('<', '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2433;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin-top:8px}td,th{border-bottom:1px solid #dde;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
.chart{border:1px solid #e3e6ee;border-radius:6px;margin-top:8px}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<div class="legend" id="legend"></div>
<h2>Throughput (calls per second)</h2><svg id="qps" class="chart" width="1000" height="260"></svg>
<h2>Latency percentiles (ms)</h2><svg id="percentiles" class="chart" width="1000" height="300"></svg>
<h2>Latency histogram (share of calls per bucket, log scale in ms)</h2><svg id="histogram" class="chart" width="1000" height="300"></svg>
<h2>Runs</h2><table id="runs"><thead><tr><th>run</th><th>type</th><th>target</th><th>labels</th><th>calls</th><th>qps (requested)</th><th>avg ms</th><th>max ms</th><th>status codes</th></tr></thead><tbody></tbody></table>
<script id="data" type="application/json">${json}</script>
<script>
(function () {
  var runs = JSON.parse(document.getElementById('data').textContent);
  var colors = ['#2f6fdf', '#e4572e', '#29a36a', '#9b5de5', '#f3a712', '#00a6a6', '#d7263d', '#5c677d'];
  var NS = 'http://www.w3.org/2000/svg';
  function el(parent, tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  }
  function fmt(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3); }
  var legend = document.getElementById('legend');
  runs.forEach(function (r, i) {
    var s = document.createElement('span');
    s.innerHTML = '<i style="background:' + colors[i % colors.length] + '"></i>';
    s.appendChild(document.createTextNode(r.name + (r.labels ? ' (' + r.labels + ')' : '')));
    legend.appendChild(s);
  });
  var W = 1000, L = 70, B = 40, T = 20;
  function axes(svg, H, max, unit) {
    el(svg, 'line', { x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: '#889' });
    el(svg, 'line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#889' });
    for (var t = 0; t <= 4; t++) {
      var v = (max * t) / 4, y = H - B - ((H - B - T) * t) / 4;
      el(svg, 'text', { x: L - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#556' }, fmt(v) + unit);
      el(svg, 'line', { x1: L, y1: y, x2: W - 10, y2: y, stroke: '#eef' });
    }
  }
  (function qps() {
    var svg = document.getElementById('qps'), H = 260;
    var max = Math.max.apply(null, runs.map(function (r) { return r.qps; })) * 1.1 || 1;
    axes(svg, H, max, '');
    var bw = Math.min(120, (W - L - 40) / runs.length - 20);
    runs.forEach(function (r, i) {
      var h = ((H - B - T) * r.qps) / max, x = L + 20 + i * (bw + 20);
      el(svg, 'rect', { x: x, y: H - B - h, width: bw, height: h, fill: colors[i % colors.length] });
      el(svg, 'text', { x: x + bw / 2, y: H - B - h - 4, 'text-anchor': 'middle', 'font-size': 11 }, fmt(r.qps));
      el(svg, 'text', { x: x + bw / 2, y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11 }, r.name);
    });
  })();
  (function percentiles() {
    var svg = document.getElementById('percentiles'), H = 300;
    var ps = [];
    runs.forEach(function (r) { r.percentiles.forEach(function (p) { if (ps.indexOf(p[0]) < 0) ps.push(p[0]); }); });
    ps.sort(function (a, b) { return a - b; });
    var max = 0;
    runs.forEach(function (r) { r.percentiles.forEach(function (p) { max = Math.max(max, p[1]); }); });
    max = max * 1.1 || 1;
    axes(svg, H, max, '');
    var gw = (W - L - 30) / Math.max(ps.length, 1), bw = Math.max(4, (gw - 16) / runs.length);
    ps.forEach(function (p, g) {
      el(svg, 'text', { x: L + g * gw + gw / 2, y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11 }, 'p' + p);
      runs.forEach(function (r, i) {
        var v = r.percentiles.filter(function (q) { return q[0] === p; })[0];
        if (!v) return;
        var h = ((H - B - T) * v[1]) / max;
        el(svg, 'rect', { x: L + g * gw + 8 + i * bw, y: H - B - h, width: bw - 2, height: h, fill: colors[i % colors.length] }).appendChild(document.createElementNS(NS, 'title')).textContent = r.name + ' p' + p + ': ' + fmt(v[1]) + ' ms';
      });
    });
  })();
  (function histogram() {
    var svg = document.getElementById('histogram'), H = 300;
    var lo = Infinity, hi = 0, top = 0;
    runs.forEach(function (r) {
      var n = r.count || 1;
      r.histogram.forEach(function (d) { lo = Math.min(lo, Math.max(d[0], 0.001)); hi = Math.max(hi, d[1]); top = Math.max(top, (100 * d[2]) / n); });
    });
    if (!isFinite(lo) || hi <= lo) { lo = 0.001; hi = 1; }
    top = top * 1.1 || 1;
    axes(svg, H, top, '%');
    var l0 = Math.log10(lo), l1 = Math.log10(hi);
    function X(v) { return L + ((W - L - 20) * (Math.log10(Math.max(v, lo)) - l0)) / (l1 - l0 || 1); }
    for (var e = Math.ceil(l0); e <= Math.floor(l1); e++) {
      el(svg, 'text', { x: X(Math.pow(10, e)), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11 }, fmt(Math.pow(10, e)) + ' ms');
    }
    runs.forEach(function (r, i) {
      var n = r.count || 1, pts = [];
      r.histogram.forEach(function (d) {
        var y = H - B - ((H - B - T) * (100 * d[2]) / n) / top;
        pts.push(X(d[0]) + ',' + (H - B), X(d[0]) + ',' + y, X(d[1]) + ',' + y, X(d[1]) + ',' + (H - B));
      });
      if (pts.length) el(svg, 'polyline', { points: pts.join(' '), fill: colors[i % colors.length], 'fill-opacity': 0.25, stroke: colors[i % colors.length], 'stroke-width': 1.5 });
    });
  })();
  var body = document.querySelector('#runs tbody');
  runs.forEach(function (r) {
    var tr = document.createElement('tr');
    [r.name, r.type, r.target, r.labels, r.count, fmt(r.qps) + ' (' + r.requested + ')', fmt(r.avg), fmt(r.max), Object.keys(r.codes).map(function (c) { return c + ': ' + r.codes[c]; }).join(', ')].forEach(function (v) {
      var td = document.createElement('td'); td.textContent = String(v); tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  document.body.setAttribute('data-rendered', 'true');
})();
</script></body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
