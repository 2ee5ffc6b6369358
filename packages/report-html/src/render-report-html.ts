import { clientBundle } from './client-bundle.js';
import { escapeHtml, scriptJson, scriptSource } from './html.js';
import { readReport, type Metrics, type ReportView } from './report-view.js';

const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6474; --line: #d9dee7; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 18px 28px 10px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 6px; font-size: 20px; }
header .facts { display: flex; flex-wrap: wrap; gap: 4px 18px; color: var(--muted); }
header .facts b { color: var(--fg); font-weight: 600; }
main { padding: 8px 28px 40px; max-width: 1400px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
section h2 { margin: 0 0 8px; font-size: 16px; }
.note { color: var(--muted); margin: 4px 0 8px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
th { font-weight: 600; background: #fafbfc; }
.chart { overflow-x: auto; }
.chart figure { margin: 0; }
.empty { color: var(--muted); font-style: italic; }
`;

function fmt(value: number | null | undefined, digits: number): string {
  return typeof value === 'number' ? value.toFixed(digits) : '–';
}

function metricCells(m: Metrics | null): string {
  return `<td>${fmt(m?.sqnrDb, 2)}</td><td>${fmt(m?.cosine, 6)}</td>`;
}

function summary(view: ReportView): string {
  if (view.outputs.length === 0) return `<p class="empty">This report has no per-output metrics.</p>`;
  const hasInteger = view.outputs.some((o) => o.integer !== null);
  const head =
    '<tr><th>output</th><th>qat.onnx SQNR (dB)</th><th>qat.onnx cosine</th>' +
    (hasInteger ? '<th>quantized.onnx SQNR (dB)</th><th>quantized.onnx cosine</th><th>within 1 LSB of qat.onnx</th>' : '') +
    '<th>weight-only floor SQNR (dB)</th><th>floor cosine</th></tr>';
  const rows = view.outputs.map(
    (o) =>
      `<tr><td>${escapeHtml(o.name)}</td>${metricCells(o.qat)}` +
      (hasInteger
        ? `${metricCells(o.integer)}<td>${o.integer?.lsbAgreement == null ? '–' : `${(o.integer.lsbAgreement * 100).toFixed(2)} %`}</td>`
        : '') +
      `${metricCells(o.floor)}</tr>`,
  );
  return (
    `<table id="summary-table"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>` +
    '<p class="note">Measured against the float model on one sample. The floor quantizes only the weights (int8 per ' +
    'channel) and keeps every activation in float: no activation setting can beat it.</p>'
  );
}

function fallbacks(view: ReportView): string {
  if (view.fallbacks.length === 0) return '<p class="empty">No CPU fallbacks: every op runs on the NPU.</p>';
  const rows = view.fallbacks.map(
    (f) => `<tr><td>${escapeHtml(f.node)}</td><td class="text">${escapeHtml(f.opType)}</td><td class="text">${escapeHtml(f.reason || '(no reason recorded)')}</td></tr>`,
  );
  return `<table id="fallback-table"><thead><tr><th>node</th><th>op</th><th>reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function diagnostics(view: ReportView): string {
  if (view.diagnostics.length === 0) return '';
  const rows = view.diagnostics.map(
    (d) =>
      `<tr><td>${escapeHtml(d.level)}</td><td class="text">${escapeHtml(d.pass)}</td><td class="text">${escapeHtml(d.node)}</td><td class="text">${escapeHtml(d.message)}</td></tr>`,
  );
  return `<section id="diagnostics"><h2>Pass diagnostics</h2><table><thead><tr><th>level</th><th>pass</th><th>node</th><th>message</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function chartSection(id: string, title: string, note: string, present: boolean, absent: string): string {
  const body = present ? `<div class="chart" id="chart-${id}"></div>` : `<p class="empty">${escapeHtml(absent)}</p>`;
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2><p class="note">${note}</p>${body}</section>`;
}

/**
 * report.html: one self-contained page for a report.json of calibrate or quantize (of any quantkit version).
 *
 * 1. No network access: the report (read by readReport), the styles and the chart code (Observable Plot, bundled)
 *    are all inside the file; it opens from disk.
 * 2. Tables are HTML (summary per output, CPU fallbacks with their reasons, pass diagnostics); charts are drawn in
 *    the browser: per-layer SQNR in graph order with the floor, sensitivity (when present), the precision map and
 *    the perf breakdown (per op and totals, and the variants of a comparison when present).
 * 3. A section whose data the report lacks says so instead of a chart.
 * 4. Text from the report is escaped; the embedded JSON cannot end its <script> element.
 */
export function renderReportHtml(report: unknown): string {
  const view = readReport(report);
  const facts = view.facts.map(([k, v]) => `<span>${escapeHtml(k)}: <b>${escapeHtml(v)}</b></span>`).join('');
  const worst = view.layers.length > 0 ? ' The five worst layers are ringed in red and listed below.' : '';
  const order = view.layersInGraphOrder ? 'in graph order' : 'in the order of report.json (this report predates graph order: worst first)';
  const sections = [
    `<section id="summary"><h2>Summary</h2>${summary(view)}</section>`,
    chartSection(
      'layers',
      'Per-layer SQNR along the network',
      `SQNR of each quantized tensor of qat.onnx against float, ${order}; the dashed line is the weight-only floor.${worst} Hover a point for its tensor.`,
      view.layers.length > 0,
      'This report has no per-layer metrics.',
    ),
    view.sensitivity === null
      ? ''
      : chartSection('sensitivity', 'Sensitivity', `Per candidate: ${escapeHtml(view.sensitivity.metric)}.`, true, ''),
    chartSection(
      'precision',
      'Precision map',
      'Each op of the integer model in graph order, by the unit it runs on, coloured by the dtype it produces. Hover for its name and dtypes.',
      view.ops.length > 0,
      'This report lists no ops (it comes from calibrate, or from an older quantkit): run quantize for the precision map.',
    ),
    chartSection(
      'perf',
      'Perf breakdown (estimate)',
      escapeHtml(view.perf?.disclaimer ?? 'An estimate from a roofline cost model, not a measurement.'),
      view.perf !== null || view.ops.some((o) => o.latencyUs !== null),
      'This report has no perf estimate (run quantize for one).',
    ),
    `<section id="fallbacks"><h2>CPU fallbacks</h2>${fallbacks(view)}</section>`,
    diagnostics(view),
  ];
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>quantkit report — ${escapeHtml(view.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<header><h1>quantkit report — ${escapeHtml(view.title)}</h1><div class="facts">${facts}</div></header>`,
    `<main>${sections.join('\n')}</main>`,
    `<script type="application/json" id="report-view">${scriptJson(view)}</script>`,
    `<script>${scriptSource(clientBundle())}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
