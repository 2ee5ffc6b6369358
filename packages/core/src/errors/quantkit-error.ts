import type { ErrorCode } from './codes.js';

export interface QuantkitErrorOptions {
  cause?: unknown;
  /** What the user should do about it; printed after the headline. */
  hint?: string;
  /** The file, tensor or node the error is about, for machine consumers. */
  subject?: string;
}

/**
 * The one error class quantkit throws on purpose. `code` is stable across versions so scripts can match on it;
 * the message names the file / node / tensor at fault, and `hint` says what to do.
 */
export class QuantkitError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, options: QuantkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QuantkitError';
    this.code = code;
    this.hint = options.hint;
    this.subject = options.subject;
  }
}

export function isQuantkitError(error: unknown): error is QuantkitError {
  return error instanceof QuantkitError;
}
