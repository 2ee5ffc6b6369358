/**
 * What report.html shows, read defensively from a report.json of any quantkit version: calibrate's, quantize's,
 * and the fields later versions add. A field that is missing or of the wrong type is left out, never an error.
 *
 * 1. Facts: model file, quantkit version, template, observer, samples, march, chip, the sample measured on —
 *    whichever are present.
 * 2. Outputs: per output of `outputs` (qat.onnx against float), the integer model's metrics from
 *    `integer.outputs` and the weight-only floor, when present.
 * 3. Layers: in graph order when every layer has a numeric `order` (stable for ties); otherwise in the file's
 *    order, and `layersInGraphOrder` is false.
 * 4. Sensitivity: rows of a `sensitivity` array (or `sensitivity.rows` / `.layers`), labelled by their first
 *    string field among node / tensor / name, valued by their first numeric field among the known metric names.
 * 5. Ops: the rows of `ops` (quantize), each with the dtype it produces (after the arrow of its dtypes).
 * 6. Perf: totals of `perf.totals`, and the variants of a comparison when the report holds one
 *    (`perfCompare`, `perf.compare` or `compare`, each with `variants[].totals`).
 * 7. Fallbacks: `fallbackReasons`, or the bare node names of `fallback` with no reason.
 */
export interface ReportView {
  title: string;
  facts: [string, string][];
  outputs: OutputRow[];
  layers: LayerRow[];
  layersInGraphOrder: boolean;
  /** The lowest weight-only SQNR over the outputs: no activation setting beats it. */
  floorDb: number | null;
  sensitivity: { metric: string; rows: SensitivityRow[] } | null;
  ops: OpRow[];
  perf: PerfView | null;
  perfVariants: PerfVariantRow[];
  fallbacks: FallbackRow[];
  diagnostics: { level: string; pass: string; message: string; node: string }[];
}

export interface Metrics {
  sqnrDb: number | null;
  cosine: number | null;
  maxAbs: number | null;
  meanAbs: number | null;
}

export interface OutputRow {
  name: string;
  qat: Metrics;
  integer: (Metrics & { lsbAgreement: number | null }) | null;
  floor: Metrics | null;
}

export interface LayerRow {
  /** Position along the network, 0-based, in the order shown. */
  index: number;
  tensor: string;
  sqnrDb: number | null;
  cosine: number | null;
  maxAbs: number | null;
}

export interface SensitivityRow {
  label: string;
  value: number;
}

export interface OpRow {
  index: number;
  name: string;
  opType: string;
  unit: string;
  dtypes: string;
  /** The dtype the op produces, e.g. int8, int32, float32. */
  outDtype: string;
  latencyUs: number | null;
}

export interface PerfView {
  march: string;
  chip: string;
  disclaimer: string;
  latencyUs: number | null;
  bpuUs: number;
  vpuUs: number;
  cpuUs: number;
  cpuDequantizeUs: number | null;
}

export interface PerfVariantRow {
  label: string;
  bpuUs: number;
  vpuUs: number;
  cpuUs: number;
}

export interface FallbackRow {
  node: string;
  opType: string;
  reason: string;
}

type Json = Record<string, unknown>;

const SENSITIVITY_LABELS = ['node', 'tensor', 'name', 'layer'];
const SENSITIVITY_VALUES = ['gainDb', 'sqnrGainDb', 'deltaDb', 'sqnrDeltaDb', 'sensitivity', 'sqnrDb', 'cosine', 'value'];

function obj(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function metrics(value: unknown): Metrics | null {
  const m = obj(value);
  if (m === null) return null;
  return { sqnrDb: num(m.sqnrDb), cosine: num(m.cosine), maxAbs: num(m.maxAbs), meanAbs: num(m.meanAbs) };
}

function facts(report: Json): [string, string][] {
  const model = obj(report.model);
  const calibration = obj(report.calibration);
  const config = obj(report.config);
  const perf = obj(report.perf);
  const rows: [string, unknown][] = [
    ['model', model?.file],
    ['quantkit', report.quantkit],
    ['template', config?.template],
    ['reused outputs', config?.reusedOutputs],
    ['observer', calibration?.observer],
    ['calibration data', calibration?.data],
    ['samples', calibration?.samples],
    ['measured on', typeof report.measuredOn === 'object' ? JSON.stringify(report.measuredOn) : report.measuredOn],
    ['march', report.march],
    ['integer conv', typeof report.integerConv === 'boolean' ? String(report.integerConv) : undefined],
    ['chip', perf?.chip],
  ];
  return rows.filter(([, v]) => typeof v === 'string' || typeof v === 'number').map(([k, v]) => [k, String(v)]);
}

function outputs(report: Json): OutputRow[] {
  const qat = obj(report.outputs) ?? {};
  const integer = obj(obj(report.integer)?.outputs) ?? {};
  return Object.entries(qat).map(([name, value]) => {
    const i = obj(integer[name]);
    return {
      name,
      qat: metrics(value) ?? { sqnrDb: null, cosine: null, maxAbs: null, meanAbs: null },
      integer: i === null ? null : { ...metrics(i)!, lsbAgreement: num(i.lsbAgreement) },
      floor: metrics(obj(value)?.weightOnly),
    };
  });
}

function layers(report: Json): { rows: LayerRow[]; inOrder: boolean } {
  const raw = arr(report.layers)
    .map(obj)
    .filter((l): l is Json => l !== null && typeof l.tensor === 'string');
  const inOrder = raw.length > 0 && raw.every((l) => num(l.order) !== null);
  const sorted = inOrder ? raw.map((l, i) => ({ l, i })).sort((a, b) => num(a.l.order)! - num(b.l.order)! || a.i - b.i).map((x) => x.l) : raw;
  const rows = sorted.map((l, index) => ({ index, tensor: l.tensor as string, sqnrDb: num(l.sqnrDb), cosine: num(l.cosine), maxAbs: num(l.maxAbs) }));
  return { rows, inOrder };
}

function sensitivity(report: Json): ReportView['sensitivity'] {
  const s = report.sensitivity;
  const list = Array.isArray(s) ? s : arr(obj(s)?.rows ?? obj(s)?.layers);
  const items = list.map(obj).filter((x): x is Json => x !== null);
  if (items.length === 0) return null;
  const metric = SENSITIVITY_VALUES.find((k) => items.some((x) => num(x[k]) !== null));
  if (metric === undefined) return null;
  const rows = items.flatMap((x) => {
    const key = SENSITIVITY_LABELS.find((k) => typeof x[k] === 'string');
    const value = num(x[metric]);
    return key !== undefined && value !== null ? [{ label: x[key] as string, value }] : [];
  });
  return rows.length > 0 ? { metric, rows } : null;
}

function ops(report: Json): OpRow[] {
  return arr(report.ops)
    .map(obj)
    .filter((o): o is Json => o !== null && typeof o.name === 'string')
    .map((o, index) => {
      const dtypes = str(o.dtypes) ?? '';
      const arrow = dtypes.lastIndexOf('→');
      return {
        index,
        name: o.name as string,
        opType: str(o.opType) ?? '',
        unit: str(o.unit) ?? 'unknown',
        dtypes,
        outDtype: (arrow >= 0 ? dtypes.slice(arrow + 1) : dtypes) || 'unknown',
        latencyUs: num(o.latencyUs),
      };
    });
}

function perfView(report: Json): PerfView | null {
  const perf = obj(report.perf);
  const totals = obj(perf?.totals);
  if (perf === null || totals === null) return null;
  return {
    march: str(perf.march) ?? '',
    chip: str(perf.chip) ?? '',
    disclaimer: str(perf.disclaimer) ?? 'An estimate from a cost model, not a measurement.',
    latencyUs: num(totals.latencyUs),
    bpuUs: num(totals.bpuUs) ?? 0,
    vpuUs: num(totals.vpuUs) ?? 0,
    cpuUs: num(totals.cpuUs) ?? 0,
    cpuDequantizeUs: num(totals.cpuDequantizeUs),
  };
}

function perfVariants(report: Json): PerfVariantRow[] {
  const compare = obj(report.perfCompare) ?? obj(obj(report.perf)?.compare) ?? obj(report.compare);
  return arr(compare?.variants).flatMap((v, i) => {
    const variant = obj(v);
    const totals = obj(variant?.totals);
    if (variant === null || totals === null) return [];
    const label = str(variant.variant) ?? str(variant.label) ?? `variant ${i + 1}`;
    return [{ label, bpuUs: num(totals.bpuUs) ?? 0, vpuUs: num(totals.vpuUs) ?? 0, cpuUs: num(totals.cpuUs) ?? 0 }];
  });
}

function fallbacks(report: Json): FallbackRow[] {
  const reasons = arr(report.fallbackReasons)
    .map(obj)
    .filter((f): f is Json => f !== null && typeof f.node === 'string')
    .map((f) => ({ node: f.node as string, opType: str(f.opType) ?? '', reason: str(f.reason) ?? '' }));
  if (reasons.length > 0) return reasons;
  return arr(report.fallback)
    .filter((n): n is string => typeof n === 'string')
    .map((node) => ({ node, opType: '', reason: '' }));
}

export function readReport(raw: unknown): ReportView {
  const report = obj(raw) ?? {};
  const rows = outputs(report);
  const floors = rows.map((r) => r.floor?.sqnrDb).filter((v): v is number => typeof v === 'number');
  const layerRows = layers(report);
  return {
    title: str(obj(report.model)?.file) ?? 'quantkit report',
    facts: facts(report),
    outputs: rows,
    layers: layerRows.rows,
    layersInGraphOrder: layerRows.inOrder,
    floorDb: floors.length > 0 ? Math.min(...floors) : null,
    sensitivity: sensitivity(report),
    ops: ops(report),
    perf: perfView(report),
    perfVariants: perfVariants(report),
    fallbacks: fallbacks(report),
    diagnostics: arr(report.diagnostics)
      .map(obj)
      .filter((d): d is Json => d !== null && typeof d.message === 'string')
      .map((d) => ({ level: str(d.level) ?? '', pass: str(d.pass) ?? '', message: d.message as string, node: str(d.node) ?? '' })),
  };
}
