import fs from 'node:fs';
import path from 'node:path';
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
