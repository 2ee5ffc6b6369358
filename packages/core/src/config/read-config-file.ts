import fs from 'node:fs';
import path from 'node:path';
import { QuantkitError } from '../errors/quantkit-error.js';

/** Reads a JSON config file; errors name `file` as given (QK_FILE_NOT_FOUND, QK_FILE_READ, QK_CONFIG for bad JSON). */
export function readConfigFile(file: string): { text: string; data: unknown } {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(file), 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantkitError(missing ? 'QK_FILE_NOT_FOUND' : 'QK_FILE_READ', `Cannot read the config file ${file}: ${(cause as Error).message}`, {
      cause,
      subject: file,
    });
  }
  try {
    return { text, data: JSON.parse(text) as unknown };
  } catch (cause) {
    throw new QuantkitError('QK_CONFIG', `The config file ${file} is not valid JSON: ${(cause as Error).message}`, { cause, subject: file });
  }
}
