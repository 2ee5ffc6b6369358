import { isQuantkitError, shardEngineName, shardFromEnvironment, type Environment, type Shard } from '@quantkit/core';
import { InvalidArgumentError, type Command } from 'commander';
import { positiveInt, UsageError } from './options.js';
import type { Io } from './output.js';

/** `--shard`: a fixed `k/n`, or `auto` (from the batch system's environment, see {@link resolveShard}). */
export type ShardFlag = Shard | 'auto';

export interface ShardFlags {
  shard?: ShardFlag;
  shards?: number;
}

/** Parses `--shard`: `k/n` (shard k, 0-based, of n) or `auto`. */
export function parseShardFlag(text: string): ShardFlag {
  if (text === 'auto') return 'auto';
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index >= count) {
    throw new InvalidArgumentError('must be k/n with 0 <= k < n (e.g. 0/4 for the first of four shards), or auto.');
  }
  return { index, count };
}

/**
 * Adds `--shard <k/n|auto>` and `--shards <n>` to a verb that can run one shard of its work; `what` says what a
 * shard run writes. Every sharding verb takes the same two flags, resolved by {@link resolveShard}.
 */
export function shardOptions(command: Command, what: string): Command {
  return command
    .option(
      '--shard <k/n|auto>',
      `${what}; auto takes k and n from a Kubernetes indexed Job (JOB_COMPLETION_INDEX) or a Slurm array (SLURM_ARRAY_TASK_*)`,
      parseShardFlag,
    )
    .option('--shards <n>', "with --shard auto on Kubernetes: the number of shards (the Job's completions; or set QUANTKIT_SHARDS)", positiveInt('--shards'));
}

/**
 * The shard this run is, from the flags: `k/n` as given; `auto` from the environment (core `shardFromEnvironment`),
 * printing on stderr which engine and which k/n it used. Usage errors (exit 2): `--shards` without `--shard auto`,
 * no batch system in the environment, no count. An index outside 0…n−1 or inconsistent variables are QK_SHARD
 * errors naming the variable (exit 1).
 */
export function resolveShard(flags: ShardFlags, io: Io, env: Environment = process.env): Shard | undefined {
  if (flags.shards !== undefined && flags.shard !== 'auto') {
    throw new UsageError('--shards goes with --shard auto (with --shard k/n, n is given already)');
  }
  if (flags.shard !== 'auto') return flags.shard;
  let detected;
  try {
    detected = shardFromEnvironment(env, { shards: flags.shards });
  } catch (error) {
    if (isQuantkitError(error) && error.code === 'QK_USAGE') throw new UsageError(`${error.message}. ${error.hint ?? ''}`.trim());
    throw error;
  }
  io.stderr(`shard ${detected.index}/${detected.count} from ${shardEngineName(detected.engine)} (${detected.source})\n`);
  return { index: detected.index, count: detected.count };
}
