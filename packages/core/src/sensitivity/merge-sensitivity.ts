import { readFile } from 'node:fs/promises';
import { QuantkitError } from '../errors/quantkit-error.js';
import { checkShardSet, parseShardOrigin } from '../shard/shard-set.js';
import { SENSITIVITY_FORMAT, SENSITIVITY_VERSION, sortRows, type SensitivityReport } from './sensitivity.js';

/** sensitivity.json text: two-space indented, with a final newline. */
export function sensitivityText(report: SensitivityReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function fileError(path: string, problem: string): QuantkitError {
  return new QuantkitError('QK_REPORT_INVALID', `${path} is not a quantkit sensitivity file: ${problem}`, {
    subject: path,
    hint: 'Give the sensitivity.json files that `quantkit sensitivity --shard` wrote, unedited.',
  });
}

/** Parses sensitivity.json text; `path` names it in errors. */
export function parseSensitivityFile(text: string, path: string): SensitivityReport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new QuantkitError('QK_REPORT_INVALID', `${path} is not valid JSON: ${(cause as Error).message}`, { subject: path, cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fileError(path, 'it is not a JSON object');
  const doc = json as Record<string, unknown>;
  if (doc.format !== SENSITIVITY_FORMAT) throw fileError(path, `"format" is ${JSON.stringify(doc.format)}, not "${SENSITIVITY_FORMAT}"`);
  if (doc.version !== SENSITIVITY_VERSION) throw fileError(path, `it has version ${JSON.stringify(doc.version)}; this quantkit reads version ${SENSITIVITY_VERSION}`);
  if (!Array.isArray(doc.rows)) throw fileError(path, '"rows" is not an array');
  if (doc.shard !== undefined) parseShardOrigin(doc.shard, path);
  return json as SensitivityReport;
}

/** Reads a sensitivity.json. */
export async function readSensitivityFile(path: string): Promise<SensitivityReport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantkitError(missing ? 'QK_FILE_NOT_FOUND' : 'QK_FILE_READ', `Cannot read sensitivity file ${path}: ${(cause as Error).message}`, {
      subject: path,
      cause,
    });
  }
  return parseSensitivityFile(text, path);
}

/**
 * Joins the sensitivity.json of the shards of one analysis into what one run writes, byte for byte:
 * 1. The files must be exactly the shards of one run (checkShardSet: same model, data, observer, template, march,
 *    overrides, config, pipeline, quantkit version; every index once, none missing) — QK_SHARD naming the file.
 * 2. Everything but the rows must then agree too (the fully quantized model's metrics, the candidate count):
 *    a difference means the shards did not compute the same thing, QK_SHARD naming the field.
 * 3. The rows of all shards, sorted as one run sorts them (sortRows); their number must be the candidate count.
 * The merged report records no shard.
 */
export function mergeSensitivityReports(reports: readonly SensitivityReport[], names: readonly string[]): SensitivityReport {
  const ordered = checkShardSet(
    reports.map((report, i) => ({ name: names[i]!, origin: report.shard, item: i })),
    'sensitivity shard',
  );
  const first = reports[ordered[0]!]!;
  const { shard: _shard, rows: _rows, ...header } = first;
  const headerText = JSON.stringify(header);
  for (const i of ordered) {
    const { shard: _s, rows: _r, ...other } = reports[i]!;
    if (JSON.stringify(other) === headerText) continue;
    const field = Object.keys(header).find((key) => JSON.stringify((other as Record<string, unknown>)[key]) !== JSON.stringify((header as Record<string, unknown>)[key])) ?? 'a field';
    throw new QuantkitError('QK_SHARD', `Cannot merge ${names[i]} with ${names[ordered[0]!]}: their ${field} differs although they are shards of one run`, {
      subject: names[i],
      hint: 'Run the shards on the same quantkit, onnxruntime and data; then merge them again.',
    });
  }
  const rows = sortRows(ordered.flatMap((i) => reports[i]!.rows));
  if (rows.length !== first.candidates) {
    throw new QuantkitError('QK_SHARD', `The shards hold ${rows.length} rows, but the analysis has ${first.candidates} candidates`, {
      subject: names[ordered[0]!],
      hint: 'Merge the files the shards wrote, unedited.',
    });
  }
  return { ...header, rows };
}

/** `quantkit merge-sensitivity`: reads the shards' sensitivity.json and merges them (see mergeSensitivityReports). */
export async function mergeSensitivityFiles(paths: readonly string[]): Promise<SensitivityReport> {
  const reports = [];
  for (const path of paths) reports.push(await readSensitivityFile(path));
  return mergeSensitivityReports(reports, paths);
}
