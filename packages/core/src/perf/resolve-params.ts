import { QuantkitError } from '../errors/quantkit-error.js';
import type { March } from '../march/march.js';
import { PERF_PARAM_UNITS, type ChipPerf, type DeepPartial, type PerfParams } from './perf-params.js';

/** The `perf` section of a config: which chip, and numbers that replace the march's. */
export interface PerfConfig {
  chip?: string;
  params?: DeepPartial<PerfParams>;
}

export interface ResolvedParams {
  chip: ChipPerf;
  /** The chip's numbers with the overrides merged in. */
  params: PerfParams;
}

const CONFIG_KEYS = ['chip', 'params'] as const;

/**
 * Validates the `perf` section of a config (parsed JSON): `{ chip?, params? }`, where params is a partial
 * PerfParams. Unknown keys at any depth and numbers that are not finite and positive (overheads: ≥ 0) are
 * QK_CONFIG errors naming the key; `source` names the file.
 */
export function parsePerfConfig(data: unknown, source = 'the perf config'): PerfConfig {
  const fail = (key: string, message: string, hint?: string): never => {
    throw new QuantkitError('QK_CONFIG', `${source}: ${key} ${message}`, { subject: source, hint });
  };
  if (!isRecord(data)) return fail('`perf`', 'must be an object like { "chip": "J6M", "params": { "ddr": { "bytesPerSecond": 5e10 } } }.');
  for (const key of Object.keys(data)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      fail(`unknown key \`perf.${key}\``, `(known keys: ${CONFIG_KEYS.join(', ')}).`, 'Check the spelling; keys are case-sensitive.');
    }
  }
  const config: PerfConfig = {};
  if (data.chip !== undefined) {
    if (typeof data.chip !== 'string' || data.chip === '') return fail('`perf.chip`', `must be a chip name such as "J6M" (got ${JSON.stringify(data.chip)}).`);
    config.chip = data.chip;
  }
  if (data.params !== undefined) config.params = checkParams(data.params, PERF_PARAM_UNITS, 'perf.params', fail) as DeepPartial<PerfParams>;
  return config;
}

type Fail = (key: string, message: string, hint?: string) => never;

function checkParams(data: unknown, schema: Record<string, unknown>, path: string, fail: Fail): Record<string, unknown> {
  if (!isRecord(data)) return fail(`\`${path}\``, `must be an object with keys ${Object.keys(schema).join(', ')}.`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const at = `${path}.${key}`;
    if (!Object.hasOwn(schema, key)) {
      fail(`unknown key \`${at}\``, `(known keys: ${Object.keys(schema).join(', ')}).`, 'Check the spelling; keys are case-sensitive.');
    }
    const unit = schema[key];
    if (typeof unit === 'string') {
      const overhead = unit === 's';
      const fraction = unit === 'fraction';
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!overhead && value === 0) || (fraction && value > 1)) {
        const range = overhead ? '≥ 0' : fraction ? 'in (0, 1]' : '> 0';
        fail(`\`${at}\``, `must be a finite number ${range} in ${unit} (got ${JSON.stringify(value)}).`);
      }
      out[key] = value;
    } else {
      out[key] = checkParams(value, unit as Record<string, unknown>, at, fail);
    }
  }
  return out;
}

/** `base` with `override` merged in at every depth (override validated as by parsePerfConfig). */
export function mergePerfParams(base: PerfParams, override: DeepPartial<PerfParams> | undefined, source = 'the perf params'): PerfParams {
  if (override === undefined) return structuredClone(base);
  const checked = parsePerfConfig({ params: override }, source).params ?? {};
  return merge(base as unknown as Record<string, unknown>, checked as Record<string, unknown>) as unknown as PerfParams;
}

function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) {
    const replacement = override[key];
    if (replacement === undefined) out[key] = typeof value === 'object' ? structuredClone(value) : value;
    else out[key] = typeof value === 'number' ? replacement : merge(value as Record<string, unknown>, replacement as Record<string, unknown>);
  }
  return out;
}

/** The chip of `march` named `chip` (case-insensitive), or its default chip. */
export function chipPerf(march: March, chip?: string): ChipPerf {
  const perf = march.perf;
  if (!perf) {
    throw new QuantkitError('QK_UNSUPPORTED', `The march '${march.name}' declares no cost-model parameters, so perf cannot estimate for it.`, {
      subject: march.name,
      hint: 'Its package must set `perf` on its March object (see @quantkit/march-nash-m for an example).',
    });
  }
  const wanted = chip ?? perf.defaultChip;
  const found = perf.chips.find((c) => c.chip.toLowerCase() === wanted.toLowerCase());
  if (!found) {
    throw new QuantkitError('QK_USAGE', `The march '${march.name}' has no chip '${wanted}'.`, {
      subject: wanted,
      hint: `Chips of ${march.name}: ${perf.chips.map((c) => c.chip).join(', ')} (default ${perf.defaultChip}).`,
    });
  }
  return found;
}

/** The chip and the numbers perf uses: the march's chip, then the overrides (validated, deep-merged). */
export function resolvePerfParams(march: March, config: PerfConfig = {}, source?: string): ResolvedParams {
  const chip = chipPerf(march, config.chip);
  return { chip, params: mergePerfParams(chip.params, config.params, source) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
