import { InvalidArgumentError } from 'commander';
import { parseInputShape, type CalibrationSpec, type InputShape } from '@quantkit/core';

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

/** One `--input-shape name=1x3x160x160` (repeatable): collects them in order. Dims are checked against the model. */
export function inputShape(text: string, previous: InputShape[] = []): InputShape[] {
  try {
    return [...previous, parseInputShape(text)];
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

export const INPUT_SHAPE_HELP = 'fix the shape of a model input, e.g. x=1x3x160x160 (repeatable; default: the first sample fixes symbolic dims)';
