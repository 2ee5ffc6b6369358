import { QuantkitError } from '../errors/quantkit-error.js';

/**
 * Where one shard's result comes from: shard `index` of `count`, and the run that produced it — what must be the
 * same in every shard of one run, by label (`model` → its sha256, `template` → `int16`, `data` → a fingerprint …).
 * A verb that shards writes it into its result, and the verb that merges checks it with {@link checkShardSet}.
 */
export interface ShardOrigin {
  index: number;
  count: number;
  run: Readonly<Record<string, string>>;
}

/** One shard handed to a merge: its origin (undefined when the file carries none) and what it labels it by (a file). */
export interface NamedShard<T> {
  name: string;
  origin: ShardOrigin | undefined;
  item: T;
}

function list(items: readonly (string | number)[]): string {
  const shown = items.slice(0, 6).join(', ');
  return items.length > 6 ? `${shown}, … (${items.length} in all)` : shown;
}

/**
 * Checks that `shards` are exactly the shards of one run, and returns their items in shard order. Errors
 * (`QK_SHARD`) name the file at fault:
 * 1. Every shard must carry an origin: a file without one (written by a full run, or by hand) cannot be checked.
 * 2. Every shard's `run` equals the first's, label by label: the first label that differs is named, with both values
 *    (shards of different models, templates, observers, data …). A label only one of them has differs too.
 * 3. Every shard has the first's `count`.
 * 4. No index appears twice: both files are named.
 * 5. Every index 0…count−1 is present: the missing ones are named, with the count.
 * `what` names the kind of shard in messages, e.g. `calibration shard`.
 */
export function checkShardSet<T>(shards: readonly NamedShard<T>[], what = 'shard'): T[] {
  const first = shards[0];
  if (first === undefined) throw new QuantkitError('QK_USAGE', `Nothing to merge: no ${what}s were given`);
  const origins = shards.map((shard) => {
    if (shard.origin === undefined) {
      throw new QuantkitError('QK_SHARD', `${shard.name} is not a ${what}: it records no shard number and run`, {
        subject: shard.name,
        hint: `Merge only files written with --shard (k/n or auto), all of one run.`,
      });
    }
    return shard.origin;
  });
  const reference = origins[0]!;
  const labels = [...new Set([...Object.keys(reference.run), ...origins.flatMap((o) => Object.keys(o.run))])];
  shards.forEach((shard, i) => {
    const origin = origins[i]!;
    for (const label of labels) {
      const a = origin.run[label];
      const b = reference.run[label];
      if (a === b) continue;
      const show = (value: string | undefined) => (value === undefined ? 'nothing' : JSON.stringify(value));
      throw new QuantkitError(
        'QK_SHARD',
        `Cannot merge ${shard.name} with ${first.name}: they are ${what}s of different runs — ${label} differs (${shard.name}: ${show(a)}; ${first.name}: ${show(b)})`,
        { subject: shard.name, hint: `Run every shard with the same ${label}, then merge them again.` },
      );
    }
    if (origin.count !== reference.count) {
      throw new QuantkitError(
        'QK_SHARD',
        `Cannot merge ${shard.name} with ${first.name}: ${shard.name} is ${what} ${origin.index} of ${origin.count}, ${first.name} is ${reference.index} of ${reference.count}`,
        { subject: shard.name, hint: 'Merge the shards of one run only: every one was started with the same number of shards.' },
      );
    }
  });
  const byIndex = new Map<number, number>();
  shards.forEach((shard, i) => {
    const index = origins[i]!.index;
    const other = byIndex.get(index);
    if (other !== undefined) {
      throw new QuantkitError(
        'QK_SHARD',
        `${shard.name} and ${shards[other]!.name} are both ${what} ${index} of ${reference.count}`,
        { subject: shard.name, hint: 'Give each shard once: a shard merged twice would count its data twice.' },
      );
    }
    byIndex.set(index, i);
  });
  const missing: number[] = [];
  for (let k = 0; k < reference.count; k++) if (!byIndex.has(k)) missing.push(k);
  if (missing.length > 0) {
    throw new QuantkitError(
      'QK_SHARD',
      `${what[0]!.toUpperCase()}${what.slice(1)}${missing.length === 1 ? '' : 's'} ${list(missing)} of ${reference.count} ${missing.length === 1 ? 'is' : 'are'} missing: got ${list(shards.map((s) => s.name))}`,
      {
        subject: first.name,
        hint: `Wait until every shard has finished (or run the missing one again), then merge all ${reference.count}.`,
      },
    );
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => shards[i]!.item);
}

/** Checks a parsed `shard` record (from a JSON file); `file` names it in errors. */
export function parseShardOrigin(value: unknown, file: string): ShardOrigin {
  const fail = (problem: string) =>
    new QuantkitError('QK_SHARD', `${file}: its "shard" record ${problem}`, {
      subject: file,
      hint: 'Write it with --shard k/n or --shard auto, and do not edit it by hand.',
    });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('is not an object');
  const { index, count, run } = value as Record<string, unknown>;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw fail('has no "count" of at least 1');
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw fail(`has no "index" in 0…${count - 1}`);
  }
  if (typeof run !== 'object' || run === null || Array.isArray(run) || !Object.values(run).every((v) => typeof v === 'string')) {
    throw fail('has no "run" object of strings');
  }
  return { index, count, run: run as Record<string, string> };
}
