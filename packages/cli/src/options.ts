import { InvalidArgumentError } from 'commander';
import type { CalibrationSpec } from '@quantkit/core';

export function positiveInt(what: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${what} must be a positive integer.`);
    return value;
  };
}

export function integer(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError('must be an integer.');
  return value;
}

export class UsageError extends Error {}

/** The calibration data from --calib or --random (exactly one). */
export function dataSpec(options: { calib?: string; random?: number; seed?: number }, fs: typeof import('node:fs')): CalibrationSpec {
  if (options.calib !== undefined && options.random !== undefined) {
    throw new UsageError('give either --calib or --random, not both');
  }
  if (options.random !== undefined) return { kind: 'random', count: options.random, seed: options.seed ?? 0 };
  if (options.calib === undefined) throw new UsageError('calibration data is required: --calib DIR|FILE or --random N');
  const isDir = fs.existsSync(options.calib) && fs.statSync(options.calib).isDirectory();
  return { kind: isDir ? 'dir' : 'file', path: options.calib };
}
