import * as Plot from '@observablehq/plot';
import type { LayerRow, OpRow, ReportView } from '../report-view.js';

/**
 * The browser side of report.html: reads the embedded ReportView and draws each chart into its section's
 * container with Observable Plot. A chart that fails shows its error in place; the others still draw.
 */

const UNIT_COLORS = { bpu: '#3b6fd6', vpu: '#e08a1e', cpu: '#d0413c' } as Record<string, string>;
const DTYPE_ORDER = ['int8', 'uint8', 'int16', 'int32', 'float16', 'float32', 'float'];
const DTYPE_COLORS = ['#7fb3e6', '#9cc6ee', '#6a51a3', '#e6a23c', '#f08a8a', '#d0413c', '#d0413c'];
const WORST = 5;

function width(): number {
  const main = document.querySelector('main');
  return Math.max(480, Math.min(1340, (main?.clientWidth ?? 1000) - 40));
}

/** Milliseconds each chart took to draw, by section (the browser test logs them). */
const drawMs: Record<string, number> = {};

function mount(id: string, draw: () => Element): void {
  const container = document.getElementById(`chart-${id}`);
  if (container === null) return;
  const start = performance.now();
  try {
    container.replaceChildren(draw());
  } catch (error) {
    container.textContent = `This chart could not be drawn: ${(error as Error).message}`;
    console.error(error);
  }
  drawMs[id] = Math.round(performance.now() - start);
}

function fmt(value: number | null, digits: number): string {
  return value === null ? '–' : value.toFixed(digits);
}

function layersChart(view: ReportView): Element {
  const wrapper = document.createElement('div');
  const measured = view.layers.filter((l): l is LayerRow & { sqnrDb: number } => l.sqnrDb !== null);
  const worst = [...measured].sort((a, b) => a.sqnrDb - b.sqnrDb).slice(0, WORST);
  const shown = measured.map((l) => l.sqnrDb).filter((v) => Math.abs(v) < 200);
  const floor = view.floorDb === null ? [] : [view.floorDb];
  const lo = Math.min(...shown, ...floor);
  const hi = Math.max(...shown, ...floor);
  const pad = Math.max(1, (hi - lo) * 0.08);
  const figure = Plot.plot({
    width: width(),
    height: 340,
    marginLeft: 50,
    x: { label: `layer along the network (${view.layers.length} measured tensors)`, tickFormat: (i: number) => (Number.isInteger(i) ? String(i + 1) : '') },
    y: { label: 'SQNR vs float (dB)', grid: true, domain: shown.length > 0 ? [lo - pad, hi + pad] : undefined, clamp: true },
    marks: [
      Plot.lineY(measured, { x: 'index', y: 'sqnrDb', stroke: '#a8b3c4', strokeWidth: 1 }),
      ...(view.floorDb === null
        ? []
        : [
            Plot.ruleY(floor, { stroke: '#2e8b57', strokeDasharray: '6,4', strokeWidth: 1.5 }),
            Plot.text(floor, { x: measured.length - 1, y: (d: number) => d, text: (d: number) => `weight-only floor ${d.toFixed(2)} dB`, dy: -7, textAnchor: 'end', fill: '#2e8b57' }),
          ]),
      Plot.dot(measured, {
        x: 'index',
        y: 'sqnrDb',
        r: 3,
        fill: '#3b6fd6',
        ariaLabel: (d: LayerRow) => d.tensor,
        ariaDescription: 'per-layer SQNR',
      }),
      Plot.dot(worst, { x: 'index', y: 'sqnrDb', r: 6, stroke: '#d0413c', strokeWidth: 2, ariaDescription: 'worst layers' }),
      Plot.tip(
        measured,
        Plot.pointer({
          x: 'index',
          y: 'sqnrDb',
          title: (d: LayerRow) => `${d.tensor}\nSQNR ${fmt(d.sqnrDb, 2)} dB\ncosine ${fmt(d.cosine, 6)}\nmax |err| ${fmt(d.maxAbs, 4)}\nlayer ${d.index + 1}`,
          lineWidth: 80,
        }),
      ),
    ],
  });
  const list = document.createElement('ol');
  list.id = 'worst-layers';
  for (const l of worst) {
    const item = document.createElement('li');
    item.textContent = `${l.tensor} — ${l.sqnrDb.toFixed(2)} dB (layer ${l.index + 1})`;
    list.append(item);
  }
  const caption = document.createElement('p');
  caption.className = 'note';
  caption.textContent = `The ${worst.length} worst layers (ringed in red):`;
  wrapper.append(figure, caption, list);
  return wrapper;
}

function shortName(name: string): string {
  return name.length > 28 ? `…${name.slice(-27)}` : name;
}

function sensitivityChart(view: ReportView): Element {
  const s = view.sensitivity!;
  const rows = [...s.rows].sort((a, b) => b.value - a.value).slice(0, 40);
  return Plot.plot({
    width: width(),
    height: 40 + rows.length * 18,
    marginLeft: 260,
    x: { label: s.metric, grid: true },
    y: { label: null, domain: rows.map((r) => r.label), tickFormat: shortName },
    marks: [
      Plot.barX(rows, { x: 'value', y: 'label', fill: '#6a51a3' }),
      Plot.ruleX([0]),
      Plot.tip(rows, Plot.pointerY({ x: 'value', y: 'label', title: (d: { label: string; value: number }) => `${d.label}\n${s.metric} ${d.value.toFixed(3)}` })),
    ],
  });
}

function dtypeScale(ops: readonly OpRow[]): { domain: string[]; range: string[] } {
  const present = [...new Set(ops.map((o) => o.outDtype))];
  const known = DTYPE_ORDER.filter((d) => present.includes(d));
  const other = present.filter((d) => !DTYPE_ORDER.includes(d)).sort();
  return {
    domain: [...known, ...other],
    range: [...known.map((d) => DTYPE_COLORS[DTYPE_ORDER.indexOf(d)]!), ...other.map(() => '#b0b7c3')],
  };
}

function opTitle(o: OpRow): string {
  return `${o.name}\n${o.opType} on ${o.unit.toUpperCase()}\n${o.dtypes}${o.latencyUs === null ? '' : `\n${o.latencyUs.toFixed(2)} µs (estimate)`}`;
}

function precisionChart(view: ReportView): Element {
  const { domain, range } = dtypeScale(view.ops);
  const units = ['bpu', 'vpu', 'cpu'].filter((u) => view.ops.some((o) => o.unit === u));
  const extra = [...new Set(view.ops.map((o) => o.unit))].filter((u) => !units.includes(u));
  const counts = new Map<string, number>();
  for (const o of view.ops) counts.set(`${o.unit}|${o.outDtype}`, (counts.get(`${o.unit}|${o.outDtype}`) ?? 0) + 1);
  const figure = Plot.plot({
    width: width(),
    height: 60 + 34 * (units.length + extra.length),
    marginLeft: 50,
    x: { label: `op along the integer model (${view.ops.length} ops)`, tickFormat: (i: number) => (Number.isInteger(i) ? String(i + 1) : '') },
    y: { label: null, domain: [...units, ...extra], tickFormat: (u: string) => u.toUpperCase() },
    color: { legend: true, domain, range, label: 'produces' },
    marks: [
      Plot.barX(view.ops, { x1: 'index', x2: (d: OpRow) => d.index + 1, y: 'unit', fill: 'outDtype', inset: 0, ariaLabel: (d: OpRow) => d.name }),
      Plot.tip(view.ops, Plot.pointer({ x: (d: OpRow) => d.index + 0.5, y: 'unit', title: opTitle })),
    ],
  });
  const table = document.createElement('table');
  table.id = 'precision-counts';
  const header = `<thead><tr><th>unit</th>${domain.map((d) => `<th>${d}</th>`).join('')}</tr></thead>`;
  const rows = [...units, ...extra]
    .map((u) => `<tr><td>${u.toUpperCase()}</td>${domain.map((d) => `<td>${counts.get(`${u}|${d}`) ?? 0}</td>`).join('')}</tr>`)
    .join('');
  table.innerHTML = `${header}<tbody>${rows}</tbody>`;
  const wrapper = document.createElement('div');
  wrapper.append(figure, table);
  return wrapper;
}

function perfChart(view: ReportView): Element {
  const wrapper = document.createElement('div');
  const totals: { variant: string; unit: string; us: number }[] = [];
  const add = (variant: string, bpu: number, vpu: number, cpu: number) =>
    totals.push({ variant, unit: 'bpu', us: bpu }, { variant, unit: 'vpu', us: vpu }, { variant, unit: 'cpu', us: cpu });
  if (view.perf !== null) add(`this model (${view.perf.chip || view.perf.march})`, view.perf.bpuUs, view.perf.vpuUs, view.perf.cpuUs);
  for (const v of view.perfVariants) add(v.label, v.bpuUs, v.vpuUs, v.cpuUs);
  const colors = { domain: ['bpu', 'vpu', 'cpu'], range: ['bpu', 'vpu', 'cpu'].map((u) => UNIT_COLORS[u]!) };
  if (totals.length > 0) {
    const variants = [...new Set(totals.map((t) => t.variant))];
    wrapper.append(
      Plot.plot({
        width: width(),
        height: 60 + 30 * variants.length,
        marginLeft: 220,
        x: { label: 'total latency (µs, estimate)', grid: true },
        y: { label: null, domain: variants },
        color: { legend: true, ...colors, tickFormat: (u: string) => u.toUpperCase() },
        marks: [
          Plot.barX(totals, { x: 'us', y: 'variant', fill: 'unit' }),
          Plot.tip(totals, Plot.pointer(Plot.stackX({ x: 'us', y: 'variant', fill: 'unit', title: (d: { unit: string; us: number }) => `${d.unit.toUpperCase()} ${d.us.toFixed(2)} µs` }))),
        ],
      }),
    );
  }
  const timed = view.ops.filter((o): o is OpRow & { latencyUs: number } => o.latencyUs !== null);
  if (timed.length > 0) {
    wrapper.append(
      Plot.plot({
        width: width(),
        height: 260,
        marginLeft: 50,
        x: { label: `op along the integer model (${view.ops.length} ops)`, tickFormat: (i: number) => (Number.isInteger(i) ? String(i + 1) : '') },
        y: { label: 'latency per op (µs, estimate)', grid: true },
        color: colors,
        marks: [
          Plot.rectY(timed, { x1: 'index', x2: (d: OpRow) => d.index + 1, y: 'latencyUs', fill: 'unit', ariaLabel: (d: OpRow) => d.name }),
          Plot.tip(timed, Plot.pointerX({ x: (d: OpRow) => d.index + 0.5, y: 'latencyUs', title: opTitle })),
        ],
      }),
    );
  }
  return wrapper;
}

function main(): void {
  const data = document.getElementById('report-view')?.textContent;
  if (!data) return;
  const view = JSON.parse(data) as ReportView;
  mount('layers', () => layersChart(view));
  if (view.sensitivity !== null) mount('sensitivity', () => sensitivityChart(view));
  mount('precision', () => precisionChart(view));
  mount('perf', () => perfChart(view));
  // Milliseconds from the start of navigation to the last chart drawn (the browser test logs it).
  document.body.dataset.renderedAtMs = performance.now().toFixed(0);
  document.body.dataset.drawMs = JSON.stringify(drawMs);
  document.body.dataset.rendered = 'true';
}

main();
