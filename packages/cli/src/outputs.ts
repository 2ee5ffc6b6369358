import fs from 'node:fs';
import path from 'node:path';
import { QuantkitError } from '@quantkit/core';
import { UsageError } from './options.js';

function canonical(file: string): string {
  const absolute = path.resolve(file);
  try {
    return fs.realpathSync(absolute);
  } catch {
    // Not there yet: its folder may still be a link to where an input lives.
    try {
      return path.join(fs.realpathSync(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/**
 * Refuses, before any work, to write an output over an input: quantkit never modifies its inputs.
 */
export function refuseOverwritingInputs(outputs: readonly string[], inputs: readonly string[]): void {
  const protectedFiles = new Map(inputs.map((file) => [canonical(file), file]));
  for (const output of outputs) {
    const input = protectedFiles.get(canonical(output));
    if (input !== undefined) {
      throw new UsageError(`the output ${output} is the input ${input}; quantkit never overwrites its inputs — pick another --out`);
    }
  }
}

/**
 * Refuses, before any work, an output folder that exists as something other than a folder: otherwise the
 * whole calibration would run and then fail to create it.
 */
export function refuseOutputFolderClash(dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    return;
  }
  if (!stat.isDirectory()) throw new UsageError(`--out ${dir} is a file, not a folder; give a folder to write the outputs into`);
}

/** Creates the output folder (and its parents); a failure is a QuantkitError naming the folder. */
export function makeOutputFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new QuantkitError('QK_FILE_WRITE', `Cannot create the output folder ${dir}: ${(cause as Error).message}.`, {
      cause,
      hint: 'Check that the path is a folder you can write to, or give another --out.',
      subject: dir,
    });
  }
}
