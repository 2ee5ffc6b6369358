import type { Shard } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';

/** The batch systems `--shard auto` recognises. */
export type ShardEngine = 'kubernetes' | 'slurm';

/** Environment variables as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A shard found in the environment, and how it was found (for the line a verb prints on stderr). */
export interface DetectedShard extends Shard {
  engine: ShardEngine;
  /** The variables (and flag) k and n came from, e.g. `JOB_COMPLETION_INDEX=2, --shards 4`. */
  source: string;
}

export interface ShardFromEnvironmentOptions {
  /** n from the command line (`--shards N`). */
  shards?: number;
}

/** The variable that carries n into a Kubernetes pod: an indexed Job's `completions` is not visible inside it. */
export const SHARDS_VARIABLE = 'QUANTKIT_SHARDS';

const ENGINE_NAMES: Record<ShardEngine, string> = {
  kubernetes: 'a Kubernetes indexed Job',
  slurm: 'a Slurm job array',
};

/** "a Kubernetes indexed Job" / "a Slurm job array", for messages. */
export function shardEngineName(engine: ShardEngine): string {
  return ENGINE_NAMES[engine];
}

function shardError(message: string, subject: string, hint: string): QuantkitError {
  return new QuantkitError('QK_SHARD', message, { subject, hint });
}

/** A variable that must hold a non-negative integer, or undefined when it is not set (or empty). */
function integerVariable(env: Environment, name: string): number | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw shardError(`${name}=${JSON.stringify(env[name])} is not a non-negative integer`, name, 'Run the command as a task of the batch system, which sets it; do not set it by hand.');
  }
  return Number(text);
}

function describe(parts: readonly (string | false)[]): string {
  return parts.filter((p): p is string => p !== false).join(', ');
}

/**
 * Which shard this process is, from the environment of the batch system that started it (`--shard auto`):
 *
 * 1. Kubernetes indexed Job (`completionMode: Indexed`): k = `JOB_COMPLETION_INDEX`. The Job's `completions` is not
 *    visible inside the pod, so n comes from `options.shards` (`--shards N`), else from `QUANTKIT_SHARDS`, which
 *    the manifest sets; neither → error.
 * 2. Slurm job array: k = (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`) / `SLURM_ARRAY_TASK_STEP` (MIN 0 and
 *    STEP 1 when unset), so `--array=1-4` gives shards 0…3 of 4; n = `SLURM_ARRAY_TASK_COUNT`, else
 *    (MAX − MIN) / STEP + 1, else `options.shards`. An array that is not an evenly spaced range (`--array=1,3,7`)
 *    has no such k: error naming the variables.
 * 3. `options.shards` given beside an engine's own n that differs from it → error naming both.
 * 4. k outside 0…n−1, or a variable that is not a non-negative integer → error (`QK_SHARD`) naming the variable.
 * 5. Both engines' variables set → error (`QK_SHARD`) naming both: the process cannot tell which started it.
 * 6. Neither present → `QK_USAGE` error naming the variables looked for: `--shard auto` runs only inside a task
 *    of one of these engines; elsewhere give `--shard k/n`.
 *
 * Pure: it reads only `env`, so other verbs (and tests) can pass any environment.
 */
export function shardFromEnvironment(env: Environment, options: ShardFromEnvironmentOptions = {}): DetectedShard {
  const kubernetes = integerVariable(env, 'JOB_COMPLETION_INDEX');
  const slurm = integerVariable(env, 'SLURM_ARRAY_TASK_ID');
  if (kubernetes !== undefined && slurm !== undefined) {
    throw shardError(
      `Both JOB_COMPLETION_INDEX (Kubernetes) and SLURM_ARRAY_TASK_ID (Slurm) are set: --shard auto cannot tell which batch system started this process`,
      'JOB_COMPLETION_INDEX',
      'Unset the one that does not belong to this task, or give --shard k/n.',
    );
  }
  if (kubernetes !== undefined) return fromKubernetes(env, kubernetes, options.shards);
  if (slurm !== undefined) return fromSlurm(env, slurm, options.shards);
  throw new QuantkitError(
    'QK_USAGE',
    '--shard auto found no batch system: neither JOB_COMPLETION_INDEX (a Kubernetes indexed Job) nor SLURM_ARRAY_TASK_ID (a Slurm job array) is set',
    {
      subject: 'JOB_COMPLETION_INDEX',
      hint: 'Run it as a pod of an indexed Job (completionMode: Indexed) or a task of an sbatch --array job, or give --shard k/n.',
    },
  );
}

function fromKubernetes(env: Environment, index: number, flag: number | undefined): DetectedShard {
  const variable = integerVariable(env, SHARDS_VARIABLE);
  if (flag !== undefined && variable !== undefined && flag !== variable) {
    throw shardError(
      `--shards ${flag} and ${SHARDS_VARIABLE}=${variable} disagree on the number of shards`,
      SHARDS_VARIABLE,
      "Give the Job's completions once: either --shards or QUANTKIT_SHARDS.",
    );
  }
  const count = flag ?? variable;
  if (count === undefined) {
    throw new QuantkitError(
      'QK_USAGE',
      `JOB_COMPLETION_INDEX=${index} says this is a pod of a Kubernetes indexed Job, but not how many shards there are: a Job's completions is not visible inside its pods`,
      {
        subject: 'JOB_COMPLETION_INDEX',
        hint: `Pass the Job's completions as --shards N, or set ${SHARDS_VARIABLE} in the pod template's env.`,
      },
    );
  }
  if (count < 1) throw shardError(`${flag !== undefined ? '--shards' : SHARDS_VARIABLE} is ${count}; it must be at least 1`, SHARDS_VARIABLE, "Set it to the Job's completions.");
  const countSource = flag !== undefined ? `--shards ${flag}` : `${SHARDS_VARIABLE}=${count}`;
  if (index >= count) {
    throw shardError(
      `JOB_COMPLETION_INDEX=${index} is outside 0…${count - 1} (${countSource})`,
      'JOB_COMPLETION_INDEX',
      `Make the Job's completions equal to the number of shards (${countSource}).`,
    );
  }
  return { index, count, engine: 'kubernetes', source: `JOB_COMPLETION_INDEX=${index}, ${countSource}` };
}

function fromSlurm(env: Environment, id: number, flag: number | undefined): DetectedShard {
  const min = integerVariable(env, 'SLURM_ARRAY_TASK_MIN');
  const max = integerVariable(env, 'SLURM_ARRAY_TASK_MAX');
  const step = integerVariable(env, 'SLURM_ARRAY_TASK_STEP');
  const taskCount = integerVariable(env, 'SLURM_ARRAY_TASK_COUNT');
  const first = min ?? 0;
  const stride = step ?? 1;
  if (stride < 1) throw shardError(`SLURM_ARRAY_TASK_STEP=${stride} must be at least 1`, 'SLURM_ARRAY_TASK_STEP', 'Submit the array with a positive step, e.g. --array=0-15.');
  const rangeCount = max !== undefined ? Math.floor((max - first) / stride) + 1 : undefined;
  const notRange = (detail: string) =>
    shardError(
      `The Slurm array is not an evenly spaced range of indices (${detail}), so SLURM_ARRAY_TASK_ID=${id} is no shard number`,
      'SLURM_ARRAY_TASK_ID',
      'Submit the array as a range, e.g. sbatch --array=0-15 for 16 shards.',
    );
  if (max !== undefined && (max < first || (max - first) % stride !== 0)) {
    throw notRange(`SLURM_ARRAY_TASK_MIN=${first}, SLURM_ARRAY_TASK_MAX=${max}, SLURM_ARRAY_TASK_STEP=${stride}`);
  }
  if (taskCount !== undefined && rangeCount !== undefined && taskCount !== rangeCount) {
    throw notRange(`SLURM_ARRAY_TASK_COUNT=${taskCount}, but MIN=${first}, MAX=${max}, STEP=${stride} span ${rangeCount}`);
  }
  const engineCount = taskCount ?? rangeCount;
  if (flag !== undefined && engineCount !== undefined && flag !== engineCount) {
    throw shardError(
      `--shards ${flag} disagrees with the Slurm array, which has ${engineCount} tasks (${taskCount !== undefined ? `SLURM_ARRAY_TASK_COUNT=${taskCount}` : `SLURM_ARRAY_TASK_MAX=${max}`})`,
      'SLURM_ARRAY_TASK_COUNT',
      'Drop --shards: the array says how many shards there are.',
    );
  }
  const count = engineCount ?? flag;
  if (count === undefined) {
    throw new QuantkitError(
      'QK_USAGE',
      `SLURM_ARRAY_TASK_ID=${id} is set, but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX says how many tasks the array has`,
      { subject: 'SLURM_ARRAY_TASK_COUNT', hint: 'Give the number of shards with --shards N.' },
    );
  }
  const countSource = taskCount !== undefined ? `SLURM_ARRAY_TASK_COUNT=${taskCount}` : max !== undefined ? `SLURM_ARRAY_TASK_MAX=${max}` : `--shards ${flag}`;
  const offset = id - first;
  if (offset < 0 || offset % stride !== 0 || offset / stride >= count) {
    const ids = stride === 1 ? `${first}…${first + count - 1}` : `${first}, ${first + stride}, … ${first + (count - 1) * stride}`;
    throw shardError(
      `SLURM_ARRAY_TASK_ID=${id} is not one of the array's indices ${ids} (${describe([min !== undefined && `SLURM_ARRAY_TASK_MIN=${min}`, step !== undefined && `SLURM_ARRAY_TASK_STEP=${step}`, countSource])})`,
      'SLURM_ARRAY_TASK_ID',
      'Run it as a task of the sbatch --array job, which sets these variables consistently.',
    );
  }
  const index = offset / stride;
  const source = describe([
    `SLURM_ARRAY_TASK_ID=${id}`,
    min !== undefined && min !== 0 && `SLURM_ARRAY_TASK_MIN=${min}`,
    step !== undefined && step !== 1 && `SLURM_ARRAY_TASK_STEP=${step}`,
    countSource,
  ]);
  return { index, count, engine: 'slurm', source };
}
