import { isQuantkitError, type QuantkitError } from '../errors/quantkit-error.js';

/** For tests: the QuantkitError `fn` throws. Anything else thrown, or nothing thrown, fails the test. */
export function errorOf(fn: () => unknown): QuantkitError {
  try {
    fn();
  } catch (error) {
    if (isQuantkitError(error)) return error;
    throw error;
  }
  throw new Error('expected a QuantkitError');
}

/** For tests: the code of the QuantkitError `fn` throws, 'not a QuantkitError' for anything else, or undefined. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isQuantkitError(error) ? error.code : 'not a QuantkitError';
  }
  return undefined;
}
