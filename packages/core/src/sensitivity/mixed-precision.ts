import { QuantkitError } from '../errors/quantkit-error.js';
import type { Override } from '../prepare/overrides.js';
import { INT16_TEMPLATE } from '../prepare/templates.js';
import { analyseSensitivity, openSensitivityBench, type RaiseOverride, type SensitivityOptions, type SensitivityReport } from './sensitivity.js';

/** The latency budget: a factor of the int8 plan's estimate (`1.25x`), or an absolute one in µs (`900us`). */
export type LatencyBudget = { factor: number } | { us: number };

/** `--precision auto` / the config's `mixedPrecision`: a precision target and a latency budget. */
export interface MixedPrecisionGoal {
  targetSqnrDb?: number;
  targetCosine?: number;
  maxLatency: LatencyBudget;
}

export interface PrecisionPoint {
  sqnrDb: number;
  cosine: number;
  latencyUs: number;
}

export interface MixedPrecisionStep extends PrecisionPoint {
  override: RaiseOverride;
  /** Kept: it raised the measured precision within the budget. */
  kept: boolean;
  /** Why it was not kept. */
  reason?: string;
}

/** What `--precision auto` chose, written into report.json as `mixedPrecision`. */
export interface MixedPrecisionResult {
  goal: { targetSqnrDb: number | null; targetCosine: number | null; maxLatency: string; budgetUs: number };
  /** Measured on the QDQ simulation over all samples (the sensitivity bench), latencies from the cost model. */
  measuredOn: string;
  int8: PrecisionPoint;
  chosen: PrecisionPoint & { overrides: RaiseOverride[] };
  int16: PrecisionPoint;
  reached: boolean;
  steps: MixedPrecisionStep[];
}

/** Parses `1.25x` or `900us` (also `900µs`). */
export function parseLatencyBudget(text: string): LatencyBudget | undefined {
  const factor = /^(\d+(?:\.\d+)?)x$/.exec(text);
  if (factor) return { factor: Number(factor[1]) };
  const us = /^(\d+(?:\.\d+)?)(?:us|µs)$/.exec(text);
  if (us) return { us: Number(us[1]) };
  return undefined;
}

function describeBudget(budget: LatencyBudget): string {
  return 'factor' in budget ? `${budget.factor}x` : `${budget.us}us`;
}

const reachedGoal = (goal: MixedPrecisionGoal, point: PrecisionPoint) =>
  (goal.targetSqnrDb === undefined || point.sqnrDb >= goal.targetSqnrDb) && (goal.targetCosine === undefined || point.cosine >= goal.targetCosine);

/**
 * `--precision auto`: which tensors to raise to int16 under a latency budget.
 *
 * 1. The sensitivity table of the model (analyseSensitivity) gives every candidate's measured int16 gain and
 *    latency cost. A candidate with a positive gain is tried best gain per µs first (those that cost nothing
 *    first, by gain).
 * 2. Each try re-measures the whole model with the overrides kept so far plus the candidate (prepared as quantize
 *    prepares it, exported with the one calibration, over all samples) — gains do not add up, so the table's sum
 *    is never trusted. A try is kept when the measured SQNR rises and the estimated latency stays within the budget.
 * 3. It stops when the target (SQNR and / or cosine, of the worst output) is reached, or when no candidate is left.
 *    Unreached, the result says so and holds the best it found.
 * 4. The budget is `factor` × the int8 plan's latency, or absolute µs; a budget below the int8 plan's latency is a
 *    QK_CONFIG error, as is a goal without a target.
 * The result holds the int8 and int16 (template) points for the trade-off, the chosen overrides, and every step.
 */
export async function chooseMixedPrecision(
  options: SensitivityOptions,
  goal: MixedPrecisionGoal,
): Promise<{ result: MixedPrecisionResult; table: SensitivityReport }> {
  if (goal.targetSqnrDb === undefined && goal.targetCosine === undefined) {
    throw new QuantkitError('QK_CONFIG', '--precision auto needs a target: --target-sqnr DB or --target-cosine C.', {
      hint: 'E.g. --precision auto --target-sqnr 40 --max-latency 1.25x.',
    });
  }
  const bench = await openSensitivityBench(options);
  const int8 = pointOf(bench.quantized);
  const budgetUs = 'factor' in goal.maxLatency ? goal.maxLatency.factor * int8.latencyUs : goal.maxLatency.us;
  if (budgetUs < int8.latencyUs) {
    throw new QuantkitError(
      'QK_CONFIG',
      `The latency budget ${describeBudget(goal.maxLatency)} (${budgetUs.toFixed(1)} µs) is below the ${bench.template.name} plan's estimated ${int8.latencyUs.toFixed(1)} µs: no choice can meet it.`,
      { hint: `Give --max-latency at least 1x (or ${Math.ceil(int8.latencyUs)}us).` },
    );
  }
  const table = await analyseSensitivity(options, bench);
  const tries = table.rows
    .filter((r) => r.int16 !== null && r.int16.gainDb > 0)
    .map((r) => r.int16!)
    .sort((a, b) => {
      const free = (x: typeof a) => x.latencyUs <= 0;
      if (free(a) !== free(b)) return free(a) ? -1 : 1;
      if (free(a)) return b.gainDb - a.gainDb;
      return b.gainDb / b.latencyUs - a.gainDb / a.latencyUs;
    });
  const chosen: RaiseOverride[] = [];
  let current = int8;
  const steps: MixedPrecisionStep[] = [];
  for (const candidate of tries) {
    if (reachedGoal(goal, current)) break;
    const point = pointOf(await bench.measure([...chosen, candidate.override] as unknown as Override[]));
    const overBudget = point.latencyUs > budgetUs;
    const better = point.sqnrDb > current.sqnrDb;
    const step: MixedPrecisionStep = { override: candidate.override, ...point, kept: !overBudget && better };
    if (overBudget) step.reason = `over the budget (${point.latencyUs.toFixed(1)} µs > ${budgetUs.toFixed(1)} µs)`;
    else if (!better) step.reason = 'no gain measured on top of the overrides kept so far';
    steps.push(step);
    if (step.kept) {
      chosen.push(candidate.override);
      current = point;
    }
  }
  const int16 = pointOf(await bench.measure([], INT16_TEMPLATE));
  return {
    table,
    result: {
      goal: {
        targetSqnrDb: goal.targetSqnrDb ?? null,
        targetCosine: goal.targetCosine ?? null,
        maxLatency: describeBudget(goal.maxLatency),
        budgetUs,
      },
      measuredOn: `the QDQ simulation over all ${bench.bench.samples.length} samples; latencies are the cost model's estimates`,
      int8,
      chosen: { ...current, overrides: chosen },
      int16,
      reached: reachedGoal(goal, current),
      steps,
    },
  };
}

function pointOf(m: { sqnrDb: number; cosine: number; latencyUs: number }): PrecisionPoint {
  return { sqnrDb: m.sqnrDb, cosine: m.cosine, latencyUs: m.latencyUs };
}
