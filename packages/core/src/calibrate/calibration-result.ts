import { readFile } from 'node:fs/promises';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Value } from '../ir/value.js';
import { writeFileAtomic } from '../onnx/files.js';
import type { ObserverFactory, ObserverState, QParams } from '../quant/observer.js';
import { checkShardSet, parseShardOrigin, type ShardOrigin } from '../shard/shard-set.js';

export const CALIB_FORMAT = 'quantkit-calib';
export const CALIB_VERSION = 1;

/** calib.json, as written by {@link CalibrationResult.toJSON}. */
export interface CalibFileJSON {
  format: typeof CALIB_FORMAT;
  version: typeof CALIB_VERSION;
  observer: string;
  samples: number;
  /** Only in a shard's calib.json (`--shard`): which shard of how many, of which run; merge-calib checks it. */
  shard?: ShardOrigin;
  activations: Record<string, ObserverState>;
}

/** Sorts object keys at every depth (arrays keep their order), so equal states serialize to equal bytes. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort(compareCodeUnits)) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What calibration learnt: one observer state per observed tensor (by value name), and how many samples. */
export class CalibrationResult {
  readonly states: ReadonlyMap<string, ObserverState>;
  readonly samples: number;
  /** The observer kind that wrote every state ('minmax', 'mse', …). */
  readonly observer: string;
  /** The calib.json it was read from, if any: errors about its states name it. */
  readonly source: string | undefined;
  /** Set on the result of one shard (`--shard`): which shard, of which run. A merged or full result has none. */
  readonly shard: ShardOrigin | undefined;

  constructor(states: ReadonlyMap<string, ObserverState>, samples: number, observer: string, source?: string, shard?: ShardOrigin) {
    this.states = states;
    this.samples = samples;
    this.observer = observer;
    this.source = source;
    this.shard = shard;
  }

  /** The same states, marked as shard `origin.index` of `origin.count` of the run `origin.run`. */
  asShard(origin: ShardOrigin): CalibrationResult {
    return new CalibrationResult(this.states, this.samples, this.observer, this.source, origin);
  }

  /**
   * The calib.json document: a header, then the states by tensor name. Tensor names and the keys inside each
   * state are sorted (code-unit order, independent of locale and of graph order), so the same calibration gives
   * the same bytes. A shard's result adds its `shard` record before the states; without one, the document is
   * exactly what a run over all the data writes, so merged shards and one run give the same bytes.
   */
  toJSON(): CalibFileJSON {
    const activations: Record<string, ObserverState> = {};
    for (const name of [...this.states.keys()].sort(compareCodeUnits)) {
      activations[name] = sortKeys(this.states.get(name)) as ObserverState;
    }
    const header = { format: CALIB_FORMAT, version: CALIB_VERSION, observer: this.observer, samples: this.samples } as const;
    if (this.shard === undefined) return { ...header, activations };
    const shard: ShardOrigin = { index: this.shard.index, count: this.shard.count, run: sortKeys(this.shard.run) as Record<string, string> };
    return { ...header, shard, activations };
  }

  /** calib.json text: two-space indented, with a final newline. */
  toText(): string {
    return `${JSON.stringify(this.toJSON(), null, 2)}\n`;
  }
}

/** Writes calib.json atomically (temp file + rename). */
export function writeCalibFile(result: CalibrationResult, path: string): void {
  writeFileAtomic(path, result.toText());
}

function fileError(path: string, problem: string, hint?: string): QuantkitError {
  return new QuantkitError('QK_CALIB_FILE', `${path} is not a valid quantkit calibration file: ${problem}`, {
    subject: path,
    hint: hint ?? 'Write it with `quantkit calibrate` (or `quantkit merge-calib`), and do not edit it by hand.',
  });
}

/** Parses calib.json text; `path` names it in errors. States are checked later, when an observer restores them. */
export function parseCalibFile(text: string, path: string): CalibrationResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new QuantkitError('QK_CALIB_FILE', `${path} is not valid JSON: ${(cause as Error).message}`, {
      subject: path,
      cause,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fileError(path, 'it is not a JSON object');
  const doc = json as Record<string, unknown>;
  if (doc.format !== CALIB_FORMAT) throw fileError(path, `"format" is ${JSON.stringify(doc.format)}, not "${CALIB_FORMAT}"`);
  if (doc.version !== CALIB_VERSION) {
    throw fileError(
      path,
      `it has version ${JSON.stringify(doc.version)}; this quantkit reads version ${CALIB_VERSION}`,
      'Calibrate again with this version of quantkit.',
    );
  }
  if (typeof doc.observer !== 'string' || doc.observer === '') throw fileError(path, '"observer" is not a name');
  const samples = doc.samples;
  if (typeof samples !== 'number' || !Number.isSafeInteger(samples) || samples < 0) {
    throw fileError(path, '"samples" is not a non-negative integer');
  }
  const activations = doc.activations;
  if (typeof activations !== 'object' || activations === null || Array.isArray(activations)) {
    throw fileError(path, '"activations" is not an object');
  }
  const states = new Map<string, ObserverState>();
  for (const [name, state] of Object.entries(activations)) {
    if (typeof state !== 'object' || state === null || (state as ObserverState).kind !== doc.observer) {
      throw fileError(path, `the state of tensor '${name}' is not a '${doc.observer}' observer state`);
    }
    states.set(name, state as ObserverState);
  }
  const shard = doc.shard === undefined ? undefined : parseShardOrigin(doc.shard, path);
  return new CalibrationResult(states, samples, doc.observer, path, shard);
}

/** Reads a calib.json. */
export async function readCalibFile(path: string): Promise<CalibrationResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantkitError(
      missing ? 'QK_FILE_NOT_FOUND' : 'QK_FILE_READ',
      missing ? `Calibration file ${path} does not exist` : `Cannot read calibration file ${path}: ${(cause as Error).message}`,
      { subject: path, cause },
    );
  }
  return parseCalibFile(text, path);
}

/** Finds the observer factory of a kind, e.g. `(kind) => quantkit.observer(kind)`. */
export type ObserverLookup = (kind: string) => ObserverFactory;

/**
 * Merges the results of calibrating disjoint shards of one data set: per tensor, the observer restored from the
 * first result merges the others' states (observer.merge), so the result equals one run over all the data as far
 * as the observer's merge is exact (it is for minmax and mse's default mode). Every result must come from the same
 * observer kind and cover the same tensors; `names` label the results in errors (file paths).
 *
 * When any result is a shard's (`--shard k/n` or `auto` records which shard, of which run), all must be, and they
 * must be exactly the shards of one run — same model, template, config, observer, data, quantkit version; each index
 * once, none missing (see {@link checkShardSet}) — merged in shard order. The merged result records no shard.
 */
export function mergeCalibrationResults(
  given: readonly CalibrationResult[],
  lookup: ObserverLookup,
  givenNames: readonly string[] = given.map((_, i) => `calibration result ${i + 1}`),
): CalibrationResult {
  let results = given;
  let names = givenNames;
  if (given.some((result) => result.shard !== undefined)) {
    const ordered = checkShardSet(
      given.map((result, i) => ({ name: givenNames[i]!, origin: result.shard, item: i })),
      'calibration shard',
    );
    results = ordered.map((i) => given[i]!);
    names = ordered.map((i) => givenNames[i]!);
  }
  const first = results[0];
  if (first === undefined) throw new QuantkitError('QK_USAGE', 'Nothing to merge: no calibration results were given');
  const tensors = [...first.states.keys()].sort(compareCodeUnits);
  results.forEach((result, i) => {
    if (result.observer !== first.observer) {
      throw new QuantkitError(
        'QK_CALIB_FILE',
        `Cannot merge ${names[i]} (observer '${result.observer}') with ${names[0]} (observer '${first.observer}')`,
        { subject: names[i], hint: 'Calibrate every shard with the same --observer.' },
      );
    }
    const missing = tensors.filter((name) => !result.states.has(name));
    const extra = [...result.states.keys()].filter((name) => !first.states.has(name));
    if (missing.length > 0 || extra.length > 0) {
      const list = (items: string[]): string =>
        items.slice(0, 5).map((n) => `'${n}'`).join(', ') + (items.length > 5 ? `, … (${items.length} in all)` : '');
      const parts = [
        missing.length > 0 ? `lacks ${list(missing)}` : '',
        extra.length > 0 ? `has ${list(extra)} in addition` : '',
      ].filter(Boolean);
      throw new QuantkitError(
        'QK_CALIB_FILE',
        `Cannot merge ${names[i]} with ${names[0]}: they observed different tensors (${names[i]} ${parts.join(' and ')})`,
        {
          subject: names[i],
          hint: 'Merge only shards of one run: the same model, template, config and --reused-outputs setting.',
        },
      );
    }
  });
  let factory: ObserverFactory;
  try {
    factory = lookup(first.observer);
  } catch (cause) {
    if (!(cause instanceof QuantkitError)) throw cause;
    throw new QuantkitError(cause.code, `${names[0]}: ${cause.message}`, { subject: names[0], cause, hint: cause.hint });
  }
  const states = new Map<string, ObserverState>();
  for (const name of tensors) {
    let merged;
    try {
      merged = factory.restore(first.states.get(name)!);
    } catch (cause) {
      throw stateError(names[0]!, name, cause);
    }
    for (let i = 1; i < results.length; i++) {
      try {
        merged.merge(results[i]!.states.get(name)!);
      } catch (cause) {
        throw stateError(names[i]!, name, cause);
      }
    }
    states.set(name, merged.state());
  }
  const samples = results.reduce((sum, result) => sum + result.samples, 0);
  return new CalibrationResult(states, samples, first.observer);
}

function stateError(file: string, tensor: string, cause: unknown): QuantkitError {
  return new QuantkitError(
    'QK_CALIB_FILE',
    `${file}: the state of tensor '${tensor}' cannot be used: ${(cause as Error).message}`,
    { subject: file, cause, hint: 'Merge only shards of one run (same observer settings and activation dtypes).' },
  );
}

/** `quantkit merge-calib`: reads calib.json shards and merges them (see {@link mergeCalibrationResults}). */
export async function mergeCalibFiles(paths: readonly string[], lookup: ObserverLookup): Promise<CalibrationResult> {
  const results = [];
  for (const path of paths) results.push(await readCalibFile(path));
  return mergeCalibrationResults(results, lookup, paths);
}

/**
 * Quantization parameters per tensor, from `factory.restore(state).qparams()`; undefined for a tensor that was not
 * observed (e.g. one that shares its input's scale: resolving `shareWith` is the exporter's job).
 */
export function qparamsFor(
  result: CalibrationResult,
  factory: ObserverFactory,
  config?: Record<string, unknown>,
): (value: Value) => QParams | undefined {
  if (result.observer !== factory.kind) {
    const states = result.source === undefined ? 'The calibration states' : `The calibration states of ${result.source}`;
    throw new QuantkitError('QK_CALIB_FILE', `${states} come from observer '${result.observer}', not '${factory.kind}'`, {
      subject: result.source,
      hint: `Use the '${result.observer}' observer (--observer ${result.observer}), or calibrate again with '${factory.kind}'.`,
    });
  }
  const cache = new Map<string, QParams>();
  return (value) => {
    const cached = cache.get(value.name);
    if (cached !== undefined) return cached;
    const state = result.states.get(value.name);
    if (state === undefined) return undefined;
    let qparams: QParams;
    try {
      qparams = factory.restore(state, config).qparams();
    } catch (cause) {
      throw new QuantkitError(
        cause instanceof QuantkitError ? cause.code : 'QK_CALIB_FILE',
        `No quantization parameters for tensor '${value.name}': ${(cause as Error).message}`,
        { subject: value.name, cause, hint: cause instanceof QuantkitError ? cause.hint : undefined },
      );
    }
    cache.set(value.name, qparams);
    return qparams;
  };
}
